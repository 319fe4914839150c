//! `GET /webhooks/{id}`.

use webhook_core::store::NewWebhook;
use webhook_core::time::Instant;

use super::*;

async fn record(store: &Store, delivery: &str) -> WebhookId {
    let id = tests::local::typed_webhook_id(webhook_contract::sources::DEFAULT, delivery);
    store
        .insert(
            NewWebhook::new(
                id.clone(),
                delivery,
                format!(r#"{{"type":"user","d":"{delivery}"}}"#),
            ),
            Instant::now(),
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_recorded_webhook_is_200_with_its_own_record() {
    let store = fresh_store().await;
    let a = record(&store, "a").await;
    let b = record(&store, "b").await;
    let api = status_api(store);
    for id in [&a, &b] {
        let res = api.handle(get_status(id.as_str())).await;
        let (code, json) = parts(&res);
        assert_eq!(code, 200, "{json}");
        assert_eq!(json["id"], id.as_str(), "never another record");
        assert_eq!(json["status"], "RECEIVED");
        assert_eq!(json["currentStep"], Value::Null);
        assert_eq!(
            json["steps"],
            serde_json::json!({"validate": {}, "process": {}, "finalize": {}})
        );
        for key in ["receivedAt", "updatedAt", "expiresAt"] {
            assert!(json[key].as_str().unwrap().ends_with('Z'), "{key}: {json}");
        }
        assert!(json.get("result").is_none() && json.get("error").is_none());
        assert_eq!(
            res.headers["access-control-allow-origin"],
            "https://example.test"
        );
        assert_eq!(res.headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_ids_400() {
    let api = status_api(fresh_store().await);
    let (code, json) = parts(
        &api.handle(get_status("wh_0123456789abcdef0123456789abcdef"))
            .await,
    );
    assert_eq!(code, 404);
    assert_eq!(
        json["message"],
        "no webhook wh_0123456789abcdef0123456789abcdef"
    );
    let (code, json) = parts(&api.handle(get_status("nope")).await);
    assert_eq!(code, 400);
    assert_eq!(
        json["message"],
        "`nope` is not a webhook id: ids are `wh_` followed by 32 lowercase hex digits"
    );
    let mut missing = get_status("x");
    missing.path_parameters.clear();
    let (code, json) = parts(&api.handle(missing).await);
    assert_eq!(code, 400);
    assert_eq!(json["message"], "missing webhook id: GET /webhooks/{id}");
}

#[tokio::test]
async fn cors_headers_are_configurable() {
    let store = fresh_store().await;
    let id = record(&store, "cors").await;
    let api = StatusApi {
        store,
        cors_allow_origin: None,
    };
    let res = api.handle(get_status(id.as_str())).await;
    assert_eq!(res.status_code, 200);
    assert!(res.headers.get("access-control-allow-origin").is_none());
}
