//! The diff without a change set (`deployer diff --template-only`) and the guard of
//! `deploy` and `promote`: the deployed template (one `GetTemplate`) compared with the new
//! one by [`stacks::diff`], which knows from the resource schemas which property changes
//! replace their resource. Replacing or removing a stateful resource (a table, a secret, a
//! bucket, ...) loses its data: `deploy` refuses it unless `--allow-replace LOGICAL_ID`.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use stacks::diff::{Action, Replacement, ResourceChange, TemplateResources};

use super::stack::describe;
use super::{Cloud, sdk_error};

/// The template `stack` runs, as CloudFormation keeps it (JSON or YAML).
pub async fn template_body(cloud: &Cloud, stack: &str) -> anyhow::Result<String> {
    Ok(cloud
        .cfn
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot read the deployed template of stack {stack}"))?
        .template_body
        .unwrap_or_default())
}

/// What a stack runs: its template, and its status and parameter values.
#[derive(Debug)]
pub struct Deployed {
    pub template: TemplateResources,
    pub info: super::stack::StackInfo,
}

impl Deployed {
    /// The template with its parameter values in place of their references.
    pub fn resolved(self) -> TemplateResources {
        self.template.resolved(&self.info.parameters)
    }
}

/// What `stack` runs; `None` when nothing is: no stack, only a change set never executed
/// (REVIEW_IN_PROGRESS), or a first create rolled back (ROLLBACK_COMPLETE: its resources
/// were deleted).
pub async fn deployed(cloud: &Cloud, stack: &str) -> anyhow::Result<Option<Deployed>> {
    let Some(info) = describe(cloud, stack).await? else {
        return Ok(None);
    };
    if matches!(
        info.status.as_str(),
        "REVIEW_IN_PROGRESS" | "ROLLBACK_COMPLETE"
    ) {
        return Ok(None);
    }
    let body = template_body(cloud, stack).await?;
    let template = TemplateResources::parse(&body).with_context(|| {
        format!("the deployed template of stack {stack} is neither JSON nor YAML")
    })?;
    Ok(Some(Deployed { template, info }))
}

/// Deploying would lose the data of stateful resources that were not allowed.
#[derive(Debug, thiserror::Error)]
#[error(
    "not deployed: stack {stack} would lose the data of {}; nothing was changed. If that is intended, pass {}",
    .refused.iter().map(describe_loss).collect::<Vec<_>>().join(", and of "),
    .refused.iter().map(|c| format!("--allow-replace {}", c.logical_id)).collect::<Vec<_>>().join(" ")
)]
pub struct DataLoss {
    pub stack: String,
    pub refused: Vec<ResourceChange>,
}

fn describe_loss(c: &ResourceChange) -> String {
    let how = match c.action {
        Action::Remove => "removed from the template".to_owned(),
        _ => {
            let paths: Vec<&str> = c
                .properties
                .iter()
                .filter(|p| p.replacement != Replacement::False)
                .map(|p| p.path.as_str())
                .collect();
            format!("replaced: {} changed", paths.join(", "))
        }
    };
    format!("`{}` ({}, {how})", c.logical_id, c.resource_type)
}

/// Deploying would replace or remove a durable function while executions run on it: every
/// version of the function goes with it, so they could never be replayed again.
#[derive(Debug, thiserror::Error)]
#[error(
    "not deployed: stack {stack} would {}; nothing was changed. Executions run on the version they started on, which a replaced function takes with it: let them finish first (`deployer executions list --status RUNNING`), or pass --allow-replay-break to abandon them",
    .functions.iter().map(|(c, runs)| format!(
        "{} durable function `{}` ({}) while {} execution(s) run on it: {}",
        if c.action == Action::Remove { "remove" } else { "replace" },
        c.logical_id,
        c.properties.iter().filter(|p| p.replacement != Replacement::False).map(|p| format!("{} changed", p.path)).collect::<Vec<_>>().join(", "),
        runs.len(),
        runs.join(", ")
    )).collect::<Vec<_>>().join("; and ")
)]
pub struct ReplayBreak {
    pub stack: String,
    /// Each durable function replaced or removed, with its RUNNING executions.
    pub functions: Vec<(ResourceChange, Vec<String>)>,
}

/// The durable functions (those with `DurableConfig` in `old`) that `changes` replace, may
/// replace, or remove.
pub fn replaced_durable<'c>(
    old: &TemplateResources,
    changes: &'c [ResourceChange],
) -> Vec<&'c ResourceChange> {
    let durable = |id: &str| {
        old.resources.get(id).is_some_and(|r| {
            r.resource_type == "AWS::Lambda::Function" && !r.properties["DurableConfig"].is_null()
        })
    };
    changes
        .iter()
        .filter(|c| durable(&c.logical_id))
        .filter(|c| {
            c.action == Action::Remove || c.replacement.is_some_and(|r| r != Replacement::False)
        })
        .collect()
}

/// The RUNNING executions of durable function `name`, started through any of `aliases`.
async fn running(cloud: &Cloud, name: &str, aliases: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for alias in aliases {
        let page = cloud
            .lambda
            .list_durable_executions_by_function()
            .function_name(name)
            .qualifier(alias)
            .statuses(aws_sdk_lambda::types::ExecutionStatus::Running)
            .max_items(50)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("cannot list the running executions of {name}:{alias}"))?;
        out.extend(
            page.durable_executions()
                .iter()
                .map(|e| e.durable_execution_arn().to_owned()),
        );
    }
    Ok(out)
}

/// Refuses to replace or remove a durable function that executions run on.
async fn guard_durable(
    cloud: &Cloud,
    stack: &str,
    old: &TemplateResources,
    changes: &[ResourceChange],
) -> anyhow::Result<()> {
    let replaced = replaced_durable(old, changes);
    if replaced.is_empty() {
        return Ok(());
    }
    let ids = super::hotswap::physical_ids(cloud, stack).await?;
    let mut functions = Vec::new();
    for c in replaced {
        let Some(name) = ids.get(&c.logical_id) else {
            continue;
        };
        let aliases: Vec<String> = super::hotswap::aliases_of(old, &c.logical_id)
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        let runs = running(cloud, name, &aliases).await?;
        if !runs.is_empty() {
            functions.push((c.clone(), runs));
        }
    }
    if functions.is_empty() {
        return Ok(());
    }
    Err(ReplayBreak {
        stack: stack.to_owned(),
        functions,
    }
    .into())
}

/// The changes that lose data and were not allowed (`allowed`: logical ids).
pub fn refused(changes: &[ResourceChange], allowed: &[String]) -> Vec<ResourceChange> {
    changes
        .iter()
        .filter(|c| c.loses_data && !allowed.contains(&c.logical_id))
        .cloned()
        .collect()
}

/// What a deployment may break, as the user allowed it.
#[derive(Clone, Copy, Debug)]
pub struct Allowed<'a> {
    /// Stateful resources that may be replaced or removed (logical ids).
    pub replace: &'a [String],
    /// Durable functions may be replaced while executions run on them.
    pub replay_break: bool,
}

/// Refuses a deployment of `new` over `old`, what `stack` runs (both with their parameter
/// values resolved), when it would lose data that `allowed` does not name, or replace a
/// durable function executions run on.
pub async fn guard(
    cloud: &Cloud,
    stack: &str,
    old: &TemplateResources,
    new: &TemplateResources,
    allowed: Allowed<'_>,
) -> anyhow::Result<()> {
    let changes = stacks::diff::diff(old, new);
    if !allowed.replay_break {
        guard_durable(cloud, stack, old, &changes).await?;
    }
    let refused = refused(&changes, allowed.replace);
    if refused.is_empty() {
        return Ok(());
    }
    Err(DataLoss {
        stack: stack.to_owned(),
        refused,
    }
    .into())
}

const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Prints a template-only diff as a table: each resource, then each changed property;
/// what loses data in red on a terminal.
pub fn print(out: &mut dyn Write, stack: &str, changes: &[ResourceChange]) {
    let color = std::io::stdout().is_terminal();
    let _ = writeln!(
        out,
        "{stack}: {} change(s) (template only: no change set; function packages not compared)",
        changes.len()
    );
    for c in changes {
        let replacement = match c.replacement {
            Some(Replacement::True) => "  REPLACES the resource",
            Some(Replacement::Conditional) => "  may replace the resource",
            _ => "",
        };
        let loss = if c.loses_data {
            "  [stateful: its data is lost]"
        } else {
            ""
        };
        let (on, off) = if c.loses_data && color {
            (RED, RESET)
        } else {
            ("", "")
        };
        let action = format!("{:?}", c.action);
        let line = format!(
            "  {action:<8} {:<32} {:<28}{replacement}{loss}",
            c.logical_id, c.resource_type
        );
        let _ = writeln!(out, "{on}{}{off}", line.trim_end());
        for p in &c.properties {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map_or("(none)".to_owned(), |v| v.to_string())
            };
            let why = match p.replacement {
                Replacement::True => "  (replaces)",
                Replacement::Conditional => "  (may replace)",
                Replacement::False => "",
            };
            let _ = writeln!(
                out,
                "      {}: {} -> {}{why}",
                p.path,
                show(&p.before),
                show(&p.after)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_change(id: &str) -> ResourceChange {
        let old = TemplateResources::parse(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {KeySchema: [{AttributeName: pk, KeyType: HASH}]}\n",
        )
        .unwrap();
        let new = TemplateResources::parse(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {KeySchema: [{AttributeName: id, KeyType: HASH}]}\n",
        )
        .unwrap();
        let mut c = stacks::diff::diff(&old, &new).remove(0);
        c.logical_id = id.to_owned();
        c
    }

    #[test]
    fn a_table_replacement_is_refused_unless_allowed_and_the_error_says_how() {
        let changes = [table_change("Table")];
        assert!(refused(&changes, &["Table".to_owned()]).is_empty());
        let err = DataLoss {
            stack: "webhooks-dev".into(),
            refused: refused(&changes, &[]),
        };
        assert_eq!(
            err.to_string(),
            "not deployed: stack webhooks-dev would lose the data of `Table` (AWS::DynamoDB::Table, replaced: /KeySchema changed); nothing was changed. If that is intended, pass --allow-replace Table"
        );
    }

    #[test]
    fn replacing_or_removing_a_durable_function_breaks_replay_a_memory_change_does_not() {
        let template = |extra: &str| {
            TemplateResources::parse(&format!(
                "Resources:\n  P:\n    Type: AWS::Lambda::Function\n    Properties: {{DurableConfig: {{ExecutionTimeout: 60}}, MemorySize: 256{extra}}}\n  Q:\n    Type: AWS::Lambda::Function\n    Properties: {{MemorySize: 256{extra}}}\n"
            ))
            .unwrap()
        };
        let old = template("");
        let renamed = stacks::diff::diff(&old, &template(", FunctionName: p2"));
        let ids: Vec<&str> = replaced_durable(&old, &renamed)
            .iter()
            .map(|c| c.logical_id.as_str())
            .collect();
        assert_eq!(ids, ["P"], "Q is replaced too, but is not durable");
        let bigger = stacks::diff::diff(&old, &template(", Timeout: 30"));
        assert!(replaced_durable(&old, &bigger).is_empty());
        let gone = stacks::diff::diff(&old, &TemplateResources::default());
        assert_eq!(replaced_durable(&old, &gone).len(), 1);
        let err = ReplayBreak {
            stack: "webhooks-dev".into(),
            functions: vec![(renamed[0].clone(), vec!["arn:x".into()])],
        };
        assert!(
            err.to_string().starts_with(
                "not deployed: stack webhooks-dev would replace durable function `P` (/FunctionName changed) while 1 execution(s) run on it: arn:x; nothing was changed."
            ),
            "{err}"
        );
    }

    #[test]
    fn the_table_shows_each_property_and_the_loss() {
        let mut out = Vec::new();
        print(&mut out, "webhooks-dev", &[table_change("Table")]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Modify   Table"), "{text}");
        assert!(
            text.contains("may replace the resource  [stateful: its data is lost]"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"/KeySchema: [{"AttributeName":"pk","KeyType":"HASH"}] -> [{"AttributeName":"id","KeyType":"HASH"}]  (may replace)"#
            ),
            "{text}"
        );
    }
}
