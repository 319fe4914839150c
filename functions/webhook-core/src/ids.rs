//! Webhook ids: derived from the source and the provider's delivery id (or the body) with a
//! server-side key, so that a retried delivery maps to the same status record and the same
//! durable execution, and an id cannot be guessed from public input.

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
    /// The delivery id the source's scheme read (a signed header, the event's own id).
    Given(String),
    /// No header: the SHA-256 of the body, so identical bodies are one webhook.
    BodyHash(String),
}

/// The SHA-256 of a body, hex.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The server-side key ids are derived with (a Secrets Manager secret in AWS).
#[derive(Clone, PartialEq, Eq)]
pub struct IdKey(Vec<u8>);

impl fmt::Debug for IdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdKey(<redacted>)")
    }
}

impl IdKey {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        IdKey(key.into())
    }

    fn digest(&self, parts: &[&[u8]]) -> String {
        use hmac::Mac;
        let mut mac =
            hmac::Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for p in parts {
            mac.update(p);
            mac.update(b"\0");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The id of `delivery` of `source`.
    pub fn webhook_id(&self, source: &str, delivery: &Delivery) -> WebhookId {
        let (kind, value): (&[u8], &str) = match delivery {
            // Every delivery header names the same thing, so the header's name is not part
            // of the identity: a provider may switch headers between retries.
            Delivery::Header { value, .. } | Delivery::Given(value) => (b"delivery", value),
            Delivery::BodyHash(hash) => (b"body", hash),
        };
        let digest = self.digest(&[source.as_bytes(), kind, value.as_bytes()]);
        WebhookId(format!("wh_{}", &digest[..32]))
    }
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

    /// A delivery id a scheme read: checked like a header's.
    pub fn given(header: &'static str, value: String) -> Result<Self, BadDeliveryId> {
        let ok = !value.is_empty()
            && value.len() <= MAX_DELIVERY_ID_LEN
            && value.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Delivery::Given(value))
        } else {
            Err(BadDeliveryId { header })
        }
    }

    /// The value recorded with the webhook.
    pub fn value(&self) -> &str {
        match self {
            Delivery::Header { value, .. } | Delivery::Given(value) => value,
            Delivery::BodyHash(h) => h,
        }
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

    const KEY: &[u8] = b"test-id-key";

    fn id(d: &Delivery) -> WebhookId {
        IdKey::new(KEY).webhook_id("default", d)
    }

    #[test]
    fn same_delivery_same_id_whatever_the_header() {
        let a = Delivery::of(headers(&[("x-webhook-id", "abc-1")]), b"{}").unwrap();
        let b = Delivery::of(headers(&[("idempotency-key", "abc-1")]), b"{\"x\":1}").unwrap();
        assert_eq!(id(&a), id(&b));
        assert!(WebhookId::parse(id(&a).as_str()).is_ok());
        assert_eq!(id(&a), id(&Delivery::Given("abc-1".into())));
    }

    #[test]
    fn without_a_header_the_body_decides() {
        let none = headers(&[]);
        let a = Delivery::of(&none, b"{\"a\":1}").unwrap();
        let b = Delivery::of(&none, b"{\"a\":1}").unwrap();
        let c = Delivery::of(&none, b"{\"a\":2}").unwrap();
        assert_eq!(id(&a), id(&b));
        assert_ne!(id(&a), id(&c));
        // A header value equal to a body hash is still another webhook.
        let h = Delivery::of(headers(&[("x-webhook-id", a.value())]), b"").unwrap();
        assert_ne!(id(&h), id(&a));
    }

    #[test]
    fn ids_depend_on_the_key_and_the_source() {
        let d = Delivery::Given("evt_1".into());
        let other_key = IdKey::new(b"another".to_vec()).webhook_id("default", &d);
        assert_ne!(id(&d), other_key, "not guessable without the key");
        assert_ne!(
            id(&d),
            IdKey::new(KEY).webhook_id("stripe", &d),
            "per source"
        );
        assert!(!format!("{:?}", IdKey::new(KEY)).contains("test-id-key"));
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
