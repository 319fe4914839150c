//! One durable function whose handler is chosen by the event: `{"requirement": "1-1",
//! "input": ...}` runs the handler written for requirement 1.1 of the official
//! `aws-durable-execution-conformance-tests` suites with the requirement's input. The
//! handlers follow the requirements' descriptions, using the official Rust SDK.

use std::time::Duration;

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext, RetryDecision};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Event {
    requirement: String,
    #[serde(default)]
    input: Value,
}

fn no_retry(_: &durable::StepError, _: u32) -> RetryDecision {
    RetryDecision::Stop
}

/// Retry after `delay_s` seconds when `retry`, else stop.
fn retry_if(retry: bool, delay_s: u64) -> RetryDecision {
    if retry {
        RetryDecision::Retry {
            delay: Duration::from_secs(delay_s),
        }
    } else {
        RetryDecision::Stop
    }
}

/// A step body that fails with `error()` until attempt `succeeds_on`, then returns `value`.
fn fail_until(
    attempt: u32,
    succeeds_on: u32,
    value: &str,
    error: impl FnOnce() -> BoxError,
) -> Result<String, BoxError> {
    if attempt < succeeds_on {
        Err(error())
    } else {
        Ok(value.to_owned())
    }
}

/// Logs `text`, then ends the process as a crashing runtime does (Runtime.ExitError).
fn crash_after_logging<T>(text: &str) -> Result<T, BoxError> {
    tracing_log(text);
    std::process::exit(1)
}

/// The error the "specific exception" requirements retry (or not) by type.
#[derive(Debug)]
struct TransientError;

impl std::fmt::Display for TransientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("transient error")
    }
}

impl std::error::Error for TransientError {}

/// 1.6: stores strings upper-cased.
struct Uppercase;

impl durable::Serdes<String> for Uppercase {
    async fn serialize(
        &self,
        value: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(serde_json::to_string(&value.to_uppercase())?)
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(serde_json::from_str(&wire)?)
    }
}

/// Whether `err` (or anything in its source chain) is a [`TransientError`].
fn is_transient(err: &durable::StepError) -> bool {
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
fn transient() -> BoxError {
    Box::new(durable::TypedError::new(TransientError))
}

async fn handler(event: Event, ctx: DurableContext) -> Result<Value, BoxError> {
    let input = event.input;
    match event.requirement.as_str() {
        // 1.1 Step basic; 1.2 Step with name.
        "1-1" => {
            let name = input.as_str().unwrap_or_default().to_owned();
            let greeting = ctx
                .step(move |_| async move { Ok(format!("Hello, {name}!")) })
                .await?;
            Ok(json!(greeting))
        }
        "1-2" => {
            let name = input.as_str().unwrap_or_default().to_owned();
            let greeting = ctx
                .step(move |_| async move { Ok(format!("Hello, {name}!")) })
                .name("custom_step_name")
                .await?;
            Ok(json!(greeting))
        }
        // 1.3 Sequential steps where the second uses the first's result.
        "1-3" => {
            let first = ctx.step(|_| async { Ok("first".to_owned()) }).await?;
            let both = ctx
                .step(move |_| async move { Ok(format!("{first}_second")) })
                .await?;
            Ok(json!(both))
        }
        // 1.4 Returning a complex object.
        "1-4" => {
            let built = ctx
                .step(move |_| async move {
                    let tags = input["tags"].clone();
                    let count = tags.as_array().map_or(0, Vec::len);
                    Ok(json!({"user": {"name": input["name"], "tags": tags}, "count": count}))
                })
                .await?;
            Ok(built)
        }
        // 1.5 A step returning null.
        "1-5" => {
            let nothing: Value = ctx.step(|_| async { Ok(Value::Null) }).await?;
            Ok(nothing)
        }
        // 1.17 An at-most-once step whose process crashes, with no retries: on replay the
        // interrupted step fails without running again.
        "1-17" => {
            let text = input.as_str().unwrap_or_default().to_owned();
            let _: Value = ctx
                .step(move |_| async move { crash_after_logging(&text) })
                .name("at_most_once_flaky_step")
                .semantics(durable::StepSemantics::AtMostOncePerRetry)
                .retry_strategy(no_retry)
                .await?;
            Ok(Value::Null)
        }
        // 1.18 The same step with one retry: the crash is the first attempt, the retry succeeds.
        "1-18" => {
            let text = input.as_str().unwrap_or_default().to_owned();
            let out = ctx
                .step(move |step| async move {
                    if step.attempt() < 2 {
                        crash_after_logging(&text)
                    } else {
                        tracing_log(&text);
                        Ok("succeeded on second attempt".to_owned())
                    }
                })
                .semantics(durable::StepSemantics::AtMostOncePerRetry)
                .retry_strategy(|_, attempt| retry_if(attempt < 2, 1))
                .await?;
            Ok(json!(out))
        }
        // 1.19 A step that always fails, with no retries.
        "1-19" => {
            let _: Value = ctx
                .step(|_| async { Err::<Value, BoxError>("step failed permanently".into()) })
                .retry_strategy(no_retry)
                .await?;
            Ok(Value::Null)
        }
        // 1.6 A step with a custom serdes (upper-casing strings).
        "1-6" => {
            let text = input.as_str().unwrap_or_default().to_owned();
            let v = ctx
                .step(move |_| async move { Ok(text) })
                .serdes(Uppercase)
                .await?;
            Ok(json!(v))
        }
        // 1.7 A step that logs through the step's tracing span (the Rust SDK's step logger).
        "1-7" => {
            let name = input.as_str().unwrap_or_default().to_owned();
            let greeting = ctx
                .step(move |_| async move {
                    tracing_log(&format!("Greeting step started for: {name}"));
                    let greeting = format!("Hello, {name}!");
                    tracing_log(&format!("Greeting step completed with: {greeting}"));
                    Ok(greeting)
                })
                .await?;
            Ok(json!(greeting))
        }
        // 1.8 A step, then a 2 s wait; replay skips the step.
        "1-8" => {
            let v = ctx.step(|_| async { Ok("computed".to_owned()) }).await?;
            ctx.wait(Duration::from_secs(2)).await?;
            Ok(json!(v))
        }
        // 1.9 A succeeded step is not run again on replay (after a 1 s wait).
        "1-9" => {
            let v = ctx
                .step(|_| async { Ok("cached_value".to_owned()) })
                .await?;
            ctx.wait(Duration::from_secs(1)).await?;
            Ok(json!(v))
        }
        // 1.10 A failed step's error is caught; on replay the same error comes back.
        "1-10" => {
            let failed: Result<Value, _> = ctx
                .step(|_| async { Err::<Value, BoxError>("permanent failure".into()) })
                .retry_strategy(no_retry)
                .await;
            let caught = failed.is_err();
            ctx.wait(Duration::from_secs(1)).await?;
            Ok(json!({"caught": caught}))
        }
        // 1.15 Only TransientError is retried; the second attempt succeeds.
        "1-15" => {
            let v = ctx
                .step(|step| async move { fail_until(step.attempt(), 2, "recovered", transient) })
                .retry_strategy(|err, attempt| retry_if(is_transient(err) && attempt < 3, 1))
                .await?;
            Ok(json!(v))
        }
        // 1.16 TransientError is not retried by this strategy: the step fails.
        "1-16" => {
            let _: Value = ctx
                .step(|_| async { Err::<Value, BoxError>(transient()) })
                .retry_strategy(|err, _| retry_if(!is_transient(err), 1))
                .await?;
            Ok(Value::Null)
        }
        // 1.20 A failed step is caught and a second step runs with a fallback.
        "1-20" => {
            let failed: Result<String, _> = ctx
                .step(|_| async { Err::<String, BoxError>("failed".into()) })
                .retry_strategy(no_retry)
                .await;
            let fallback = failed.unwrap_or_else(|_| "fallback_result".to_owned());
            let v = ctx.step(move |_| async move { Ok(fallback) }).await?;
            Ok(json!(v))
        }
        // 1.11 Fails on the first attempt, succeeds on the second (1 s between).
        "1-11" => {
            let out = ctx
                .step(|step| async move {
                    fail_until(step.attempt(), 2, "Operation succeeded", || {
                        "transient failure".into()
                    })
                })
                .retry_strategy(|_, attempt| retry_if(attempt < 3, 1))
                .await?;
            Ok(json!(out))
        }
        // 1.12 Always fails; 4 attempts in all, 1 s apart.
        "1-12" => {
            let _: Value = ctx
                .step(|_| async { Err::<Value, BoxError>("always fails".into()) })
                .retry_strategy(|_, attempt| retry_if(attempt < 4, 1))
                .await?;
            Ok(Value::Null)
        }
        // 1.13 Fails twice, then succeeds, under the SDK's default retry strategy (the
        // delays are real: up to 5 s and 10 s with full jitter).
        "1-13" => {
            let out = ctx
                .step(|step| async move {
                    fail_until(step.attempt(), 3, "third time lucky", || "not yet".into())
                })
                .await?;
            Ok(json!(out))
        }
        // 1.14 Fails twice, then succeeds: 5 attempts, 2 s initial delay, backoff 3x, no jitter.
        "1-14" => {
            let out = ctx
                .step(|step| async move {
                    fail_until(step.attempt(), 3, "succeeded on the third attempt", || {
                        "not yet".into()
                    })
                })
                .retry_strategy(|_, attempt| retry_if(attempt < 5, 2 * 3u64.pow(attempt - 1)))
                .await?;
            Ok(json!(out))
        }
        // 2.1 Wait basic; 2.2 with a name; 2.3 two sequential waits; 2.4 other units;
        // 2.5 one hour.
        "2-1" => {
            ctx.wait(Duration::from_secs(2)).await?;
            Ok(Value::Null)
        }
        "2-2" => {
            ctx.wait(Duration::from_secs(2))
                .name("custom_wait_name")
                .await?;
            Ok(Value::Null)
        }
        "2-3" => {
            ctx.wait(Duration::from_secs(2)).name("wait-1").await?;
            ctx.wait(Duration::from_secs(2)).name("wait-2").await?;
            Ok(json!({"completedWaits": 2}))
        }
        "2-4" => {
            ctx.wait(Duration::from_secs(60)).await?;
            Ok(Value::Null)
        }
        "2-5" => {
            ctx.wait(Duration::from_secs(3600)).await?;
            Ok(Value::Null)
        }
        other => Err(format!("requirement {other} has no handler here").into()),
    }
}

fn tracing_log(message: &str) {
    lambda_runtime::tracing::info!("{message}");
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    durable::run(handler).await
}
