//! Suite `map` (9.x): map over items, completion configs, nesting, namers and serdes.

use std::time::Duration;

use aws_durable_execution_sdk::builders::map_parallel::{CompletionConfig, NestingMode};
use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::batch::{self, ALL, COUNTS, SUCCESSES};
use crate::common::{Out, error, no_handler};

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    match id {
        "9-1" => greetings(ctx, items(&input)).await,
        "9-2" => doubled(ctx, items(&input)).await,
        "9-3" => plus_index(ctx, items(&input)).await,
        "9-4" => empty(ctx, items(&input)).await,
        "9-5" => projected(ctx, "failfast", "+-+", batch::tolerated_failures(0), ALL).await,
        "9-6" => rethrown(ctx).await,
        "9-7" => {
            projected(
                ctx,
                "min-successful",
                "++++",
                batch::min_successful(2),
                SUCCESSES,
            )
            .await
        }
        "9-8" => projected(ctx, "tolerated", "+-+", batch::tolerated_failures(1), ALL).await,
        "9-9" => {
            let config = batch::tolerated_failures(1);
            projected(ctx, "tolerated-exceeded", "--+", config, COUNTS).await
        }
        "9-10" => {
            let config = batch::tolerated_percentage(25);
            projected(ctx, "tolerated-pct", "--++", config, COUNTS).await
        }
        "9-11" => concurrent(ctx).await,
        "9-12" => flat(ctx).await,
        "9-13" => named_items(ctx, items(&input)).await,
        "9-14" => item_serdes(ctx).await,
        "9-15" => suspended_iteration(ctx).await,
        "9-16" => large(ctx).await,
        "9-17" => then_wait(ctx).await,
        "9-18" => failed_then_wait(ctx).await,
        "9-19" => operation_serdes(ctx, "op-serde", false).await,
        "9-20" => operation_serdes(ctx, "op-serde-replay", true).await,
        _ => Err(no_handler(id)),
    }
}

/// The input's items (none when it is not an array).
fn items(input: &Value) -> Vec<Value> {
    input.as_array().cloned().unwrap_or_default()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

/// The item, or an error when it is `"fail"`.
fn ok_unless_fail(item: String) -> Result<String, BoxError> {
    if item == "fail" {
        Err(error("the item failed"))
    } else {
        Ok(item)
    }
}

/// Items by pattern: `+` is `"ok"`, `-` is `"fail"`.
fn outcomes(pattern: &str) -> Vec<String> {
    pattern
        .chars()
        .map(|c| if c == '+' { "ok" } else { "fail" }.to_owned())
        .collect()
}

/// 9.1 One step per item returning a greeting.
async fn greetings(ctx: DurableContext, items: Vec<Value>) -> Out {
    let results = ctx
        .map(items, |c: DurableContext, item: Value, _| async move {
            let who = item.as_str().unwrap_or_default().to_owned();
            let greeting: String = c
                .step(move |_| async move { Ok(format!("Hello, {who}!")) })
                .await?;
            Ok(greeting)
        })
        .name("map")
        .max_concurrency(1)
        .await?;
    Ok(json!(results))
}

/// 9.2 The form without a name: each item doubled, returned directly.
async fn doubled(ctx: DurableContext, items: Vec<Value>) -> Out {
    let results = ctx
        .map(items, |_, item: Value, _| async move {
            Ok(item.as_i64().unwrap_or_default() * 2)
        })
        .max_concurrency(1)
        .await?;
    Ok(json!(results))
}

/// 9.3 Each item plus its index.
async fn plus_index(ctx: DurableContext, items: Vec<Value>) -> Out {
    let results = ctx
        .map(items, |_, item: Value, index| async move {
            let index = i64::try_from(index)?;
            Ok(item.as_i64().unwrap_or_default() + index)
        })
        .name("indexed")
        .max_concurrency(1)
        .await?;
    Ok(json!(results))
}

/// 9.4 No items.
async fn empty(ctx: DurableContext, items: Vec<Value>) -> Out {
    let results = ctx
        .map(items, |_, item: Value, _| async move { Ok(item) })
        .name("empty")
        .await?;
    Ok(json!(results))
}

/// A map over `pattern` items under `config`, one at a time; the batch result projected
/// on `fields`.
async fn projected(
    ctx: DurableContext,
    name: &str,
    pattern: &str,
    config: CompletionConfig,
    fields: &[batch::Field],
) -> Out {
    let result = ctx
        .map(outcomes(pattern), |_, item: String, _| async move {
            ok_unless_fail(item)
        })
        .name(name)
        .max_concurrency(1)
        .completion(config)
        .await_batch()
        .await?;
    Ok(batch::project(&result, fields))
}

/// 9.6 Fail fast; the handler rethrows the batch's first failure.
async fn rethrown(ctx: DurableContext) -> Out {
    let result = ctx
        .map(outcomes("-+"), |_, item: String, _| async move {
            ok_unless_fail(item)
        })
        .name("throwing")
        .max_concurrency(1)
        .completion(batch::tolerated_failures(0))
        .await_batch()
        .await?;
    Ok(json!(batch::rethrow(&result)?))
}

/// 9.11 Two items at a time: the results are in item order all the same.
async fn concurrent(ctx: DurableContext) -> Out {
    let results = ctx
        .map(
            strings(&["r0", "r1", "r2"]),
            |_, item: String, _| async move { Ok(item) },
        )
        .name("concurrent")
        .max_concurrency(2)
        .await?;
    Ok(json!(results))
}

/// 9.12 FLAT nesting: each item's step sits directly under the map's context.
async fn flat(ctx: DurableContext) -> Out {
    let results = ctx
        .map(
            strings(&["fa", "fb"]),
            |c: DurableContext, item: String, _| async move {
                let v: String = c.step(move |_| async move { Ok(item) }).await?;
                Ok(v)
            },
        )
        .name("flat")
        .max_concurrency(1)
        .nesting(NestingMode::Flat)
        .await?;
    Ok(json!(results))
}

/// 9.13 Iterations named `item-<item>` by a custom namer; each item times ten.
async fn named_items(ctx: DurableContext, items: Vec<Value>) -> Out {
    let names: Vec<String> = items.iter().map(|i| format!("item-{i}")).collect();
    let results = ctx
        .map(items, |_, item: Value, _| async move {
            Ok(item.as_i64().unwrap_or_default() * 10)
        })
        .name("named-items")
        .max_concurrency(1)
        .item_namer(move |index| names.get(index).cloned().unwrap_or_default())
        .await?;
    Ok(json!(results))
}

/// 9.14 Each iteration's result stored as `wrapped:<value>` by a custom item serdes.
async fn item_serdes(ctx: DurableContext) -> Out {
    let results = ctx
        .map(strings(&["x", "y"]), |_, item: String, _| async move {
            Ok(item.to_uppercase())
        })
        .name("serdes")
        .max_concurrency(1)
        .serdes(WrappedText)
        .await?;
    Ok(json!(results))
}

/// 9.15 The second iteration suspends on a wait, then runs a step.
async fn suspended_iteration(ctx: DurableContext) -> Out {
    let results = ctx
        .map(
            strings(&["r0", "r1"]),
            |c: DurableContext, item: String, index| async move {
                if index == 1 {
                    c.wait(Duration::from_secs(1)).await?;
                }
                let v: String = c.step(move |_| async move { Ok(item) }).await?;
                Ok(v)
            },
        )
        .name("suspend")
        .max_concurrency(1)
        .await?;
    Ok(json!(results))
}

/// 9.16 Four results of ~70 KB each: the map's own result is too large to checkpoint.
async fn large(ctx: DurableContext) -> Out {
    let result = ctx
        .map(vec![0_usize; 4], |_, _, index| async move {
            Ok(format!("{index}").repeat(70 * 1024))
        })
        .name("large")
        .max_concurrency(1)
        .await_batch()
        .await?;
    Ok(json!({"successCount": result.success_count(), "totalCount": result.total_count()}))
}

/// 9.17 A wait after a successful map.
async fn then_wait(ctx: DurableContext) -> Out {
    let results = ctx
        .map(strings(&["a", "b"]), |_, item: String, _| async move {
            Ok(item.to_uppercase())
        })
        .name("then-wait")
        .max_concurrency(1)
        .await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!(results))
}

/// 9.18 A wait after a map that recorded a (tolerated) failure.
async fn failed_then_wait(ctx: DurableContext) -> Out {
    let result = ctx
        .map(strings(&["ok", "fail"]), |_, item: String, _| async move {
            ok_unless_fail(item)
        })
        .name("fail-then-wait")
        .max_concurrency(1)
        .completion(batch::tolerated_failures(1))
        .await_batch()
        .await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(batch::project(&result, ALL))
}

/// 9.19 The whole map result stored as `OPSERDE:X,Y`; 9.20 then a wait, so the replay
/// reads it back through the serdes.
async fn operation_serdes(ctx: DurableContext, name: &str, wait: bool) -> Out {
    let results = ctx
        .map(strings(&["x", "y"]), |_, item: String, _| async move {
            Ok(item.to_uppercase())
        })
        .name(name)
        .max_concurrency(1)
        .result_serdes(OpSerde)
        .await?;
    if wait {
        ctx.wait(Duration::from_secs(1)).await?;
    }
    Ok(json!(results))
}

/// Stores a string item result as `wrapped:<text>` (not JSON).
struct WrappedText;

const WRAPPED: &str = "wrapped:";

impl durable::Serdes<String> for WrappedText {
    async fn serialize(
        &self,
        value: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(format!("{WRAPPED}{value}"))
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        wire.strip_prefix(WRAPPED)
            .map(str::to_owned)
            .ok_or_else(|| error("not a wrapped item"))
    }
}

/// Stores a whole batch summary of string results as `OPSERDE:` and the comma-joined
/// results, and reads it back as the summary of those results, all succeeded.
struct OpSerde;

const OPSERDE: &str = "OPSERDE:";

impl<T: Serialize + DeserializeOwned + Send + 'static> durable::Serdes<T> for OpSerde {
    async fn serialize(
        &self,
        value: T,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        let summary = serde_json::to_value(&value)?;
        let mut texts = Vec::new();
        for item in summary["results"].as_array().into_iter().flatten() {
            let wire = item["result"].as_str().unwrap_or("null");
            let decoded: Value = serde_json::from_str(wire)?;
            texts.push(decoded.as_str().unwrap_or_default().to_owned());
        }
        Ok(format!("{OPSERDE}{}", texts.join(",")))
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<T, BoxError> {
        let joined = wire
            .strip_prefix(OPSERDE)
            .ok_or_else(|| error("not an OPSERDE summary"))?;
        let results: Vec<Value> = joined
            .split(',')
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(index, text)| {
                json!({"index": index, "status": "SUCCEEDED", "result": json!(text).to_string()})
            })
            .collect();
        Ok(serde_json::from_value(
            json!({"results": results, "reason": "ALL_COMPLETED"}),
        )?)
    }
}
