//! The durable processor: Validate -> Process -> Finalize, each a checkpointed step.
//!
//! Each step moves the status record forward with a conditional write, so a replayed or
//! retried step never moves it back. A validation failure is permanent: the record becomes
//! FAILED with every reason and the execution fails, without retries. Transient store errors
//! (throttling, timeouts) are retried with exponential backoff and jitter; the execution
//! suspends between attempts instead of holding the invocation open.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_durable_execution_sdk::{
    self as durable, BoxError, DurableContext, RetryDecision, StepError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webhook_contract::steps;
use webhook_core::record::{Failure, Record, Status};
use webhook_core::rules::{self, RULES};
use webhook_core::starter::ProcessorInput;
use webhook_core::store::{Advance, Advanced, Phase};
use webhook_core::time::Instant;
use webhook_core::{Store, StoreError, WebhookId};

/// Attempts per step (the first one included) before a transient failure fails the execution.
pub const MAX_ATTEMPTS: u32 = 6;

/// Where the processor reads and writes status records: the DynamoDB [`Store`] in production.
pub trait Records: Send + Sync + 'static {
    fn get(
        &self,
        id: &WebhookId,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;
    fn advance(
        &self,
        id: &WebhookId,
        change: &Advance,
        now: Instant,
    ) -> impl Future<Output = Result<Advanced, StoreError>> + Send;
}

impl Records for Store {
    async fn get(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        Store::get(self, id).await
    }
    async fn advance(
        &self,
        id: &WebhookId,
        change: &Advance,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        Store::advance(self, id, change, now).await
    }
}

/// Why a step body failed; only transient failures are retried.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for StepFailure {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            StepFailure::Transient(e.to_string())
        } else {
            StepFailure::Permanent(e.to_string())
        }
    }
}

/// The execution's error when the webhook breaks the validation rules.
#[derive(Debug, thiserror::Error)]
#[error("validation failed: {}", reasons.join("; "))]
pub struct ValidationFailed {
    pub reasons: Vec<String>,
}

/// The result of the validate step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Validation {
    Valid { kind: String },
    Invalid { reasons: Vec<String> },
}

/// What processing a webhook produced: the result stored with the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processed {
    /// The webhook's `type`.
    pub kind: String,
    /// The business reference: `orderId`, `transactionId`, `userId` or `id`, when present.
    pub reference: Option<String>,
    /// Number of top-level fields of the payload.
    pub fields: usize,
    /// Size of the payload in bytes.
    pub bytes: usize,
}

/// The execution's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub id: String,
    pub status: Status,
    pub result: Processed,
}

/// How many times each step's body ran in this process (for logs, tests and benchmarks).
#[derive(Debug, Default)]
pub struct StepRuns([AtomicU32; 3]);

impl StepRuns {
    pub fn of(&self, step: &str) -> u32 {
        steps::ALL
            .iter()
            .position(|s| *s == step)
            .map_or(0, |i| self.0[i].load(Ordering::Relaxed))
    }

    fn count(&self, step: &str) {
        if let Some(i) = steps::ALL.iter().position(|s| *s == step) {
            self.0[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Exponential backoff with full jitter: at least 1 s (the service's minimum), at most
/// 2^(attempt-1) s, capped at 60 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = 2u64.saturating_pow(attempt.saturating_sub(1)).min(60);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_secs(1 + random % cap.max(1))
}

/// Retries transient failures only.
pub fn retry_transient(err: &StepError, attempt: u32) -> RetryDecision {
    let transient = std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<StepFailure>())
        .is_some_and(|f| matches!(f, StepFailure::Transient(_)));
    if transient && attempt < MAX_ATTEMPTS {
        RetryDecision::Retry {
            delay: backoff(attempt),
        }
    } else {
        RetryDecision::Stop
    }
}

/// The processor over a store of records.
#[derive(Debug)]
pub struct Processor<R> {
    records: Arc<R>,
    runs: Arc<StepRuns>,
}

impl<R> Clone for Processor<R> {
    fn clone(&self) -> Self {
        Processor {
            records: self.records.clone(),
            runs: self.runs.clone(),
        }
    }
}

fn reference(payload: &Value) -> Option<String> {
    ["orderId", "transactionId", "userId", "id"]
        .iter()
        .find_map(|k| match payload.get(*k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

impl<R: Records> Processor<R> {
    pub fn new(records: R) -> Self {
        Processor {
            records: Arc::new(records),
            runs: Arc::default(),
        }
    }

    pub fn runs(&self) -> &StepRuns {
        &self.runs
    }

    async fn load(&self, id: &WebhookId) -> Result<(Record, Value), StepFailure> {
        let record =
            self.records.get(id).await?.ok_or_else(|| {
                StepFailure::Permanent(format!("webhook {id} has no status record"))
            })?;
        let payload = serde_json::from_str(&record.payload)
            .map_err(|e| StepFailure::Permanent(format!("stored payload is not JSON: {e}")))?;
        Ok((record, payload))
    }

    async fn validate(&self, id: &WebhookId) -> Result<Validation, StepFailure> {
        self.runs.count(steps::VALIDATE);
        tracing::info!(step = steps::VALIDATE, %id, "step body running");
        let validating = |phase| Advance::new(steps::VALIDATE, phase, Status::Validating);
        self.records
            .advance(id, &validating(Phase::Started), Instant::now())
            .await?;
        let (_, payload) = self.load(id).await?;
        let reasons = rules::violations(RULES, &payload);
        if reasons.is_empty() {
            self.records
                .advance(id, &validating(Phase::Finished), Instant::now())
                .await?;
            let kind = payload["type"].as_str().unwrap_or_default().to_owned();
            return Ok(Validation::Valid { kind });
        }
        let failed = Advance {
            error: Some(Failure {
                message: "validation failed".to_owned(),
                reasons: reasons.clone(),
            }),
            ..Advance::new(steps::VALIDATE, Phase::Finished, Status::Failed)
        };
        self.records.advance(id, &failed, Instant::now()).await?;
        Ok(Validation::Invalid { reasons })
    }

    async fn process(&self, id: &WebhookId, kind: String) -> Result<Processed, StepFailure> {
        self.runs.count(steps::PROCESS);
        tracing::info!(step = steps::PROCESS, %id, "step body running");
        let processing = |phase| Advance::new(steps::PROCESS, phase, Status::Processing);
        self.records
            .advance(id, &processing(Phase::Started), Instant::now())
            .await?;
        let (record, payload) = self.load(id).await?;
        let processed = Processed {
            kind,
            reference: reference(&payload),
            fields: payload.as_object().map_or(0, |o| o.len()),
            bytes: record.payload.len(),
        };
        self.records
            .advance(id, &processing(Phase::Finished), Instant::now())
            .await?;
        Ok(processed)
    }

    async fn finalize(&self, id: &WebhookId, processed: Processed) -> Result<Outcome, StepFailure> {
        self.runs.count(steps::FINALIZE);
        tracing::info!(step = steps::FINALIZE, %id, "step body running");
        self.records
            .advance(
                id,
                &Advance::new(steps::FINALIZE, Phase::Started, Status::Processing),
                Instant::now(),
            )
            .await?;
        let result = serde_json::to_string(&processed)
            .map_err(|e| StepFailure::Permanent(format!("cannot render the result: {e}")))?;
        let completed = Advance {
            result: Some(result),
            ..Advance::new(steps::FINALIZE, Phase::Finished, Status::Completed)
        };
        self.records.advance(id, &completed, Instant::now()).await?;
        Ok(Outcome {
            id: id.to_string(),
            status: Status::Completed,
            result: processed,
        })
    }

    /// The durable handler.
    pub async fn execute(
        &self,
        input: ProcessorInput,
        ctx: DurableContext,
    ) -> Result<Outcome, BoxError> {
        let id = WebhookId::parse(&input.id)?;

        let (p, i) = (self.clone(), id.clone());
        let validation = ctx
            .step(move |_| async move { p.validate(&i).await.map_err(BoxError::from) })
            .name(steps::VALIDATE)
            .retry_strategy(retry_transient)
            .await?;
        let kind = match validation {
            Validation::Valid { kind } => kind,
            Validation::Invalid { reasons } => return Err(ValidationFailed { reasons }.into()),
        };

        let (p, i) = (self.clone(), id.clone());
        let processed = ctx
            .step(move |_| async move { p.process(&i, kind).await.map_err(BoxError::from) })
            .name(steps::PROCESS)
            .retry_strategy(retry_transient)
            .await?;

        let (p, i) = (self.clone(), id);
        let outcome = ctx
            .step(move |_| async move { p.finalize(&i, processed).await.map_err(BoxError::from) })
            .name(steps::FINALIZE)
            .retry_strategy(retry_transient)
            .await?;
        Ok(outcome)
    }
}

/// Runs the processor in the Lambda runtime, configured by the environment.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let sdk = webhook_core::config::aws().await;
    let processor = Processor::new(webhook_core::config::store(&sdk)?);
    durable::run(move |input: ProcessorInput, ctx: DurableContext| {
        let p = processor.clone();
        async move { p.execute(input, ctx).await }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_in_bounds() {
        for attempt in 1..10 {
            for _ in 0..50 {
                let d = backoff(attempt).as_secs();
                let cap = 2u64.pow(attempt - 1).min(60);
                assert!((1..=cap.max(1)).contains(&d), "attempt {attempt}: {d}");
            }
        }
    }
}
