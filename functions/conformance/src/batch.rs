//! What the `parallel` and `map` suites share: completion configs, the projections of a
//! batch result the requirements return, and rethrowing a batch's first failure.

use aws_durable_execution_sdk::BoxError;
use aws_durable_execution_sdk::builders::map_parallel::{BatchResult, CompletionConfig};
use serde_json::{Map, Value, json};

use crate::common::error;

/// The fields of a batch result a requirement returns, by the requirements' names.
#[derive(Clone, Copy)]
pub enum Field {
    CompletionReason,
    Status,
    SuccessCount,
    FailureCount,
    TotalCount,
}

/// `{completionReason, status, successCount, failureCount, totalCount}`.
pub const ALL: &[Field] = &[
    Field::CompletionReason,
    Field::Status,
    Field::SuccessCount,
    Field::FailureCount,
    Field::TotalCount,
];

/// `{completionReason, successCount, failureCount, totalCount}`.
pub const COUNTS: &[Field] = &[
    Field::CompletionReason,
    Field::SuccessCount,
    Field::FailureCount,
    Field::TotalCount,
];

/// `{completionReason, successCount, totalCount}`.
pub const SUCCESSES: &[Field] = &[
    Field::CompletionReason,
    Field::SuccessCount,
    Field::TotalCount,
];

/// The projection of `batch` on `fields`.
pub fn project<O>(batch: &BatchResult<O>, fields: &[Field]) -> Value {
    let mut out = Map::new();
    for field in fields {
        let (key, value) = match field {
            Field::CompletionReason => ("completionReason", json!(batch.reason.as_str())),
            Field::Status => ("status", json!(batch.status().as_str())),
            Field::SuccessCount => ("successCount", json!(batch.success_count())),
            Field::FailureCount => ("failureCount", json!(batch.failure_count())),
            Field::TotalCount => ("totalCount", json!(batch.total_count())),
        };
        out.insert(key.to_owned(), value);
    }
    Value::Object(out)
}

/// The accessor projection of 8.20: `{hasFailure, successCount, failureCount, errorCount}`.
pub fn accessors<O>(batch: &BatchResult<O>) -> Value {
    json!({
        "hasFailure": batch.has_failure(),
        "successCount": batch.results().len(),
        "failureCount": batch.failure_count(),
        "errorCount": batch.errors().len(),
    })
}

/// The batch's results, or its first failure as an error (the SDK's `BatchResult` has no
/// rethrow of its own).
pub fn rethrow<O: Clone>(batch: &BatchResult<O>) -> Result<Vec<O>, BoxError> {
    match batch.errors().first() {
        Some(e) => Err(error(&format!(
            "item {} failed: {}: {}",
            e.index,
            e.error_type.unwrap_or("Error"),
            e.message
        ))),
        None => Ok(batch.results().into_iter().cloned().collect()),
    }
}

pub fn tolerated_failures(count: usize) -> CompletionConfig {
    CompletionConfig::with_tolerated_failure_count(count)
}

pub fn tolerated_percentage(pct: usize) -> CompletionConfig {
    CompletionConfig::with_tolerated_failure_percentage(pct)
}

pub fn min_successful(min: usize) -> CompletionConfig {
    CompletionConfig::with_min_successful(min)
}

/// At least `min` successes, and at most `failures` failures.
pub fn min_successful_tolerating(
    min: usize,
    failures: usize,
) -> Result<CompletionConfig, BoxError> {
    Ok(CompletionConfig::builder()
        .min_successful(min)
        .tolerated_failure_count(failures)
        .build()?)
}
