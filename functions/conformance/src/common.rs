//! What the suites' handlers share: retry strategies, failing bodies, serdes, the log line
//! the runner reads back (`ExpectedLogs`), and small conversions of the input.

use std::time::Duration;

use aws_durable_execution_sdk::{self as durable, BoxError, RetryDecision};
use serde_json::Value;

/// What every handler returns: the execution's result.
pub type Out = Result<Value, BoxError>;

pub fn no_handler(id: &str) -> BoxError {
    format!("requirement {id} has no handler here").into()
}

/// The input as a string (empty when it is not one).
pub fn text(input: &Value) -> String {
    input.as_str().unwrap_or_default().to_owned()
}

/// The input as an integer (0 when it is not one).
pub fn int(input: &Value) -> i64 {
    input.as_i64().unwrap_or_default()
}

/// The `i`th element of an array input, as a string.
pub fn nth_text(input: &Value, i: usize) -> String {
    input.get(i).map(text).unwrap_or_default()
}

pub fn no_retry(_: &durable::StepError, _: u32) -> RetryDecision {
    RetryDecision::Stop
}

/// Retry after `delay_s` seconds when `retry`, else stop.
pub fn retry_if(retry: bool, delay_s: u64) -> RetryDecision {
    if retry {
        RetryDecision::Retry {
            delay: Duration::from_secs(delay_s),
        }
    } else {
        RetryDecision::Stop
    }
}

/// A step body that fails with `error()` until attempt `succeeds_on`, then returns `value`.
pub fn fail_until<T>(
    attempt: u32,
    succeeds_on: u32,
    value: T,
    error: impl FnOnce() -> BoxError,
) -> Result<T, BoxError> {
    if attempt < succeeds_on {
        Err(error())
    } else {
        Ok(value)
    }
}

/// An error with a message, as a handler or a body raises it.
pub fn error(message: &str) -> BoxError {
    message.into()
}

/// Logs `text` for execution `arn`, then ends the process as a crashing runtime does
/// (Runtime.ExitError).
pub fn crash_after_logging<T>(arn: &str, text: &str) -> Result<T, BoxError> {
    log(arn, text);
    std::process::exit(1)
}

/// One log record of execution `arn`: a JSON line with `message` and `durableExecutionArn`
/// at the top level, which is what the official runner's CloudWatch query selects.
pub fn log(arn: &str, message: &str) {
    lambda_runtime::tracing::info!(durableExecutionArn = arn, "{message}");
}

/// JSON log lines (the event's fields flattened to the top level), at `INFO` unless
/// `AWS_LAMBDA_LOG_LEVEL`/`RUST_LOG` say otherwise.
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber::{EnvFilter, fmt};
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(EnvFilter::new(level))
        .init();
}

/// The error the "specific exception" requirements retry (or not) by type.
#[derive(Debug)]
pub struct TransientError;

impl std::fmt::Display for TransientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("transient error")
    }
}

impl std::error::Error for TransientError {}

/// Whether `err` (or anything in its source chain) is a [`TransientError`].
pub fn is_transient(err: &durable::StepError) -> bool {
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        if e.downcast_ref::<TransientError>().is_some() {
            return true;
        }
        next = e.source();
    }
    false
}

/// A [`TransientError`] recorded under its own type name (the SDK records a boxed error
/// without one as `Error`).
pub fn transient() -> BoxError {
    Box::new(durable::TypedError::new(TransientError))
}
