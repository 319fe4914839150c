//! Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature` with
//! space-separated `v1,<base64>` signatures over `{id}.{timestamp}.{body}`, secrets
//! `whsec_<base64>`), signed by the specification's own Rust crate, `standardwebhooks`.
//! The delivery id is `webhook-id`, which the signature covers.

use standardwebhooks::{
    HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, Webhook, WebhookError,
};

use super::{Keys, Refusal, Request, Verified};

const EXPECTED_TIMESTAMP: &str = "a unix time in seconds";
const EXPECTED_SIGNATURE: &str = "space-separated `v1,<base64>` signatures";

/// Whether `a` and `b` are equal, in time that depends on their length only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

// The crate computes the signature (`Webhook::sign`: the secret's `whsec_` base64, the
// signed content, the encoding); the timestamp is held against the receiver's clock here,
// not the crate's own (`Webhook::verify` reads the system clock).
pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let id = req.text(HEADER_WEBHOOK_ID, "an id")?;
    let ts_text = req.text(HEADER_WEBHOOK_TIMESTAMP, EXPECTED_TIMESTAMP)?;
    let ts: i64 = ts_text.parse().map_err(|_| Refusal::Malformed {
        header: HEADER_WEBHOOK_TIMESTAMP,
        expected: EXPECTED_TIMESTAMP,
    })?;
    let signature = req.text(HEADER_WEBHOOK_SIGNATURE, EXPECTED_SIGNATURE)?;
    let listed: Vec<&str> = signature.split(' ').filter(|s| !s.is_empty()).collect();
    if !listed.iter().all(|s| s.split_once(',').is_some()) {
        return Err(Refusal::Malformed {
            header: HEADER_WEBHOOK_SIGNATURE,
            expected: EXPECTED_SIGNATURE,
        });
    }
    req.fresh(ts)?;
    for key in keys.all() {
        let Some(wh) = std::str::from_utf8(key)
            .ok()
            .and_then(|k| Webhook::new(k).ok())
        else {
            continue;
        };
        let expected = match wh.sign(id, ts, req.body) {
            Ok(expected) => expected,
            Err(WebhookError::InvalidPayload) => {
                return Err(Refusal::Body("the body is not UTF-8".to_owned()));
            }
            Err(_) => continue,
        };
        if listed
            .iter()
            .any(|s| same(s.as_bytes(), expected.as_bytes()))
        {
            return Ok(Verified {
                delivery_id: Some(id.to_owned()),
                signed_at: Some(ts),
                challenge: None,
            });
        }
    }
    Err(Refusal::Mismatch(HEADER_WEBHOOK_SIGNATURE))
}

pub(crate) fn sign(
    secret: &[u8],
    delivery: &str,
    now_s: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let signature = std::str::from_utf8(secret)
        .ok()
        .and_then(|s| Webhook::new(s).ok())
        .and_then(|wh| wh.sign(delivery, now_s, body).ok())
        .unwrap_or_default();
    vec![
        (HEADER_WEBHOOK_ID, delivery.to_owned()),
        (HEADER_WEBHOOK_TIMESTAMP, now_s.to_string()),
        (HEADER_WEBHOOK_SIGNATURE, signature),
    ]
}
