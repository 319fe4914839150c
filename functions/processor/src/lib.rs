//! The durable processor: Validate -> Process -> Finalize, each a checkpointed step, and on
//! any failure a fourth, `record-failure`, that writes FAILED.
//!
//! Each step moves the status record forward with a conditional write on the record's
//! attempt and status rank, so a replayed or retried step never moves it back, and an
//! attempt that was redriven can no longer write. Every way the pipeline can fail (a
//! validation failure, a permanent store error, transient errors past the retry budget, a
//! panic in a step body) ends in the `record-failure` step: the FAILED write is itself
//! checkpointed, so it happens once however the invocations around it crash. What the
//! function cannot see (a crash loop, `ExecutionTimeout`, a stop) the reconciler repairs.
//! Values echoed into the result or the error are capped, so the final write always fits
//! DynamoDB's item limit.

pub mod handlers;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_durable_execution_sdk::{
    self as durable, BoxError, DurableContext, OperationError, OperationErrorKind, RetryDecision,
    StepError, StepErrorKind, TypedError,
};
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webhook_contract::steps;
use webhook_core::faults::Faults;
use webhook_core::record::{Failure, MAX_TEXT_CHARS, Record, Status, cap, is_capped};
use webhook_core::starter::{ProcessorInput, execution_name};
use webhook_core::store::{Advance, Advanced, Phase};
use webhook_core::time::Instant;
use webhook_core::{Store, StoreError, WebhookId};

/// Attempts per step (the first one included) before a transient failure fails the execution.
pub const MAX_ATTEMPTS: u32 = 6;

/// Where the processor reads and writes status records: the DynamoDB [`Store`] in production.
pub trait Records: Send + Sync + 'static {
    /// The record of `id`, for what never changes of it: a read that is not consistent
    /// serves once the record is seen at all.
    fn get(
        &self,
        id: &WebhookId,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;
    fn advance(
        &self,
        id: &WebhookId,
        attempt: u32,
        change: &Advance,
        now: Instant,
    ) -> impl Future<Output = Result<Advanced, StoreError>> + Send;
    fn fail(
        &self,
        id: &WebhookId,
        attempt: u32,
        failure: &Failure,
        now: Instant,
    ) -> impl Future<Output = Result<Advanced, StoreError>> + Send;
}

impl Records for Store {
    async fn get(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        Store::get_settled(self, id).await
    }
    async fn advance(
        &self,
        id: &WebhookId,
        attempt: u32,
        change: &Advance,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        Store::advance(self, id, attempt, change, now).await
    }
    async fn fail(
        &self,
        id: &WebhookId,
        attempt: u32,
        failure: &Failure,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        Store::fail(self, id, attempt, failure, now).await
    }
}

/// Why a step body failed; only transient failures are retried.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
    /// The step body panicked: a bug, not retried.
    #[error("the step panicked: {0}")]
    Panicked(String),
}

impl StepFailure {
    /// The error type recorded in the execution history and the record.
    pub fn error_type(&self) -> &'static str {
        match self {
            StepFailure::Transient(_) => "TransientError",
            StepFailure::Permanent(_) => "PermanentError",
            StepFailure::Panicked(_) => "Panic",
        }
    }

    fn boxed(self) -> BoxError {
        Box::new(TypedError::with_type(self.error_type(), self))
    }
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
    Valid {
        kind: String,
        /// What the process step needs of the record, so that it does not read it again
        /// (`None` for a payload over [`CARRY_MAX_BYTES`]: process reads the record).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        carried: Option<Webhook>,
    },
    Invalid {
        reasons: Vec<String>,
    },
}

/// The largest payload the validate step carries to the process step in its checkpointed
/// result (the SDK checkpoints results of up to 256 KiB).
pub const CARRY_MAX_BYTES: usize = 64 * 1024;

/// The webhook as the steps after validate need it: its record's source, scheme, delivery
/// id and payload, exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub source: String,
    pub scheme: String,
    pub delivery_id: String,
    pub payload: String,
}

impl Webhook {
    fn of(record: &Record) -> Self {
        Webhook {
            source: record.source.clone(),
            scheme: record.scheme.clone(),
            delivery_id: record.delivery_id.clone(),
            payload: record.payload.clone(),
        }
    }
}

/// A stored payload as JSON: JSON, or a form (Slack's slash commands, GitHub's form
/// option), as received.
fn parse_payload(text: &str) -> Result<Value, StepFailure> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| webhook_core::forms::as_json(text.as_bytes()))
        .ok_or_else(|| {
            StepFailure::Permanent("the stored payload is neither JSON nor a form".to_owned())
        })
}

/// What processing a webhook produced: the result stored with the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processed {
    /// The webhook's `type` (capped).
    pub kind: String,
    /// The business reference: `orderId`, `transactionId`, `userId` or `id`, when present
    /// (capped).
    pub reference: Option<String>,
    /// Number of top-level fields of the payload.
    pub fields: usize,
    /// Size of the payload in bytes.
    pub bytes: usize,
    /// Whether `kind`, `reference` or `output` was cut to fit the record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// What the source's handler said of it (capped at 512 characters of JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why nothing handled it, when no handler takes its source and type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhandled: Option<String>,
}

/// Longest handler output kept in a result, as JSON text.
pub const MAX_OUTPUT_CHARS: usize = 512;

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
pub struct StepRuns([AtomicU32; 4]);

impl StepRuns {
    const STEPS: [&str; 4] = [
        steps::VALIDATE,
        steps::PROCESS,
        steps::FINALIZE,
        steps::RECORD_FAILURE,
    ];

    pub fn of(&self, step: &str) -> u32 {
        Self::STEPS
            .iter()
            .position(|s| *s == step)
            .map_or(0, |i| self.0[i].load(Ordering::Relaxed))
    }

    fn count(&self, step: &str) {
        if let Some(i) = Self::STEPS.iter().position(|s| *s == step) {
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

/// The [`StepFailure`] in an error's source chain.
fn step_failure<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a StepFailure> {
    let mut link = Some(err);
    while let Some(e) = link {
        if let Some(f) = e.downcast_ref::<StepFailure>() {
            return Some(f);
        }
        link = e.source();
    }
    None
}

/// Retries transient failures only.
pub fn retry_transient(err: &StepError, attempt: u32) -> RetryDecision {
    let transient = std::error::Error::source(err)
        .and_then(step_failure)
        .is_some_and(|f| matches!(f, StepFailure::Transient(_)));
    if transient && attempt < MAX_ATTEMPTS {
        RetryDecision::Retry {
            delay: backoff(attempt),
        }
    } else {
        RetryDecision::Stop
    }
}

/// The record's failure for a step that failed with `err` (live or replayed: the error type
/// and message come from the history, so both give the same failure).
fn step_failed(step: &str, err: &OperationError) -> Failure {
    let wire = err.wire();
    let error_type = wire.and_then(|w| w.error_type()).unwrap_or("StepFailed");
    // The SDK records the whole source chain, `<type>: <message>`: keep the message.
    let message = wire
        .and_then(|w| w.error_message())
        .map_or_else(|| err.to_string(), str::to_owned);
    let message = message
        .strip_prefix(&format!("{error_type}: "))
        .unwrap_or(&message);
    let attempts = match err.kind() {
        OperationErrorKind::Step(e) => match e.kind() {
            StepErrorKind::RetriesExhausted(d) => d.attempts(),
            _ => 1,
        },
        _ => 1,
    };
    Failure::new(error_type, message).in_step(step, attempts)
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The processor over a store of records.
#[derive(Debug)]
pub struct Processor<R> {
    records: Arc<R>,
    handlers: Arc<handlers::Registry>,
    runs: Arc<StepRuns>,
    faults: Arc<Faults>,
}

impl<R> Clone for Processor<R> {
    fn clone(&self) -> Self {
        Processor {
            records: self.records.clone(),
            handlers: self.handlers.clone(),
            runs: self.runs.clone(),
            faults: self.faults.clone(),
        }
    }
}

/// One attempt of one webhook: what every step works on.
#[derive(Clone, Debug)]
struct Job {
    id: WebhookId,
    attempt: u32,
    /// The durable execution running the attempt (recorded by the first step's write).
    execution_arn: String,
}

impl<R: Records> Processor<R> {
    pub fn new(records: R) -> Self {
        Processor {
            records: Arc::new(records),
            handlers: Arc::new(handlers::registry()),
            runs: Arc::default(),
            faults: Arc::default(),
        }
    }

    /// With these handlers instead of [`handlers::registry`].
    pub fn with_handlers(mut self, handlers: handlers::Registry) -> Self {
        self.handlers = Arc::new(handlers);
        self
    }

    /// With the local cloud's in-function faults (tests only).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = Arc::new(faults);
        self
    }

    pub fn runs(&self) -> &StepRuns {
        &self.runs
    }

    /// The record's payload and what else never changes of it (the steps read nothing
    /// else of the record, so a read that is not consistent serves).
    async fn load(&self, id: &WebhookId) -> Result<(Record, Value), StepFailure> {
        let record =
            self.records.get(id).await?.ok_or_else(|| {
                StepFailure::Permanent(format!("webhook {id} has no status record"))
            })?;
        let payload = parse_payload(&record.payload)?;
        Ok((record, payload))
    }

    /// Marks the body of `step` as running (the log line the local cloud's kill switch
    /// waits for) and panics where a test asked for it.
    fn enter(&self, job: &Job, step: &str) {
        self.runs.count(step);
        let name = execution_name(&job.id, job.attempt);
        // The execution's name is the webhook's id (with `-<attempt>` after the first):
        // one field serves both, and CloudWatch Logs bills every byte of every line.
        tracing::info!(step, execution = %name, "step body running");
        if self.faults.panics(&name, step) {
            panic!("fault injection: panic in step {step} of {name}");
        }
    }

    /// Reads the record (the one read of the webhook), checks its source's envelope and
    /// records the step, both timestamps in one write.
    async fn validate(&self, job: &Job) -> Result<Validation, StepFailure> {
        self.enter(job, steps::VALIDATE);
        let started = Instant::now();
        let (record, payload) = self.load(&job.id).await?;
        let event_type = record.event_type.as_deref().unwrap_or_default();
        let reasons =
            handlers::envelope_violations(&record.source, &record.scheme, event_type, &payload);
        if !reasons.is_empty() {
            return Ok(Validation::Invalid { reasons });
        }
        let ran = Advance {
            started_by: Some(job.execution_arn.clone()),
            ..Advance::new(steps::VALIDATE, Phase::Ran { started }, Status::Validating)
        };
        self.records
            .advance(&job.id, job.attempt, &ran, Instant::now())
            .await?;
        let kind = record
            .event_type
            .as_deref()
            .or_else(|| payload["type"].as_str())
            .unwrap_or_default();
        Ok(Validation::Valid {
            kind: cap(kind, MAX_TEXT_CHARS),
            carried: (record.payload.len() <= CARRY_MAX_BYTES).then(|| Webhook::of(&record)),
        })
    }

    /// Runs the handler on what validate carried (or on the record, read again, for a large
    /// payload) and records the step in one write.
    async fn process(
        &self,
        job: &Job,
        kind: String,
        carried: Option<Webhook>,
    ) -> Result<Processed, StepFailure> {
        self.enter(job, steps::PROCESS);
        let started = Instant::now();
        let (webhook, payload) = match carried {
            Some(w) => {
                let payload = parse_payload(&w.payload)?;
                (w, payload)
            }
            // Too large to carry: read again (`load` parses it).
            None => {
                let (record, payload) = self.load(&job.id).await?;
                (Webhook::of(&record), payload)
            }
        };
        let processed = self.handle(&webhook, &payload, kind)?;
        let ran = Advance::new(steps::PROCESS, Phase::Ran { started }, Status::Processing);
        self.records
            .advance(&job.id, job.attempt, &ran, Instant::now())
            .await?;
        Ok(processed)
    }

    /// Runs the handler of the record's source and type (none: the result says so).
    fn handle(
        &self,
        record: &Webhook,
        payload: &Value,
        kind: String,
    ) -> Result<Processed, StepFailure> {
        let event = handlers::Event {
            source: &record.source,
            scheme: &record.scheme,
            event_type: &kind,
            delivery_id: &record.delivery_id,
            payload,
        };
        let (output, unhandled) = match self.handlers.find(&record.source, &kind) {
            Some(h) => match h.handle(&event) {
                Ok(v) => ((!v.is_null()).then_some(v), None),
                Err(handlers::HandlerError::Transient(e)) => return Err(StepFailure::Transient(e)),
                Err(handlers::HandlerError::Permanent(e)) => return Err(StepFailure::Permanent(e)),
            },
            None => (
                None,
                Some(cap(
                    &format!("no handler for {} events of type `{kind}`", record.source),
                    MAX_TEXT_CHARS,
                )),
            ),
        };
        let reference = match record.source.as_str() {
            webhook_contract::sources::DEFAULT => handlers::reference(payload),
            _ => Some(record.delivery_id.clone()),
        };
        let output_text = output.as_ref().map(Value::to_string).unwrap_or_default();
        let output_capped = output_text.chars().count() > MAX_OUTPUT_CHARS;
        let truncated = is_capped(&kind, MAX_TEXT_CHARS)
            || output_capped
            || reference
                .as_deref()
                .is_some_and(|r| is_capped(r, MAX_TEXT_CHARS));
        Ok(Processed {
            kind,
            reference: reference.map(|r| cap(&r, MAX_TEXT_CHARS)),
            fields: payload.as_object().map_or(0, |o| o.len()),
            bytes: record.payload.len(),
            truncated,
            output: if output_capped {
                Some(Value::String(cap(&output_text, MAX_OUTPUT_CHARS)))
            } else {
                output
            },
            unhandled,
        })
    }

    /// Completes the record with the result: one write.
    /// Completes the record. Its checkpointed result is empty: the execution's result
    /// (built from process's) is stored once more by the service, and every stored byte is
    /// billed and retained.
    async fn finalize(&self, job: &Job, processed: &Processed) -> Result<(), StepFailure> {
        self.enter(job, steps::FINALIZE);
        let started = Instant::now();
        let result = serde_json::to_string(processed)
            .map_err(|e| StepFailure::Permanent(format!("cannot render the result: {e}")))?;
        let completed = Advance {
            result: Some(result),
            ..Advance::new(steps::FINALIZE, Phase::Ran { started }, Status::Completed)
        };
        self.records
            .advance(&job.id, job.attempt, &completed, Instant::now())
            .await?;
        Ok(())
    }

    async fn record_failure(&self, job: &Job, failure: Failure) -> Result<(), StepFailure> {
        self.runs.count(steps::RECORD_FAILURE);
        tracing::warn!(id = %job.id, attempt = job.attempt, ?failure, "recording FAILED");
        self.records
            .fail(&job.id, job.attempt, &failure, Instant::now())
            .await?;
        Ok(())
    }

    /// Runs `body` as the checkpointed step `name` (transient failures retried; a panic is
    /// a permanent failure), returning the record's failure when it fails for good.
    async fn step<O, F, Fut>(
        &self,
        ctx: &DurableContext,
        name: &'static str,
        body: F,
    ) -> Result<O, Failure>
    where
        O: Serialize + for<'de> Deserialize<'de> + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<O, StepFailure>> + Send + 'static,
    {
        ctx.step(move |_| async move {
            match AssertUnwindSafe(body()).catch_unwind().await {
                Ok(result) => result.map_err(StepFailure::boxed),
                Err(payload) => Err(StepFailure::Panicked(panic_message(&*payload)).boxed()),
            }
        })
        .name(name)
        .retry_strategy(retry_transient)
        .await
        .map_err(|e| step_failed(name, &e))
    }

    /// Validate -> Process -> Finalize; the failure of the first step that fails for good.
    async fn pipeline(&self, ctx: &DurableContext, job: &Job) -> Result<Outcome, Failure> {
        let (p, j) = (self.clone(), job.clone());
        let validation = self
            .step(
                ctx,
                steps::VALIDATE,
                move || async move { p.validate(&j).await },
            )
            .await?;
        let (kind, carried) = match validation {
            Validation::Valid { kind, carried } => (kind, carried),
            Validation::Invalid { reasons } => {
                return Err(Failure::new("ValidationFailed", "validation failed")
                    .with_reasons(&reasons)
                    .in_step(steps::VALIDATE, 1));
            }
        };
        let (p, j) = (self.clone(), job.clone());
        let processed = self
            .step(ctx, steps::PROCESS, move || async move {
                p.process(&j, kind, carried).await
            })
            .await?;
        let (p, j, result) = (self.clone(), job.clone(), processed.clone());
        self.step(ctx, steps::FINALIZE, move || async move {
            p.finalize(&j, &result).await
        })
        .await?;
        Ok(Outcome {
            id: job.id.to_string(),
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
        let job = Job {
            id: WebhookId::parse(&input.id)?,
            attempt: input.attempt.max(1),
            execution_arn: ctx.execution_arn().to_owned(),
        };
        let failure = match self.pipeline(&ctx, &job).await {
            Ok(outcome) => return Ok(outcome),
            Err(failure) => failure,
        };
        let (p, j, f) = (self.clone(), job.clone(), failure.clone());
        // If even this fails for good, the execution fails anyway and the reconciler
        // records FAILED from it.
        self.step(&ctx, steps::RECORD_FAILURE, move || async move {
            p.record_failure(&j, f).await
        })
        .await
        .map_err(|f| failure_error(&f))?;
        Err(failure_error(&failure))
    }
}

/// The execution's error for `failure`: its type and message.
fn failure_error(failure: &Failure) -> BoxError {
    let error_type = failure
        .error_type
        .clone()
        .unwrap_or_else(|| "Failed".to_owned());
    let message = if failure.reasons.is_empty() {
        failure.message.clone()
    } else {
        format!("{}: {}", failure.message, failure.reasons.join("; "))
    };
    Box::new(TypedError::with_type(error_type, message))
}

/// Runs the processor in the Lambda runtime, configured by the environment.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let sdk = webhook_core::config::aws().await;
    let processor =
        Processor::new(webhook_core::config::store(&sdk)?).with_faults(Faults::from_env());
    // The checkpoint client is built from the same configuration: its calls are bounded too.
    let options = durable::Options::builder().sdk_config(sdk).build()?;
    durable::run_with_options(
        move |input: ProcessorInput, ctx: DurableContext| {
            let p = processor.clone();
            async move { p.execute(input, ctx).await }
        },
        options,
    )
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

    #[test]
    fn failures_become_execution_errors_with_their_type() {
        let f = Failure::new("ValidationFailed", "validation failed")
            .with_reasons(&["a".to_owned(), "b".to_owned()]);
        let e = failure_error(&f);
        let typed = e.downcast_ref::<TypedError>().unwrap();
        assert_eq!(typed.error_type(), "ValidationFailed");
        let cause = std::error::Error::source(typed).unwrap();
        assert_eq!(cause.to_string(), "validation failed: a; b");
    }

    #[test]
    fn only_transient_step_failures_are_found_as_such() {
        let boxed = StepFailure::Transient("x".into()).boxed();
        assert!(matches!(
            step_failure(&*boxed),
            Some(StepFailure::Transient(_))
        ));
        assert_eq!(
            boxed.downcast_ref::<TypedError>().unwrap().error_type(),
            "TransientError"
        );
    }
}
