//! One change set: made for a plan, polled until CloudFormation has made it (at the
//! engine's poll interval, with a deadline: the SDK's waiter waits 30 s at least between
//! polls, longer than most change sets take), read (every page of its changes), and
//! discarded when it is not executed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter};

use super::stack::{Change, Plan, describe, security_sensitive};
use super::{Cloud, sdk_error};

/// How long CloudFormation may take to make a change set before the deployer gives up on it.
pub const CHANGE_SET_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Why a change set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ChangeSetError {
    #[error("the change set for stack {stack} failed: {reason}")]
    Failed { stack: String, reason: String },
    #[error(
        "the change set for stack {stack} is still {status} after {}{}: it was deleted; run the command again",
        humantime::format_duration(*waited),
        reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    Deadline {
        stack: String,
        status: String,
        reason: Option<String>,
        waited: Duration,
    },
}

/// What a change set holds once CloudFormation has made it.
#[derive(Debug)]
pub enum Made {
    /// Its changes (every page).
    Changes(Vec<Change>),
    /// Nothing would change.
    Empty,
}

/// A change set of a stack.
#[derive(Debug)]
pub struct ChangeSet {
    pub stack: String,
    /// Its id (or name).
    pub id: String,
    /// It creates the stack (which exists, in REVIEW_IN_PROGRESS, only for it).
    pub create: bool,
}

impl ChangeSet {
    /// Asks CloudFormation for a change set of `plan` (`create`: of a stack that has
    /// nothing deployed).
    pub async fn request(cloud: &Cloud, plan: &Plan<'_>, create: bool) -> anyhow::Result<Self> {
        let stack = plan.stack;
        let name = format!(
            "deployer-{}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        let parameters = plan
            .parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
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
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .description("deployer")
            .send()
            .await
            .map_err(sdk_error)
            .with_context(|| format!("cannot create a change set for stack {stack}"))?;
        Ok(ChangeSet {
            stack: stack.to_owned(),
            id: created.id().unwrap_or(&name).to_owned(),
            create,
        })
    }

    /// Polls (every [`poll_interval`](super::wait::poll_interval), for at most
    /// [`CHANGE_SET_DEADLINE`]) until CloudFormation has made the change set, then reads it.
    /// A change set that failed or ran past the deadline is discarded.
    pub async fn made(&self, cloud: &Cloud) -> anyhow::Result<Made> {
        let began = std::time::Instant::now();
        let every = super::wait::poll_interval(cloud);
        loop {
            let now = self.describe(cloud, None).await?;
            match now.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    return Ok(Made::Changes(self.changes(cloud, now).await?));
                }
                Some(ChangeSetStatus::Failed) => {
                    self.discard(cloud).await;
                    return match failed_reason(&now) {
                        None => Ok(Made::Empty),
                        Some(reason) => Err(ChangeSetError::Failed {
                            stack: self.stack.clone(),
                            reason,
                        }
                        .into()),
                    };
                }
                _ if began.elapsed() > CHANGE_SET_DEADLINE => {
                    self.discard(cloud).await;
                    return Err(ChangeSetError::Deadline {
                        stack: self.stack.clone(),
                        status: now.status().map_or("unknown", |s| s.as_str()).to_owned(),
                        reason: now.status_reason().map(str::to_owned),
                        waited: began.elapsed(),
                    }
                    .into());
                }
                _ => tokio::time::sleep(every).await,
            }
        }
    }

    async fn describe(
        &self,
        cloud: &Cloud,
        token: Option<String>,
    ) -> anyhow::Result<DescribeChangeSetOutput> {
        cloud
            .cfn
            .describe_change_set()
            .stack_name(&self.stack)
            .change_set_name(&self.id)
            .set_next_token(token)
            .send()
            .await
            .map_err(sdk_error)
            .context("cannot read the change set")
    }

    /// Every change, from `first` and the pages after it.
    async fn changes(
        &self,
        cloud: &Cloud,
        first: DescribeChangeSetOutput,
    ) -> anyhow::Result<Vec<Change>> {
        let mut changes = changes_of(&first);
        let mut token = first.next_token().map(str::to_owned);
        let mut tokens = std::collections::HashSet::new();
        while let Some(t) = token.filter(|t| tokens.insert(t.clone())) {
            let page = self.describe(cloud, Some(t)).await?;
            changes.extend(changes_of(&page));
            token = page.next_token().map(str::to_owned);
        }
        Ok(changes)
    }

    /// Deletes the change set, and the stack that only existed for it: leaves nothing
    /// behind. Best effort (what is left is harmless and said by the caller's error).
    pub async fn discard(&self, cloud: &Cloud) {
        let _ = cloud
            .cfn
            .delete_change_set()
            .stack_name(&self.stack)
            .change_set_name(&self.id)
            .send()
            .await;
        if self.create
            && let Ok(Some(info)) = describe(cloud, &self.stack).await
            && info.status == "REVIEW_IN_PROGRESS"
        {
            let _ = cloud.cfn.delete_stack().stack_name(&info.id).send().await;
        }
    }
}

/// The reason a FAILED change set gives, or `None` when it failed for having nothing in
/// it (how CloudFormation says "no changes").
pub fn failed_reason(out: &DescribeChangeSetOutput) -> Option<String> {
    let reason = out.status_reason().unwrap_or_default();
    (!empty_change_set(reason)).then(|| reason.to_owned())
}

/// The reasons CloudFormation gives for a change set with nothing in it.
fn empty_change_set(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("no changes")
}

/// The resource changes of one page of a change set.
fn changes_of(out: &DescribeChangeSetOutput) -> Vec<Change> {
    out.changes()
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ChangeSetStatus;

    fn failed(reason: &str) -> DescribeChangeSetOutput {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason(reason)
            .build()
    }

    #[test]
    fn a_failed_change_set_is_empty_or_has_a_reason() {
        let empty = failed(
            "The submitted information didn't contain changes. Submit different information to create a change set.",
        );
        assert_eq!(failed_reason(&empty), None);
        let refused = failed("Parameters: [AssetBucket] must have values");
        assert_eq!(
            failed_reason(&refused).as_deref(),
            Some("Parameters: [AssetBucket] must have values")
        );
    }

    #[test]
    fn a_change_set_past_its_deadline_says_its_status_and_reason() {
        let e = ChangeSetError::Deadline {
            stack: "webhooks-dev".to_owned(),
            status: "CREATE_IN_PROGRESS".to_owned(),
            reason: Some("waiting for a resource provider".to_owned()),
            waited: Duration::from_secs(900),
        };
        assert_eq!(
            e.to_string(),
            "the change set for stack webhooks-dev is still CREATE_IN_PROGRESS after 15m (waiting for a resource provider): it was deleted; run the command again"
        );
    }
}
