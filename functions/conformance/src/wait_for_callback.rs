//! Suite `wait_for_callback` (7.x): a submitter step handing the callback id out, then the
//! callback's outcome.

use std::time::Duration;

use aws_durable_execution_sdk::{BoxError, DurableContext};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::{Out, error, no_handler, retry_if, text};

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    let name = text(&input);
    match id {
        "7-1" | "7-4" | "7-15" => Ok(wait(&ctx, Some(name), Limits::NONE).await?),
        "7-2" => Ok(wait(&ctx, Some("approval".to_owned()), Limits::NONE).await?),
        "7-3" => Ok(wait(&ctx, None, Limits::NONE).await?),
        "7-5" => Ok(wait(&ctx, Some(name), Limits::timeout(3)).await?),
        "7-6" => caught(&ctx, name, Limits::NONE, "recovered").await,
        "7-7" => failing_submitter(ctx, name).await,
        "7-8" => in_child(ctx, name).await,
        "7-9" => two_in_a_row(ctx).await,
        "7-10" => after_wait_and_step(ctx, name).await,
        "7-11" => typed(ctx, name).await,
        "7-12" => Ok(wait(&ctx, Some(name), Limits::heartbeat(5)).await?),
        "7-13" => Ok(wait(&ctx, Some(name), Limits::heartbeat(10)).await?),
        "7-14" => caught(&ctx, name, Limits::timeout(3), "timed-out-handled").await,
        _ => Err(no_handler(id)),
    }
}

/// The callback's timeouts, in seconds (0: none).
#[derive(Clone, Copy)]
struct Limits {
    timeout_s: u64,
    heartbeat_s: u64,
}

impl Limits {
    const NONE: Limits = Limits {
        timeout_s: 0,
        heartbeat_s: 0,
    };

    fn timeout(s: u64) -> Limits {
        Limits {
            timeout_s: s,
            ..Limits::NONE
        }
    }

    fn heartbeat(s: u64) -> Limits {
        Limits {
            heartbeat_s: s,
            ..Limits::NONE
        }
    }
}

/// A `wait_for_callback` whose submitter does nothing durable; its result.
async fn wait(
    ctx: &DurableContext,
    name: Option<String>,
    limits: Limits,
) -> Result<Value, BoxError> {
    let mut op = ctx.wait_for_callback::<Value, _, _>(|_, _callback_id| async { Ok(()) });
    if let Some(name) = name {
        op = op.name(name);
    }
    if limits.timeout_s > 0 {
        op = op.timeout(Duration::from_secs(limits.timeout_s));
    }
    if limits.heartbeat_s > 0 {
        op = op.heartbeat(Duration::from_secs(limits.heartbeat_s));
    }
    Ok(op.await?)
}

/// 7.6, 7.14 The failure (or timeout) is caught and `fallback` returned.
async fn caught(ctx: &DurableContext, name: String, limits: Limits, fallback: &str) -> Out {
    Ok(wait(ctx, Some(name), limits)
        .await
        .unwrap_or_else(|_| json!(fallback)))
}

/// 7.7 The submitter always fails: two attempts, one second apart, then the operation
/// fails.
async fn failing_submitter(ctx: DurableContext, name: String) -> Out {
    let out = ctx
        .wait_for_callback::<Value, _, _>(|_, _callback_id| async {
            Err::<(), BoxError>(error("the submitter failed"))
        })
        .name(name)
        .submitter_retry(|_, attempt| retry_if(attempt < 2, 1))
        .await?;
    Ok(out)
}

/// 7.8 Inside a child context named "wrapper".
async fn in_child(ctx: DurableContext, name: String) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move { wait(&c, Some(name), Limits::NONE).await })
        .name("wrapper")
        .await?;
    Ok(out)
}

/// 7.9 "first", then "second"; the second's result.
async fn two_in_a_row(ctx: DurableContext) -> Out {
    wait(&ctx, Some("first".to_owned()), Limits::NONE).await?;
    wait(&ctx, Some("second".to_owned()), Limits::NONE).await
}

/// 7.10 A wait, a step, then the callback.
async fn after_wait_and_step(ctx: DurableContext, name: String) -> Out {
    ctx.wait(Duration::from_secs(1)).await?;
    let _: Value = ctx.step(|_| async { Ok(json!({"fetched": true})) }).await?;
    wait(&ctx, Some(name), Limits::NONE).await
}

/// The object 7.11's callback is completed with.
#[derive(Deserialize, Serialize)]
struct Approval {
    status: String,
}

/// 7.11 The payload read as an object; its `status`.
async fn typed(ctx: DurableContext, name: String) -> Out {
    let approval = ctx
        .wait_for_callback::<Approval, _, _>(|_, _callback_id| async { Ok(()) })
        .name(name)
        .await?;
    Ok(json!(approval.status))
}
