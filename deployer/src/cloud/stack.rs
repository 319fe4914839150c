//! One stack operation: a change set, its diff, an approval, its execution with events,
//! and the outcome. Shared by `deploy`, `diff`, `promote` and `bootstrap`.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_sdk_cloudformation::types::Stack;
use serde::Serialize;

use super::changeset::{ChangeSet, Made};
use super::events::{EventStream, sdk_error_text};
use super::wait::{self, Operation, Waiting};
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
    Ok(out.stacks().first().and_then(|s| stack_info(s, name)))
}

/// What `s` says about itself; `None` for a deleted stack. `name`: the id when it has none.
pub fn stack_info(s: &Stack, name: &str) -> Option<StackInfo> {
    let status = s
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return None;
    }
    Some(StackInfo {
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
    })
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
pub fn security_sensitive(resource_type: &str) -> bool {
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
    let waiting = Waiting::started(&info.id, Operation::Delete, again);
    match wait::until_done(cloud, waiting, &mut events).await? {
        None => Ok(events),
        Some(left) => {
            let cause = events
                .first_failure()
                .map(|e| format!("{}: {}", e.logical_id, e.reason.clone().unwrap_or_default()))
                .or_else(|| left.reason.clone())
                .unwrap_or_else(|| format!("the stack is {}", left.status));
            bail!("deleting the stack failed: {cause}")
        }
    }
}

/// The diff of creating a stack from `template` (JSON or YAML): each resource, added.
fn template_additions(template: &str) -> anyhow::Result<Vec<Change>> {
    let parsed = stacks::diff::TemplateResources::parse(template)
        .context("the template is neither JSON nor YAML")?;
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

/// Creates a change set for `plan`, shows the diff and, unless `preview`, executes it.
pub async fn apply(cloud: &Cloud, plan: &Plan<'_>, preview: bool) -> anyhow::Result<Applied> {
    let stack = plan.stack;
    let existing = settle(cloud, plan, preview).await?;
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
    let change_set = ChangeSet::request(cloud, plan, create).await?;
    let changes = match change_set.made(cloud).await? {
        Made::Changes(changes) if !changes.is_empty() => changes,
        Made::Changes(_) => {
            change_set.discard(cloud).await;
            return no_changes(cloud, stack).await;
        }
        Made::Empty => return no_changes(cloud, stack).await,
    };
    if preview {
        change_set.discard(cloud).await;
        return Ok(Applied::Preview(changes));
    }
    print_diff(&mut std::io::stderr(), stack, &changes);
    if let Err(refused) = approve(plan, &changes) {
        change_set.discard(cloud).await;
        return Err(refused);
    }
    execute(cloud, plan, &change_set).await
}

/// The stack as a change set may start from: a busy stack waited for, a failed first
/// create deleted (`--recreate`), a failed state refused. `None`: no stack.
async fn settle(
    cloud: &Cloud,
    plan: &Plan<'_>,
    preview: bool,
) -> anyhow::Result<Option<StackInfo>> {
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
        let waiting = Waiting::running(stack, &info.status, &plan.again);
        existing = wait::until_done(cloud, waiting, &mut events).await?;
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
    Ok(existing)
}

/// `no changes`, with the stack as it is.
async fn no_changes(cloud: &Cloud, stack: &str) -> anyhow::Result<Applied> {
    let info = describe(cloud, stack).await?;
    eprintln!("{stack}: no changes");
    match info {
        Some(info) => Ok(Applied::NoChanges(info)),
        None => bail!("the change set for stack {stack} has no changes, and there is no stack"),
    }
}

/// Asks for approval when `plan` wants it for `changes`; an error when it is not given.
fn approve(plan: &Plan<'_>, changes: &[Change]) -> anyhow::Result<()> {
    let needs_approval = match plan.require_approval {
        RequireApproval::Never => false,
        RequireApproval::AnyChange => true,
        RequireApproval::Broadening => changes.iter().any(|c| c.security && c.action != "Remove"),
    };
    if !needs_approval || plan.yes {
        return Ok(());
    }
    let why = match plan.require_approval {
        RequireApproval::AnyChange => "any change (--require-approval any-change)",
        _ => "IAM or security changes (--require-approval broadening)",
    };
    if confirm(&format!("{}: deploy these changes?", plan.stack))? {
        return Ok(());
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!("not deployed: the changes were not approved");
    }
    bail!(
        "not deployed: the changes need approval, for {why}, and there is no terminal to ask; pass --yes to approve them, or --require-approval never"
    )
}

/// Executes `change_set` and waits for the end, printing the events; the outcome, or the
/// first failure with the trail.
async fn execute(
    cloud: &Cloud,
    plan: &Plan<'_>,
    change_set: &ChangeSet,
) -> anyhow::Result<Applied> {
    let stack = plan.stack;
    let mut events = EventStream::new(cloud, stack, plan.progress.live()).await?;
    cloud
        .cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(&change_set.id)
        .send()
        .await
        .map_err(sdk_error)
        .context("cannot execute the change set")?;
    eprintln!("{stack}: deploying");
    let operation = if change_set.create {
        Operation::Create
    } else {
        Operation::Update
    };
    let waiting = Waiting::started(stack, operation, &plan.again);
    let info = wait::until_done(cloud, waiting, &mut events)
        .await?
        .with_context(|| format!("stack {stack} no longer exists"))?;
    if info.complete() {
        return Ok(Applied::Done(info));
    }
    bail!(failure_message(plan, &info, &events))
}

/// What a failed deployment says: the first failure and its reason, the stack's state
/// (and the way out of ROLLBACK_COMPLETE), the events.
fn failure_message(plan: &Plan<'_>, info: &StackInfo, events: &EventStream) -> String {
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
        "deploying stack {} failed: {cause}\nthe stack is now {}",
        plan.stack, info.status
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
    message
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
