//! Suite `wait_for_condition` (6.x): polling a check function under a wait strategy.

use std::time::Duration;

use aws_durable_execution_sdk::builders::JitterStrategy;
use aws_durable_execution_sdk::builders::wait_for_condition::{WaitDecision, WaitStrategy};
use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde_json::{Value, json};

use crate::common::{Out, error, int, no_handler};

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    let n = int(&input);
    match id {
        "6-1" => count_to(ctx, 0, n, None).await,
        "6-2" => already_met(ctx).await,
        "6-3" => count_to(ctx, 0, n, Some("poll-status")).await,
        "6-4" => count_to(ctx, 5, n, None).await,
        "6-5" => fixed_delay(ctx, n).await,
        "6-6" => never_met(ctx, n).await,
        "6-7" => check_raises(ctx).await,
        "6-8" => check_raises(ctx).await.or_else(|_| Ok(json!("recovered"))),
        "6-9" => object_state(ctx).await,
        "6-10" => null_state(ctx).await,
        "6-11" => custom_serdes(ctx).await,
        "6-12" => then_step(ctx, n).await,
        "6-13" => two_in_a_row(ctx).await,
        _ => Err(no_handler(id)),
    }
}

/// Polls until the state reaches `threshold`, one second apart, at most 10 checks.
fn until_at_least(threshold: i64) -> WaitStrategy<i64> {
    WaitStrategy::builder(move |state: &i64| *state >= threshold)
        .max_attempts(10)
        .initial_delay(Duration::from_secs(1))
        .backoff_rate(1.0)
        .jitter(JitterStrategy::None)
        .build()
}

/// Increments the state by one, from `initial` until it reaches `threshold`.
async fn increment(
    ctx: &DurableContext,
    initial: i64,
    threshold: i64,
    name: Option<&str>,
) -> Result<i64, BoxError> {
    let op = ctx
        .wait_for_condition(|_, state: i64| async move { Ok(state + 1) }, initial)
        .wait_strategy(until_at_least(threshold));
    Ok(match name {
        Some(name) => op.name(name).await?,
        None => op.await?,
    })
}

/// 6.1 Counts from 0 to the input; 6.3 named "poll-status"; 6.4 from 5.
async fn count_to(ctx: DurableContext, initial: i64, threshold: i64, name: Option<&str>) -> Out {
    Ok(json!(increment(&ctx, initial, threshold, name).await?))
}

/// 6.2 The state (5) already satisfies the condition on the first check.
async fn already_met(ctx: DurableContext) -> Out {
    let done = ctx
        .wait_for_condition(|_, state: i64| async move { Ok(state) }, 5)
        .wait_strategy(until_at_least(5))
        .await?;
    Ok(json!(done))
}

/// 6.5 A fixed 2-second delay between checks, no jitter, no backoff.
async fn fixed_delay(ctx: DurableContext, threshold: i64) -> Out {
    let strategy = WaitStrategy::builder(move |state: &i64| *state >= threshold)
        .initial_delay(Duration::from_secs(2))
        .backoff_rate(1.0)
        .jitter(JitterStrategy::None)
        .build();
    let done = ctx
        .wait_for_condition(|_, state: i64| async move { Ok(state + 1) }, 0)
        .wait_strategy(strategy)
        .await?;
    Ok(json!(done))
}

/// 6.6 The condition is never met: the third check exhausts the strategy.
async fn never_met(ctx: DurableContext, initial: i64) -> Out {
    let strategy = WaitStrategy::builder(|_: &i64| false)
        .max_attempts(3)
        .initial_delay(Duration::from_secs(1))
        .backoff_rate(1.0)
        .jitter(JitterStrategy::None)
        .build();
    let done = ctx
        .wait_for_condition(|_, state: i64| async move { Ok(state + 1) }, initial)
        .wait_strategy(strategy)
        .await?;
    Ok(json!(done))
}

/// 6.7 The check raises on its first run: the operation fails (6.8 catches it).
async fn check_raises(ctx: DurableContext) -> Out {
    let done = ctx
        .wait_for_condition(
            |_, _: i64| async move { Err::<i64, BoxError>(error("the check failed")) },
            0,
        )
        .wait_strategy(until_at_least(1))
        .await?;
    Ok(json!(done))
}

/// 6.9 An object state `{status, attempts}`, DONE at two attempts.
async fn object_state(ctx: DurableContext) -> Out {
    let done = ctx
        .wait_for_condition(
            |_, state: Value| async move {
                let attempts = state["attempts"].as_i64().unwrap_or_default() + 1;
                let status = if attempts >= 2 { "DONE" } else { "PENDING" };
                Ok(json!({"status": status, "attempts": attempts}))
            },
            json!({"status": "PENDING", "attempts": 0}),
        )
        .wait_strategy_fn(|state: Value, attempt| {
            if state["status"] != "PENDING" {
                WaitDecision::complete()
            } else if attempt >= 10 {
                WaitDecision::exhausted("still PENDING after 10 checks")
            } else {
                WaitDecision::continue_with(Duration::from_secs(1))
            }
        })
        .await?;
    Ok(done)
}

/// 6.10 The check returns null and the strategy stops at once.
async fn null_state(ctx: DurableContext) -> Out {
    let done = ctx
        .wait_for_condition(|_, _: Value| async move { Ok(Value::Null) }, Value::Null)
        .wait_strategy_fn(|_, _| WaitDecision::complete())
        .await?;
    Ok(done)
}

/// 6.11 The state (a string growing by "x") is stored through a custom serdes.
async fn custom_serdes(ctx: DurableContext) -> Out {
    let done = ctx
        .wait_for_condition(
            |_, state: String| async move { Ok(format!("{state}x")) },
            String::new(),
        )
        .wait_strategy_fn(|state: String, attempt| {
            if state.len() >= 2 {
                WaitDecision::complete()
            } else if attempt >= 10 {
                WaitDecision::exhausted("too many checks")
            } else {
                WaitDecision::continue_with(Duration::from_secs(1))
            }
        })
        .serdes(Tagged)
        .await?;
    Ok(json!(done))
}

/// 6.12 The final state (2) feeds a step that multiplies it by ten.
async fn then_step(ctx: DurableContext, threshold: i64) -> Out {
    let state = increment(&ctx, 0, threshold, None).await?;
    let tenfold = ctx.step(move |_| async move { Ok(state * 10) }).await?;
    Ok(json!(tenfold))
}

/// 6.13 Two operations in a row: 0 to 2, then 2 to 4.
async fn two_in_a_row(ctx: DurableContext) -> Out {
    let first = increment(&ctx, 0, 2, None).await?;
    Ok(json!(increment(&ctx, first, 4, None).await?))
}

/// Stores a string state as `state:<text>` (not JSON), and reads it back.
struct Tagged;

const TAG: &str = "state:";

impl durable::Serdes<String> for Tagged {
    async fn serialize(
        &self,
        value: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(format!("{TAG}{value}"))
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        wire.strip_prefix(TAG)
            .map(str::to_owned)
            .ok_or_else(|| error("not a tagged state"))
    }
}
