//! Suite `child` (3.x): child contexts (`run_in_child_context`).

use std::time::Duration;

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde_json::{Value, json};

use crate::common::{
    Out, crash_after_logging, error, fail_until, log, no_handler, no_retry, retry_if, text,
};

/// The name the requirements that expect a `Name` give their child context.
const NAME: &str = "child";

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    let s = text(&input);
    match id {
        "3-1" => step_inside(ctx, s, None).await,
        "3-2" => step_inside(ctx, text(&input["value"]), Some(text(&input["name"]))).await,
        "3-3" => two_steps_inside(ctx, s).await,
        "3-4" => failing_step_inside(ctx).await.map(|()| Value::Null),
        "3-5" => failure_caught(ctx, s).await,
        "3-6" => nested(ctx, s).await,
        "3-7" => retried_step_inside(ctx, s).await,
        "3-8" => exhausted_step_inside(ctx).await,
        "3-9" => replayed_after_wait(ctx, s).await,
        "3-10" => step_and_wait_inside(ctx, s).await,
        "3-11" => large_result(ctx, s).await,
        "3-12" => interrupted(ctx, s).await,
        "3-13" => wait_inside_then_step(ctx, s).await,
        "3-14" => custom_serdes(ctx, s).await,
        "3-15" => error_without_step(ctx).await,
        "3-16" => null_result(ctx).await,
        "3-17" => logger_only(ctx, s).await,
        "3-18" => mixed_across_replays(ctx, s).await,
        _ => Err(no_handler(id)),
    }
}

/// A step returning `value`, in `ctx`.
async fn echo_step(ctx: &DurableContext, value: String) -> Result<String, BoxError> {
    Ok(ctx.step(move |_| async move { Ok(value) }).await?)
}

/// 3.1 A child with one step returning the input; 3.2 the child named by the input.
async fn step_inside(ctx: DurableContext, value: String, name: Option<String>) -> Out {
    let child = ctx.run_in_child_context(|c| async move { echo_step(&c, value).await });
    let out = match name {
        Some(name) => child.name(name).await?,
        None => child.await?,
    };
    Ok(json!(out))
}

/// 3.3 Two sequential steps in a child, the second given the first's result.
async fn two_steps_inside(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move {
            let first = echo_step(&c, value).await?;
            echo_step(&c, first).await
        })
        .name(NAME)
        .await?;
    Ok(json!(out))
}

/// 3.4 The child's step fails without retries: the child fails, and so does the execution.
async fn failing_step_inside(ctx: DurableContext) -> Result<(), BoxError> {
    ctx.run_in_child_context(|c| async move {
        c.step(|_| async { Err::<(), BoxError>(error("step failed inside the child")) })
            .retry_strategy(no_retry)
            .await?;
        Ok(())
    })
    .name(NAME)
    .await?;
    Ok(())
}

/// 3.5 The child's failure is caught; a recovery step returns the input.
async fn failure_caught(ctx: DurableContext, value: String) -> Out {
    let failed: Result<(), _> = ctx
        .run_in_child_context(|c| async move {
            c.step(|_| async { Err::<(), BoxError>(error("step failed inside the child")) })
                .retry_strategy(no_retry)
                .await?;
            Ok(())
        })
        .await;
    let recovered = match failed {
        Ok(()) => String::new(),
        Err(_) => echo_step(&ctx, value).await?,
    };
    Ok(json!(recovered))
}

/// 3.6 An outer child (a step, then an inner child with its own step).
async fn nested(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|outer| async move {
            echo_step(&outer, value.clone()).await?;
            let inner = outer
                .run_in_child_context(|inner| async move { echo_step(&inner, value).await })
                .name("inner")
                .await?;
            Ok(inner)
        })
        .name("outer")
        .await?;
    Ok(json!(out))
}

/// 3.7 A step in a child fails once, then succeeds on its retry.
async fn retried_step_inside(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move {
            let v = c
                .step(move |s| async move {
                    fail_until(s.attempt(), 2, value, || error("first attempt fails"))
                })
                .retry_strategy(|_, attempt| retry_if(attempt < 2, 1))
                .await?;
            Ok(v)
        })
        .name(NAME)
        .await?;
    Ok(json!(out))
}

/// 3.8 A step in a child always fails; two attempts, then the child fails.
async fn exhausted_step_inside(ctx: DurableContext) -> Out {
    ctx.run_in_child_context(|c| async move {
        c.step(|_| async { Err::<(), BoxError>(error("always fails")) })
            .retry_strategy(|_, attempt| retry_if(attempt < 2, 1))
            .await?;
        Ok(())
    })
    .name(NAME)
    .await?;
    Ok(Value::Null)
}

/// 3.9 A child, then a wait: on replay the child's recorded result is returned.
async fn replayed_after_wait(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move { echo_step(&c, value).await })
        .await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!(out))
}

/// 3.10 A step and then a wait inside a child.
async fn step_and_wait_inside(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move {
            let v = echo_step(&c, value).await?;
            c.wait(Duration::from_secs(1)).await?;
            Ok(v)
        })
        .name(NAME)
        .await?;
    Ok(json!(out))
}

/// 3.11 A child whose result (over 256 KiB) cannot be checkpointed: it is recorded in
/// ReplayChildren mode and runs again on replay (its log line appears twice).
async fn large_result(ctx: DurableContext, value: String) -> Out {
    let arn = ctx.execution_arn().to_owned();
    let large = ctx
        .run_in_child_context(|c| async move {
            log(&arn, &value);
            let small = c.step(|_| async { Ok("x".to_owned()) }).await?;
            Ok(small.repeat(300 * 1024))
        })
        .name(NAME)
        .await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!({"length": large.len()}))
}

/// 3.12 The process crashes inside the child's step (first invocation only): the next
/// invocation runs the step again and records its success without a second start.
async fn interrupted(ctx: DurableContext, value: String) -> Out {
    let first_invocation = !ctx.is_replaying();
    let arn = ctx.execution_arn().to_owned();
    let out = ctx
        .run_in_child_context(move |c| async move {
            let v = c
                .step(move |_| async move {
                    if first_invocation {
                        crash_after_logging(&arn, "crashing inside the child's step")
                    } else {
                        Ok(value)
                    }
                })
                .await?;
            Ok(v)
        })
        .await?;
    Ok(json!(out))
}

/// 3.13 A child holding only a wait, then a step outside it.
async fn wait_inside_then_step(ctx: DurableContext, value: String) -> Out {
    let v = value.clone();
    ctx.run_in_child_context(|c| async move {
        c.wait(Duration::from_secs(1)).await?;
        Ok(v)
    })
    .name(NAME)
    .await?;
    Ok(json!(echo_step(&ctx, value).await?))
}

/// 3.14 A child whose result is stored upper-cased (as plain text) by a custom serdes, and
/// read back as stored.
async fn custom_serdes(ctx: DurableContext, value: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move { echo_step(&c, value).await })
        .name(NAME)
        .serdes(UppercaseText)
        .await?;
    Ok(json!(out))
}

/// 3.15 The child's body fails without any durable operation.
async fn error_without_step(ctx: DurableContext) -> Out {
    ctx.run_in_child_context(|_| async move {
        Err::<Value, BoxError>(error("failed in the child's body"))
    })
    .name(NAME)
    .await?;
    Ok(Value::Null)
}

/// 3.16 The child returns null without any durable operation.
async fn null_result(ctx: DurableContext) -> Out {
    let out: Value = ctx
        .run_in_child_context(|_| async move { Ok(Value::Null) })
        .name(NAME)
        .await?;
    Ok(out)
}

/// 3.17 A child that only logs; after the wait its body does not run again.
async fn logger_only(ctx: DurableContext, value: String) -> Out {
    let arn = ctx.execution_arn().to_owned();
    let out = ctx
        .run_in_child_context(|_| async move {
            log(&arn, &value);
            Ok(value)
        })
        .name(NAME)
        .await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!(out))
}

/// 3.18 A step and a wait inside a child, then a step and a wait after it.
async fn mixed_across_replays(ctx: DurableContext, value: String) -> Out {
    let v = value.clone();
    ctx.run_in_child_context(|c| async move {
        let out = echo_step(&c, v).await?;
        c.wait(Duration::from_secs(1)).await?;
        Ok(out)
    })
    .name(NAME)
    .await?;
    let out = echo_step(&ctx, value).await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!(out))
}

/// Writes a string upper-cased, as plain text (not JSON); reads the text as it is.
struct UppercaseText;

impl durable::Serdes<String> for UppercaseText {
    async fn serialize(
        &self,
        value: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(value.to_uppercase())
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(wire)
    }
}
