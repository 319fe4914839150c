//! Suite `wait` (2.x): durable waits.

use std::time::Duration;

use aws_durable_execution_sdk::DurableContext;
use serde_json::{Value, json};

use crate::common::{Out, no_handler};

pub async fn run(id: &str, _input: Value, ctx: DurableContext) -> Out {
    match id {
        // 2.1 Wait basic; 2.2 with a name; 2.4 other units; 2.5 one hour.
        "2-1" => wait(ctx, 2, None).await,
        "2-2" => wait(ctx, 2, Some("custom_wait_name")).await,
        "2-3" => two_waits(ctx).await,
        "2-4" => wait(ctx, 60, None).await,
        "2-5" => wait(ctx, 3600, None).await,
        _ => Err(no_handler(id)),
    }
}

async fn wait(ctx: DurableContext, seconds: u64, name: Option<&str>) -> Out {
    let wait = ctx.wait(Duration::from_secs(seconds));
    match name {
        Some(name) => wait.name(name).await?,
        None => wait.await?,
    }
    Ok(Value::Null)
}

/// 2.3 Two sequential waits.
async fn two_waits(ctx: DurableContext) -> Out {
    ctx.wait(Duration::from_secs(2)).name("wait-1").await?;
    ctx.wait(Duration::from_secs(2)).name("wait-2").await?;
    Ok(json!({"completedWaits": 2}))
}
