//! Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature` with
//! space-separated `v1,<base64>` signatures over `{id}.{timestamp}.{body}`, secrets
//! `whsec_<base64>`), verified by the specification's own Rust crate, `standardwebhooks`.
//! The delivery id is `webhook-id`, which the signature covers.

use aws_lambda_events::http::{HeaderMap, HeaderValue};
use standardwebhooks::{
    HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, Webhook, WebhookError,
};

use super::{Keys, Refusal, Request, Verified};

const EXPECTED_TIMESTAMP: &str = "a unix time in seconds";
const EXPECTED_SIGNATURE: &str = "space-separated `v1,<base64>` signatures";

fn header_map(id: &str, ts: &str, sig: &str) -> Result<HeaderMap, Refusal> {
    let mut map = HeaderMap::new();
    for (name, value, expected) in [
        (HEADER_WEBHOOK_ID, id, "an id"),
        (HEADER_WEBHOOK_TIMESTAMP, ts, EXPECTED_TIMESTAMP),
        (HEADER_WEBHOOK_SIGNATURE, sig, EXPECTED_SIGNATURE),
    ] {
        let v = HeaderValue::from_str(value).map_err(|_| Refusal::Malformed {
            header: name,
            expected,
        })?;
        map.insert(name, v);
    }
    Ok(map)
}

pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let id = req.text(HEADER_WEBHOOK_ID, "an id")?;
    let ts_text = req.text(HEADER_WEBHOOK_TIMESTAMP, EXPECTED_TIMESTAMP)?;
    let ts: i64 = ts_text.parse().map_err(|_| Refusal::Malformed {
        header: HEADER_WEBHOOK_TIMESTAMP,
        expected: EXPECTED_TIMESTAMP,
    })?;
    let signature = req.text(HEADER_WEBHOOK_SIGNATURE, EXPECTED_SIGNATURE)?;
    if !signature.split(' ').all(|s| s.split_once(',').is_some()) {
        return Err(Refusal::Malformed {
            header: HEADER_WEBHOOK_SIGNATURE,
            expected: EXPECTED_SIGNATURE,
        });
    }
    // The tolerance against our clock first (the crate checks its own clock too).
    req.fresh(ts)?;
    let headers = header_map(id, ts_text, signature)?;
    let mut last = WebhookError::InvalidSignature;
    for key in keys.all() {
        let Ok(secret) = std::str::from_utf8(key) else {
            continue;
        };
        let Ok(wh) = Webhook::new(secret) else {
            continue;
        };
        match wh.verify(req.body, &headers) {
            Ok(()) => {
                return Ok(Verified {
                    delivery_id: Some(id.to_owned()),
                    signed_at: Some(ts),
                    challenge: None,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(match last {
        WebhookError::TimestampTooOldError => Refusal::Stale {
            age_s: req.now_s - ts,
        },
        WebhookError::FutureTimestampError => Refusal::Future {
            ahead_s: ts - req.now_s,
        },
        WebhookError::InvalidPayload => Refusal::Body("the body is not UTF-8".to_owned()),
        _ => Refusal::Mismatch(HEADER_WEBHOOK_SIGNATURE),
    })
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
