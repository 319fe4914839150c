//! The durable processor under the official SDK's `LocalRunner` (in-process durable
//! service), writing to DynamoDB Local.

use std::sync::atomic::{AtomicU32, Ordering};

use ::processor::{Outcome, Processor, Records};
use aws_durable_execution_sdk::DurableContext;
use aws_durable_execution_sdk::test_util::LocalRunner;
use webhook_contract::steps;
use webhook_core::faults::Faults;
use webhook_core::record::Failure;
use webhook_core::record::TRUNCATED;
use webhook_core::record::{Record, Status};
use webhook_core::starter::ProcessorInput;
use webhook_core::store::{Advance, Advanced, NewWebhook};
use webhook_core::time::Instant;
use webhook_core::{StoreError, WebhookId};

use super::*;

async fn recorded(store: &Store, payload: &str) -> WebhookId {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let delivery = format!("proc-{}", N.fetch_add(1, Ordering::Relaxed));
    let id = tests::local::typed_webhook_id(webhook_contract::sources::DEFAULT, &delivery);
    store
        .insert(
            NewWebhook::new(id.clone(), delivery, payload),
            Instant::now(),
        )
        .await
        .unwrap();
    id
}

async fn run<R: Records>(
    runner: LocalRunner,
    processor: &Processor<R>,
    id: &WebhookId,
) -> aws_durable_execution_sdk::test_util::TestResult<Outcome> {
    let p = processor.clone();
    runner
        .run(
            move |input: ProcessorInput, ctx: DurableContext| {
                let p = p.clone();
                async move { p.execute(input, ctx).await }
            },
            ProcessorInput::new(id, 1),
        )
        .await
}

fn step_names<O>(
    result: &aws_durable_execution_sdk::test_util::TestResult<O>,
) -> Vec<(String, String)> {
    result
        .operations()
        .iter()
        .map(|op| (op.name().unwrap_or("-").to_owned(), op.status().to_owned()))
        .collect()
}

fn succeeded(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), "Succeeded".to_owned()))
        .collect()
}

/// What the validate step carried to the process step (its checkpointed result).
fn carried<O>(
    result: &aws_durable_execution_sdk::test_util::TestResult<O>,
) -> Option<::processor::Webhook> {
    let text = result
        .operations()
        .iter()
        .find(|op| op.name() == Some(steps::VALIDATE))
        .and_then(|op| op.result())
        .expect("validate checkpointed a result");
    match serde_json::from_str(text).unwrap() {
        ::processor::Validation::Valid { carried, .. } => carried,
        other => panic!("validation: {other:?}"),
    }
}

const ORDER: &str = r#"{"type":"order","orderId":"o-77","amount":9.99}"#;

#[tokio::test]
async fn the_three_steps_run_in_order_and_complete_the_record() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    let p = Processor::new(store.clone());
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_success(), "{:?}", result.error_message());
    assert_eq!(step_names(&result), succeeded(&steps::ALL));
    // Validate carries the webhook to process (one read of the record for the whole run).
    assert_eq!(carried(&result).map(|w| w.payload).as_deref(), Some(ORDER));
    let outcome = result.output().unwrap();
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(outcome.result.reference.as_deref(), Some("o-77"));
    for s in steps::ALL {
        assert_eq!(p.runs().of(s), 1, "{s}");
    }

    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.current_step.as_deref(), Some(steps::FINALIZE));
    // The first step's write records the start and the execution, whatever the receiver
    // managed to record (here: nothing, the record was inserted as a receiver does).
    assert!(
        matches!(&r.start, webhook_core::record::Start::Started { execution_arn: Some(arn) } if !arn.is_empty()),
        "{:?}",
        r.start
    );
    for s in steps::ALL {
        let t = &r.steps[s];
        assert!(
            t.started_at.is_some() && t.finished_at.is_some(),
            "{s}: {t:?}"
        );
        assert!(t.started_at <= t.finished_at);
    }
    let result: Value = serde_json::from_str(r.result.as_deref().unwrap()).unwrap();
    assert_eq!(
        result,
        serde_json::json!({"kind": "order", "reference": "o-77", "fields": 3, "bytes": ORDER.len()})
    );
    assert_eq!(r.payload, ORDER);
}

#[tokio::test]
async fn a_checkpoint_failure_mid_run_resumes_without_rerunning_finished_steps() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    let p = Processor::new(store.clone());
    // Checkpoint calls: validate START, validate SUCCEED, process START, process SUCCEED...
    // The fourth is lost (a transient service failure): the invocation dies after the
    // process body ran, and the service invokes the function again.
    let runner = LocalRunner::new().fail_checkpoints_after_retryable(3, 1);
    let result = run(runner, &p, &id).await;
    assert!(result.is_success(), "{:?}", result.error_message());
    assert!(
        result.invocation_count() >= 2,
        "{}",
        result.invocation_count()
    );
    assert_eq!(
        p.runs().of(steps::VALIDATE),
        1,
        "a finished step does not run again"
    );
    assert_eq!(
        p.runs().of(steps::PROCESS),
        2,
        "the interrupted step ran again"
    );
    assert_eq!(p.runs().of(steps::FINALIZE), 1);
    assert_eq!(step_names(&result), succeeded(&steps::ALL));
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Completed);
}

#[tokio::test]
async fn a_validation_failure_is_permanent_and_lists_every_reason() {
    let store = fresh_store().await;
    let id = recorded(&store, r#"{"type":"order","orderId":""}"#).await;
    let p = Processor::new(store.clone());
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_failure());
    assert_eq!(result.error_type(), Some("ValidationFailed"));
    assert_eq!(p.runs().of(steps::VALIDATE), 1, "one attempt, no retries");
    assert_eq!(p.runs().of(steps::PROCESS), 0);
    assert_eq!(
        step_names(&result),
        succeeded(&[steps::VALIDATE, steps::RECORD_FAILURE])
    );

    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    let error = r.error.unwrap();
    assert_eq!(error.error_type.as_deref(), Some("ValidationFailed"));
    assert_eq!(error.message, "validation failed");
    assert_eq!(error.reasons, ["`orderId` must not be empty"]);
    assert_eq!(
        (error.step.as_deref(), error.attempts),
        (Some(steps::VALIDATE), Some(1))
    );

    let id = recorded(&store, r#"{"kind":"order"}"#).await;
    run(LocalRunner::new(), &p, &id).await;
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        r.error.unwrap().reasons,
        ["`type` is missing; it must be one of: order, payment, user, system"]
    );
}

#[tokio::test]
async fn echoed_values_are_capped_so_the_final_write_fits() {
    let store = fresh_store().await;
    let huge = "t".repeat(200 * 1024);
    let id = recorded(&store, &format!(r#"{{"type":"{huge}"}}"#)).await;
    let p = Processor::new(store.clone());
    run(LocalRunner::new(), &p, &id).await;
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed, "an unknown type");
    let reason = &r.error.unwrap().reasons[0];
    assert!(
        reason.len() < 2048 && reason.ends_with(TRUNCATED),
        "{}",
        reason.len()
    );

    let id = recorded(&store, &format!(r#"{{"type":"order","orderId":"{huge}"}}"#)).await;
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_success(), "{:?}", result.error_message());
    let r = store.get(&id).await.unwrap().unwrap();
    let stored: Value = serde_json::from_str(r.result.as_deref().unwrap()).unwrap();
    assert_eq!(stored["truncated"], true);
    assert!(stored["reference"].as_str().unwrap().ends_with(TRUNCATED));
    assert!(r.result.unwrap().len() < 2048);
}

#[tokio::test]
async fn a_panic_in_a_step_records_failed_without_retrying() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    let faults = Faults::parse(&format!("panic-in-step={id}:process"));
    let p = Processor::new(store.clone()).with_faults(faults);
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_failure());
    assert_eq!(result.error_type(), Some("Panic"));
    assert_eq!(p.runs().of(steps::PROCESS), 1, "a panic is not retried");
    assert_eq!(p.runs().of(steps::FINALIZE), 0);
    assert_eq!(p.runs().of(steps::RECORD_FAILURE), 1);
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    let e = r.error.unwrap();
    assert_eq!(e.error_type.as_deref(), Some("Panic"));
    assert_eq!(
        (e.step.as_deref(), e.attempts),
        (Some(steps::PROCESS), Some(1))
    );
    assert!(
        e.message.contains("fault injection: panic in step process"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn exhausted_retries_record_failed_with_the_attempt_count() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    // Throttled for good, but only the step writes: the failure write goes through.
    let p = Processor::new(Throttled {
        store: store.clone(),
        fail: AtomicU32::new(u32::MAX),
    });
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_failure());
    assert_eq!(result.error_type(), Some("TransientError"));
    assert_eq!(p.runs().of(steps::VALIDATE), ::processor::MAX_ATTEMPTS);
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    let e = r.error.unwrap();
    assert_eq!(e.error_type.as_deref(), Some("TransientError"));
    assert_eq!(
        (e.step.as_deref(), e.attempts),
        (Some(steps::VALIDATE), Some(::processor::MAX_ATTEMPTS))
    );
    assert!(
        e.message.contains("ProvisionedThroughputExceededException"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_redriven_attempt_is_not_touched_by_the_old_one() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    store
        .fail(&id, 1, &Failure::new("Panic", "x"), Instant::now())
        .await
        .unwrap();
    store
        .new_attempt(
            &id,
            1,
            webhook_core::store::RestartFrom::Failed,
            Instant::now(),
        )
        .await
        .unwrap();
    // A late replay of attempt 1 runs its steps, but writes nothing.
    let p = Processor::new(store.clone());
    run(LocalRunner::new(), &p, &id).await;
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempt), (Status::Received, 2), "{r:?}");
    // Attempt 2 completes.
    let p2 = p.clone();
    let result = LocalRunner::new()
        .run(
            move |input: ProcessorInput, ctx: DurableContext| {
                let p = p2.clone();
                async move { p.execute(input, ctx).await }
            },
            ProcessorInput::new(&id, 2),
        )
        .await;
    assert!(result.is_success(), "{:?}", result.error_message());
    let r = store.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempt), (Status::Completed, 2));
}

/// The real store, with its first `fail` step writes refused as throttled: a fault DynamoDB
/// Local cannot be asked to produce.
struct Throttled {
    store: Store,
    fail: AtomicU32,
}

impl Records for Throttled {
    async fn get(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        self.store.get(id).await
    }
    async fn fail(
        &self,
        id: &WebhookId,
        attempt: u32,
        failure: &Failure,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        self.store.fail(id, attempt, failure, now).await
    }
    async fn advance(
        &self,
        id: &WebhookId,
        attempt: u32,
        change: &Advance,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Dynamo {
                operation: "UpdateItem",
                code: "ProvisionedThroughputExceededException".to_owned(),
                message: "injected".to_owned(),
                transient: true,
            });
        }
        self.store.advance(id, attempt, change, now).await
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_then_succeeds() {
    let store = fresh_store().await;
    let id = recorded(&store, ORDER).await;
    let p = Processor::new(Throttled {
        store: store.clone(),
        fail: AtomicU32::new(2),
    });
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_success(), "{:?}", result.error_message());
    let validate = &result.operations()[0];
    assert_eq!(validate.name(), Some(steps::VALIDATE));
    assert_eq!(validate.attempt(), 2, "two retries recorded");
    assert_eq!(p.runs().of(steps::VALIDATE), 3);
    assert_eq!(
        store.get(&id).await.unwrap().unwrap().status,
        Status::Completed
    );
}

#[tokio::test]
async fn a_permanent_store_error_fails_without_retrying() {
    let store = fresh_store().await;
    let p = Processor::new(store);
    let ghost = WebhookId::parse("wh_ffffffffffffffffffffffffffffffff").unwrap();
    let result = run(LocalRunner::new(), &p, &ghost).await;
    assert!(result.is_failure());
    assert_eq!(p.runs().of(steps::VALIDATE), 1);
    assert!(
        result
            .error_message()
            .unwrap_or_default()
            .contains("has no status record"),
        "{:?}",
        result.error_message()
    );
}

#[tokio::test]
async fn a_malformed_input_fails_the_execution() {
    let p = Processor::new(fresh_store().await);
    let runner = LocalRunner::new();
    let p2 = p.clone();
    let result = runner
        .run(
            move |input: ProcessorInput, ctx: DurableContext| {
                let p = p2.clone();
                async move { p.execute(input, ctx).await }
            },
            ProcessorInput {
                id: "../../etc".to_owned(),
                attempt: 1,
            },
        )
        .await;
    assert!(result.is_failure());
    assert_eq!(p.runs().of(steps::VALIDATE), 0);
}

/// A payload too large to carry in the validate step's checkpoint (over
/// `processor::CARRY_MAX_BYTES`) is read again by the process step: the webhook completes
/// with the exact payload counted.
#[tokio::test]
async fn a_large_payload_is_read_again_by_the_process_step() {
    let store = fresh_store().await;
    let big = format!(
        r#"{{"type":"order","orderId":"big-1","notes":"{}"}}"#,
        "x".repeat(::processor::CARRY_MAX_BYTES)
    );
    let id = recorded(&store, &big).await;
    let p = Processor::new(store.clone());
    let result = run(LocalRunner::new(), &p, &id).await;
    assert!(result.is_success(), "{:?}", result.error_message());
    let outcome = result.output().unwrap();
    assert_eq!(outcome.result.bytes, big.len());
    assert_eq!(outcome.result.reference.as_deref(), Some("big-1"));
    assert!(carried(&result).is_none(), "too large to carry");
}
