//! One durable function whose handler is chosen by the event: `{"requirement": "1-1",
//! "input": ...}` runs the handler written for requirement 1.1 of the official
//! `aws-durable-execution-conformance-tests` suites with the requirement's input. The
//! handlers follow the requirements' descriptions, using the official Rust SDK; one module
//! per suite, and `bench` for the workflows `make bench` times (`bench-10-steps`, ...).
//!
//! The same binary is also the target the `invoke` suite calls: with
//! `CONFORMANCE_TARGET=echo` it returns its input, with `CONFORMANCE_TARGET=fail` it fails.

mod batch;
mod bench;
mod callback;
mod child;
mod common;
mod invoke;
mod map;
mod parallel;
mod step;
mod wait;
mod wait_for_callback;
mod wait_for_condition;

use aws_durable_execution_sdk::{self as durable, BoxError, DurableContext};
use serde::Deserialize;
use serde_json::Value;

use crate::common::Out;

/// Selects what the binary is: the requirements' handlers (unset) or an invoke target.
const TARGET_ENV: &str = "CONFORMANCE_TARGET";

#[derive(Deserialize)]
struct Event {
    requirement: String,
    #[serde(default)]
    input: Value,
}

async fn handler(event: Event, ctx: DurableContext) -> Out {
    let Event { requirement, input } = event;
    let suite = requirement.split_once('-').map_or("", |(suite, _)| suite);
    let id = requirement.as_str();
    match suite {
        "1" => step::run(id, input, ctx).await,
        "2" => wait::run(id, input, ctx).await,
        "3" => child::run(id, input, ctx).await,
        "4" => callback::run(id, input, ctx).await,
        "5" => invoke::run(id, input, ctx).await,
        "6" => wait_for_condition::run(id, input, ctx).await,
        "7" => wait_for_callback::run(id, input, ctx).await,
        "8" => parallel::run(id, input, ctx).await,
        "9" => map::run(id, input, ctx).await,
        "bench" => bench::run(id, input, ctx).await,
        _ => Err(common::no_handler(id)),
    }
}

/// The `echo` target: returns what it was invoked with.
async fn echo(input: Value, _ctx: DurableContext) -> Out {
    Ok(input)
}

/// The `fail` target: fails whatever it is invoked with.
async fn fail(_input: Value, _ctx: DurableContext) -> Out {
    Err(Box::new(durable::TypedError::with_type(
        "TargetError",
        BoxError::from("the target function failed"),
    )))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::init_logging();
    match std::env::var(TARGET_ENV).unwrap_or_default().as_str() {
        "echo" => durable::run(echo).await,
        "fail" => durable::run(fail).await,
        _ => durable::run(handler).await,
    }
}
