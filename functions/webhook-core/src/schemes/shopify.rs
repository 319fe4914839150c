//! Shopify: `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body. The delivery id
//! (`X-Shopify-Webhook-Id`) is not signed; the topic is `X-Shopify-Topic`.

use base64::Engine;
use hmac::Mac;

use super::{Keys, Refusal, Request, Verified, any_matches, hmac};

pub const SIGNATURE: &str = "X-Shopify-Hmac-Sha256";
pub const DELIVERY: &str = "X-Shopify-Webhook-Id";
pub const TOPIC: &str = "X-Shopify-Topic";

const EXPECTED: &str = "the base64 of a 32-byte HMAC-SHA256";

pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let value = req.text(SIGNATURE, EXPECTED)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()
        .filter(|s| s.len() == 32)
        .ok_or(Refusal::Malformed {
            header: SIGNATURE,
            expected: EXPECTED,
        })?;
    if !any_matches(keys, &[req.body], &[signature]) {
        return Err(Refusal::Mismatch(SIGNATURE));
    }
    Ok(Verified {
        delivery_id: (req.header)(DELIVERY)
            .and_then(|d| std::str::from_utf8(d).ok())
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        signed_at: None,
        challenge: None,
    })
}

pub(crate) fn sign(secret: &[u8], delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let digest = hmac(secret, &[body]).finalize().into_bytes();
    vec![
        (
            SIGNATURE,
            base64::engine::general_purpose::STANDARD.encode(digest),
        ),
        (DELIVERY, delivery.to_owned()),
        (TOPIC, "orders/create".to_owned()),
    ]
}
