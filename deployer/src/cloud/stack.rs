//! One stack operation: a change set, its diff, an approval, its execution with events,
//! and the outcome. Shared by `deploy`, `diff`, `promote` and `bootstrap`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
use serde::Serialize;

use super::events::{EventStream, sdk_error_text};
use super::{Cloud, Progress, confirm, sdk_error};

/// What a stack looks like now.
#[derive(Clone, Debug)]
pub struct StackInfo {
    pub id: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

impl StackInfo {
    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }

    /// The operation that led here succeeded.
    pub fn complete(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
        )
    }

    /// A stable state that serves its last successful deployment: complete, or rolled back
    /// to it after a failed update. What promotion may start from.
    pub fn serving(&self) -> bool {
        self.complete() || self.status == "UPDATE_ROLLBACK_COMPLETE"
    }
}

/// The stack named `name`, or `None` when there is none.
pub async fn describe(cloud: &Cloud, name: &str) -> anyhow::Result<Option<StackInfo>> {
    let out = match cloud.cfn.describe_stacks().stack_name(name).send().await {
        Ok(o) => o,
        Err(e) if sdk_error_text(&e).contains("does not exist") => return Ok(None),
        Err(e) => {
            return Err(sdk_error(e)).with_context(|| format!("cannot describe stack {name}"));
        }
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let status = s
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(StackInfo {
        id: s.stack_id().unwrap_or(name).to_owned(),
        status,
        reason: s.stack_status_reason().map(str::to_owned),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value()?.to_owned(),
                ))
            })
            .collect(),
    }))
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for modifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// IAM, resource policies, secrets: changes that can widen access.
    pub security: bool,
}

/// Resource types whose changes can widen who may do what.
fn security_sensitive(resource_type: &str) -> bool {
    resource_type.starts_with("AWS::IAM::")
        || resource_type.starts_with("AWS::KMS::")
        || resource_type.starts_with("AWS::SecretsManager::")
        || matches!(
            resource_type,
            "AWS::Lambda::Permission"
                | "AWS::Lambda::Url"
                | "AWS::S3::BucketPolicy"
                | "AWS::Logs::ResourcePolicy"
                | "AWS::ApiGateway::Method"
                | "AWS::ApiGateway::Authorizer"
        )
}

/// Prints a diff as a table.
pub fn print_diff(out: &mut dyn std::io::Write, stack: &str, changes: &[Change]) {
    let _ = writeln!(out, "{stack}: {} change(s)", changes.len());
    for c in changes {
        let replacement = match c.replacement.as_deref() {
            Some("True") => "  REPLACES the resource",
            Some("Conditional") => "  may replace the resource",
            _ => "",
        };
        let marker = if c.security { "  [security]" } else { "" };
        let _ = writeln!(
            out,
            "  {:<8} {:<32} {:<28}{replacement}{marker}",
            c.action, c.logical_id, c.resource_type
        );
    }
}

/// When a change set needs a person's approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RequireApproval {
    Never,
    /// Changes to IAM, resource policies or secrets (they can widen access).
    Broadening,
    AnyChange,
}

/// What to do with a stack.
#[derive(Debug)]
pub struct Plan<'a> {
    pub stack: &'a str,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub require_approval: RequireApproval,
    pub yes: bool,
    /// Delete a stack left in ROLLBACK_COMPLETE by a failed first create, then create it.
    pub recreate: bool,
    pub progress: Progress,
    /// The command that runs this plan again (for "re-attach" hints).
    pub again: String,
}

/// The outcome of [`apply`].
#[derive(Debug)]
pub enum Applied {
    NoChanges(StackInfo),
    Done(StackInfo),
    /// The diff of a preview (nothing executed).
    Preview(Vec<Change>),
}

/// Interval between polls of a running operation.
fn poll_interval(cloud: &Cloud) -> Duration {
    // Emulators answer at once; CloudFormation itself is slower and rate-limits reads.
    if cloud.endpoint.is_some() {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(2)
    }
}

/// Waits for an operation in progress on `stack` to end, printing its events; Ctrl-C
/// leaves it running.
pub async fn wait(
    cloud: &Cloud,
    stack: &str,
    events: &mut EventStream,
    again: &str,
) -> anyhow::Result<StackInfo> {
    loop {
        tokio::select! {
            _ = cloud.interrupted() => {
                events.finish();
                bail!(
                    "interrupted: the operation goes on in CloudFormation; run `{again}` to attach to it and wait for its end"
                );
            }
            _ = tokio::time::sleep(poll_interval(cloud)) => {}
        }
        events.poll(cloud).await?;
        match describe(cloud, stack).await? {
            Some(info) if info.in_progress() => continue,
            Some(info) => {
                events.poll(cloud).await?;
                events.finish();
                return Ok(info);
            }
            None => {
                events.poll(cloud).await?;
                events.finish();
                bail!("stack {stack} no longer exists");
            }
        }
    }
}

/// Deletes `stack` and waits for the end; returns the events of the deletion.
pub async fn delete(
    cloud: &Cloud,
    info: &StackInfo,
    progress: Progress,
    again: &str,
) -> anyhow::Result<EventStream> {
    let mut events = EventStream::new(cloud, &info.id, progress.live()).await?;
    cloud
        .cfn
        .delete_stack()
        .stack_name(&info.id)
        .send()
        .await
        .map_err(sdk_error)
        .context("cannot delete the stack")?;
    loop {
        tokio::select! {
            _ = cloud.interrupted() => {
                events.finish();
                bail!("interrupted: the deletion goes on in CloudFormation; run `{again}` to wait for it");
            }
            _ = tokio::time::sleep(poll_interval(cloud)) => {}
        }
        events.poll(cloud).await?;
        let status = cloud
            .cfn
            .describe_stacks()
            .stack_name(&info.id)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|s| s.as_str().to_owned()))
            });
        match status.as_deref() {
            None | Some("DELETE_COMPLETE") => {
                events.finish();
                return Ok(events);
            }
            Some("DELETE_FAILED") => {
                events.finish();
                let cause = events
                    .first_failure()
                    .map(|e| format!("{}: {}", e.logical_id, e.reason.clone().unwrap_or_default()))
                    .unwrap_or_default();
                bail!("deleting the stack failed: {cause}");
            }
            _ => {}
        }
    }
}

/// The resources of a template, by logical id.
#[derive(Debug, serde::Deserialize)]
struct TemplateResources {
    #[serde(rename = "Resources", default)]
    resources: BTreeMap<String, TemplateResource>,
}

#[derive(Debug, serde::Deserialize)]
struct TemplateResource {
    #[serde(rename = "Type")]
    resource_type: String,
}

/// The diff of creating a stack from `template` (JSON or YAML): each resource, added.
fn template_additions(template: &str) -> anyhow::Result<Vec<Change>> {
    let parsed: TemplateResources =
        serde_yaml::from_str(template).context("the template is neither JSON nor YAML")?;
    Ok(parsed
        .resources
        .into_iter()
        .map(|(logical_id, r)| Change {
            action: "Add".to_owned(),
            logical_id,
            security: security_sensitive(&r.resource_type),
            resource_type: r.resource_type,
            replacement: None,
        })
        .collect())
}

/// The reasons CloudFormation gives for a change set with nothing in it.
fn empty_change_set(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("no changes")
}

/// Creates a change set for `plan`, shows the diff and, unless `preview`, executes it.
pub async fn apply(cloud: &Cloud, plan: &Plan<'_>, preview: bool) -> anyhow::Result<Applied> {
    let stack = plan.stack;
    let mut existing = describe(cloud, stack).await?;
    if let Some(info) = existing.as_ref().filter(|i| i.in_progress()) {
        if preview {
            bail!(
                "stack {stack} is busy ({}): run the diff again when the operation has ended",
                info.status
            );
        }
        eprintln!(
            "stack {stack} is busy ({}); waiting for that operation to end (Ctrl-C leaves it running)",
            info.status
        );
        let mut events = EventStream::new(cloud, stack, plan.progress.live()).await?;
        existing = Some(wait(cloud, stack, &mut events, &plan.again).await?);
    }
    if let Some(info) = existing.clone()
        && info.status == "ROLLBACK_COMPLETE"
    {
        if !plan.recreate || preview {
            bail!(
                "stack {stack} is in ROLLBACK_COMPLETE: its first create failed ({}), and CloudFormation cannot update it. Run `{} --recreate` to delete it and create it anew",
                info.reason.as_deref().unwrap_or("see its events"),
                plan.again
            );
        }
        eprintln!(
            "stack {stack} is in ROLLBACK_COMPLETE after a failed first create: deleting it (--recreate)"
        );
        delete(cloud, &info, plan.progress, &plan.again).await?;
        existing = None;
    }
    if let Some(info) = existing
        .as_ref()
        .filter(|i| i.status.ends_with("_FAILED") && i.status != "UPDATE_FAILED")
    {
        bail!(
            "stack {stack} is in {} ({}): fix it in the CloudFormation console, or `deployer destroy` it",
            info.status,
            info.reason.as_deref().unwrap_or("no reason given")
        );
    }
    // A stack in REVIEW_IN_PROGRESS holds only a change set that was never executed.
    let create = existing
        .as_ref()
        .is_none_or(|i| i.status == "REVIEW_IN_PROGRESS");
    if create && preview {
        // Nothing deployed: every resource is new. Read from the template, not from a
        // change set, which would create the stack (and need a delete to leave nothing).
        eprintln!("stack {stack} has nothing deployed: every resource of the template is an Add");
        return Ok(Applied::Preview(template_additions(&plan.template_body)?));
    }

    let name = format!(
        "deployer-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let created = cloud
        .cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(if create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .template_body(&plan.template_body)
        .set_parameters(Some(
            plan.parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .description("deployer")
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot create a change set for stack {stack}"))?;
    let change_set = created.id().unwrap_or(&name).to_owned();

    // Leaves nothing behind: the change set, and a stack that only existed for it.
    let discard = || async {
        let _ = cloud
            .cfn
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(&change_set)
            .send()
            .await;
        if create
            && let Ok(Some(info)) = describe(cloud, stack).await
            && info.status == "REVIEW_IN_PROGRESS"
        {
            let _ = cloud.cfn.delete_stack().stack_name(&info.id).send().await;
        }
    };

    let described = loop {
        let d = cloud
            .cfn
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(&change_set)
            .send()
            .await
            .map_err(sdk_error)
            .context("cannot read the change set")?;
        let status = d
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        match status.as_str() {
            "CREATE_COMPLETE" => break d,
            "FAILED" => {
                let reason = d.status_reason().unwrap_or_default().to_owned();
                discard().await;
                if empty_change_set(&reason) {
                    let info = describe(cloud, stack)
                        .await?
                        .context("the stack disappeared")?;
                    eprintln!("{stack}: no changes");
                    return Ok(Applied::NoChanges(info));
                }
                bail!("the change set for stack {stack} failed: {reason}");
            }
            _ => tokio::time::sleep(poll_interval(cloud) / 2).await,
        }
    };
    let changes: Vec<Change> = described
        .changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|rc| {
            let resource_type = rc.resource_type().unwrap_or("?").to_owned();
            Change {
                action: rc
                    .action()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
                logical_id: rc.logical_resource_id().unwrap_or("?").to_owned(),
                security: security_sensitive(&resource_type),
                resource_type,
                replacement: rc
                    .replacement()
                    .map(|r| r.as_str().to_owned())
                    .filter(|_| rc.action().is_some_and(|a| a.as_str() == "Modify")),
            }
        })
        .collect();
    if changes.is_empty() {
        discard().await;
        let info = describe(cloud, stack).await?;
        eprintln!("{stack}: no changes");
        return match info {
            Some(info) => Ok(Applied::NoChanges(info)),
            None => bail!("the change set for stack {stack} has no changes, and there is no stack"),
        };
    }
    if preview {
        discard().await;
        return Ok(Applied::Preview(changes));
    }
    print_diff(&mut std::io::stderr(), stack, &changes);

    let needs_approval = match plan.require_approval {
        RequireApproval::Never => false,
        RequireApproval::AnyChange => true,
        RequireApproval::Broadening => changes.iter().any(|c| c.security && c.action != "Remove"),
    };
    if needs_approval && !plan.yes {
        let why = match plan.require_approval {
            RequireApproval::AnyChange => "any change (--require-approval any-change)",
            _ => "IAM or security changes (--require-approval broadening)",
        };
        if !confirm(&format!("{stack}: deploy these changes?"))? {
            discard().await;
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!("not deployed: the changes were not approved");
            }
            bail!(
                "not deployed: the changes need approval, for {why}, and there is no terminal to ask; pass --yes to approve them, or --require-approval never"
            );
        }
    }

    let mut events = EventStream::new(cloud, stack, plan.progress.live()).await?;
    cloud
        .cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(&change_set)
        .send()
        .await
        .map_err(sdk_error)
        .context("cannot execute the change set")?;
    eprintln!("{stack}: deploying");
    let info = wait(cloud, stack, &mut events, &plan.again).await?;
    if info.complete() {
        return Ok(Applied::Done(info));
    }
    let cause = events
        .first_failure()
        .map(|e| {
            format!(
                "{} ({}) {}: {}",
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .unwrap_or_else(|| info.reason.clone().unwrap_or_default());
    let mut message = format!(
        "deploying stack {stack} failed: {cause}\nthe stack is now {}",
        info.status
    );
    if info.status == "ROLLBACK_COMPLETE" {
        message.push_str(&format!(
            "; it cannot be updated: run `{} --recreate` to delete it and create it anew",
            plan.again
        ));
    }
    message.push_str("\nevents:");
    for e in &events.trail {
        message.push_str(&format!("\n  {e}"));
    }
    bail!(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_stack_adds_every_resource_of_its_template() {
        let template = r#"{"Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role"}}}"#;
        let changes = template_additions(template).unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].logical_id, "Role");
        assert!(changes[0].security);
        assert_eq!(changes[1].action, "Add");
        assert_eq!(changes[1].resource_type, "AWS::DynamoDB::Table");
        assert!(!changes[1].security);
        assert!(template_additions("Resources: [").is_err());
    }
}
