//! `POST /webhooks`.

use std::sync::atomic::Ordering;

use webhook_core::record::Start;
use webhook_core::secret::SecretSource;
use webhook_core::{Status, WebhookId};

use super::*;

const ORDER: &str = r#"{"type":"order","orderId":"o-1"}"#;

#[tokio::test]
async fn a_signed_webhook_is_accepted_recorded_and_started() {
    let r = receiver().await;
    let req = fixture("post-webhook.json");
    let body = req.body.clone().unwrap();
    let res = r.handle(post(&body)).await;
    let (code, json) = parts(&res);
    assert_eq!(code, 202, "{json}");
    let id = json["id"].as_str().unwrap();
    assert_eq!(json["status"], "RECEIVED");
    assert_eq!(json["statusUrl"], format!("/dev/webhooks/{id}"));
    assert_eq!(res.headers["location"], format!("/dev/webhooks/{id}"));
    assert_eq!(r.starter.calls(), [id]);

    let record = r
        .store
        .get(&WebhookId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, Status::Received);
    assert_eq!(record.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    // Exactly the bytes received: floats, big integers and unicode intact.
    assert_eq!(record.payload, body);
    // Started, not yet recorded so: the processor's first write records the start (one
    // DynamoDB call less before the 202).
    assert_eq!(record.start, Start::Pending);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let week = 7 * 86_400; // the test store's TTL
    assert!(
        (now + week - 5..=now + week + 5).contains(&record.ttl),
        "ttl {}",
        record.ttl
    );
}

#[tokio::test]
async fn a_redelivery_of_a_failed_webhook_is_a_duplicate_that_says_how_to_redrive() {
    let r = receiver().await;
    let mut req = post(ORDER);
    set_header(&mut req, "x-webhook-id", "fails-then-redelivered");
    let (_, a) = parts(&r.handle(req.clone()).await);
    let id = WebhookId::parse(a["id"].as_str().unwrap()).unwrap();
    let failure = webhook_core::record::Failure::new("Panic", "boom");
    r.store
        .fail(&id, 1, &failure, webhook_core::time::Instant::now())
        .await
        .unwrap();
    let res = r.handle(req).await;
    let (code, b) = parts(&res);
    assert_eq!(code, 202, "{b}");
    assert_eq!(b["status"], "FAILED");
    assert_eq!(res.headers["x-webhook-duplicate"], "true");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("deployer webhooks redrive {id} --stage test")),
        "{message}"
    );
    assert_eq!(r.starter.calls().len(), 1, "not processed again");
}

#[tokio::test]
async fn a_redelivery_returns_the_same_id_and_starts_no_second_execution() {
    let r = receiver().await;
    let mut first = post(ORDER);
    set_header(&mut first, "x-github-delivery", "delivery-42");
    let (_, a) = parts(&r.handle(first.clone()).await);
    let res = r.handle(first).await;
    let (code, b) = parts(&res);
    assert_eq!(code, 202);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(res.headers["x-webhook-duplicate"], "true");
    // Not yet seen started (no processor here): started again by name, one execution.
    assert_eq!(r.starter.executions().len(), 1, "one execution only");
    assert_eq!(records(&r.store).await, 1);

    // The same delivery id under another header is the same webhook too.
    let under = |body: &str| {
        let mut req = post(body);
        super::remove_header(&mut req, "x-github-delivery");
        set_header(&mut req, "idempotency-key", "delivery-42");
        req
    };
    let (_, c) = parts(&r.handle(under(ORDER)).await);
    assert_eq!(c["id"], a["id"]);
    // GitHub's scheme signs the body, not the delivery id: the body identifies the
    // webhook. The same body under a new delivery id is a replay, refused...
    let (code, d) = parts(&r.handle(post(ORDER)).await);
    assert_eq!(code, 409, "{d}");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("this body was delivered before, as delivery delivery-42"),
        "{d}"
    );
    assert_eq!(r.starter.executions().len(), 1);
    assert_eq!(records(&r.store).await, 1);
    // ...and another signed body under the same delivery id is another webhook.
    let (code, e) = parts(&r.handle(under(r#"{"type":"user"}"#)).await);
    assert_eq!(code, 202, "{e}");
    assert_ne!(e["id"], a["id"]);
    assert_eq!(r.starter.executions().len(), 2);
    assert_eq!(records(&r.store).await, 2);
}

#[tokio::test]
async fn without_a_delivery_header_the_body_is_the_identity() {
    let r = receiver().await;
    let req = |body: &str| {
        let mut req = post(body);
        remove_header(&mut req, "x-github-delivery");
        req
    };
    let (_, a) = parts(&r.handle(req(ORDER)).await);
    let (_, b) = parts(&r.handle(req(ORDER)).await);
    let (_, c) = parts(&r.handle(req(r#"{"type":"order","orderId":"o-2"}"#)).await);
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], c["id"]);
    assert_eq!(r.starter.executions().len(), 2);
}

#[tokio::test]
async fn a_failed_start_is_503_and_the_retry_starts_it_once() {
    let r = receiver().await;
    r.starter.fail.store(true, Ordering::SeqCst);
    let (code, json) = parts(&r.handle(post(ORDER)).await);
    assert_eq!(code, 503, "{json}");
    let id = WebhookId::parse(json["id"].as_str().unwrap()).unwrap();
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("deliver it again")
    );
    let record = r.store.get(&id).await.unwrap().unwrap();
    assert_eq!(
        record.start,
        Start::Failed {
            reason: "cannot start the processor: injected: Lambda is unavailable".to_owned()
        }
    );

    r.starter.fail.store(false, Ordering::SeqCst);
    let (code, json) = parts(&r.handle(post(ORDER)).await);
    assert_eq!(code, 202);
    assert_eq!(json["id"], id.as_str());
    let record = r.store.get(&id).await.unwrap().unwrap();
    assert!(matches!(record.start, Start::Started { .. }));
    // A third delivery finds it started: no further start.
    r.handle(post(ORDER)).await;
    assert_eq!(r.starter.calls().len(), 2);
    assert_eq!(records(&r.store).await, 1);
}

#[tokio::test]
async fn with_a_secret_an_unsigned_webhook_is_401_and_stores_nothing() {
    let r = receiver().await;
    let mut req = post(ORDER);
    remove_header(&mut req, github::SIGNATURE);
    let (code, json) = parts(&r.handle(req).await);
    assert_eq!(code, 401);
    assert_eq!(
        json["message"],
        "missing X-Hub-Signature-256 header: send `sha256=<hex>`, the HMAC-SHA256 of the raw body with the source's secret"
    );
    assert_eq!(items(&r.store).await, 0);
    assert!(r.starter.calls().is_empty());
}

#[tokio::test]
async fn without_a_secret_signatures_are_not_required() {
    let r = receiver_with(SecretSource::Off).await;
    let mut req = post(ORDER);
    remove_header(&mut req, github::SIGNATURE);
    let (code, _) = parts(&r.handle(req).await);
    assert_eq!(code, 202);
}

#[tokio::test]
async fn payloads_keep_their_exact_json() {
    let r = receiver().await;
    for body in [
        r#"{"type":"payment","transactionId":"t","amount":0.1,"rate":1e-7,"neg":-0.0}"#,
        r#"{"type":"user","big":123456789012345678901234567890,"n":1.0000000000000002}"#,
        "{\"type\":\"user\",\"name\":\"Zo\u{eb} \u{1F600} \\u00e9\",\"nested\":{\"a\":[1,[2,[3,{\"b\":null}]]]}}",
        "{ \"type\" : \"system\" ,\n  \"spaced\" : true }",
    ] {
        let mut req = post(body);
        remove_header(&mut req, "x-github-delivery");
        let (code, json) = parts(&r.handle(req).await);
        assert_eq!(code, 202, "{json}");
        let id = WebhookId::parse(json["id"].as_str().unwrap()).unwrap();
        let record = r.store.get(&id).await.unwrap().unwrap();
        assert_eq!(record.payload, body);
    }
}
