//! Least privilege, derived from the code's own calls: a `deployer local --audit-calls` runs
//! every path of the four functions (a signed webhook and its redelivery, an unsigned one,
//! a validation failure, a lost start the reconciler repairs, status reads), records each
//! function's DynamoDB calls as the IAM actions they need, and the template's grants must
//! cover every one of them and hold nothing more.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use stacks::webhook::{self, Stage};
use tests::local::{LocalCloud, body_webhook_id, http};

const SECRET: &str = "least-privilege-secret";

/// Grants of calls no run here can make: the receiver reads a record back (`GetItem`) when a
/// conditional write fails without returning the item (DynamoDB returns it, so this path is
/// a fallback; without the grant a redelivery would fail where it does not).
const FALLBACKS: [(&str, &str); 2] = [
    ("Receiver", "dynamodb:GetItem"),
    // Only when a start fails (the record says so) or succeeds after one that failed.
    ("Receiver", "dynamodb:UpdateItem"),
];

fn post(cloud: &LocalCloud, delivery: &str, body: &str, signed: bool) -> (u16, Value) {
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes());
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
    ];
    if signed {
        headers.push(("X-Hub-Signature-256", sig.as_str()));
    }
    let (code, text) = http("POST", &format!("{}/webhooks", cloud.api), &headers, body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The DynamoDB endpoint of the local cloud (its front, which records the calls).
fn dynamo(cloud: &LocalCloud) -> String {
    cloud
        .logs()
        .lines()
        .find_map(|l| l.strip_prefix("[local] DynamoDB: ").map(str::to_owned))
        .expect("the local cloud logs its DynamoDB endpoint")
}

/// The webhook whose execution start is dropped (the reconciler starts it).
const LOST: &str = r#"{"type":"user","userId":"u"}"#;

#[test]
fn every_grant_is_called_and_every_call_granted() {
    let lost = body_webhook_id(LOST);
    let drop = format!("drop-start={lost}:1");
    let cloud = LocalCloud::reconciled(&["--audit-calls", "--fault", &drop], Some(SECRET));
    let order = r#"{"type":"order","orderId":"LP-1"}"#;
    let (code, first) = post(&cloud, "lp-1", order, true);
    assert_eq!(code, 202, "{first}");
    let (code, again) = post(&cloud, "lp-1", order, true);
    assert_eq!((code, &again["id"]), (202, &first["id"]), "a redelivery");
    let (code, bad) = post(&cloud, "lp-bad", r#"{"type":"refund"}"#, true);
    assert_eq!(code, 202, "{bad}");
    let (code, _) = post(&cloud, "lp-lost", LOST, true);
    assert_eq!(code, 202);
    for (id, end) in [
        (first["id"].as_str().unwrap(), "COMPLETED"),
        (bad["id"].as_str().unwrap(), "FAILED"),
        (lost.as_str(), "COMPLETED"),
    ] {
        let done = cloud.wait_terminal(id, Duration::from_secs(30));
        assert_eq!(done["status"], end, "{done}");
    }
    let (_, text) = http("GET", &format!("{}/_local/calls", dynamo(&cloud)), &[], "");
    let called: BTreeMap<String, BTreeSet<(String, String)>> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let t = webhook::synth(Stage::Dev).unwrap().to_value().unwrap();
    for function in ["Receiver", "Processor", "Status", "Reconciler"] {
        let granted: BTreeSet<(String, String)> =
            crate::template::dynamodb_grants(&t, &format!("{function}Role"))
                .into_iter()
                .collect();
        let calls = called.get(function).cloned().unwrap_or_default();
        let ungranted: Vec<_> = calls.difference(&granted).collect();
        assert!(
            ungranted.is_empty(),
            "{function} calls without a grant: {ungranted:?}"
        );
        let unused: Vec<_> = granted
            .difference(&calls)
            .filter(|(action, _)| !FALLBACKS.contains(&(function, action.as_str())))
            .collect();
        assert!(
            unused.is_empty(),
            "{function} holds grants it never used: {unused:?}\ncalled: {calls:?}"
        );
    }
}
