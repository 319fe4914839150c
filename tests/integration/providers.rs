//! Each provider's webhooks, signed by the provider's own library (`tests::providers`),
//! through a real `deployer local`: accepted (202), processed to COMPLETED by the source's
//! handler (or completed as unhandled), a rotation's previous secret accepted inside its
//! grace window and refused after it, Slack's challenge answered.

use std::time::Duration;

use serde_json::Value;
use tests::local::{LocalCloud, http};
use tests::providers::{self, Headers, ToSign};

const SECRETS: [(&str, &str); 5] = [
    ("github", "e2e-github-secret"),
    (
        "standard",
        "whsec_ZTJlLXN0YW5kYXJkLWtleS1vZi0zMi1ieXRlcy0hIQ==",
    ),
    ("stripe", "whsec_e2estripesecret"),
    ("slack", "e2e-slack-signing-secret"),
    ("shopify", "e2e-shopify-secret"),
];
const DEFAULT_SECRET: &str = "e2e-default-secret";
/// Stripe's secret before its rotation a minute ago; Shopify's before one two days ago (the
/// grace window is a day).
const STRIPE_OLD: &str = "whsec_e2estripeprevious";
const SHOPIFY_OLD: &str = "e2e-shopify-previous";

fn secret(source: &str) -> String {
    SECRETS
        .iter()
        .find(|(s, _)| *s == source)
        .map_or(DEFAULT_SECRET, |(_, v)| v)
        .to_owned()
}

fn now_s() -> i64 {
    webhook_core::time::Clock::System.now_s()
}

fn cloud() -> LocalCloud {
    let now = now_s();
    let (stripe_at, shopify_at) = ((now - 60).to_string(), (now - 2 * 86_400).to_string());
    let mut env: Vec<(String, String)> = SECRETS
        .iter()
        .map(|(s, v)| (webhook_core::sources::secret_env(s), (*v).to_owned()))
        .collect();
    env.extend([
        ("WEBHOOK_SECRET_STRIPE_PREVIOUS".into(), STRIPE_OLD.into()),
        ("WEBHOOK_SECRET_STRIPE_ROTATED_AT".into(), stripe_at),
        ("WEBHOOK_SECRET_SHOPIFY_PREVIOUS".into(), SHOPIFY_OLD.into()),
        ("WEBHOOK_SECRET_SHOPIFY_ROTATED_AT".into(), shopify_at),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    LocalCloud::start_env(&["--ephemeral"], Some(DEFAULT_SECRET), &env)
}

/// One provider's webhook: where it goes, what it is, how it is signed.
struct Event {
    source: &'static str,
    scheme: &'static str,
    body: &'static str,
    id: &'static str,
    content_type: &'static str,
    extra: &'static [(&'static str, &'static str)],
    /// The secret it is signed with, when not the source's own.
    secret: Option<&'static str>,
}

impl Event {
    fn to_sign(&self) -> ToSign {
        ToSign {
            scheme: self.scheme,
            secret: self
                .secret
                .map_or_else(|| secret(self.source), str::to_owned),
            body: self.body.to_owned(),
            id: self.id.to_owned(),
            timestamp: now_s(),
        }
    }
}

const JSON: &str = "application/json";

const EVENTS: [Event; 7] = [
    Event {
        source: "default",
        scheme: "github",
        body: r#"{"type":"order","orderId":"E2E-1","amount":3}"#,
        id: "e2e-default-1",
        content_type: JSON,
        extra: &[],
        secret: None,
    },
    Event {
        source: "github",
        scheme: "github",
        body: r#"{"zen":"Speak like a human.","hook_id":42}"#,
        id: "7e6c1d20-0000-11f1-8000-000000000001",
        content_type: JSON,
        extra: &[("X-GitHub-Event", "ping")],
        secret: None,
    },
    Event {
        source: "standard",
        scheme: "standard",
        body: r#"{"type":"invoice.paid","timestamp":"2026-12-01T00:00:00Z","data":{"id":"inv_9"}}"#,
        id: "msg_e2e_standard_1",
        content_type: JSON,
        extra: &[],
        secret: None,
    },
    Event {
        source: "stripe",
        scheme: "stripe",
        body: r#"{"id":"evt_e2e_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_e2e","amount":1999}}}"#,
        id: "evt_e2e_1",
        content_type: JSON,
        extra: &[],
        secret: None,
    },
    // Signed with the secret Stripe had a minute ago: inside the rotation's grace window.
    Event {
        source: "stripe",
        scheme: "stripe",
        body: r#"{"id":"evt_e2e_2","object":"event","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#,
        id: "evt_e2e_2",
        content_type: JSON,
        extra: &[],
        secret: Some(STRIPE_OLD),
    },
    Event {
        source: "slack",
        scheme: "slack",
        body: r#"{"type":"event_callback","team_id":"T9","event_id":"EvE2E","event":{"type":"app_mention","text":"hello"}}"#,
        id: "EvE2E",
        content_type: JSON,
        extra: &[],
        secret: None,
    },
    Event {
        source: "shopify",
        scheme: "shopify",
        body: r#"{"id":450789469,"email":"bob@example.com","total_price":"10.00"}"#,
        id: "e2e-shopify-delivery-1",
        content_type: JSON,
        extra: &[("X-Shopify-Topic", "orders/create")],
        secret: None,
    },
];

fn post(cloud: &LocalCloud, event: &Event, signed: &Headers) -> (u16, Value) {
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", event.content_type)];
    headers.extend(event.extra.iter().copied());
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let url = match event.source {
        "default" => format!("{}/webhooks", cloud.api),
        s => format!("{}/webhooks/{s}", cloud.api),
    };
    let (code, text) = http("POST", &url, &headers, event.body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn every_providers_own_signature_is_accepted_and_processed() {
    let cloud = cloud();
    let mut signed = providers::sign(&EVENTS.iter().map(Event::to_sign).collect::<Vec<_>>());
    // The default source reads the delivery id from X-Webhook-Id (octokit signs only).
    signed[0].insert("X-Webhook-Id".into(), EVENTS[0].id.into());
    let mut done = Vec::new();
    for (event, headers) in EVENTS.iter().zip(&signed) {
        let (code, body) = post(&cloud, event, headers);
        assert_eq!(
            code,
            202,
            "{} {}: {body}\n{}",
            event.source,
            event.id,
            cloud.logs()
        );
        let id = body["id"].as_str().unwrap().to_owned();
        done.push((event, cloud.wait_terminal(&id, Duration::from_secs(30))));
    }
    for (event, status) in &done {
        assert_eq!(status["status"], "COMPLETED", "{}: {status}", event.source);
        assert_eq!(status["source"], event.source, "{status}");
    }
    let result = |i: usize| -> Value {
        let r = &done[i].1["result"];
        r.as_str()
            .map_or_else(|| r.clone(), |s| serde_json::from_str(s).unwrap())
    };
    assert_eq!(
        result(1)["output"]["zen"],
        "Speak like a human.",
        "GitHub ping handler"
    );
    assert_eq!(
        result(3)["output"]["paymentIntent"],
        "pi_e2e",
        "Stripe handler"
    );
    for i in [2, 4, 5, 6] {
        assert!(
            result(i)["unhandled"]
                .as_str()
                .unwrap()
                .contains("no handler"),
            "{}: {}",
            done[i].0.source,
            result(i)
        );
    }
}

#[test]
fn a_rotated_out_secret_is_refused_and_slacks_challenge_answered() {
    let cloud = cloud();
    let late = Event {
        source: "shopify",
        scheme: "shopify",
        body: r#"{"id":1,"email":"late@example.com"}"#,
        id: "e2e-shopify-late",
        content_type: JSON,
        extra: &[("X-Shopify-Topic", "orders/create")],
        secret: Some(SHOPIFY_OLD),
    };
    let challenge = Event {
        source: "slack",
        scheme: "slack",
        body: r#"{"token":"t","challenge":"e2e-challenge","type":"url_verification"}"#,
        id: "",
        content_type: JSON,
        extra: &[],
        secret: None,
    };
    let signed = providers::sign(&[late.to_sign(), challenge.to_sign()]);
    let (code, body) = post(&cloud, &late, &signed[0]);
    assert_eq!(code, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("X-Shopify-Hmac-Sha256"),
        "{body}"
    );
    let (code, body) = post(&cloud, &challenge, &signed[1]);
    assert_eq!(
        (code, &body),
        (200, &serde_json::json!({"challenge": "e2e-challenge"}))
    );
    let listed = tests::deployer(
        &tests::workspace_root(),
        &[
            "webhooks", "list", "--local", &cloud.api, "--output", "json",
        ],
    )
    .success();
    assert_eq!(listed.stdout.trim(), "[]", "nothing was recorded: {listed}");
}
