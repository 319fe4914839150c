//! Suite `parallel` (8.x): parallel branches, completion configs and batch results.

use std::time::Duration;

use aws_durable_execution_sdk::builders::map_parallel::{CompletionConfig, NestingMode};
use aws_durable_execution_sdk::{self as durable, BoxError, Branch, DurableContext};
use serde_json::{Value, json};

use crate::batch::{self, ALL, COUNTS, SUCCESSES};
use crate::common::{Out, error, no_handler};

pub async fn run(id: &str, _input: Value, ctx: DurableContext) -> Out {
    match id {
        "8-1" => sequential(ctx, "parallel", steps(&["task-1", "task-2"])).await,
        "8-2" => unnamed(ctx).await,
        "8-3" => sequential(ctx, "named", named(&[("first", "one"), ("second", "two")])).await,
        "8-4" => heterogeneous(ctx).await,
        "8-5" => sequential(ctx, "empty", Vec::new()).await,
        "8-6" => projected(ctx, "failfast", "+-+", batch::tolerated_failures(0), ALL).await,
        "8-7" => rethrown(ctx).await,
        "8-8" => {
            projected(
                ctx,
                "min-successful",
                "++++",
                batch::min_successful(2),
                SUCCESSES,
            )
            .await
        }
        "8-9" => projected(ctx, "tolerated", "+-+", batch::tolerated_failures(1), ALL).await,
        "8-10" => {
            let config = batch::tolerated_failures(1);
            projected(ctx, "tolerated-exceeded", "--+", config, COUNTS).await
        }
        "8-11" => concurrent(ctx).await,
        "8-12" => flat(ctx).await,
        "8-13" => {
            let config = batch::tolerated_percentage(25);
            projected(ctx, "tolerated-pct", "--++", config, COUNTS).await
        }
        "8-14" => suspended_branch(ctx).await,
        "8-15" => custom_item_serdes(ctx).await,
        "8-16" => projected(ctx, "all-fail", "---", batch::tolerated_failures(3), ALL).await,
        "8-17" => projected(ctx, "min-not-reached", "+-+", batch::min_successful(3), ALL).await,
        "8-18" => {
            let config = batch::min_successful_tolerating(3, 1)?;
            projected(ctx, "combined", "--++", config, COUNTS).await
        }
        "8-19" => zero_concurrency(ctx).await,
        "8-20" => accessors(ctx).await,
        "8-21" => nested(ctx).await,
        "8-22" => {
            let config = batch::tolerated_percentage(25);
            projected(ctx, "pct-boundary", "-+++", config, ALL).await
        }
        _ => Err(no_handler(id)),
    }
}

/// A branch returning `value` directly.
fn constant(name: &str, value: Value) -> Branch<Value> {
    Branch::new(name, move |_| async move { Ok(value) })
}

/// A branch that fails.
fn failing(name: &str) -> Branch<Value> {
    Branch::new(name, |_| async move {
        Err::<Value, BoxError>(error("the branch failed"))
    })
}

/// A branch running one step that returns `value`.
fn step(name: &str, value: &str) -> Branch<Value> {
    let value = value.to_owned();
    Branch::new(name, move |c: DurableContext| async move {
        let v: String = c.step(move |_| async move { Ok(value) }).await?;
        Ok(json!(v))
    })
}

/// One step branch per value, named `b<index>`.
fn steps(values: &[&str]) -> Vec<Branch<Value>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| step(&format!("b{i}"), v))
        .collect()
}

/// One constant branch per `(name, value)`.
fn named(pairs: &[(&str, &str)]) -> Vec<Branch<Value>> {
    pairs
        .iter()
        .map(|(name, value)| constant(name, json!(value)))
        .collect()
}

/// Branches by pattern: `+` returns `"ok"`, `-` fails.
fn outcomes(pattern: &str) -> Vec<Branch<Value>> {
    pattern
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            '+' => constant(&format!("b{i}"), json!("ok")),
            _ => failing(&format!("b{i}")),
        })
        .collect()
}

/// 8.1, 8.3, 8.5: a named parallel, one branch at a time; its successful results.
async fn sequential(ctx: DurableContext, name: &str, branches: Vec<Branch<Value>>) -> Out {
    let results = ctx.parallel(branches).name(name).max_concurrency(1).await?;
    Ok(json!(results))
}

/// 8.2 The form without a name.
async fn unnamed(ctx: DurableContext) -> Out {
    let branches = vec![
        constant("b0", json!("alpha")),
        constant("b1", json!("beta")),
    ];
    Ok(json!(ctx.parallel(branches).max_concurrency(1).await?))
}

/// 8.4 Branches returning a string, a number and an object.
async fn heterogeneous(ctx: DurableContext) -> Out {
    let branches = vec![
        constant("b0", json!("hello")),
        constant("b1", json!(42)),
        constant("b2", json!({"k": "v"})),
    ];
    sequential(ctx, "hetero", branches).await
}

/// A parallel of `pattern` branches under `config`, one at a time; the batch result
/// projected on `fields`.
async fn projected(
    ctx: DurableContext,
    name: &str,
    pattern: &str,
    config: CompletionConfig,
    fields: &[batch::Field],
) -> Out {
    let result = ctx
        .parallel(outcomes(pattern))
        .name(name)
        .max_concurrency(1)
        .completion(config)
        .await_batch()
        .await?;
    Ok(batch::project(&result, fields))
}

/// 8.7 Fail fast; the handler rethrows the batch's first failure.
async fn rethrown(ctx: DurableContext) -> Out {
    let result = ctx
        .parallel(outcomes("-+"))
        .name("throwing")
        .max_concurrency(1)
        .completion(batch::tolerated_failures(0))
        .await_batch()
        .await?;
    Ok(json!(batch::rethrow(&result)?))
}

/// 8.11 Two branches at a time: the results are in branch order all the same.
async fn concurrent(ctx: DurableContext) -> Out {
    let branches = named(&[("b0", "r0"), ("b1", "r1"), ("b2", "r2")]);
    let results = ctx
        .parallel(branches)
        .name("concurrent")
        .max_concurrency(2)
        .await?;
    Ok(json!(results))
}

/// 8.12 FLAT nesting: the branches' steps sit directly under the parallel's context.
async fn flat(ctx: DurableContext) -> Out {
    let results = ctx
        .parallel(steps(&["fa", "fb"]))
        .name("flat")
        .max_concurrency(1)
        .nesting(NestingMode::Flat)
        .await?;
    Ok(json!(results))
}

/// 8.14 The second branch suspends on a wait; on replay the first is not run again.
async fn suspended_branch(ctx: DurableContext) -> Out {
    let waiting = Branch::new("b1", |c: DurableContext| async move {
        c.wait(Duration::from_secs(2)).await?;
        Ok(json!("b1"))
    });
    let branches = vec![step("b0", "b0"), waiting];
    sequential(ctx, "replay", branches).await
}

/// 8.15 Each branch result stored as `{"wrapped": v}` by a custom serdes.
async fn custom_item_serdes(ctx: DurableContext) -> Out {
    let branches = vec![constant("b0", json!("x")), constant("b1", json!("y"))];
    let results = ctx
        .parallel(branches)
        .name("serde")
        .max_concurrency(1)
        .serdes(Wrapped)
        .await?;
    Ok(json!(results))
}

/// 8.19 Max concurrency 0 is refused before anything runs.
async fn zero_concurrency(ctx: DurableContext) -> Out {
    let branches = named(&[("b0", "a"), ("b1", "b")]);
    let results = ctx
        .parallel(branches)
        .name("bad-concurrency")
        .max_concurrency(0)
        .await?;
    Ok(json!(results))
}

/// 8.20 The batch result's accessors.
async fn accessors(ctx: DurableContext) -> Out {
    let result = ctx
        .parallel(outcomes("+-+"))
        .name("accessors")
        .max_concurrency(1)
        .completion(batch::tolerated_failures(1))
        .await_batch()
        .await?;
    Ok(batch::accessors(&result))
}

/// 8.21 One branch running a parallel of two step branches.
async fn nested(ctx: DurableContext) -> Out {
    let outer = Branch::new("outer-b0", |c: DurableContext| async move {
        let inner = c
            .parallel(steps(&["i1", "i2"]))
            .name("inner")
            .max_concurrency(1)
            .await?;
        Ok(json!(inner))
    });
    sequential(ctx, "outer", vec![outer]).await
}

/// Stores a value `v` as `{"wrapped": v}`.
struct Wrapped;

impl durable::Serdes<Value> for Wrapped {
    async fn serialize(
        &self,
        value: Value,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(json!({ "wrapped": value }).to_string())
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<Value, BoxError> {
        let mut envelope: Value = serde_json::from_str(&wire)?;
        match envelope.get_mut("wrapped") {
            Some(v) => Ok(v.take()),
            None => Err(error("not a wrapped value")),
        }
    }
}
