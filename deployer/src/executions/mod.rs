//! `deployer executions` and `deployer callback`: the durable executions of a stage's
//! functions through the Lambda API (list, get, history, stop) and the answers to the
//! callbacks they wait for. The same code runs against a deployed stage (the standard AWS
//! chain, names from its stack) and a running `deployer local` (`--local`).

mod error;
pub(crate) mod ops;
pub(crate) mod stage;
mod text;
pub(crate) mod view;

use std::time::SystemTime;

use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
use aws_sdk_lambda::types::{ErrorObject, ExecutionStatus};

pub use error::ExecError;
use ops::{Answer, ListFilter};
use stage::StageLambda;
pub use view::{Details, Failure, HistoryEvent};

use crate::cloud::commands::OutputFormat;
use crate::webhooks::target::TargetArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Verb {
    /// List a durable function's executions, newest first.
    List(ListArgs),
    /// Show one execution: status, times, input, result or error.
    Get(OneArgs),
    /// Show an execution's history: its steps, waits, callbacks and invocations.
    #[command(
        long_about = "Show an execution's history, oldest event first: its steps (with their \
                      attempts), waits, callbacks (with the id `deployer callback` answers), \
                      chained invokes and invocations. A table cuts payloads; --output json \
                      has them whole."
    )]
    History(OneArgs),
    /// Stop a running execution (it ends STOPPED).
    Stop(StopArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum CallbackVerb {
    /// Complete a callback successfully, with a result.
    Succeed(SucceedArgs),
    /// Complete a callback with a failure.
    Fail(FailArgs),
    /// Tell a callback its work is still going on (resets its heartbeat timeout).
    Heartbeat(CallbackArgs),
}

/// The stage, the function and the output format of the execution verbs.
#[derive(Debug, clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The durable function: a function of the stage's template (its logical id, any
    /// case) or a function ARN.
    #[arg(long, value_name = "FUNCTION", default_value = "processor")]
    pub function: String,
    /// `text` (`table`): a readable table; `json`: machine output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only executions in these states (repeat, or separate with commas).
    #[arg(long, value_enum, ignore_case = true, value_delimiter = ',', num_args = 1..)]
    pub status: Vec<Status>,
    /// Only executions started since then: an RFC 3339 time (`2026-01-02T03:04:05Z`) or
    /// a duration back from now (`30m`, `1h`, `7d`).
    #[arg(long, value_name = "TIME|DURATION", value_parser = since)]
    pub since: Option<SystemTime>,
    /// At most this many executions.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, clap::Args)]
pub struct OneArgs {
    /// The execution: its ARN, or its name (looked up among the function's executions).
    #[arg(value_name = "ARN|NAME")]
    pub execution: String,
    #[command(flatten)]
    pub common: Common,
}

/// The error an execution is stopped or a callback failed with.
#[derive(Debug, clap::Args)]
pub struct ErrorArgs {
    /// The error's type (`Rejected`, say).
    #[arg(long, value_name = "TYPE")]
    pub error_type: Option<String>,
    /// What went wrong, for people.
    #[arg(long, value_name = "MESSAGE")]
    pub error_message: Option<String>,
    /// Machine-readable data about the error (any text, JSON say).
    #[arg(long, value_name = "DATA")]
    pub error_data: Option<String>,
}

impl ErrorArgs {
    fn object(&self) -> Option<ErrorObject> {
        if self.error_type.is_none() && self.error_message.is_none() && self.error_data.is_none() {
            return None;
        }
        Some(
            ErrorObject::builder()
                .set_error_type(self.error_type.clone())
                .set_error_message(self.error_message.clone())
                .set_error_data(self.error_data.clone())
                .build(),
        )
    }
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub one: OneArgs,
    #[command(flatten)]
    pub error: ErrorArgs,
}

#[derive(Debug, clap::Args)]
pub struct CallbackArgs {
    /// The callback's id (the `callbackId` of its CallbackStarted event in `deployer
    /// executions history`).
    #[arg(value_name = "CALLBACK-ID")]
    pub id: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// `text`: one line; `json`: machine output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct SucceedArgs {
    #[command(flatten)]
    pub callback: CallbackArgs,
    /// The result the waiting execution gets: JSON text (none: `null`).
    #[arg(long, value_name = "JSON", value_parser = json_text)]
    pub result: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct FailArgs {
    #[command(flatten)]
    pub callback: CallbackArgs,
    #[command(flatten)]
    pub error: ErrorArgs,
}

/// An execution status, as the Lambda API spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    #[value(name = "RUNNING")]
    Running,
    #[value(name = "SUCCEEDED")]
    Succeeded,
    #[value(name = "FAILED")]
    Failed,
    #[value(name = "TIMED_OUT")]
    TimedOut,
    #[value(name = "STOPPED")]
    Stopped,
}

impl Status {
    fn api(self) -> ExecutionStatus {
        match self {
            Status::Running => ExecutionStatus::Running,
            Status::Succeeded => ExecutionStatus::Succeeded,
            Status::Failed => ExecutionStatus::Failed,
            Status::TimedOut => ExecutionStatus::TimedOut,
            Status::Stopped => ExecutionStatus::Stopped,
        }
    }
}

/// `--since`: an RFC 3339 time, or a duration back from now.
fn since(raw: &str) -> Result<SystemTime, String> {
    if let Ok(back) = humantime::parse_duration(raw) {
        return SystemTime::now()
            .checked_sub(back)
            .ok_or_else(|| format!("`{raw}` reaches back before the epoch"));
    }
    let at = DateTime::from_str(raw, DateTimeFormat::DateTimeWithOffset).map_err(|_| {
        format!(
            "`{raw}` is neither an RFC 3339 time (2026-01-02T03:04:05Z) nor a duration (30m, 1h, 7d)"
        )
    })?;
    SystemTime::try_from(at).map_err(|e| format!("`{raw}`: {e}"))
}

/// `--result`: JSON text, checked.
fn json_text(raw: &str) -> Result<String, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw)
        .map(|_| raw.to_owned())
        .map_err(|e| format!("not JSON: {e}"))
}

fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `value` as `--output` asks: JSON, or `text` of it.
fn print<T: serde::Serialize>(
    output: OutputFormat,
    value: &T,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => json(value),
        OutputFormat::Text => {
            print!("{}", text(value));
            Ok(())
        }
    }
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let l = StageLambda::connect(&args.common.target).await?;
    let f = l.function(&args.common.function).await?;
    let filter = ListFilter {
        statuses: args.status.iter().map(|s| s.api()).collect(),
        since: args.since,
        name: None,
        limit: args.limit,
    };
    let rows = ops::list(&l, &f, &filter).await?;
    if rows.is_empty() && args.common.output == OutputFormat::Text {
        eprintln!("no durable executions of {f} in {} match", l.place());
    }
    print(args.common.output, &rows, |r| text::list(r))
}

/// The stage's Lambda API and the ARN of the execution `args` names.
async fn one(args: &OneArgs) -> anyhow::Result<(StageLambda, String)> {
    let l = StageLambda::connect(&args.common.target).await?;
    let arn = if args.execution.starts_with("arn:") {
        args.execution.clone()
    } else {
        let f = l.function(&args.common.function).await?;
        ops::resolve(&l, &f, &args.execution).await?
    };
    Ok((l, arn))
}

async fn get(args: OneArgs) -> anyhow::Result<()> {
    let (l, arn) = one(&args).await?;
    let detail = ops::get(&l, &arn).await?;
    print(args.common.output, &detail, text::detail)
}

async fn history(args: OneArgs) -> anyhow::Result<()> {
    let (l, arn) = one(&args).await?;
    let events = ops::history(&l, &arn).await?;
    print(args.common.output, &events, |e| text::history(e))
}

async fn stop(args: StopArgs) -> anyhow::Result<()> {
    let (l, arn) = one(&args.one).await?;
    let stopped = ops::stop(&l, &arn, args.error.object()).await?;
    print(args.one.common.output, &stopped, |s| {
        format!("stopped {} at {}\n", s.name, s.stopped)
    })
}

async fn callback(args: &CallbackArgs, answer: Answer) -> anyhow::Result<()> {
    let l = StageLambda::connect(&args.target).await?;
    let sent = ops::answer(&l, &args.id, answer).await?;
    print(args.output, &sent, |s| {
        format!("sent {} to callback {}\n", s.action, s.callback_id)
    })
}

pub fn run(verb: Verb) -> anyhow::Result<()> {
    crate::cloud::commands::runtime()?.block_on(async {
        match verb {
            Verb::List(a) => list(a).await,
            Verb::Get(a) => get(a).await,
            Verb::History(a) => history(a).await,
            Verb::Stop(a) => stop(a).await,
        }
    })
}

pub fn run_callback(verb: CallbackVerb) -> anyhow::Result<()> {
    crate::cloud::commands::runtime()?.block_on(async {
        match verb {
            CallbackVerb::Succeed(a) => callback(&a.callback, Answer::Succeed(a.result)).await,
            CallbackVerb::Fail(a) => {
                let error = a
                    .error
                    .object()
                    .unwrap_or_else(|| ErrorObject::builder().build());
                callback(&a.callback, Answer::Fail(error)).await
            }
            CallbackVerb::Heartbeat(a) => callback(&a, Answer::Heartbeat).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration() {
        let at = since("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_767_323_045
        );
        let offset = since("2026-01-02T05:04:05+02:00").unwrap();
        assert_eq!(offset, at);
        let hour_ago = since("1h").unwrap();
        let elapsed = SystemTime::now().duration_since(hour_ago).unwrap();
        assert!((3599..=3601).contains(&elapsed.as_secs()), "{elapsed:?}");
        assert!(
            since("yesterday")
                .unwrap_err()
                .contains("neither an RFC 3339")
        );
    }

    #[test]
    fn result_must_be_json() {
        assert_eq!(json_text(r#"{"ok":true}"#).unwrap(), r#"{"ok":true}"#);
        assert!(json_text("{ok").unwrap_err().starts_with("not JSON"));
    }
}
