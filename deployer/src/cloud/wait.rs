//! Waiting for a stack operation to end, with the SDK's stack waiters
//! (`wait_until_stack_create_complete`, `..._update_complete`, `..._delete_complete`, ...)
//! and a deadline, while the operation's events are printed.
//!
//! The waiters poll at CloudFormation's model cadence (30 s, then up to 120 s between
//! polls), which would see the end of a one-minute operation a minute late. The events
//! are read anyway for the progress lines, and they show the end first: when the stack's
//! own event of this operation is no longer `*_IN_PROGRESS`, the waiter is started again,
//! and a waiter's first poll is immediate. The waiter decides what the end is (its
//! acceptors), the deadline bounds the whole wait.
//!
//! An operation the deployer has just started (an executed change set, a deletion) may not
//! show in `DescribeStacks` at once, and the stack's previous status would end a waiter (a
//! stack still `UPDATE_COMPLETE` from the last deploy ends an update waiter as a success, a
//! deletion waiter as a failure): its waiter starts once the events show the operation's
//! first stack event, or after [`START_GRACE`].

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_cloudformation::client::Waiters;
use aws_sdk_cloudformation::waiters::stack_create_complete::{
    StackCreateCompleteFinalPoll, WaitUntilStackCreateCompleteError,
};

use super::Cloud;
use super::events::EventStream;
use super::stack::{StackInfo, describe, stack_info};

/// How long the deployer waits for a stack operation before it leaves it to CloudFormation.
pub const STACK_DEADLINE: Duration = Duration::from_secs(2 * 60 * 60);

/// The longest the waiter waits for the events to show that an operation the deployer
/// started has begun (the waiters' own first pause is as long).
pub const START_GRACE: Duration = Duration::from_secs(30);

/// The last poll of a stack waiter (every stack waiter polls `DescribeStacks`, so they all
/// share these types).
type FinalPoll = StackCreateCompleteFinalPoll;
type WaiterError = WaitUntilStackCreateCompleteError;
type Waiter<'a> = Pin<Box<dyn Future<Output = Result<FinalPoll, WaiterError>> + Send + 'a>>;

/// Which operation runs, and so which waiter tells its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Import,
}

impl Operation {
    /// The operation a stack in `status` (`*_IN_PROGRESS`) is running.
    pub fn of_status(status: &str) -> Operation {
        if status.starts_with("DELETE_") {
            Operation::Delete
        } else if status.starts_with("UPDATE_") {
            Operation::Update
        } else if status.starts_with("IMPORT_") {
            Operation::Import
        } else {
            // CREATE_IN_PROGRESS, and ROLLBACK_IN_PROGRESS after a failed create.
            Operation::Create
        }
    }

    /// What a message calls it.
    fn noun(self) -> &'static str {
        match self {
            Operation::Delete => "deletion",
            _ => "operation",
        }
    }

    /// What running the command again does about it.
    fn again_does(self) -> &'static str {
        match self {
            Operation::Delete => "wait for it",
            _ => "attach to it and wait for its end",
        }
    }

    fn waiter<'a>(self, cloud: &'a Cloud, stack: &str, max_wait: Duration) -> Waiter<'a> {
        let cfn = &cloud.cfn;
        match self {
            Operation::Create => Box::pin(
                cfn.wait_until_stack_create_complete()
                    .stack_name(stack)
                    .wait(max_wait),
            ),
            Operation::Update => Box::pin(
                cfn.wait_until_stack_update_complete()
                    .stack_name(stack)
                    .wait(max_wait),
            ),
            Operation::Delete => Box::pin(
                cfn.wait_until_stack_delete_complete()
                    .stack_name(stack)
                    .wait(max_wait),
            ),
            Operation::Import => Box::pin(
                cfn.wait_until_stack_import_complete()
                    .stack_name(stack)
                    .wait(max_wait),
            ),
        }
    }
}

/// Why a wait ended without the operation's end.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(
        "interrupted: the {} goes on in CloudFormation; run `{again}` to {}",
        operation.noun(),
        operation.again_does()
    )]
    Interrupted { operation: Operation, again: String },
    #[error(
        "stack {stack} is still {status} after {}{}: the {} goes on in CloudFormation; run `{again}` to wait for it again",
        humantime::format_duration(Duration::from_secs(waited.as_secs())),
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
        operation.noun()
    )]
    Deadline {
        stack: String,
        status: String,
        reason: Option<String>,
        waited: Duration,
        operation: Operation,
        again: String,
    },
    #[error("stack {stack} no longer exists")]
    Gone { stack: String },
    #[error("cannot follow stack {stack} to the end of its {}", operation.noun())]
    Waiter {
        stack: String,
        operation: Operation,
        #[source]
        source: Box<WaiterError>,
    },
}

/// One wait: which stack (a name, or the id of a stack being deleted), which operation,
/// the command that waits again, and the deadline.
#[derive(Clone, Copy, Debug)]
pub struct Waiting<'a> {
    pub stack: &'a str,
    pub operation: Operation,
    pub again: &'a str,
    pub deadline: Duration,
    /// The operation was running before the wait (a busy stack); otherwise the deployer
    /// has just started it.
    pub running: bool,
}

impl<'a> Waiting<'a> {
    /// The wait for an operation the deployer has just started.
    pub fn started(stack: &'a str, operation: Operation, again: &'a str) -> Self {
        Waiting {
            stack,
            operation,
            again,
            deadline: STACK_DEADLINE,
            running: false,
        }
    }

    /// The wait for the operation a busy stack (in `status`) is running.
    pub fn running(stack: &'a str, status: &str, again: &'a str) -> Self {
        Waiting {
            running: true,
            ..Waiting::started(stack, Operation::of_status(status), again)
        }
    }
}

/// Interval between reads of the events.
pub fn poll_interval(cloud: &Cloud) -> Duration {
    // Emulators answer at once; CloudFormation itself is slower and rate-limits reads.
    if cloud.endpoint.is_some() {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(2)
    }
}

/// Waits for the operation of `w` to end, printing its events; Ctrl-C and the deadline
/// leave it running. `None`: the stack is gone (the end of a deletion).
pub async fn until_done(
    cloud: &Cloud,
    w: Waiting<'_>,
    events: &mut EventStream,
) -> anyhow::Result<Option<StackInfo>> {
    let began = Instant::now();
    let arm = || {
        w.operation
            .waiter(cloud, w.stack, w.deadline.saturating_sub(began.elapsed()))
    };
    let mut waiter: Option<Waiter<'_>> = w.running.then(arm);
    // The number of events when the waiter was last started on their word.
    let mut armed_at: Option<usize> = None;
    let outcome = loop {
        let current = async {
            match waiter.as_mut() {
                Some(running) => running.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            outcome = current => break outcome,
            _ = cloud.interrupted() => {
                events.finish();
                return Err(WaitError::Interrupted {
                    operation: w.operation,
                    again: w.again.to_owned(),
                }
                .into());
            }
            _ = tokio::time::sleep(poll_interval(cloud)) => {
                events.poll(cloud).await?;
                let begun =
                    events.stack_seen() || began.elapsed() >= START_GRACE.min(w.deadline);
                let end_shown = events.stack_ended() && armed_at != Some(events.trail.len());
                if (waiter.is_none() && begun) || end_shown {
                    // A waiter's first poll is at once.
                    waiter = Some(arm());
                    armed_at = end_shown.then_some(events.trail.len());
                }
            }
        }
    };
    events.poll(cloud).await?;
    events.finish();
    ended(cloud, w, outcome, began.elapsed()).await
}

/// The stack at the end of the wait, from the waiter's last poll.
async fn ended(
    cloud: &Cloud,
    w: Waiting<'_>,
    outcome: Result<FinalPoll, WaiterError>,
    waited: Duration,
) -> anyhow::Result<Option<StackInfo>> {
    let cannot_read = || {
        format!(
            "cannot read stack {} at the end of its {}",
            w.stack,
            w.operation.noun()
        )
    };
    let last = match outcome {
        Ok(poll) => match poll.into_result() {
            Ok(out) => out,
            Err(e) if not_found(&e) => return gone(w),
            Err(e) => return Err(super::sdk_error(e)).with_context(cannot_read),
        },
        Err(WaiterError::FailureState(failure)) => match failure.into_final_poll().into_result() {
            Ok(out) => out,
            Err(e) if not_found(&e) => return gone(w),
            Err(e) => return Err(anyhow::Error::new(e)).with_context(cannot_read),
        },
        Err(WaiterError::ExceededMaxWait(_)) => return past_deadline(cloud, w, waited).await,
        Err(source) => {
            return Err(WaitError::Waiter {
                stack: w.stack.to_owned(),
                operation: w.operation,
                source: Box::new(source),
            }
            .into());
        }
    };
    match last.stacks().first().and_then(|s| stack_info(s, w.stack)) {
        Some(info) => Ok(Some(info)),
        None => gone(w),
    }
}

/// The end of a wait whose stack is gone: a deletion's success, anything else's failure.
fn gone(w: Waiting<'_>) -> anyhow::Result<Option<StackInfo>> {
    match w.operation {
        Operation::Delete => Ok(None),
        _ => Err(WaitError::Gone {
            stack: w.stack.to_owned(),
        }
        .into()),
    }
}

/// The deadline passed: the stack as it is now, if it has just ended after all; otherwise
/// what it is doing, and why.
async fn past_deadline(
    cloud: &Cloud,
    w: Waiting<'_>,
    waited: Duration,
) -> anyhow::Result<Option<StackInfo>> {
    match describe(cloud, w.stack).await? {
        None => gone(w),
        Some(info) if !info.in_progress() => Ok(Some(info)),
        Some(info) => Err(WaitError::Deadline {
            stack: w.stack.to_owned(),
            status: info.status,
            reason: info.reason,
            waited,
            operation: w.operation,
            again: w.again.to_owned(),
        }
        .into()),
    }
}

/// Whether a failed `DescribeStacks` says the stack does not exist: CloudFormation's
/// ValidationError, which is how the waiters' acceptors match it too.
fn not_found<E: aws_sdk_cloudformation::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiter_follows_the_status() {
        assert_eq!(
            Operation::of_status("CREATE_IN_PROGRESS"),
            Operation::Create
        );
        assert_eq!(
            Operation::of_status("ROLLBACK_IN_PROGRESS"),
            Operation::Create
        );
        for s in [
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        ] {
            assert_eq!(Operation::of_status(s), Operation::Update, "{s}");
        }
        assert_eq!(
            Operation::of_status("DELETE_IN_PROGRESS"),
            Operation::Delete
        );
        assert_eq!(
            Operation::of_status("IMPORT_ROLLBACK_IN_PROGRESS"),
            Operation::Import
        );
    }

    #[test]
    fn each_way_a_wait_ends_early_says_what_to_do() {
        let interrupted = WaitError::Interrupted {
            operation: Operation::Update,
            again: "deployer deploy --stage dev".to_owned(),
        };
        assert_eq!(
            interrupted.to_string(),
            "interrupted: the operation goes on in CloudFormation; run `deployer deploy --stage dev` to attach to it and wait for its end"
        );
        let deletion = WaitError::Interrupted {
            operation: Operation::Delete,
            again: "deployer destroy --stage dev --yes".to_owned(),
        };
        assert_eq!(
            deletion.to_string(),
            "interrupted: the deletion goes on in CloudFormation; run `deployer destroy --stage dev --yes` to wait for it"
        );
        let deadline = WaitError::Deadline {
            stack: "webhooks-dev".to_owned(),
            status: "UPDATE_IN_PROGRESS".to_owned(),
            reason: Some("User Initiated".to_owned()),
            waited: Duration::from_secs(7200) + Duration::from_millis(300),
            operation: Operation::Update,
            again: "deployer deploy --stage dev".to_owned(),
        };
        assert_eq!(
            deadline.to_string(),
            "stack webhooks-dev is still UPDATE_IN_PROGRESS after 2h (User Initiated): the operation goes on in CloudFormation; run `deployer deploy --stage dev` to wait for it again"
        );
    }
}
