//! The status store against DynamoDB Local: conditional writes, monotonic status, TTL.

use webhook_core::record::{Failure, Status};
use webhook_core::store::{Advance, Advanced, Inserted, NewWebhook, Phase};
use webhook_core::time::Instant;
use webhook_core::{StoreError, WebhookId};

use super::*;

fn new(id: &WebhookId, payload: &str) -> NewWebhook {
    NewWebhook {
        id: id.clone(),
        delivery_id: "d".to_owned(),
        payload: payload.to_owned(),
    }
}

fn id(n: u8) -> WebhookId {
    WebhookId::parse(&format!("wh_{:032x}", n)).unwrap()
}

fn step(step: &'static str, phase: Phase, status: Status) -> Advance {
    Advance::new(step, phase, status)
}

const T0: u64 = 1_800_000_000_000;

#[tokio::test]
async fn insert_is_idempotent() {
    let store = fresh_store().await;
    let first = store
        .insert(new(&id(1), r#"{"a":1}"#), Instant::from_epoch_millis(T0))
        .await
        .unwrap();
    assert!(matches!(first, Inserted::Created(_)));
    let again = store
        .insert(
            new(&id(1), r#"{"a":2}"#),
            Instant::from_epoch_millis(T0 + 1000),
        )
        .await
        .unwrap();
    let Inserted::Existing(existing) = again else {
        panic!("second insert created a record")
    };
    assert_eq!(existing.payload, r#"{"a":1}"#, "the first delivery is kept");
    assert_eq!(existing.received_at, "2027-01-15T08:00:00.000Z");
    assert_eq!(items(&store).await, 1);
}

#[tokio::test]
async fn status_only_moves_forward() {
    let store = fresh_store().await;
    let w = id(2);
    store
        .insert(new(&w, "{}"), Instant::from_epoch_millis(T0))
        .await
        .unwrap();
    let at = |s: u64| Instant::from_epoch_millis(T0 + s * 1000);

    use webhook_contract::steps::{FINALIZE, PROCESS, VALIDATE};
    let ok = Advanced::Applied;
    assert_eq!(
        store
            .advance(
                &w,
                &step(VALIDATE, Phase::Started, Status::Validating),
                at(1)
            )
            .await
            .unwrap(),
        ok
    );
    assert_eq!(
        store
            .advance(
                &w,
                &step(VALIDATE, Phase::Finished, Status::Validating),
                at(2)
            )
            .await
            .unwrap(),
        ok
    );
    assert_eq!(
        store
            .advance(
                &w,
                &step(PROCESS, Phase::Started, Status::Processing),
                at(3)
            )
            .await
            .unwrap(),
        ok
    );
    // A replayed validate start now changes nothing.
    assert_eq!(
        store
            .advance(
                &w,
                &step(VALIDATE, Phase::Started, Status::Validating),
                at(4)
            )
            .await
            .unwrap(),
        Advanced::AlreadyPast
    );
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Processing);
    assert_eq!(r.current_step.as_deref(), Some(PROCESS));
    assert_eq!(
        r.updated_at, "2027-01-15T08:00:03.000Z",
        "the skipped write left no trace"
    );

    // A retried start keeps the first start time.
    store
        .advance(
            &w,
            &step(PROCESS, Phase::Started, Status::Processing),
            at(5),
        )
        .await
        .unwrap();
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(
        r.steps[PROCESS].started_at.as_deref(),
        Some("2027-01-15T08:00:03.000Z")
    );
    assert_eq!(
        r.steps[VALIDATE].finished_at.as_deref(),
        Some("2027-01-15T08:00:02.000Z")
    );

    let done = Advance {
        result: Some(r#"{"ok":true}"#.to_owned()),
        ..step(FINALIZE, Phase::Finished, Status::Completed)
    };
    assert_eq!(store.advance(&w, &done, at(6)).await.unwrap(), ok);
    // FAILED cannot replace COMPLETED, nor can anything earlier.
    let failed = Advance {
        error: Some(Failure {
            message: "late".to_owned(),
            reasons: vec![],
        }),
        ..step(FINALIZE, Phase::Finished, Status::Failed)
    };
    assert_eq!(
        store.advance(&w, &failed, at(7)).await.unwrap(),
        Advanced::AlreadyPast
    );
    assert_eq!(
        store
            .advance(
                &w,
                &step(PROCESS, Phase::Finished, Status::Processing),
                at(8)
            )
            .await
            .unwrap(),
        Advanced::AlreadyPast
    );
    // Replaying the completion itself is harmless.
    assert_eq!(store.advance(&w, &done, at(9)).await.unwrap(), ok);
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.result.as_deref(), Some(r#"{"ok":true}"#));
    assert!(r.error.is_none());
}

#[tokio::test]
async fn every_write_renews_the_ttl() {
    let store = fresh_store().await;
    let w = id(3);
    store
        .insert(new(&w, "{}"), Instant::from_epoch_millis(T0))
        .await
        .unwrap();
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.ttl, T0 / 1000 + 7 * 86_400);
    assert_eq!(r.expires_at, "2027-01-22T08:00:00.000Z");
    let later = Instant::from_epoch_millis(T0 + 3_600_000);
    store
        .advance(
            &w,
            &step(
                webhook_contract::steps::VALIDATE,
                Phase::Started,
                Status::Validating,
            ),
            later,
        )
        .await
        .unwrap();
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.ttl, T0 / 1000 + 3600 + 7 * 86_400);
    assert_eq!(r.updated_at, "2027-01-15T09:00:00.000Z");
}

#[tokio::test]
async fn writes_to_a_missing_record_are_not_found() {
    let store = fresh_store().await;
    let err = store
        .advance(
            &id(4),
            &step(
                webhook_contract::steps::VALIDATE,
                Phase::Started,
                Status::Validating,
            ),
            Instant::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert!(!err.is_transient());
    assert_eq!(
        items(&store).await,
        0,
        "no record was created by the update"
    );
}

#[tokio::test]
async fn a_missing_table_is_permanent_and_no_connection_transient() {
    let missing = Store::new(dynamo().await, "no-such-table", 7);
    let err = missing.get(&id(5)).await.unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    assert!(
        !err.is_transient(),
        "a missing table does not come back by retrying"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let nowhere = Store::new(dynamo_at(&endpoint), "t", 7);
    let err = nowhere.get(&id(5)).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
