//! The status store against DynamoDB Local: conditional writes, monotonic status within an
//! attempt, FAILED with capped reasons, new attempts, the attention index, TTL.

use webhook_contract::steps::{FINALIZE, PROCESS, VALIDATE};
use webhook_core::record::{Failure, ITEM_LIMIT_BYTES, MAX_REASONS, Status, TRUNCATED};
use webhook_core::store::{
    Advance, Advanced, Attention, Inserted, NewWebhook, Phase, RestartFrom, Restarted,
};
use webhook_core::time::Instant;
use webhook_core::{StoreError, WebhookId};

use super::*;

fn new(id: &WebhookId, payload: &str) -> NewWebhook {
    NewWebhook::new(id.clone(), "d", payload)
}

fn id(n: u8) -> WebhookId {
    WebhookId::parse(&format!("wh_{:032x}", n)).unwrap()
}

const T0: u64 = 1_800_000_000_000;

fn at(s: u64) -> Instant {
    Instant::from_epoch_millis(T0 + s * 1000)
}

/// Writes `step`'s `phase` on `attempt`, moving the record to `status`.
async fn advance(
    store: &Store,
    w: &WebhookId,
    attempt: u32,
    (step, phase, status): (&'static str, Phase, Status),
    when: Instant,
) -> Advanced {
    store
        .advance(w, attempt, &Advance::new(step, phase, status), when)
        .await
        .unwrap()
}

async fn recorded(store: &Store, w: &WebhookId) {
    store.insert(new(w, "{}"), at(0)).await.unwrap();
}

#[tokio::test]
async fn insert_is_idempotent() {
    let store = fresh_store().await;
    let first = store
        .insert(new(&id(1), r#"{"a":1}"#), at(0))
        .await
        .unwrap();
    let Inserted::Created(created) = first else {
        panic!("the first insert found a record")
    };
    assert_eq!((created.attempt, created.attention_since), (1, Some(T0)));
    let again = store
        .insert(new(&id(1), r#"{"a":2}"#), at(1))
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
async fn records_are_read_by_the_hundred() {
    let store = fresh_store().await;
    for n in 0..150u8 {
        store
            .insert(new(&id(n), r#"{"a":1}"#), at(u64::from(n)))
            .await
            .unwrap();
    }
    // 150 that exist (two batches) and 3 that never did.
    let mut wanted: Vec<_> = (0..150).map(id).collect();
    wanted.extend((200..203).map(id));
    let mut got: Vec<_> = store
        .get_many(&wanted)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.status))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<_> = (0..150).map(|n| (id(n), Status::Received)).collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, expected);
    assert!(store.get_many(&[]).await.unwrap().is_empty());
    // What never changes of a record, read without consistency (consistently when unseen).
    let settled = store.get_settled(&id(7)).await.unwrap().unwrap();
    assert_eq!(settled.payload, r#"{"a":1}"#);
    assert!(store.get_settled(&id(201)).await.unwrap().is_none());
}

#[tokio::test]
async fn status_only_moves_forward() {
    let store = fresh_store().await;
    let w = id(2);
    recorded(&store, &w).await;
    let ok = Advanced::Applied;
    let v = |phase, status| (VALIDATE, phase, status);
    let p = |phase, status| (PROCESS, phase, status);
    use Phase::{Finished, Started};
    use Status::{Processing, Validating};
    assert_eq!(
        advance(&store, &w, 1, v(Started, Validating), at(1)).await,
        ok
    );
    assert_eq!(
        advance(&store, &w, 1, v(Finished, Validating), at(2)).await,
        ok
    );
    assert_eq!(
        advance(&store, &w, 1, p(Started, Processing), at(3)).await,
        ok
    );
    // A replayed validate start now changes nothing.
    let replay = advance(&store, &w, 1, v(Started, Validating), at(4)).await;
    assert_eq!(replay, Advanced::AlreadyPast);
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Processing);
    assert_eq!(r.current_step.as_deref(), Some(PROCESS));
    assert_eq!(
        r.updated_at, "2027-01-15T08:00:03.000Z",
        "the skipped write left no trace"
    );

    // A retried start keeps the first start time.
    advance(&store, &w, 1, p(Started, Processing), at(5)).await;
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
        ..Advance::new(FINALIZE, Finished, Status::Completed)
    };
    assert_eq!(store.advance(&w, 1, &done, at(6)).await.unwrap(), ok);
    // FAILED cannot replace COMPLETED, nor can anything earlier.
    let late = Failure::new("PermanentError", "late");
    assert_eq!(
        store.fail(&w, 1, &late, at(7)).await.unwrap(),
        Advanced::AlreadyPast
    );
    let back = advance(&store, &w, 1, p(Finished, Processing), at(8)).await;
    assert_eq!(back, Advanced::AlreadyPast);
    // Replaying the completion itself is harmless.
    assert_eq!(store.advance(&w, 1, &done, at(9)).await.unwrap(), ok);
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.result.as_deref(), Some(r#"{"ok":true}"#));
    assert!(r.error.is_none());
    assert_eq!(
        r.attention_since, None,
        "a completed record leaves the index"
    );
}

#[tokio::test]
async fn failed_keeps_the_first_failure_with_its_step_and_attempts() {
    let store = fresh_store().await;
    let w = id(6);
    recorded(&store, &w).await;
    let reasons: Vec<String> = (0..25)
        .map(|i| format!("reason {i} {}", "x".repeat(400)))
        .collect();
    let failure = Failure::new("ValidationFailed", &"m".repeat(1000))
        .with_reasons(&reasons)
        .in_step(VALIDATE, 1);
    assert_eq!(
        store.fail(&w, 1, &failure, at(1)).await.unwrap(),
        Advanced::Applied
    );
    let other = Failure::new("ExecutionTimedOut", "later").in_step(PROCESS, 6);
    assert_eq!(
        store.fail(&w, 1, &other, at(2)).await.unwrap(),
        Advanced::AlreadyPast
    );
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    let e = r.error.unwrap();
    assert_eq!(e.error_type.as_deref(), Some("ValidationFailed"));
    assert_eq!((e.step.as_deref(), e.attempts), (Some(VALIDATE), Some(1)));
    assert!(e.message.ends_with(TRUNCATED), "{}", e.message);
    assert_eq!(e.reasons.len(), MAX_REASONS + 1);
    assert_eq!(
        r.attention_since,
        Some(T0 + 1000),
        "failed records stay in the index"
    );
}

#[tokio::test]
async fn the_largest_record_still_takes_its_failure() {
    // The receiver's largest body, the longest delivery id, then the largest failure the
    // processor writes: DynamoDB Local must take it (the item limit is 400 KB).
    let store = fresh_store().await;
    let w = id(7);
    let payload = format!(r#"{{"type":"{}"}}"#, "é".repeat(128 * 1024 - 8));
    assert!(
        payload.len() > 256 * 1024 - 16 && payload.len() <= 256 * 1024,
        "{}",
        payload.len()
    );
    let big = NewWebhook::new(w.clone(), "d".repeat(200), payload);
    store.insert(big, at(0)).await.unwrap();
    let long = "ü".repeat(10_000);
    let failure = Failure::new(&long, &long)
        .with_reasons(&vec![long.clone(); 40])
        .in_step(&long, 6);
    assert_eq!(
        store.fail(&w, 1, &failure, at(1)).await.unwrap(),
        Advanced::Applied
    );
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    let size = r.payload.len() + r.delivery_id.len() + format!("{:?}", r.error).len();
    assert!(size < ITEM_LIMIT_BYTES, "{size}");
}

#[tokio::test]
async fn a_new_attempt_starts_only_from_the_expected_state_and_attempt() {
    let store = fresh_store().await;
    let w = id(8);
    recorded(&store, &w).await;
    // Not FAILED: a redrive is refused and says where the record is.
    let refused = store
        .new_attempt(&w, 1, RestartFrom::Failed, at(1))
        .await
        .unwrap();
    assert!(
        matches!(&refused, Restarted::Refused(r) if r.status == Status::Received),
        "{refused:?}"
    );
    advance(
        &store,
        &w,
        1,
        (VALIDATE, Phase::Started, Status::Validating),
        at(2),
    )
    .await;
    store
        .fail(
            &w,
            1,
            &Failure::new("Panic", "boom").in_step(VALIDATE, 1),
            at(3),
        )
        .await
        .unwrap();
    let redriven = store
        .new_attempt(&w, 1, RestartFrom::Failed, at(4))
        .await
        .unwrap();
    assert!(matches!(redriven, Restarted::Attempt(2)), "{redriven:?}");
    // The same redrive again (a double click) finds attempt 2, not 1: refused.
    let twice = store
        .new_attempt(&w, 1, RestartFrom::Failed, at(5))
        .await
        .unwrap();
    assert!(matches!(twice, Restarted::Refused(_)), "{twice:?}");
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempt), (Status::Received, 2));
    assert!(r.error.is_none() && r.current_step.is_none());
    assert!(r.steps[VALIDATE].started_at.is_none(), "{:?}", r.steps);
    assert_eq!(r.payload, "{}");
    assert_eq!(r.attention_since, Some(T0 + 4000));
    // Attempt 1 can no longer write: not a step, not a failure.
    let stale = advance(
        &store,
        &w,
        1,
        (PROCESS, Phase::Started, Status::Processing),
        at(6),
    )
    .await;
    assert_eq!(stale, Advanced::AlreadyPast);
    let late = store
        .fail(&w, 1, &Failure::new("Panic", "late"), at(7))
        .await
        .unwrap();
    assert_eq!(late, Advanced::AlreadyPast);
    assert_eq!(
        store.get(&w).await.unwrap().unwrap().status,
        Status::Received
    );
    // Attempt 2 can.
    let fresh = advance(
        &store,
        &w,
        2,
        (VALIDATE, Phase::Started, Status::Validating),
        at(8),
    )
    .await;
    assert_eq!(fresh, Advanced::Applied);
    // An open record whose execution is stale moves on from any open status.
    let open = store
        .new_attempt(&w, 2, RestartFrom::Open, at(9))
        .await
        .unwrap();
    assert!(matches!(open, Restarted::Attempt(3)), "{open:?}");
}

#[tokio::test]
async fn the_attention_index_lists_open_and_failed_records_by_age() {
    let store = fresh_store().await;
    for n in 0..40u8 {
        store
            .insert(new(&id(100 + n), "{}"), at(u64::from(n)))
            .await
            .unwrap();
    }
    // 10 of them fail, 10 complete.
    for n in 0..10u8 {
        store
            .fail(&id(100 + n), 1, &Failure::new("Panic", "x"), at(100))
            .await
            .unwrap();
        let done = Advance::new(FINALIZE, Phase::Finished, Status::Completed);
        store
            .advance(&id(120 + n), 1, &done, at(100))
            .await
            .unwrap();
    }
    let open = store
        .attention(Attention::Open, 0, u64::MAX, 100, None)
        .await
        .unwrap();
    assert_eq!(open.entries.len(), 20);
    assert!(open.next.is_none());
    assert!(open.entries.iter().all(|e| e.state == Attention::Open));
    let ids: Vec<_> = open.entries.iter().map(|e| e.id.clone()).collect();
    let records = store.get_many(&ids).await.unwrap();
    assert_eq!(records.len(), 20);
    assert!(records.iter().all(|r| r.status == Status::Received));
    // Entered before T0 + 15 s: records 10..=14 (0..=9 failed).
    let old = store
        .attention(Attention::Open, 0, T0 + 15_000, 100, None)
        .await
        .unwrap();
    let mut ids: Vec<_> = old.entries.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, (110..115).map(id).collect::<Vec<_>>());
    let failed = store
        .attention(Attention::Failed, 0, u64::MAX, 100, None)
        .await
        .unwrap();
    assert_eq!(failed.entries.len(), 10);
    // Pages: 7 at a time, every open record once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .attention(Attention::Open, 0, u64::MAX, 7, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.entries.len() <= 7);
        seen.extend(page.entries.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20);
    let bad = store
        .attention(Attention::Open, 0, u64::MAX, 7, Some("not-a-cursor!"))
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::BadCursor(_)), "{bad}");
}

#[tokio::test]
async fn every_write_renews_the_ttl() {
    let store = fresh_store().await;
    let w = id(3);
    recorded(&store, &w).await;
    let r = store.get(&w).await.unwrap().unwrap();
    assert_eq!(r.ttl, T0 / 1000 + 7 * 86_400);
    assert_eq!(r.expires_at, "2027-01-22T08:00:00.000Z");
    advance(
        &store,
        &w,
        1,
        (VALIDATE, Phase::Started, Status::Validating),
        at(3600),
    )
    .await;
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
            1,
            &Advance::new(VALIDATE, Phase::Started, Status::Validating),
            Instant::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert!(!err.is_transient());
    let err = store
        .fail(&id(4), 1, &Failure::new("Panic", "x"), Instant::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
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
