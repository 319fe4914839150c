//! Suite `invoke` (5.x): chained invokes of the `echo` and `fail` targets (this binary,
//! deployed as other functions; their ARNs come from the environment).

use std::time::Duration;

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde_json::{Value, json};

use crate::common::{Out, error, no_handler, text};

/// The environment variable holding the echo target's (qualified) ARN.
pub const ECHO_ENV: &str = "CONFORMANCE_ECHO_FUNCTION";
/// The environment variable holding the failing target's (qualified) ARN.
pub const FAIL_ENV: &str = "CONFORMANCE_FAIL_FUNCTION";

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    let echo = target(ECHO_ENV)?;
    let fail = target(FAIL_ENV)?;
    match id {
        "5-1" | "5-3" | "5-4" => Ok(call(&ctx, &echo, input).await?),
        "5-2" => named(ctx, &echo, input).await,
        "5-5" => Ok(call(&ctx, &fail, input).await?),
        "5-6" => Ok(call(&ctx, &fail, input).await.unwrap_or(json!("fallback"))),
        "5-7" => large(ctx, &echo).await,
        "5-8" => tenant(ctx, &echo, input).await,
        "5-9" => then_wait(ctx, &echo, input).await,
        "5-10" => caught_then_wait(ctx, &fail, input).await,
        "5-11" => step_then_invoke(ctx, &echo).await,
        "5-12" => invoke_then_step(ctx, &echo, input).await,
        "5-13" => in_child(ctx, echo, input).await,
        "5-14" => two_in_a_row(ctx, &echo).await,
        "5-15" => payload_serdes(ctx, &echo, input).await,
        "5-16" => result_serdes(ctx, &echo, input).await,
        _ => Err(no_handler(id)),
    }
}

fn target(env: &str) -> Result<String, BoxError> {
    std::env::var(env).map_err(|_| error(&format!("{env} is not set")))
}

/// Invokes `function` with `input`; its result.
async fn call(ctx: &DurableContext, function: &str, input: Value) -> Result<Value, BoxError> {
    Ok(ctx.invoke::<Value, _>(function, input).await?)
}

/// 5.2 The invoke named by the input's `name`, with its `payload`.
async fn named(ctx: DurableContext, function: &str, input: Value) -> Out {
    let out = ctx
        .invoke::<Value, _>(function, input["payload"].clone())
        .name(text(&input["name"]))
        .await?;
    Ok(out)
}

/// 5.7 A payload of 200 KB.
async fn large(ctx: DurableContext, function: &str) -> Out {
    let payload = json!({"data": "x".repeat(200 * 1024)});
    let echoed = call(&ctx, function, payload).await?;
    let length = echoed["data"].as_str().map_or(0, str::len);
    Ok(json!({"length": length}))
}

/// 5.8 The input's `payload` invoked under its `tenantId`.
async fn tenant(ctx: DurableContext, function: &str, input: Value) -> Out {
    let out = ctx
        .invoke::<Value, _>(function, input["payload"].clone())
        .tenant_id(text(&input["tenantId"]))
        .await?;
    Ok(out)
}

/// 5.9 An invoke, then a wait: on replay the invoke's result comes from the record.
async fn then_wait(ctx: DurableContext, function: &str, input: Value) -> Out {
    let out = call(&ctx, function, input).await?;
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(out)
}

/// 5.10 A failed invoke is caught, then a wait: on replay the error comes back, caught
/// again.
async fn caught_then_wait(ctx: DurableContext, function: &str, input: Value) -> Out {
    let caught = call(&ctx, function, input).await.is_err();
    ctx.wait(Duration::from_secs(1)).await?;
    Ok(json!({"caught": caught}))
}

/// 5.11 A step, then an invoke of its result.
async fn step_then_invoke(ctx: DurableContext, function: &str) -> Out {
    let computed: String = ctx.step(|_| async { Ok("step-result".to_owned()) }).await?;
    call(&ctx, function, json!(computed)).await
}

/// 5.12 An invoke, then a step given its result.
async fn invoke_then_step(ctx: DurableContext, function: &str, input: Value) -> Out {
    let echoed = call(&ctx, function, input).await?;
    let out: Value = ctx
        .step(move |_| async move { Ok(json!({"processed": echoed})) })
        .await?;
    Ok(out)
}

/// 5.13 The invoke inside a child context.
async fn in_child(ctx: DurableContext, function: String, input: Value) -> Out {
    let out = ctx
        .run_in_child_context(|c| async move { call(&c, &function, input).await })
        .await?;
    Ok(out)
}

/// 5.14 Two invokes, one after the other.
async fn two_in_a_row(ctx: DurableContext, function: &str) -> Out {
    let first = call(&ctx, function, json!("first")).await?;
    let second = call(&ctx, function, json!("second")).await?;
    Ok(json!([first, second]))
}

/// 5.15 The payload is sent upper-cased by a custom payload serdes.
async fn payload_serdes(ctx: DurableContext, function: &str, input: Value) -> Out {
    let out = ctx
        .invoke::<Value, _>(function, input)
        .payload_serdes(UppercaseJson)
        .await?;
    Ok(out)
}

/// 5.16 The result is read upper-cased (its JSON text, quotes included) by a custom result
/// serdes.
async fn result_serdes(ctx: DurableContext, function: &str, input: Value) -> Out {
    let out: String = ctx
        .invoke::<String, _>(function, input)
        .serdes(UppercaseText)
        .await?;
    Ok(json!(out))
}

/// Writes a value as its JSON text upper-cased.
struct UppercaseJson;

impl durable::Serdes<Value> for UppercaseJson {
    async fn serialize(
        &self,
        value: Value,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(value.to_string().to_uppercase())
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<Value, BoxError> {
        Ok(serde_json::from_str(&wire)?)
    }
}

/// Reads the wire text itself, upper-cased.
struct UppercaseText;

impl durable::Serdes<String> for UppercaseText {
    async fn serialize(
        &self,
        value: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(value)
    }
    async fn deserialize(
        &self,
        wire: String,
        _: durable::serdes::SerdesContext,
    ) -> Result<String, BoxError> {
        Ok(wire.to_uppercase())
    }
}
