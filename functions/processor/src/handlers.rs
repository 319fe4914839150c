//! What a webhook does: a handler per source and event type, all registered in one place,
//! [`registry`]. The processor checks the source's envelope in its `validate` step and runs
//! the handler in its `process` step (checkpointed: a handler that returns normally is not
//! run again for that attempt; a transient error is retried). An event no handler takes
//! completes with a result that says so: it is not a failure.
//!
//! Adding one is a line in [`registry`]:
//!
//! ```
//! # use processor::handlers::{Event, Registry};
//! # use serde_json::json;
//! let registry = Registry::new().on("stripe", "invoice.paid", |e: &Event<'_>| {
//!     let invoice = &e.payload["data"]["object"];
//!     Ok(json!({"invoice": invoice["id"], "amount": invoice["amount_paid"]}))
//! });
//! assert!(registry.find("stripe", "invoice.paid").is_some());
//! assert!(registry.find("stripe", "invoice.voided").is_none());
//! ```

use serde_json::{Value, json};
use webhook_contract::sources;
use webhook_core::rules::{self, RULES};

/// One webhook as a handler sees it.
#[derive(Debug)]
pub struct Event<'a> {
    pub source: &'a str,
    /// The source's signature scheme (`github`, `stripe`, ...).
    pub scheme: &'a str,
    /// The provider's event type (`""` when the request named none).
    pub event_type: &'a str,
    pub delivery_id: &'a str,
    /// The body, parsed (a form's fields as a JSON object).
    pub payload: &'a Value,
}

/// Why a handler failed: transient failures are retried (with backoff, six attempts).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

/// What the team implements per source and event type: what the webhook does, and a
/// small JSON summary of it for the record (capped at 512 characters; `null` for none).
pub trait Handler: Send + Sync {
    fn handle(&self, event: &Event<'_>) -> Result<Value, HandlerError>;
}

impl<F> Handler for F
where
    F: Fn(&Event<'_>) -> Result<Value, HandlerError> + Send + Sync,
{
    fn handle(&self, event: &Event<'_>) -> Result<Value, HandlerError> {
        self(event)
    }
}

/// Every handler by source and event type (`*`: any type of that source).
#[derive(Default)]
pub struct Registry(Vec<(String, String, Box<dyn Handler>)>);

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(s, t, _)| format!("{s}/{t}")))
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Handles events of `event_type` (or `*`) from `source`.
    pub fn on(mut self, source: &str, event_type: &str, handler: impl Handler + 'static) -> Self {
        self.0
            .push((source.to_owned(), event_type.to_owned(), Box::new(handler)));
        self
    }

    /// The handler of an event: the exact type first, then the source's `*`.
    pub fn find(&self, source: &str, event_type: &str) -> Option<&dyn Handler> {
        let by = |t: &str| {
            self.0
                .iter()
                .find(|(s, et, _)| s == source && et == t)
                .map(|(_, _, h)| h.as_ref())
        };
        by(event_type).or_else(|| by("*"))
    }
}

/// The business reference of a reference-pattern webhook: `orderId`, `transactionId`,
/// `userId` or `id`, when present.
pub fn reference(payload: &Value) -> Option<String> {
    ["orderId", "transactionId", "userId", "id"]
        .iter()
        .find_map(|k| match payload.get(*k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// The handlers of this deployment.
pub fn registry() -> Registry {
    Registry::new()
        // The reference pattern's webhooks (orders, payments, users, system events): the
        // result's kind and reference say all there is (`null`: no output of its own).
        .on(sources::DEFAULT, "*", |_: &Event<'_>| Ok(Value::Null))
        .on("github", "ping", |e: &Event<'_>| {
            Ok(json!({"zen": e.payload["zen"], "hook": e.payload["hook_id"]}))
        })
        .on("stripe", "payment_intent.succeeded", |e: &Event<'_>| {
            let intent = &e.payload["data"]["object"];
            Ok(json!({"paymentIntent": intent["id"], "amount": intent["amount"]}))
        })
}

/// Every reason the event breaks its source's envelope; empty when it is well-formed.
/// The `default` source keeps the reference pattern's rules (`type` in
/// order/payment/user/system, ...); a provider's source checks that provider's envelope.
pub fn envelope_violations(
    source: &str,
    scheme: &str,
    event_type: &str,
    payload: &Value,
) -> Vec<String> {
    if source == sources::DEFAULT {
        return rules::violations(RULES, payload);
    }
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_owned());
        }
    };
    match scheme {
        "github" => need(
            !event_type.is_empty(),
            "a GitHub delivery names its event in X-GitHub-Event",
        ),
        "shopify" => need(
            !event_type.is_empty(),
            "a Shopify webhook names its topic in X-Shopify-Topic",
        ),
        "stripe" => {
            need(text(&payload["id"]), "a Stripe event has an `id`");
            need(text(&payload["type"]), "a Stripe event has a `type`");
            need(
                payload["object"] == "event",
                "a Stripe event's `object` is \"event\"",
            );
        }
        "standard" => need(
            text(&payload["type"]),
            "a Standard Webhooks payload has a `type`",
        ),
        "slack" => need(
            text(&payload["type"]) || text(&payload["command"]),
            "a Slack request is an event (`type`) or a slash command (`command`)",
        ),
        other => need(false, &format!("unknown scheme `{other}`")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_per_scheme() {
        let stripe = json!({"id": "evt_1", "object": "event", "type": "x"});
        assert!(envelope_violations("stripe", "stripe", "x", &stripe).is_empty());
        assert_eq!(
            envelope_violations("stripe", "stripe", "", &json!({})).len(),
            3
        );
        assert!(!envelope_violations("github", "github", "", &json!({})).is_empty());
        assert!(envelope_violations("gh", "github", "push", &json!({})).is_empty());
        // The default source keeps the reference rules.
        assert!(
            !envelope_violations("default", "github", "push", &json!({"type": "x"})).is_empty()
        );
    }

    #[test]
    fn the_exact_type_wins_over_the_catch_all() {
        let r = Registry::new()
            .on("s", "*", |_: &Event<'_>| Ok(json!("any")))
            .on("s", "a", |_: &Event<'_>| Ok(json!("a")));
        let e = |t| Event {
            source: "s",
            scheme: "github",
            event_type: t,
            delivery_id: "d",
            payload: &Value::Null,
        };
        assert_eq!(
            r.find("s", "a").unwrap().handle(&e("a")).unwrap(),
            json!("a")
        );
        assert_eq!(
            r.find("s", "b").unwrap().handle(&e("b")).unwrap(),
            json!("any")
        );
        assert!(r.find("t", "a").is_none());
    }
}
