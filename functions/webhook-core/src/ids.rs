//! Webhook ids: derived from the provider's delivery id (or the body), so that a retried
//! delivery maps to the same status record and the same durable execution.

use std::fmt;

use sha2::{Digest, Sha256};

/// Headers that carry a provider's delivery id, in order of preference.
pub const DELIVERY_HEADERS: [&str; 3] = ["x-webhook-id", "x-github-delivery", "idempotency-key"];

/// Longest delivery id accepted from a header.
pub const MAX_DELIVERY_ID_LEN: usize = 200;

/// The id of one webhook: `wh_` and 32 lowercase hex digits. It is the status record's key,
/// the path parameter of `GET /webhooks/{id}` and the durable execution name (which allows
/// `[a-zA-Z0-9-_]{1,64}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a webhook id: ids are `wh_` followed by 32 lowercase hex digits")]
pub struct BadId(pub String);

/// Where a webhook's identity came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A delivery id header (lowercase name) and its value.
    Header { name: &'static str, value: String },
    /// No header: the SHA-256 of the body, so identical bodies are one webhook.
    BodyHash(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "header {header} must be 1 to {MAX_DELIVERY_ID_LEN} printable ASCII characters without spaces"
)]
pub struct BadDeliveryId {
    pub header: &'static str,
}

impl Delivery {
    /// The delivery identity of a request: the first delivery header present, else the body.
    pub fn of<'a>(
        header: impl Fn(&str) -> Option<&'a [u8]>,
        body: &[u8],
    ) -> Result<Self, BadDeliveryId> {
        for name in DELIVERY_HEADERS {
            if let Some(raw) = header(name) {
                let ok = !raw.is_empty()
                    && raw.len() <= MAX_DELIVERY_ID_LEN
                    && raw.iter().all(|b| b.is_ascii_graphic());
                if !ok {
                    return Err(BadDeliveryId { header: name });
                }
                let value = String::from_utf8_lossy(raw).into_owned();
                return Ok(Delivery::Header { name, value });
            }
        }
        Ok(Delivery::BodyHash(hex::encode(Sha256::digest(body))))
    }

    /// The value recorded with the webhook.
    pub fn value(&self) -> &str {
        match self {
            Delivery::Header { value, .. } => value,
            Delivery::BodyHash(h) => h,
        }
    }

    pub fn webhook_id(&self) -> WebhookId {
        let mut h = Sha256::new();
        match self {
            // Every delivery header names the same thing, so the header's name is not
            // part of the identity: a provider may switch headers between retries.
            Delivery::Header { value, .. } => {
                h.update(b"delivery:");
                h.update(value.as_bytes());
            }
            Delivery::BodyHash(hash) => {
                h.update(b"body:");
                h.update(hash.as_bytes());
            }
        }
        let digest = hex::encode(h.finalize());
        WebhookId(format!("wh_{}", &digest[..32]))
    }
}

impl WebhookId {
    pub fn parse(s: &str) -> Result<Self, BadId> {
        let ok = s.len() == 35
            && s.starts_with("wh_")
            && s[3..]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(WebhookId(s.to_owned()))
        } else {
            Err(BadId(s.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a [u8]> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_bytes())
        }
    }

    #[test]
    fn same_delivery_same_id_whatever_the_header() {
        let a = Delivery::of(headers(&[("x-webhook-id", "abc-1")]), b"{}").unwrap();
        let b = Delivery::of(headers(&[("idempotency-key", "abc-1")]), b"{\"x\":1}").unwrap();
        assert_eq!(a.webhook_id(), b.webhook_id());
        assert!(WebhookId::parse(a.webhook_id().as_str()).is_ok());
    }

    #[test]
    fn without_a_header_the_body_decides() {
        let none = headers(&[]);
        let a = Delivery::of(&none, b"{\"a\":1}").unwrap();
        let b = Delivery::of(&none, b"{\"a\":1}").unwrap();
        let c = Delivery::of(&none, b"{\"a\":2}").unwrap();
        assert_eq!(a.webhook_id(), b.webhook_id());
        assert_ne!(a.webhook_id(), c.webhook_id());
        // A header value equal to a body hash is still another webhook.
        let h = Delivery::of(headers(&[("x-webhook-id", a.value())]), b"").unwrap();
        assert_ne!(h.webhook_id(), a.webhook_id());
    }

    #[test]
    fn bad_delivery_ids_are_refused() {
        for bad in ["", "has space", &"x".repeat(201)] {
            assert_eq!(
                Delivery::of(headers(&[("x-github-delivery", bad)]), b"{}"),
                Err(BadDeliveryId {
                    header: "x-github-delivery"
                })
            );
        }
    }

    #[test]
    fn parse_accepts_only_the_canonical_shape() {
        assert!(WebhookId::parse("wh_0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "wh_",
            "wh_0123456789ABCDEF0123456789abcdef",
            "xx_0123456789abcdef0123456789abcdef",
            "wh_0123456789abcdef0123456789abcde",
            "wh_0123456789abcdef0123456789abcdef0",
            "../etc/passwd",
        ] {
            assert!(WebhookId::parse(bad).is_err(), "{bad}");
        }
    }
}
