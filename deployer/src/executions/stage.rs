//! Which Lambda API the verbs talk to and which function they mean: a deployed stage
//! (the standard AWS chain; physical names from its stack) or a running `deployer local`
//! (its Lambda endpoint), found as `deployer webhooks` finds them. `--function` names a
//! function of the stage's template (`processor`), mapped to its physical name and, where
//! the template gives it one, its alias (`live`).

use std::collections::BTreeMap;

use stacks::webhook::Stage;

use super::error::ExecError;
use crate::webhooks::target::{LocalCloud, Reached, TargetArgs};

/// Where the stage runs.
#[derive(Debug)]
enum Place {
    Deployed {
        stack: String,
        cfn: aws_sdk_cloudformation::Client,
    },
    Local(Box<LocalCloud>),
}

/// The Lambda API of one stage.
#[derive(Debug)]
pub struct StageLambda {
    pub stage: Stage,
    pub client: aws_sdk_lambda::Client,
    place: Place,
}

/// A durable function, as the Lambda API names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    /// What the user called it (`processor`), for messages.
    pub shown: String,
    /// Its name or unqualified ARN.
    pub name: String,
    /// Its alias (or version), when executions start through one.
    pub qualifier: Option<String>,
}

impl std::fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{} ({}:{q})", self.shown, self.name),
            None => write!(f, "{} ({})", self.shown, self.name),
        }
    }
}

impl StageLambda {
    pub async fn connect(args: &TargetArgs) -> anyhow::Result<Self> {
        Ok(StageLambda::of(args.stage, Reached::reach(args).await?))
    }

    /// The Lambda API of `stage`, reached as `reached`.
    pub(crate) fn of(stage: Stage, reached: Reached) -> Self {
        match reached {
            Reached::Local(local) => StageLambda {
                stage,
                client: local.lambda(),
                place: Place::Local(local),
            },
            Reached::Deployed(d) => StageLambda {
                stage,
                client: aws_sdk_lambda::Client::new(&d.sdk),
                place: Place::Deployed {
                    cfn: aws_sdk_cloudformation::Client::new(&d.sdk),
                    stack: d.stack,
                },
            },
        }
    }

    /// "stage dev" or "the local cloud at http://...", for messages.
    pub fn place(&self) -> String {
        match &self.place {
            Place::Deployed { stack, .. } => format!("stage {} (stack {stack})", self.stage),
            Place::Local(l) => format!("the local cloud at {}", l.origin),
        }
    }

    /// Every durable function of the stage, with the alias its executions start through.
    pub async fn durable_functions(&self) -> anyhow::Result<Vec<FunctionRef>> {
        if let Place::Local(l) = &self.place {
            let functions = l.endpoints.durable_functions.iter();
            return Ok(functions
                .map(|f| FunctionRef {
                    shown: f.logical.to_ascii_lowercase(),
                    name: f.name.clone(),
                    qualifier: f.qualifier.clone(),
                })
                .collect());
        }
        let mut out = Vec::new();
        for f in template_functions(self.stage)?
            .into_iter()
            .filter(|f| f.durable)
        {
            out.push(FunctionRef {
                shown: f.logical.to_ascii_lowercase(),
                name: self.physical(&f.logical).await?,
                qualifier: f.alias,
            });
        }
        Ok(out)
    }

    /// The durable function `given` names: a function of the stage's template (any case),
    /// or a function ARN, used as it is.
    pub async fn function(&self, given: &str) -> anyhow::Result<FunctionRef> {
        if given.starts_with("arn:") {
            let (name, qualifier) = split_qualifier(given);
            return Ok(FunctionRef {
                shown: given.to_owned(),
                name,
                qualifier,
            });
        }
        let functions = template_functions(self.stage)?;
        let f = pick(self.stage, &functions, given)?;
        let name = self.physical(&f.logical).await?;
        Ok(FunctionRef {
            shown: given.to_ascii_lowercase(),
            name,
            qualifier: f.alias.clone(),
        })
    }

    /// The physical name of the template's function `logical`.
    async fn physical(&self, logical: &str) -> anyhow::Result<String> {
        match &self.place {
            Place::Deployed { stack, cfn } => {
                let out = cfn
                    .describe_stack_resource()
                    .stack_name(stack)
                    .logical_resource_id(logical)
                    .send()
                    .await
                    .map_err(|e| ExecError::StackResource {
                        stack: stack.clone(),
                        logical: logical.to_owned(),
                        source: Box::new(e),
                    })?;
                let physical = out
                    .stack_resource_detail()
                    .and_then(|d| d.physical_resource_id())
                    .filter(|p| !p.is_empty());
                match physical {
                    Some(p) => Ok(p.to_owned()),
                    None => anyhow::bail!(
                        "stack {stack} has not created its function {logical} (yet): deploy it"
                    ),
                }
            }
            Place::Local(local) => {
                // The local cloud names a function `<stack>-<logical id>` (local/model.rs).
                let stack = self.stage.stack_name();
                let found = local.endpoints.processor_function.as_deref();
                if let Some(found) = found.filter(|f| !f.starts_with(&format!("{stack}-"))) {
                    return Err(ExecError::OtherLocalStage {
                        origin: local.origin.clone(),
                        found: found.to_owned(),
                        stage: self.stage.to_string(),
                    }
                    .into());
                }
                Ok(format!("{stack}-{logical}"))
            }
        }
    }
}

/// `arn:...:function:NAME:QUALIFIER` as the unqualified ARN and the qualifier.
fn split_qualifier(arn: &str) -> (String, Option<String>) {
    match arn.rsplit_once(":function:") {
        Some((prefix, tail)) => match tail.split_once(':') {
            Some((name, q)) => (format!("{prefix}:function:{name}"), Some(q.to_owned())),
            None => (arn.to_owned(), None),
        },
        None => (arn.to_owned(), None),
    }
}

/// A function of a stage's template.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TemplateFunction {
    logical: String,
    durable: bool,
    /// The name of the alias the template gives it.
    alias: Option<String>,
}

/// The functions of the template, with their aliases.
fn template_functions(stage: Stage) -> anyhow::Result<Vec<TemplateFunction>> {
    let template = stacks::webhook::synth(stage)?;
    let doc: TemplateDoc = serde_json::from_value(template.to_value()?)?;
    Ok(functions_of(&doc))
}

fn functions_of(doc: &TemplateDoc) -> Vec<TemplateFunction> {
    let aliases: BTreeMap<&str, &str> = doc
        .resources
        .values()
        .filter_map(|r| match r {
            Resource::Alias { properties } => Some((
                properties.function_name.reference.as_str(),
                properties.name.as_str(),
            )),
            _ => None,
        })
        .collect();
    doc.resources
        .iter()
        .filter_map(|(id, r)| match r {
            Resource::Function { properties } => Some(TemplateFunction {
                logical: id.clone(),
                durable: properties.durable_config.is_some(),
                alias: aliases.get(id.as_str()).map(|a| (*a).to_owned()),
            }),
            _ => None,
        })
        .collect()
}

/// The function `given` names (its logical id, in any case), if it is durable.
fn pick<'a>(
    stage: Stage,
    functions: &'a [TemplateFunction],
    given: &str,
) -> Result<&'a TemplateFunction, ExecError> {
    let lower = |f: &TemplateFunction| f.logical.to_ascii_lowercase();
    let Some(f) = functions
        .iter()
        .find(|f| f.logical.eq_ignore_ascii_case(given))
    else {
        return Err(ExecError::UnknownFunction {
            stage: stage.to_string(),
            given: given.to_owned(),
            known: functions.iter().map(lower).collect(),
        });
    };
    if !f.durable {
        return Err(ExecError::NotDurable {
            stage: stage.to_string(),
            function: lower(f),
            durable: functions.iter().filter(|f| f.durable).map(lower).collect(),
        });
    }
    Ok(f)
}

/// The parts of a synthesized template read here.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateDoc {
    resources: BTreeMap<String, Resource>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "Type")]
enum Resource {
    #[serde(rename = "AWS::Lambda::Function")]
    Function {
        #[serde(rename = "Properties")]
        properties: FunctionProps,
    },
    #[serde(rename = "AWS::Lambda::Alias")]
    Alias {
        #[serde(rename = "Properties")]
        properties: AliasProps,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionProps {
    durable_config: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasProps {
    name: String,
    function_name: Ref,
}

#[derive(Debug, serde::Deserialize)]
struct Ref {
    #[serde(rename = "Ref")]
    reference: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_template_has_one_durable_function_behind_live() {
        let functions = template_functions(Stage::Dev).unwrap();
        let processor = pick(Stage::Dev, &functions, "processor").unwrap();
        assert_eq!(processor.logical, "Processor");
        assert_eq!(processor.alias.as_deref(), Some("live"));
        assert_eq!(
            pick(Stage::Dev, &functions, "PROCESSOR").unwrap(),
            processor
        );
        let err = pick(Stage::Dev, &functions, "receiver").unwrap_err();
        assert_eq!(
            err.to_string(),
            "function receiver of stage dev is not durable: it has no durable executions (durable: processor)"
        );
        let err = pick(Stage::Dev, &functions, "nope").unwrap_err();
        assert!(matches!(err, ExecError::UnknownFunction { .. }), "{err}");
        assert!(err.to_string().contains("processor, receiver"), "{err}");
    }

    #[test]
    fn a_function_arn_splits_into_name_and_qualifier() {
        let arn = "arn:aws:lambda:us-east-1:1:function:f";
        assert_eq!(split_qualifier(arn), (arn.to_owned(), None));
        assert_eq!(
            split_qualifier(&format!("{arn}:live")),
            (arn.to_owned(), Some("live".to_owned()))
        );
    }
}
