//! Workflows for the benchmarks (`make bench`, group `durable`), not requirements of the
//! official suites: ten steps in sequence (`bench-10-steps`) and a map over 100 items with
//! one step each (`bench-map-100`). The input is a number the results are offset by.

use aws_durable_execution_sdk::DurableContext;
use serde_json::{Value, json};

use crate::common::{Out, int, no_handler};

/// Steps of `bench-10-steps`.
const STEPS: i64 = 10;
/// Items of `bench-map-100`.
const ITEMS: i64 = 100;

pub async fn run(id: &str, input: Value, ctx: DurableContext) -> Out {
    match id {
        "bench-10-steps" => steps(int(&input), ctx).await,
        "bench-map-100" => mapped(int(&input), ctx).await,
        _ => Err(no_handler(id)),
    }
}

/// Ten named steps, each adding its index to the previous one's result.
async fn steps(start: i64, ctx: DurableContext) -> Out {
    let mut total = start;
    for i in 0..STEPS {
        total = ctx
            .step(move |_| async move { Ok(total + i) })
            .name(format!("step-{i}"))
            .await?;
    }
    Ok(json!(total))
}

/// The SDK's `map` over 100 items (its default concurrency: all at once), one step per
/// item doubling it; the sum of the results.
async fn mapped(offset: i64, ctx: DurableContext) -> Out {
    let results = ctx
        .map(
            0..ITEMS,
            move |c: DurableContext, item: i64, _| async move {
                let doubled: i64 = c
                    .step(move |_| async move { Ok((item + offset) * 2) })
                    .name("double")
                    .await?;
                Ok(doubled)
            },
        )
        .name("map-100")
        .await?;
    Ok(json!(results.iter().sum::<i64>()))
}
