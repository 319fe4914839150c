//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `{t}.{body}`,
//! five minutes of tolerance. The delivery id is the event's own `id`, inside the signed
//! body.

use hmac::Mac;

use super::{Keys, Refusal, Request, Verified, any_matches, hmac};

pub const SIGNATURE: &str = "Stripe-Signature";

const EXPECTED: &str = "`t=<unix time>,v1=<64 hex digits>` (more `v1=` allowed)";

pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let value = req.text(SIGNATURE, EXPECTED)?;
    let malformed = || Refusal::Malformed {
        header: SIGNATURE,
        expected: EXPECTED,
    };
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in value.split(',') {
        let (k, v) = item.trim().split_once('=').ok_or_else(malformed)?;
        match k {
            "t" if timestamp.is_none() => {
                timestamp = Some(v.parse::<i64>().map_err(|_| malformed())?)
            }
            "v1" if v.len() == 64 => signatures.push(hex::decode(v).map_err(|_| malformed())?),
            "v1" => return Err(malformed()),
            _ => {} // v0 (test mode's legacy scheme) and future versions are ignored
        }
    }
    let t = timestamp.ok_or_else(malformed)?;
    if signatures.is_empty() {
        return Err(malformed());
    }
    req.fresh(t)?;
    let t_text = t.to_string();
    if !any_matches(keys, &[t_text.as_bytes(), b".", req.body], &signatures) {
        return Err(Refusal::Mismatch(SIGNATURE));
    }
    let event: serde_json::Value = serde_json::from_slice(req.body).map_err(|e| {
        Refusal::Body(format!(
            "a Stripe event is a JSON object; the body is not valid JSON: {e}"
        ))
    })?;
    if !event.is_object() {
        return Err(Refusal::Body(
            "a Stripe event is a JSON object, not another JSON value".to_owned(),
        ));
    }
    let id = event["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Refusal::Body("a Stripe event has an `id`".to_owned()))?;
    Ok(Verified {
        delivery_id: Some(id.to_owned()),
        signed_at: Some(t),
        challenge: None,
    })
}

pub(crate) fn sign(secret: &[u8], now_s: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let t = now_s.to_string();
    let digest = hex::encode(
        hmac(secret, &[t.as_bytes(), b".", body])
            .finalize()
            .into_bytes(),
    );
    vec![(SIGNATURE, format!("t={t},v1={digest}"))]
}
