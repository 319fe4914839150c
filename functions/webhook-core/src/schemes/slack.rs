//! Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:{ts}:{body}` with
//! `X-Slack-Request-Timestamp`, five minutes of tolerance. Events API bodies are JSON (the
//! delivery id is `event_id`; a `url_verification` asks for its challenge back); slash
//! commands are form-encoded (the delivery id is `trigger_id`).

use hmac::Mac;

use super::{Keys, Refusal, Request, Verified, any_matches, hmac};

pub const SIGNATURE: &str = "X-Slack-Signature";
pub const TIMESTAMP: &str = "X-Slack-Request-Timestamp";

const EXPECTED_SIGNATURE: &str = "`v0=` and 64 hex digits";
const EXPECTED_TIMESTAMP: &str = "a unix time in seconds";

pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let ts_text = req.text(TIMESTAMP, EXPECTED_TIMESTAMP)?;
    let ts: i64 = ts_text.parse().map_err(|_| Refusal::Malformed {
        header: TIMESTAMP,
        expected: EXPECTED_TIMESTAMP,
    })?;
    let value = req.text(SIGNATURE, EXPECTED_SIGNATURE)?;
    let malformed = || Refusal::Malformed {
        header: SIGNATURE,
        expected: EXPECTED_SIGNATURE,
    };
    let (version, digits) = value.split_once('=').ok_or_else(malformed)?;
    if version != "v0" || digits.len() != 64 {
        return Err(malformed());
    }
    let signature = hex::decode(digits).map_err(|_| malformed())?;
    req.fresh(ts)?;
    if !any_matches(
        keys,
        &[b"v0:", ts_text.as_bytes(), b":", req.body],
        &[signature],
    ) {
        return Err(Refusal::Mismatch(SIGNATURE));
    }
    let (delivery_id, challenge) = match serde_json::from_slice::<serde_json::Value>(req.body) {
        Ok(event) => (
            event["event_id"].as_str().map(str::to_owned),
            (event["type"] == "url_verification")
                .then(|| event["challenge"].as_str().unwrap_or_default().to_owned()),
        ),
        // A slash command: form fields.
        Err(_) => (crate::forms::field(req.body, "trigger_id"), None),
    };
    Ok(Verified {
        delivery_id,
        signed_at: Some(ts),
        challenge,
    })
}

pub(crate) fn sign(secret: &[u8], now_s: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = now_s.to_string();
    let digest = hex::encode(
        hmac(secret, &[b"v0:", ts.as_bytes(), b":", body])
            .finalize()
            .into_bytes(),
    );
    vec![(TIMESTAMP, ts), (SIGNATURE, format!("v0={digest}"))]
}
