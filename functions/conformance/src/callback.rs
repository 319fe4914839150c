//! Suite `callback` (4.x): callbacks created by the handler and completed from outside
//! (success, failure, heartbeat) or timing out.

use std::time::Duration;

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde::Serialize;
use serde_json::{Value, json};

use crate::common::{Out, error, no_handler, nth_text, text};

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    let name = text(&input);
    match id {
        "4-1" | "4-6" => awaited(ctx, name, Limits::NONE).await,
        "4-2" => awaited(ctx, "approval".to_owned(), Limits::NONE).await,
        "4-3" => awaited(ctx, name, Limits::timeout(5)).await,
        "4-4" => awaited(ctx, name, Limits::heartbeat(5)).await,
        "4-5" => awaited(ctx, name, Limits::heartbeat(10)).await,
        "4-7" => step_between(ctx, name, Limits::NONE).await,
        "4-8" => step_between(ctx, name, Limits::timeout(5)).await,
        "4-9" | "4-10" => wait_between(ctx, name, Limits::NONE, 5).await,
        "4-11" => wait_between(ctx, name, Limits::timeout(3), 6).await,
        "4-12" => wait_after(ctx, name).await,
        "4-13" => caught_then_wait(ctx, name, Limits::NONE).await,
        "4-14" => caught_then_wait(ctx, name, Limits::timeout(3)).await,
        "4-15" => dated(ctx, name).await,
        "4-16" => counted(ctx, name).await,
        "4-17" => one_after_the_other(ctx, &input).await,
        "4-18" => both_then_await(ctx, &input, false).await,
        "4-19" => both_then_await(ctx, &input, true).await,
        _ => Err(no_handler(id)),
    }
}

/// A callback's timeouts, in seconds (0: none).
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

/// Creates the callback `name` with `limits`.
async fn create(
    ctx: &DurableContext,
    name: String,
    limits: Limits,
) -> Result<durable::builders::callback::Callback<Value>, BoxError> {
    let mut builder = ctx.create_callback::<Value>().name(name);
    if limits.timeout_s > 0 {
        builder = builder.timeout(Duration::from_secs(limits.timeout_s));
    }
    if limits.heartbeat_s > 0 {
        builder = builder.heartbeat(Duration::from_secs(limits.heartbeat_s));
    }
    Ok(builder.await?)
}

/// 4.1-4.6 Creates the callback and returns its result (or fails with its error).
async fn awaited(ctx: DurableContext, name: String, limits: Limits) -> Out {
    let cb = create(&ctx, name, limits).await?;
    Ok(cb.result().await?)
}

/// 4.7, 4.8 A step between creating the callback and awaiting it.
async fn step_between(ctx: DurableContext, name: String, limits: Limits) -> Out {
    let cb = create(&ctx, name, limits).await?;
    let _: String = ctx.step(|_| async { Ok("between".to_owned()) }).await?;
    Ok(cb.result().await?)
}

/// 4.9-4.11 A wait between creating the callback and awaiting it.
async fn wait_between(ctx: DurableContext, name: String, limits: Limits, wait_s: u64) -> Out {
    let cb = create(&ctx, name, limits).await?;
    ctx.wait(Duration::from_secs(wait_s)).await?;
    Ok(cb.result().await?)
}

/// 4.12 The callback's result, then a wait, then the result is returned.
async fn wait_after(ctx: DurableContext, name: String) -> Out {
    let cb = create(&ctx, name, Limits::NONE).await?;
    let result = cb.result().await?;
    ctx.wait(Duration::from_secs(2)).await?;
    Ok(result)
}

/// 4.13, 4.14 The callback's failure (or timeout) is caught, then a wait.
async fn caught_then_wait(ctx: DurableContext, name: String, limits: Limits) -> Out {
    let cb = create(&ctx, name, limits).await?;
    let message = match cb.result().await {
        Ok(v) => v,
        Err(e) => json!(format!("caught: {e}")),
    };
    ctx.wait(Duration::from_secs(2)).await?;
    Ok(message)
}

/// 4.15 A custom deserializer turns the payload's ISO timestamp into epoch seconds.
async fn dated(ctx: DurableContext, name: String) -> Out {
    let cb = ctx
        .create_callback::<Received>()
        .name(name)
        .serdes(ReceivedSerdes)
        .await?;
    let received = cb.result().await?;
    Ok(json!({ "received": received }))
}

/// 4.16 A custom deserializer turns the payload into a number.
async fn counted(ctx: DurableContext, name: String) -> Out {
    let cb = ctx
        .create_callback::<i64>()
        .name(name)
        .serdes(Number)
        .await?;
    let count = cb.result().await?;
    Ok(json!({"count": count, "doubled": count.saturating_mul(2)}))
}

/// 4.17 Callback A awaited, then callback B created and awaited.
async fn one_after_the_other(ctx: DurableContext, input: &Value) -> Out {
    let a = create(&ctx, nth_text(input, 0), Limits::NONE).await?;
    let a = a.result().await?;
    let b = create(&ctx, nth_text(input, 1), Limits::NONE).await?;
    let b = b.result().await?;
    Ok(json!([a, b]))
}

/// 4.18 A and B created, then A awaited and B; 4.19 B awaited first.
async fn both_then_await(ctx: DurableContext, input: &Value, b_first: bool) -> Out {
    let a = create(&ctx, nth_text(input, 0), Limits::NONE).await?;
    let b = create(&ctx, nth_text(input, 1), Limits::NONE).await?;
    let (a, b) = if b_first {
        let b = b.result().await?;
        (a.result().await?, b)
    } else {
        let a = a.result().await?;
        (a, b.result().await?)
    };
    Ok(json!([a, b]))
}

/// The typed payload of 4.15, its timestamp in epoch seconds.
#[derive(Serialize)]
struct Received {
    id: String,
    message: String,
    timestamp: i64,
}

/// Reads `{"id", "message", "timestamp": "<RFC 3339, UTC>"}` into [`Received`].
struct ReceivedSerdes;

impl durable::Serdes<Received> for ReceivedSerdes {
    async fn serialize(
        &self,
        value: Received,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(serde_json::to_string(&value)?)
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<Received, BoxError> {
        let raw: Value = serde_json::from_str(&wire)?;
        let stamp = raw["timestamp"].as_str().unwrap_or_default();
        Ok(Received {
            id: text(&raw["id"]),
            message: text(&raw["message"]),
            timestamp: epoch_seconds(stamp).ok_or_else(|| error("not a UTC timestamp"))?,
        })
    }
}

/// Reads a payload such as `42` (or `"42"`) as a number.
struct Number;

impl durable::Serdes<i64> for Number {
    async fn serialize(
        &self,
        value: i64,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(value.to_string())
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<i64, BoxError> {
        Ok(wire.trim().trim_matches('"').parse()?)
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn epoch_seconds(stamp: &str) -> Option<i64> {
    let (date, time) = stamp.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let whole = time.split('.').next()?;
    let mut t = whole.splitn(3, ':').map(str::parse::<i64>);
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + s)
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_become_epoch_seconds() {
        assert_eq!(
            super::epoch_seconds("2026-01-01T00:00:00.000Z"),
            Some(1_767_225_600)
        );
        assert_eq!(super::epoch_seconds("1970-01-01T00:00:01Z"), Some(1));
        assert_eq!(super::epoch_seconds("not a date"), None);
    }
}
