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
        // 1.19 A step that always fails, with no retries.
        "1-19" => {
            let _: Value = ctx
                .step(|_| async { Err::<Value, BoxError>("step failed permanently".into()) })
                .retry_strategy(no_retry)
                .await?;
            Ok(Value::Null)
        }
        // 1.11 Fails on the first attempt, succeeds on the second (1 s between).
        "1-11" => {
            let out = ctx
                .step(|step| async move {
                    if step.attempt() < 2 {
                        return Err::<String, BoxError>("transient failure".into());
                    }
                    Ok("Operation succeeded".to_owned())
                })
                .retry_strategy(|_, attempt| {
                    if attempt < 3 {
                        RetryDecision::Retry {
                            delay: Duration::from_secs(1),
                        }
                    } else {
                        RetryDecision::Stop
                    }
                })
                .await?;
            Ok(json!(out))
        }
        // 1.12 Always fails; 4 attempts in all, 1 s apart.
        "1-12" => {
            let _: Value = ctx
                .step(|_| async { Err::<Value, BoxError>("always fails".into()) })
                .retry_strategy(|_, attempt| {
                    if attempt < 4 {
                        RetryDecision::Retry {
                            delay: Duration::from_secs(1),
                        }
                    } else {
                        RetryDecision::Stop
                    }
                })
                .await?;
            Ok(Value::Null)
        }
        // 1.14 Fails twice, then succeeds: 5 attempts, 2 s initial delay, backoff 3x, no jitter.
        "1-14" => {
            let out = ctx
                .step(|step| async move {
                    if step.attempt() < 3 {
                        return Err::<String, BoxError>("not yet".into());
                    }
                    Ok("succeeded on the third attempt".to_owned())
                })
                .retry_strategy(|_, attempt| {
                    if attempt < 5 {
                        RetryDecision::Retry {
                            delay: Duration::from_secs(2 * 3u64.pow(attempt - 1)),
                        }
                    } else {
                        RetryDecision::Stop
                    }
                })
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

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    durable::run(handler).await
}
