//! Webhook sources' signature schemes: what each provider signs, how, and what of a request
//! the signature vouches for (the delivery id, the timestamp). Every scheme tries each of the
//! source's keys (the current secret, and the previous one during a rotation) against each
//! signature the request carries, in constant time, and refuses a timestamp outside its
//! tolerance. A refusal says which header is wrong and how (401).

pub mod github;
pub mod shopify;
pub mod slack;
pub mod standard;
pub mod stripe;

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A provider's way of signing webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// `X-Hub-Signature-256: sha256=<hex>` over the body; delivery id `X-GitHub-Delivery`.
    Github,
    /// Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// `Stripe-Signature: t=<ts>,v1=<hex>`; the delivery id is the event's `id`.
    Stripe,
    /// `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`.
    Slack,
    /// `X-Shopify-Hmac-Sha256` (base64) over the body; delivery id `X-Shopify-Webhook-Id`.
    Shopify,
}

impl Scheme {
    pub const ALL: [Scheme; 5] = [
        Scheme::Github,
        Scheme::Standard,
        Scheme::Stripe,
        Scheme::Slack,
        Scheme::Shopify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Github => "github",
            Scheme::Standard => "standard",
            Scheme::Stripe => "stripe",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
        }
    }

    /// Whether the delivery id is part of what the provider signs. When it is not (GitHub,
    /// Shopify), a captured request could be sent again under a new delivery id: the body
    /// decides then (see `ids`).
    pub fn signs_the_delivery_id(self) -> bool {
        matches!(self, Scheme::Standard | Scheme::Stripe | Scheme::Slack)
    }

    /// Whether this scheme's providers send form-encoded bodies (Slack's slash commands,
    /// GitHub's "application/x-www-form-urlencoded" delivery option).
    pub fn accepts_forms(self) -> bool {
        matches!(self, Scheme::Github | Scheme::Slack)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature scheme `{0}`; the schemes are github, standard, stripe, slack, shopify")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownScheme(s.to_owned()))
    }
}

/// The seconds a signed timestamp may be away from now (Stripe's, Slack's and Standard
/// Webhooks' own default: five minutes).
pub const TOLERANCE_S: i64 = 300;

/// A source's signing keys: the current secret, and during a rotation's grace window the
/// previous one.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub current: Vec<u8>,
    pub previous: Option<Vec<u8>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("current", &"<redacted>")
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Keys {
    pub fn one(current: impl Into<Vec<u8>>) -> Self {
        Keys {
            current: current.into(),
            previous: None,
        }
    }

    /// Every key to try, the current one first.
    pub fn all(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.current.as_slice()).chain(self.previous.as_deref())
    }
}

/// What a verified request's signature vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The provider's delivery id, when the scheme has one (else the body decides).
    pub delivery_id: Option<String>,
    /// The signed timestamp, epoch seconds, when the scheme signs one.
    pub signed_at: Option<i64>,
    /// Slack's `url_verification`: the challenge to answer, instead of recording anything.
    pub challenge: Option<String>,
}

/// Why a request's signature was refused: every variant is a 401 and names the header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing {header} header: send {expected}")]
    Missing {
        header: &'static str,
        expected: &'static str,
    },
    #[error("malformed {header} header: expected {expected}")]
    Malformed {
        header: &'static str,
        expected: &'static str,
    },
    #[error("{0} does not match the request: no signature was made with this source's secret")]
    Mismatch(&'static str),
    #[error(
        "the signed timestamp is {age_s} s old; the tolerance is {TOLERANCE_S} s (a replay, or a clock far behind)"
    )]
    Stale { age_s: i64 },
    #[error("the signed timestamp is {ahead_s} s in the future; the tolerance is {TOLERANCE_S} s")]
    Future { ahead_s: i64 },
    #[error("{0}")]
    Body(String),
}

/// What a scheme reads of a request.
pub struct Request<'a> {
    /// A header's raw value by its lowercase name.
    pub header: &'a (dyn Fn(&str) -> Option<&'a [u8]> + Sync),
    pub body: &'a [u8],
    /// Now, in epoch seconds (the tolerance is measured against it).
    pub now_s: i64,
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("body_bytes", &self.body.len())
            .field("now_s", &self.now_s)
            .finish()
    }
}

impl Request<'_> {
    /// The header's value as text, or `Missing`/`Malformed`.
    fn text(&self, name: &'static str, expected: &'static str) -> Result<&str, Refusal> {
        let missing = Refusal::Missing {
            header: name,
            expected,
        };
        let Some(raw) = (self.header)(name) else {
            return Err(missing);
        };
        let text = std::str::from_utf8(raw)
            .map(str::trim)
            .map_err(|_| Refusal::Malformed {
                header: name,
                expected,
            })?;
        if text.is_empty() {
            return Err(missing);
        }
        Ok(text)
    }

    /// Refuses `ts` outside the tolerance around now.
    fn fresh(&self, ts: i64) -> Result<(), Refusal> {
        let age_s = self.now_s - ts;
        if age_s > TOLERANCE_S {
            Err(Refusal::Stale { age_s })
        } else if -age_s > TOLERANCE_S {
            Err(Refusal::Future { ahead_s: -age_s })
        } else {
            Ok(())
        }
    }
}

/// HMAC-SHA256 of `parts`, concatenated, under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac
}

/// Whether any of `signatures` is the HMAC of `parts` under any of `keys` (each compared
/// in constant time).
pub(crate) fn any_matches(keys: &Keys, parts: &[&[u8]], signatures: &[Vec<u8>]) -> bool {
    keys.all().any(|key| {
        signatures
            .iter()
            .any(|sig| hmac(key, parts).verify_slice(sig).is_ok())
    })
}

/// Verifies `req` under `scheme` with `keys`.
pub fn verify(scheme: Scheme, keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    match scheme {
        Scheme::Github => github::verify(keys, req),
        Scheme::Standard => standard::verify(keys, req),
        Scheme::Stripe => stripe::verify(keys, req),
        Scheme::Slack => slack::verify(keys, req),
        Scheme::Shopify => shopify::verify(keys, req),
    }
}

/// The provider's event type of a request, when it names one: GitHub's `X-GitHub-Event`,
/// Shopify's `X-Shopify-Topic`, the event's `type` for Stripe and Standard Webhooks, Slack's
/// inner `event.type` (or its outer `type`, or a slash command's `command`).
pub fn event_type<'a>(
    scheme: Scheme,
    header: &dyn Fn(&str) -> Option<&'a [u8]>,
    event: &serde_json::Value,
) -> Option<String> {
    let from_header = |name: &str| {
        header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(|v| v.trim().to_owned())
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let found = match scheme {
        Scheme::Github => from_header(github::EVENT),
        Scheme::Shopify => from_header(shopify::TOPIC),
        Scheme::Stripe | Scheme::Standard => text(&event["type"]),
        Scheme::Slack => text(&event["event"]["type"])
            .or_else(|| text(&event["type"]))
            .or_else(|| text(&event["command"])),
    };
    found.filter(|t| !t.is_empty())
}

/// The headers a provider would send for `body` under `scheme` with `secret`, delivery id
/// `delivery` and timestamp `now_s` (for the local cloud's ready-to-paste examples; tests
/// sign with the providers' own libraries).
pub fn sign(
    scheme: Scheme,
    secret: &[u8],
    delivery: &str,
    now_s: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    match scheme {
        Scheme::Github => github::sign(secret, delivery, body),
        Scheme::Standard => standard::sign(secret, delivery, now_s, body),
        Scheme::Stripe => stripe::sign(secret, now_s, body),
        Scheme::Slack => slack::sign(secret, now_s, body),
        Scheme::Shopify => shopify::sign(secret, delivery, body),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A request with `headers` (lowercase names) and `body` at `now_s`.
    pub(crate) fn check(
        scheme: Scheme,
        keys: &Keys,
        headers: &[(&str, &str)],
        body: &[u8],
        now_s: i64,
    ) -> Result<Verified, Refusal> {
        let owned: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect();
        let header = |name: &str| {
            owned
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
        };
        verify(
            scheme,
            keys,
            &Request {
                header: &header,
                body,
                now_s,
            },
        )
    }

    #[test]
    fn schemes_parse_and_print() {
        for s in Scheme::ALL {
            assert_eq!(s.as_str().parse::<Scheme>(), Ok(s));
        }
        assert!(
            "hmac"
                .parse::<Scheme>()
                .unwrap_err()
                .to_string()
                .contains("github, standard")
        );
    }

    #[test]
    fn keys_never_print() {
        let k = Keys {
            current: b"s3cr3t".to_vec(),
            previous: Some(b"old".to_vec()),
        };
        assert!(!format!("{k:?}").contains("s3cr3t"));
    }

    /// Signing and verifying agree for every scheme, with the current or the previous key,
    /// and a third key is refused.
    pub(crate) fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
    }

    #[test]
    fn every_scheme_round_trips_with_either_key() {
        // Standard Webhooks' crate checks the timestamp against the real clock.
        let now = now();
        let body = br#"{"id":"evt_1","type":"ping","event_id":"Ev1"}"#;
        for scheme in Scheme::ALL {
            let secret: &[u8] = if scheme == Scheme::Standard {
                b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            } else {
                b"current"
            };
            let headers = sign(scheme, secret, "d-1", now, body);
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let keys = Keys {
                current: b"another".to_vec(),
                previous: Some(secret.to_vec()),
            };
            let ok = check(scheme, &keys, &headers, body, now);
            assert!(ok.is_ok(), "{scheme}: {ok:?}");
            let wrong = Keys::one(b"whsec_d3Jvbmd3cm9uZ3dyb25nd3Jvbmc=".to_vec());
            let err = check(scheme, &wrong, &headers, body, now).unwrap_err();
            assert!(matches!(err, Refusal::Mismatch(_)), "{scheme}: {err}");
        }
    }
}
