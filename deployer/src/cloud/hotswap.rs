//! `deploy --hotswap`: when only function code changed, update the code, publish a version
//! and move the alias with Lambda's own calls, in seconds, without a change set. Anything
//! else falls back to a full deploy, with the reason. The stack then runs code its template
//! does not name: a marker in the asset bucket says so (`deployer drift` shows it) until
//! the next full deploy, which deletes it. Never for prod.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_lambda::types::LastUpdateStatus;
use serde::{Deserialize, Serialize};
use stacks::diff::{Action, ResourceChange, TemplateResources};

use super::{Cloud, assets, sdk_error};

/// One function whose code a hotswap updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeUpdate {
    pub function: String,
    pub s3_bucket: String,
    pub s3_key: String,
    /// The logical id and `Name` of each alias of the function, moved to the new version.
    pub aliases: Vec<(String, String)>,
}

/// What a hotswap would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Only code changed: these updates (none when nothing changed).
    Hotswap(Vec<CodeUpdate>),
    /// Something else changed: why a full deploy is needed.
    FullDeploy(String),
}

/// The property paths a hotswap changes itself in a resource of `resource_type`: a
/// function's code, and the version CloudFormation would publish for it (the hotswap
/// publishes one).
fn swappable_paths(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::Lambda::Function" => &["/Code/"],
        "AWS::Lambda::Version" => &["/CodeSha256", "/Description"],
        _ => &[],
    }
}

/// Why a hotswap cannot make change `c`, if it cannot.
fn not_swappable(c: &ResourceChange) -> Option<String> {
    let (id, ty) = (&c.logical_id, &c.resource_type);
    match c.action {
        Action::Add => return Some(format!("`{id}` ({ty}) is new")),
        Action::Remove => return Some(format!("`{id}` ({ty}) is removed")),
        Action::Modify => {}
    }
    let allowed = swappable_paths(ty);
    c.properties
        .iter()
        .find(|p| !allowed.iter().any(|pre| p.path.starts_with(pre)))
        .map(|p| format!("`{id}` ({ty}) is modified: {} changed", p.path))
}

/// A part of the template outside resource properties that differs (a section such as
/// Outputs, or a resource attribute such as DependsOn): only a change set deploys it.
fn changed_outside_properties(old: &TemplateResources, new: &TemplateResources) -> Option<String> {
    if let Some(k) = old
        .sections
        .keys()
        .chain(new.sections.keys())
        .find(|k| old.sections.get(*k) != new.sections.get(*k))
    {
        return Some(format!("the template's {k}"));
    }
    new.resources.iter().find_map(|(id, r)| {
        let before = old.resources.get(id)?;
        if before.deletion_policy != r.deletion_policy {
            return Some(format!("`{id}`'s DeletionPolicy"));
        }
        let k = before
            .attributes
            .keys()
            .chain(r.attributes.keys())
            .find(|k| before.attributes.get(*k) != r.attributes.get(*k))?;
        Some(format!("`{id}`'s {k}"))
    })
}

/// Decides from the deployed template (`old`) and the new one (`new`), both with their
/// parameter values resolved; `raw` is the new template as written (its references).
pub fn decide(
    old: &TemplateResources,
    new: &TemplateResources,
    raw: &TemplateResources,
) -> Decision {
    if let Some(section) = changed_outside_properties(old, new) {
        return Decision::FullDeploy(format!("{section} changed"));
    }
    let changes = stacks::diff::diff(old, new);
    if let Some(why) = changes.iter().find_map(not_swappable) {
        return Decision::FullDeploy(why);
    }
    let updates = changes
        .iter()
        .filter(|c| c.resource_type == "AWS::Lambda::Function")
        .map(|c| {
            let code = &new.resources[&c.logical_id].properties["Code"];
            CodeUpdate {
                function: c.logical_id.clone(),
                s3_bucket: code["S3Bucket"].as_str().unwrap_or_default().to_owned(),
                s3_key: code["S3Key"].as_str().unwrap_or_default().to_owned(),
                aliases: aliases_of(raw, &c.logical_id),
            }
        })
        .collect();
    Decision::Hotswap(updates)
}

/// The aliases of `function` in `template`: (logical id, alias name).
pub(crate) fn aliases_of(template: &TemplateResources, function: &str) -> Vec<(String, String)> {
    template
        .resources
        .iter()
        .filter(|(_, r)| r.resource_type == "AWS::Lambda::Alias")
        .filter(|(_, r)| r.properties["FunctionName"] == serde_json::json!({"Ref": function}))
        .filter_map(|(id, r)| Some((id.clone(), r.properties["Name"].as_str()?.to_owned())))
        .collect()
}

/// The marker of a stack that runs hotswapped code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    /// Function logical id -> the package it runs.
    pub functions: BTreeMap<String, String>,
}

/// The package function `id` of `template` (parameters resolved) runs.
fn code_key<'t>(template: &'t TemplateResources, id: &str) -> Option<&'t str> {
    template.resources.get(id)?.properties["Code"]["S3Key"].as_str()
}

impl Marker {
    /// What is still hotswapped once the stack went from `before` to `after` (parameters
    /// resolved): a function whose code the change moved (CloudFormation published a
    /// version and moved the alias), or whose template names what it runs, is not.
    pub fn settled(&self, before: &TemplateResources, after: &TemplateResources) -> Marker {
        let functions = self
            .functions
            .iter()
            .filter(|(f, runs)| {
                let now = code_key(after, f);
                now != Some(runs.as_str()) && code_key(before, f) == now
            })
            .map(|(f, runs)| (f.clone(), runs.clone()))
            .collect();
        Marker { functions }
    }

    /// The swaps that put hotswapped functions back on the code `template` names (a code
    /// change reverted since the hotswap is no change to the deployed template), leaving
    /// out those `planned` already swaps.
    pub fn back_to(
        &self,
        template: &TemplateResources,
        raw: &TemplateResources,
        planned: &[CodeUpdate],
    ) -> Vec<CodeUpdate> {
        self.functions
            .iter()
            .filter(|(f, _)| planned.iter().all(|u| &u.function != *f))
            .filter_map(|(f, runs)| {
                let key = code_key(template, f).filter(|k| k != runs)?;
                let code = &template.resources[f].properties["Code"];
                Some(CodeUpdate {
                    function: f.clone(),
                    s3_bucket: code["S3Bucket"].as_str().unwrap_or_default().to_owned(),
                    s3_key: key.to_owned(),
                    aliases: aliases_of(raw, f),
                })
            })
            .collect()
    }
}

/// Writes `marker` for `stack`, or deletes it when nothing is hotswapped.
pub async fn put_marker(
    cloud: &Cloud,
    bucket: &str,
    stack: &str,
    marker: &Marker,
) -> anyhow::Result<()> {
    if marker.functions.is_empty() {
        return clear(cloud, bucket, stack).await;
    }
    assets::put_json(cloud, bucket, &marker_key(stack), marker).await
}

fn marker_key(stack: &str) -> String {
    format!("deployments/{stack}.hotswap.json")
}

pub async fn marker(cloud: &Cloud, bucket: &str, stack: &str) -> anyhow::Result<Option<Marker>> {
    assets::get_json(cloud, bucket, &marker_key(stack)).await
}

/// Forgets the hotswaps of `stack` (after a full deploy).
pub async fn clear(cloud: &Cloud, bucket: &str, stack: &str) -> anyhow::Result<()> {
    cloud
        .s3
        .delete_object()
        .bucket(bucket)
        .key(marker_key(stack))
        .send()
        .await
        .map_err(sdk_error)
        .context("cannot delete the hotswap marker")?;
    Ok(())
}

/// The physical id of each resource of `stack`.
pub(crate) async fn physical_ids(
    cloud: &Cloud,
    stack: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let out = cloud
        .cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot list the resources of stack {stack}"))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_owned(),
                r.physical_resource_id()?.to_owned(),
            ))
        })
        .collect())
}

/// Updates one function's code, waits for the update, publishes a version and moves its
/// aliases; the version.
async fn swap(cloud: &Cloud, name: &str, u: &CodeUpdate) -> anyhow::Result<String> {
    let what = format!("function {} ({name})", u.function);
    let updated = cloud
        .lambda
        .update_function_code()
        .function_name(name)
        .s3_bucket(&u.s3_bucket)
        .s3_key(&u.s3_key)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot update the code of {what}"))?;
    if updated.last_update_status() != Some(&LastUpdateStatus::Successful) {
        until_updated(cloud, name, &what).await?;
    }
    let version = cloud
        .lambda
        .publish_version()
        .function_name(name)
        .description("deployer deploy --hotswap")
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot publish a version of {what}"))?
        .version
        .context("Lambda gave no version number")?;
    for (_, alias) in &u.aliases {
        cloud
            .lambda
            .update_alias()
            .function_name(name)
            .name(alias)
            .function_version(&version)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("cannot move alias {alias} of {what} to version {version}"))?;
    }
    Ok(version)
}

/// How long a function's code update may take.
const UPDATE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// Polls the function's configuration (every 250 ms, for at most [`UPDATE_DEADLINE`]) until
/// its last update ended; an error when it failed. (The SDK's waiter waits a second at least
/// between polls, longer than most updates take.)
async fn until_updated(cloud: &Cloud, name: &str, what: &str) -> anyhow::Result<()> {
    let began = std::time::Instant::now();
    loop {
        let config = cloud
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("cannot read the state of {what}"))?;
        match config.last_update_status() {
            Some(LastUpdateStatus::InProgress) if began.elapsed() < UPDATE_DEADLINE => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Some(LastUpdateStatus::InProgress) => anyhow::bail!(
                "the code update of {what} is still in progress after {} s",
                UPDATE_DEADLINE.as_secs()
            ),
            Some(LastUpdateStatus::Failed) => anyhow::bail!(
                "the code update of {what} failed: {}",
                config
                    .last_update_status_reason()
                    .unwrap_or("no reason given")
            ),
            _ => return Ok(()),
        }
    }
}

/// Runs `updates` on `stack`, recording each in the marker; the marker.
pub async fn run(
    cloud: &Cloud,
    bucket: &str,
    stack: &str,
    updates: &[CodeUpdate],
) -> anyhow::Result<Marker> {
    let ids = physical_ids(cloud, stack).await?;
    let mut marker = marker(cloud, bucket, stack).await?.unwrap_or_default();
    for u in updates {
        let name = ids
            .get(&u.function)
            .with_context(|| format!("stack {stack} has no function {}", u.function))?;
        let version = swap(cloud, name, u).await?;
        let moved: Vec<&str> = u.aliases.iter().map(|(_, a)| a.as_str()).collect();
        eprintln!(
            "{}: code {} published as version {version}{}",
            u.function,
            u.s3_key,
            if moved.is_empty() {
                String::new()
            } else {
                format!(", alias {} moved", moved.join(", "))
            }
        );
        // Recorded after each swap: a later one that fails leaves this one on record.
        marker
            .functions
            .insert(u.function.clone(), u.s3_key.clone());
        assets::put_json(cloud, bucket, &marker_key(stack), &marker).await?;
    }
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Status:
    Type: AWS::Lambda::Function
    Properties: {MemorySize: 256, Code: {S3Bucket: {Ref: AssetBucket}, S3Key: {Ref: StatusCodeKey}}}
  StatusVersion:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: {Ref: Status}, CodeSha256: {Ref: StatusCodeSha256}}
  StatusAlias:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: {Ref: Status}, Name: live, FunctionVersion: {"Fn::GetAtt": [StatusVersion, Version]}}
"#;

    fn values(key: &str, sha: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("AssetBucket".into(), "bucket".into()),
            ("StatusCodeKey".into(), key.into()),
            ("StatusCodeSha256".into(), sha.into()),
        ])
    }

    fn decide_for(new_text: &str, old: &str, new: &str) -> Decision {
        let raw = TemplateResources::parse(new_text).unwrap();
        let o = TemplateResources::parse(TEMPLATE)
            .unwrap()
            .resolved(&values(old, "s1"));
        let n = raw
            .clone()
            .resolved(&values(new, if old == new { "s1" } else { "s2" }));
        decide(&o, &n, &raw)
    }

    #[test]
    fn a_code_change_is_hotswapped_with_its_alias() {
        assert_eq!(
            decide_for(TEMPLATE, "a.zip", "b.zip"),
            Decision::Hotswap(vec![CodeUpdate {
                function: "Status".into(),
                s3_bucket: "bucket".into(),
                s3_key: "b.zip".into(),
                aliases: vec![("StatusAlias".into(), "live".into())],
            }])
        );
        assert_eq!(
            decide_for(TEMPLATE, "a.zip", "a.zip"),
            Decision::Hotswap(vec![])
        );
    }

    #[test]
    fn the_marker_keeps_what_still_runs_code_its_template_does_not_name() {
        let at = |key: &str| {
            TemplateResources::parse(TEMPLATE)
                .unwrap()
                .resolved(&values(key, "s"))
        };
        let marker = Marker {
            functions: BTreeMap::from([("Status".to_owned(), "b.zip".to_owned())]),
        };
        // A full deploy that does not change the code (a.zip before and after): still b.
        assert_eq!(marker.settled(&at("a.zip"), &at("a.zip")), marker);
        // One that moves the code (the alias follows), or names what runs: settled.
        assert!(
            marker
                .settled(&at("a.zip"), &at("c.zip"))
                .functions
                .is_empty()
        );
        assert!(
            marker
                .settled(&at("b.zip"), &at("b.zip"))
                .functions
                .is_empty()
        );
        // A hotswap of a template that names a.zip puts Status back on a.zip.
        let raw = TemplateResources::parse(TEMPLATE).unwrap();
        let back = marker.back_to(&at("a.zip"), &raw, &[]);
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].s3_key.as_str(), back[0].aliases.len()),
            ("a.zip", 1)
        );
        assert!(marker.back_to(&at("b.zip"), &raw, &[]).is_empty());
    }

    #[test]
    fn anything_else_falls_back_to_a_full_deploy_and_says_why() {
        let bigger = TEMPLATE.replace("MemorySize: 256", "MemorySize: 512");
        assert_eq!(
            decide_for(&bigger, "a.zip", "b.zip"),
            Decision::FullDeploy(
                "`Status` (AWS::Lambda::Function) is modified: /MemorySize changed".into()
            )
        );
        let retained = TEMPLATE.replace(
            "  StatusAlias:\n",
            "    UpdateReplacePolicy: Retain\n  StatusAlias:\n",
        );
        assert_eq!(
            decide_for(&retained, "a.zip", "b.zip"),
            Decision::FullDeploy("`StatusVersion`'s UpdateReplacePolicy changed".into())
        );
        let kept = TEMPLATE.replace(
            "  StatusAlias:\n",
            "    DeletionPolicy: Retain\n  StatusAlias:\n",
        );
        assert_eq!(
            decide_for(&kept, "a.zip", "b.zip"),
            Decision::FullDeploy("`StatusVersion`'s DeletionPolicy changed".into())
        );
        let outputs = format!("{TEMPLATE}Outputs:\n  Url: {{Value: x}}\n");
        assert_eq!(
            decide_for(&outputs, "a.zip", "b.zip"),
            Decision::FullDeploy("the template's Outputs changed".into())
        );
        let more = format!("{TEMPLATE}  Queue:\n    Type: AWS::SQS::Queue\n");
        assert_eq!(
            decide_for(&more, "a.zip", "a.zip"),
            Decision::FullDeploy("`Queue` (AWS::SQS::Queue) is new".into())
        );
    }
}
