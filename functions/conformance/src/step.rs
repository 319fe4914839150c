//! Suite `step` (1.x): steps, their results, retries and step semantics.

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde_json::{Value, json};

use crate::common::{
    Out, crash_after_logging, error, fail_until, is_transient, log, no_handler, no_retry, retry_if,
    text, transient,
};

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    match id {
        "1-1" => greet(input, ctx, None).await,
        "1-2" => greet(input, ctx, Some("custom_step_name")).await,
        "1-3" => sequential(ctx).await,
        "1-4" => complex(input, ctx).await,
        "1-5" => null_result(ctx).await,
        "1-6" => custom_serdes(input, ctx).await,
        "1-7" => logging(input, ctx).await,
        "1-8" => step_then_wait(ctx, "computed", 2).await,
        "1-9" => step_then_wait(ctx, "cached_value", 1).await,
        "1-10" => failure_caught_then_wait(ctx).await,
        "1-11" => retried_once(ctx).await,
        "1-12" => always_fails(ctx).await,
        "1-13" => default_retries(ctx).await,
        "1-14" => backoff(ctx).await,
        "1-15" => transient_retried(ctx).await,
        "1-16" => transient_not_retried(ctx).await,
        "1-17" => at_most_once_crash(input, ctx).await,
        "1-18" => at_most_once_crash_retried(input, ctx).await,
        "1-19" => fails_permanently(ctx).await,
        "1-20" => fallback(ctx).await,
        _ => Err(no_handler(id)),
    }
}

/// 1.1 Step basic; 1.2 the same step with a name.
async fn greet(input: Value, ctx: DurableContext, name: Option<&str>) -> Out {
    let who = text(&input);
    let step = ctx.step(move |_| async move { Ok(format!("Hello, {who}!")) });
    let greeting = match name {
        Some(name) => step.name(name).await?,
        None => step.await?,
    };
    Ok(json!(greeting))
}

/// 1.3 Sequential steps where the second uses the first's result.
async fn sequential(ctx: DurableContext) -> Out {
    let first = ctx.step(|_| async { Ok("first".to_owned()) }).await?;
    let both = ctx
        .step(move |_| async move { Ok(format!("{first}_second")) })
        .await?;
    Ok(json!(both))
}

/// 1.4 Returning a complex object.
async fn complex(input: Value, ctx: DurableContext) -> Out {
    let built = ctx
        .step(move |_| async move {
            let tags = input["tags"].clone();
            let count = tags.as_array().map_or(0, Vec::len);
            Ok(json!({"user": {"name": input["name"], "tags": tags}, "count": count}))
        })
        .await?;
    Ok(built)
}

/// 1.5 A step returning null.
async fn null_result(ctx: DurableContext) -> Out {
    let nothing: Value = ctx.step(|_| async { Ok(Value::Null) }).await?;
    Ok(nothing)
}

/// 1.6 A step with a custom serdes (upper-casing strings).
async fn custom_serdes(input: Value, ctx: DurableContext) -> Out {
    let value = text(&input);
    let v = ctx
        .step(move |_| async move { Ok(value) })
        .serdes(Uppercase)
        .await?;
    Ok(json!(v))
}

/// 1.7 A step that logs at its start and its end.
async fn logging(input: Value, ctx: DurableContext) -> Out {
    let name = text(&input);
    let arn = ctx.execution_arn().to_owned();
    let greeting = ctx
        .step(move |_| async move {
            log(&arn, &format!("Greeting step started for: {name}"));
            let greeting = format!("Hello, {name}!");
            log(&arn, &format!("Greeting step completed with: {greeting}"));
            Ok(greeting)
        })
        .await?;
    Ok(json!(greeting))
}

/// 1.8 A step, then a wait; 1.9 a succeeded step is not run again on replay.
async fn step_then_wait(ctx: DurableContext, value: &'static str, wait_s: u64) -> Out {
    let v = ctx
        .step(move |_| async move { Ok(value.to_owned()) })
        .await?;
    ctx.wait(std::time::Duration::from_secs(wait_s)).await?;
    Ok(json!(v))
}

/// 1.10 A failed step's error is caught; on replay the same error comes back.
async fn failure_caught_then_wait(ctx: DurableContext) -> Out {
    let failed: Result<Value, _> = ctx
        .step(|_| async { Err::<Value, BoxError>(error("permanent failure")) })
        .retry_strategy(no_retry)
        .await;
    let caught = failed.is_err();
    ctx.wait(std::time::Duration::from_secs(1)).await?;
    Ok(json!({"caught": caught}))
}

/// 1.11 Fails on the first attempt, succeeds on the second (1 s between).
async fn retried_once(ctx: DurableContext) -> Out {
    let out = ctx
        .step(|step| async move {
            fail_until(step.attempt(), 2, "Operation succeeded".to_owned(), || {
                error("transient failure")
            })
        })
        .retry_strategy(|_, attempt| retry_if(attempt < 3, 1))
        .await?;
    Ok(json!(out))
}

/// 1.12 Always fails; 4 attempts in all, 1 s apart.
async fn always_fails(ctx: DurableContext) -> Out {
    let _: Value = ctx
        .step(|_| async { Err::<Value, BoxError>(error("always fails")) })
        .retry_strategy(|_, attempt| retry_if(attempt < 4, 1))
        .await?;
    Ok(Value::Null)
}

/// 1.13 Fails twice, then succeeds, under the SDK's default retry strategy (the delays are
/// real: up to 5 s and 10 s with full jitter).
async fn default_retries(ctx: DurableContext) -> Out {
    let out = ctx
        .step(|step| async move {
            fail_until(step.attempt(), 3, "third time lucky".to_owned(), || {
                error("not yet")
            })
        })
        .await?;
    Ok(json!(out))
}

/// 1.14 Fails twice, then succeeds: 5 attempts, 2 s initial delay, backoff 3x, no jitter.
async fn backoff(ctx: DurableContext) -> Out {
    let out = ctx
        .step(|step| async move {
            fail_until(
                step.attempt(),
                3,
                "succeeded on the third attempt".to_owned(),
                || error("not yet"),
            )
        })
        .retry_strategy(|_, attempt| retry_if(attempt < 5, 2 * 3u64.pow(attempt - 1)))
        .await?;
    Ok(json!(out))
}

/// 1.15 Only TransientError is retried; the second attempt succeeds.
async fn transient_retried(ctx: DurableContext) -> Out {
    let v = ctx
        .step(
            |step| async move { fail_until(step.attempt(), 2, "recovered".to_owned(), transient) },
        )
        .retry_strategy(|err, attempt| retry_if(is_transient(err) && attempt < 3, 1))
        .await?;
    Ok(json!(v))
}

/// 1.16 TransientError is not retried by this strategy: the step fails.
async fn transient_not_retried(ctx: DurableContext) -> Out {
    let _: Value = ctx
        .step(|_| async { Err::<Value, BoxError>(transient()) })
        .retry_strategy(|err, _| retry_if(!is_transient(err), 1))
        .await?;
    Ok(Value::Null)
}

/// 1.17 An at-most-once step whose process crashes, with no retries: on replay the
/// interrupted step fails without running again.
async fn at_most_once_crash(input: Value, ctx: DurableContext) -> Out {
    let text = text(&input);
    let arn = ctx.execution_arn().to_owned();
    let _: Value = ctx
        .step(move |_| async move { crash_after_logging(&arn, &text) })
        .name("at_most_once_flaky_step")
        .semantics(durable::StepSemantics::AtMostOncePerRetry)
        .retry_strategy(no_retry)
        .await?;
    Ok(Value::Null)
}

/// 1.18 The same step with one retry: the crash is the first attempt, the retry succeeds.
async fn at_most_once_crash_retried(input: Value, ctx: DurableContext) -> Out {
    let text = text(&input);
    let arn = ctx.execution_arn().to_owned();
    let out = ctx
        .step(move |step| async move {
            if step.attempt() < 2 {
                crash_after_logging(&arn, &text)
            } else {
                log(&arn, &text);
                Ok("succeeded on second attempt".to_owned())
            }
        })
        .semantics(durable::StepSemantics::AtMostOncePerRetry)
        .retry_strategy(|_, attempt| retry_if(attempt < 2, 1))
        .await?;
    Ok(json!(out))
}

/// 1.19 A step that always fails, with no retries.
async fn fails_permanently(ctx: DurableContext) -> Out {
    let _: Value = ctx
        .step(|_| async { Err::<Value, BoxError>(error("step failed permanently")) })
        .retry_strategy(no_retry)
        .await?;
    Ok(Value::Null)
}

/// 1.20 A failed step is caught and a second step runs with a fallback.
async fn fallback(ctx: DurableContext) -> Out {
    let failed: Result<String, _> = ctx
        .step(|_| async { Err::<String, BoxError>(error("failed")) })
        .retry_strategy(no_retry)
        .await;
    let fallback = failed.unwrap_or_else(|_| "fallback_result".to_owned());
    let v = ctx.step(move |_| async move { Ok(fallback) }).await?;
    Ok(json!(v))
}

/// Stores strings upper-cased, as JSON (1.6).
pub struct Uppercase;

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
