//! The reconciler: run on a schedule, it finds webhooks whose record is still not terminal
//! after a grace period, asks the durable service what happened to their current attempt,
//! and repairs what it can:
//!
//! - no execution (the receiver died between its write and the start, or the start event
//!   was dropped): starts it, under the attempt's own name, so a late start by the receiver
//!   is the same execution;
//! - an execution that FAILED, TIMED_OUT or was STOPPED (a crash loop, `ExecutionTimeout`,
//!   a step failure the function could not record): writes FAILED with the execution's error;
//! - an execution that started before the record did (the record expired and came back,
//!   while the service still knew the name): starts a new attempt;
//! - past the bound (`STUCK_AFTER_S`), anything still not terminal is reported stuck, in a
//!   log line and in the `Stuck` metric the stack alarms on.
//!
//! It reads the sparse `attention` index, never scans; each run examines at most
//! `RECONCILE_BATCH` records; every write is conditional, so two runs at once are harmless.
//! Counts go out as one CloudWatch embedded-metric-format line per run.

use futures_util::StreamExt;
use serde::Serialize;
use webhook_contract::{env, metrics};
use webhook_core::config::{self, ConfigError};
use webhook_core::executions::{Execution, Executions, LookupError, State};
use webhook_core::record::{Failure, Start};
use webhook_core::starter::{LambdaStarter, StartError, Starter};
use webhook_core::store::{Advanced, Attention, Entry, RestartFrom, Restarted};
use webhook_core::time::Instant;
use webhook_core::{Store, StoreError};

/// Records examined at once.
const CONCURRENCY: usize = 64;

/// When to act and when to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A record younger than this (ms) is left alone: its receiver may still be starting it.
    pub grace_ms: u64,
    /// A record not terminal this long (ms) after entering its state is stuck.
    pub stuck_after_ms: u64,
    /// Most records examined per run.
    pub batch: usize,
}

/// What to do about one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Nothing,
    /// Start the attempt's execution (it was never started).
    Start,
    /// The execution belongs to an earlier life of the record: start the next attempt.
    NewAttempt,
    /// The execution ended without the record saying so.
    MarkFailed(Failure),
}

/// The decision about one record: an action, and whether it is stuck (and why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub act: Act,
    pub stuck: Option<String>,
}

/// The record's failure for an execution that ended in `state` without writing FAILED.
fn execution_failure(execution: &Execution) -> Failure {
    let (kind, default) = match execution.state {
        State::TimedOut => (
            "ExecutionTimedOut",
            "the execution ran past its ExecutionTimeout",
        ),
        State::Stopped => ("ExecutionStopped", "the execution was stopped"),
        _ => ("ExecutionFailed", "the execution failed"),
    };
    let message = match &execution.error {
        Some((t, m)) if !m.is_empty() => format!("{default}: {t}: {m}"),
        Some((t, _)) => format!("{default}: {t}"),
        None => default.to_owned(),
    };
    Failure::new(kind, &message)
}

/// Decides about one non-terminal record (pure: the record, what the service says of its
/// attempt, the time, the policy).
pub fn decide(
    entry: &Entry,
    execution: Option<&Execution>,
    now_ms: u64,
    policy: &Policy,
) -> Decision {
    let age = now_ms.saturating_sub(entry.since);
    // A finished execution that started well before the record entered its state is not
    // this record's (the margin absorbs clock skew between the receiver and the service).
    // A running execution is always the record's: no new attempt may race it.
    let margin = policy.grace_ms.min(60_000);
    let stale = execution.is_some_and(|e| {
        e.state != State::Running && e.started_ms.saturating_add(margin) < entry.since
    });
    let current = execution.filter(|_| !stale);
    let act = match current {
        Some(e) if matches!(e.state, State::Failed | State::TimedOut | State::Stopped) => {
            Act::MarkFailed(execution_failure(e))
        }
        Some(_) => Act::Nothing,
        None if age < policy.grace_ms => Act::Nothing,
        None if stale => Act::NewAttempt,
        None => Act::Start,
    };
    let stuck = match (&act, current) {
        (Act::MarkFailed(_), _) => None,
        (_, Some(e)) if e.state == State::Succeeded => Some(format!(
            "its execution {} SUCCEEDED but the record is not COMPLETED",
            e.name,
        )),
        _ if age >= policy.stuck_after_ms => Some(format!(
            "not terminal for {} s (bound {} s), execution {}",
            age / 1000,
            policy.stuck_after_ms / 1000,
            current.map_or("not started", |e| e.state.as_str())
        )),
        _ => None,
    };
    Decision { act, stuck }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub examined: usize,
    /// Starts requested: attempts the record never saw started (the start finds an
    /// execution of that name when there is one) and new attempts.
    pub restarted: usize,
    pub marked_failed: usize,
    pub stuck: usize,
    pub errors: usize,
    /// Whether records were left for the next run (the batch was full).
    pub more: bool,
}

/// The run's counts as one CloudWatch embedded-metric-format document.
pub fn emf(stage: &str, report: &Report, now_ms: u64) -> String {
    let names = [metrics::STUCK, metrics::RESTARTED, metrics::MARKED_FAILED];
    let definitions: Vec<_> = names
        .iter()
        .map(|n| serde_json::json!({"Name": n, "Unit": "Count"}))
        .collect();
    serde_json::json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": metrics::NAMESPACE,
                "Dimensions": [[metrics::STAGE_DIMENSION]],
                "Metrics": definitions,
            }],
        },
        metrics::STAGE_DIMENSION: stage,
        metrics::STUCK: report.stuck,
        metrics::RESTARTED: report.restarted,
        metrics::MARKED_FAILED: report.marked_failed,
    })
    .to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot read the records that need attention: {0}")]
    Store(#[from] StoreError),
}

/// Why one record could not be handled (counted, logged, tried again next run).
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// What handling one record came to.
#[derive(Debug, Default)]
struct Handled {
    restarted: bool,
    marked_failed: bool,
    stuck: bool,
}

/// The reconciler and what it needs.
#[derive(Debug)]
pub struct Reconciler<S> {
    pub store: Store,
    pub executions: Executions,
    pub starter: S,
    pub policy: Policy,
    pub stage: String,
}

impl<S: Starter> Reconciler<S> {
    /// One run: examines up to a batch of the oldest-in-state open records and prints the
    /// metrics line.
    pub async fn run(&self, now: Instant) -> Result<Report, ReconcileError> {
        let now_ms = now.epoch_millis();
        let before = now_ms.saturating_sub(self.policy.grace_ms);
        let page = self
            .store
            .attention(Attention::Open, 0, before + 1, self.policy.batch, None)
            .await?;
        let mut report = Report {
            examined: page.entries.len(),
            more: page.next.is_some(),
            ..Report::default()
        };
        let mut results = futures_util::stream::iter(page.entries)
            .map(|entry| async move {
                let outcome = self.handle(&entry, now_ms).await;
                (entry, outcome)
            })
            .buffer_unordered(CONCURRENCY);
        while let Some((entry, outcome)) = results.next().await {
            match outcome {
                Ok(h) => {
                    report.restarted += usize::from(h.restarted);
                    report.marked_failed += usize::from(h.marked_failed);
                    report.stuck += usize::from(h.stuck);
                }
                Err(e) => {
                    report.errors += 1;
                    tracing::error!(id = %entry.id, error = %e, "cannot reconcile");
                }
            }
        }
        println!("{}", emf(&self.stage, &report, now_ms));
        if report.examined > 0 {
            tracing::info!(?report, "reconciled");
        }
        Ok(report)
    }

    async fn handle(&self, entry: &Entry, now_ms: u64) -> Result<Handled, RecordError> {
        // By name: the index entry does not carry the execution's ARN.
        let execution = self.executions.of(&entry.id, entry.attempt).await?;
        let decision = decide(entry, execution.as_ref(), now_ms, &self.policy);
        let mut handled = Handled::default();
        if let Some(why) = &decision.stuck {
            tracing::error!(id = %entry.id, attempt = entry.attempt, reason = %why, "stuck webhook");
            handled.stuck = true;
        }
        let now = Instant::now();
        match decision.act {
            Act::Nothing => {}
            Act::Start => {
                self.start(entry, entry.attempt, now).await?;
                handled.restarted = true;
            }
            Act::NewAttempt => {
                let restarted = self
                    .store
                    .new_attempt(&entry.id, entry.attempt, RestartFrom::Open, now)
                    .await?;
                if let Restarted::Attempt(next) = restarted {
                    self.start(entry, next, now).await?;
                    handled.restarted = true;
                }
            }
            Act::MarkFailed(failure) => {
                let written = self
                    .store
                    .fail(&entry.id, entry.attempt, &failure, now)
                    .await?;
                handled.marked_failed = written == Advanced::Applied;
                tracing::warn!(id = %entry.id, attempt = entry.attempt, ?failure, "marked FAILED");
            }
        }
        Ok(handled)
    }

    async fn start(&self, entry: &Entry, attempt: u32, now: Instant) -> Result<(), RecordError> {
        tracing::warn!(id = %entry.id, attempt, "starting an execution the record lacks");
        let started = self.starter.start(&entry.id, attempt).await?;
        // An execution of the same name with another input (started before attempts were
        // part of the input) answers without an ARN: find it by name.
        let execution_arn = match started.execution_arn {
            Some(arn) => Some(arn),
            None => self.executions.of(&entry.id, attempt).await?.map(|e| e.arn),
        };
        let start = Start::Started { execution_arn };
        self.store
            .record_start(&entry.id, attempt, &start, now)
            .await?;
        Ok(())
    }
}

fn seconds(key: &'static str, default: u64) -> Result<u64, ConfigError> {
    match config::optional(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            key,
            value: v,
            expected: "a whole number of seconds",
        }),
    }
}

/// The reconciler as configured by the environment the stack sets.
pub async fn from_env() -> Result<Reconciler<LambdaStarter>, ConfigError> {
    let sdk = config::aws().await;
    let function = config::required(env::PROCESSOR_FUNCTION)?;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let batch = seconds(env::RECONCILE_BATCH, 1000)?;
    Ok(Reconciler {
        store: config::store(&sdk)?,
        executions: Executions::new(lambda.clone(), function.clone()),
        starter: LambdaStarter::new(lambda, function),
        policy: Policy {
            grace_ms: seconds(env::RECONCILE_GRACE_S, 60)? * 1000,
            stuck_after_ms: seconds(env::STUCK_AFTER_S, 4 * 3600)? * 1000,
            batch: usize::try_from(batch).unwrap_or(usize::MAX).max(1),
        },
        stage: config::optional(env::STAGE).unwrap_or_else(|| "unknown".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use webhook_core::WebhookId;
    use webhook_core::store::Attention;

    const POLICY: Policy = Policy {
        grace_ms: 10_000,
        stuck_after_ms: 100_000,
        batch: 100,
    };

    fn entry(since: u64) -> Entry {
        Entry {
            id: WebhookId::parse("wh_0123456789abcdef0123456789abcdef").unwrap(),
            state: Attention::Open,
            attempt: 1,
            since,
        }
    }

    fn execution(state: State, started_ms: u64) -> Execution {
        Execution {
            arn: "arn".into(),
            name: "wh_0123456789abcdef0123456789abcdef".into(),
            state,
            started_ms,
            ended_ms: None,
            error: Some(("Sandbox.Timedout".into(), "Task timed out".into())),
        }
    }

    /// `(record entered its open state at, execution, now) -> (act, stuck?)`.
    type Case = (u64, Option<Execution>, u64, &'static str, bool);

    /// One row per case.
    fn check(cases: &[Case]) {
        for (i, (since, exec, now, act, stuck)) in cases.iter().enumerate() {
            let d = decide(&entry(*since), exec.as_ref(), *now, &POLICY);
            let got = match &d.act {
                Act::Nothing => "nothing".to_owned(),
                Act::Start => "start".to_owned(),
                Act::NewAttempt => "new-attempt".to_owned(),
                Act::MarkFailed(f) => format!("fail {}", f.error_type.as_deref().unwrap_or("")),
            };
            assert_eq!(
                (got.as_str(), d.stuck.is_some()),
                (*act, *stuck),
                "case {i}: {d:?}"
            );
        }
    }

    #[test]
    fn decisions() {
        use State::{Failed, Running, Stopped, Succeeded, TimedOut};
        let t0 = 1_700_000_000_000;
        check(&[
            // Never started: left alone inside the grace, started after it.
            (t0, None, t0 + 5_000, "nothing", false),
            (t0, None, t0 + 10_000, "start", false),
            // Never started and past the bound: started, and reported.
            (t0, None, t0 + 100_000, "start", true),
            // Running: nothing until the bound, then reported.
            (
                t0,
                Some(execution(Running, t0 + 1)),
                t0 + 50_000,
                "nothing",
                false,
            ),
            (
                t0,
                Some(execution(Running, t0 + 1)),
                t0 + 100_000,
                "nothing",
                true,
            ),
            // Ended without writing FAILED: written now, whatever the age.
            (
                t0,
                Some(execution(Failed, t0)),
                t0 + 1_000,
                "fail ExecutionFailed",
                false,
            ),
            (
                t0,
                Some(execution(TimedOut, t0)),
                t0 + 200_000,
                "fail ExecutionTimedOut",
                false,
            ),
            (
                t0,
                Some(execution(Stopped, t0)),
                t0 + 1_000,
                "fail ExecutionStopped",
                false,
            ),
            // An execution older than the record: the record came back after it expired.
            (
                t0,
                Some(execution(Succeeded, t0 - 86_400_000)),
                t0 + 10_000,
                "new-attempt",
                false,
            ),
            (
                t0,
                Some(execution(Failed, t0 - 86_400_000)),
                t0 + 1_000,
                "nothing",
                false,
            ),
            // A running execution is never stale, however early it started.
            (
                t0,
                Some(execution(Running, t0 - 86_400_000)),
                t0 + 10_000,
                "nothing",
                false,
            ),
            // Clock skew: an execution a moment "before" the record is still its own.
            (
                t0,
                Some(execution(Failed, t0 - 500)),
                t0 + 1_000,
                "fail ExecutionFailed",
                false,
            ),
            // Succeeded but the record never said so: nothing to repair, reported.
            (
                t0,
                Some(execution(Succeeded, t0 + 1)),
                t0 + 1_000,
                "nothing",
                true,
            ),
        ]);
    }

    #[test]
    fn failures_carry_the_execution_error() {
        let f = execution_failure(&execution(State::TimedOut, 0));
        assert_eq!(f.error_type.as_deref(), Some("ExecutionTimedOut"));
        assert_eq!(
            f.message,
            "the execution ran past its ExecutionTimeout: Sandbox.Timedout: Task timed out"
        );
    }

    #[test]
    fn the_metrics_line_is_embedded_metric_format() {
        let report = Report {
            stuck: 2,
            restarted: 1,
            ..Report::default()
        };
        let v: serde_json::Value = serde_json::from_str(&emf("dev", &report, 42)).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 42);
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "Webhooks");
        assert_eq!(m["Dimensions"], serde_json::json!([["Stage"]]));
        assert_eq!(m["Metrics"].as_array().unwrap().len(), 3);
        assert_eq!(
            (v["Stage"].as_str(), v["Stuck"].as_u64()),
            (Some("dev"), Some(2))
        );
        assert_eq!(
            (v["Restarted"].as_u64(), v["MarkedFailed"].as_u64()),
            (Some(1), Some(0))
        );
    }
}
