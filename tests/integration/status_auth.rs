//! The status route's authorization (`status-auth`) on a real `deployer local`: with
//! `api-key`, API Gateway's 403 without the stage's key, the banner's curl (with the key)
//! through; with `iam`, 403 without a SigV4 signature or with a wrong one, and curl's own
//! SigV4 signer (`--aws-sigv4`, the banner's command) through. The webhook routes stay open
//! to providers (their signatures are checked by the receiver).

use std::process::Command;

use serde_json::Value;
use tests::local::{LocalCloud, http};

const SECRET: &str = "status-auth-secret";

/// The banner's status curl, for webhook `id`, run by bash: (HTTP status, body).
fn banner_curl(cloud: &LocalCloud, id: &str) -> (u16, Value) {
    let printed = cloud.printed();
    let line = printed
        .lines()
        .find(|l| l.trim_start().starts_with("curl -s") && l.contains("/webhooks/<id>"))
        .unwrap_or_else(|| panic!("no status curl in the banner:\n{printed}"));
    let command = line
        .replace("<id>", id)
        .replacen("curl -s", "curl -s -w '\\n%{http_code}'", 1);
    let out = Command::new("bash")
        .args(["-c", &command])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// A webhook accepted on the default source: its id.
fn accepted(cloud: &LocalCloud) -> String {
    let body = r#"{"type":"order","orderId":"auth-1"}"#;
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", "auth-1"),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let (code, text) = http("POST", &format!("{}/webhooks", cloud.api), &headers, body);
    assert_eq!(code, 202, "the webhook routes stay open: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn with_api_key_the_status_needs_the_stages_key() {
    tests::require_tool("curl", "install curl");
    let cloud = LocalCloud::start(
        &["--ephemeral", "--set", "status-auth=api-key"],
        Some(SECRET),
    );
    let id = accepted(&cloud);
    let url = format!("{}/webhooks/{id}", cloud.api);
    let (code, text) = http("GET", &url, &[], "");
    assert_eq!((code, text.as_str()), (403, r#"{"message":"Forbidden"}"#));
    let (code, _) = http("GET", &url, &[("x-api-key", "not-the-key")], "");
    assert_eq!(code, 403);
    let (code, body) = banner_curl(&cloud, &id);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["id"], id.as_str());
}

#[test]
fn with_iam_the_status_needs_a_sigv4_signature() {
    tests::require_tool("curl", "install curl (7.75 or later: --aws-sigv4)");
    let cloud = LocalCloud::start(&["--ephemeral", "--set", "status-auth=iam"], Some(SECRET));
    let id = accepted(&cloud);
    let url = format!("{}/webhooks/{id}", cloud.api);
    let (code, text) = http("GET", &url, &[], "");
    assert_eq!(
        (code, text.as_str()),
        (403, r#"{"message":"Missing Authentication Token"}"#)
    );
    // Signed by curl with a secret the local cloud does not hold.
    let out = Command::new("curl")
        .args([
            "-s",
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            "local:wrong",
            &url,
        ])
        .output()
        .unwrap();
    let refused = String::from_utf8_lossy(&out.stdout);
    assert!(
        refused.contains("signature we calculated does not match"),
        "{refused}"
    );
    // The banner's command: curl's SigV4 with the local cloud's credentials.
    let (code, body) = banner_curl(&cloud, &id);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["id"], id.as_str());
}
