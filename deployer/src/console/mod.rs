//! The console: a stage's webhooks and durable executions as pages and timelines.
//!
//! `deployer local` serves it at `<API>/_console`; `deployer console --stage S` serves it on
//! 127.0.0.1 for a deployed stage through the standard AWS chain. It reads and acts through
//! the same code as the CLI (`deployer webhooks`, `deployer executions`, `deployer
//! callback`): nothing is deployed for it. Pages are rendered on the server; a small script
//! (`assets/console.js`) refreshes a running execution's timeline and asks before an action
//! on a deployed stage. Nothing is loaded from anywhere else.

mod handlers;
mod pages;
mod pretty;
pub mod timeline;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};

use axum::extract::Request;
use axum::response::IntoResponse;
use stacks::webhook::Stage;
use tower::ServiceExt;

use crate::executions::stage::{FunctionRef, StageLambda};
use crate::local::secrets::LocalSource;
use crate::webhooks::target::{Reached, Target, TargetArgs};

/// Where the console's routes live, under the API's host.
pub const PREFIX: &str = "/_console";

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Offer the actions (redrive, stop, complete a callback); each asks before it acts.
    #[arg(long)]
    pub allow_actions: bool,
}

/// What the pages may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actions {
    /// Read-only (a deployed stage, by default).
    Off,
    /// Offered, each confirmed in the page (a deployed stage with `--allow-actions`).
    Confirm,
    /// Offered (the local cloud).
    On,
}

/// Sends test webhooks to the local cloud, signed as each source's provider would.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The API's base URL, stage included.
    pub base: String,
    pub sources: Vec<LocalSource>,
}

/// What sending a test webhook got.
#[derive(Debug)]
pub struct Sent {
    pub source: String,
    pub status: u16,
    /// The webhook's id, when the receiver accepted it.
    pub id: Option<String>,
    pub body: String,
}

impl Sent {
    pub fn line(&self) -> String {
        match &self.id {
            Some(id) => format!(
                "test webhook to {} accepted (HTTP {}): {id}",
                self.source, self.status
            ),
            None => format!(
                "test webhook to {} answered HTTP {}: {}",
                self.source, self.status, self.body
            ),
        }
    }
}

impl Sender {
    /// Sends a test webhook from `source`: a body its provider would send, made unique (a
    /// second send is another webhook, not a replay), signed with the local secret.
    pub async fn send(&self, source: &LocalSource) -> anyhow::Result<Sent> {
        let nonce = crate::local::random_hex(12);
        let delivery = format!("console-{nonce}");
        let body = test_body(source, &nonce);
        let (url, headers) = crate::local::signed_request(&self.base, source, &delivery, &body);
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let client = crate::http::Client::new()?;
        let (status, text) = client
            .request("POST", &url, &pairs, body.into_bytes())
            .await?;
        let id = (status == 202)
            .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
            .flatten()
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        Ok(Sent {
            source: source.name.clone(),
            status,
            id,
            body: text,
        })
    }
}

/// A body `source`'s provider would send, with `nonce` where the provider puts its event's
/// identity.
fn test_body(source: &LocalSource, nonce: &str) -> String {
    use webhook_core::schemes::Scheme;
    if source.name == webhook_contract::sources::DEFAULT {
        return serde_json::json!({"type": "order", "orderId": nonce, "sentBy": "console"})
            .to_string();
    }
    let v = match source.scheme {
        Scheme::Github => {
            serde_json::json!({"zen": "Design for failure.", "hook_id": 1, "console": nonce})
        }
        Scheme::Standard => {
            serde_json::json!({"type": "user.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": nonce}})
        }
        Scheme::Stripe => {
            serde_json::json!({"id": format!("evt_console_{nonce}"), "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}})
        }
        Scheme::Slack => {
            serde_json::json!({"type": "event_callback", "event_id": format!("Ev{nonce}"), "event": {"type": "app_mention", "text": "hi"}})
        }
        Scheme::Shopify => {
            serde_json::json!({"id": 1001, "total_price": "12.50", "console": nonce})
        }
    };
    v.to_string()
}

/// One console: a stage's webhooks (when it has a table) and its durable functions.
#[derive(Debug)]
pub struct Console {
    webhooks: Option<Target>,
    lambda: StageLambda,
    functions: Vec<FunctionRef>,
    actions: Actions,
    sender: Option<Sender>,
}

impl Console {
    /// The console of a running `deployer local` at `url` (stage `stage`), which sends test
    /// webhooks with `sender`.
    pub async fn local(url: &str, stage: Stage, sender: Sender) -> anyhow::Result<Self> {
        let args = TargetArgs {
            stage,
            local: Some(url.to_owned()),
        };
        let mut console = Console::connect(&args, Actions::On).await?;
        console.sender = Some(sender);
        Ok(console)
    }

    async fn connect(args: &TargetArgs, actions: Actions) -> anyhow::Result<Self> {
        // The stage is reached once, for its Lambda API and its table alike.
        let reached = Reached::reach(args).await?;
        let webhooks = if reached.has_table() {
            Some(Target::of(args.stage, &reached)?)
        } else {
            None
        };
        let lambda = StageLambda::of(args.stage, reached);
        let functions = lambda.durable_functions().await?;
        Ok(Console {
            webhooks,
            lambda,
            functions,
            actions,
            sender: None,
        })
    }

    /// "stage dev (stack webhooks-dev)" or "the local cloud at http://...".
    fn place(&self) -> String {
        self.lambda.place()
    }
}

/// The console's routes, under [`PREFIX`].
pub fn router(console: Arc<Console>) -> Router {
    let at = |path: &str| format!("{PREFIX}{path}");
    Router::new()
        .route(PREFIX, get(handlers::home))
        .route(&at("/"), get(handlers::home))
        .route(&at("/webhooks"), get(handlers::webhooks))
        .route(&at("/webhooks/{id}"), get(handlers::webhook))
        .route(&at("/webhooks/{id}/redrive"), post(handlers::redrive))
        .route(&at("/executions"), get(handlers::executions))
        .route(&at("/execution"), get(handlers::execution))
        .route(&at("/timeline"), get(handlers::timeline))
        .route(&at("/stop"), post(handlers::stop))
        .route(&at("/callback"), post(handlers::callback))
        .route(&at("/send"), post(handlers::send))
        .route(&at("/assets/{file}"), get(handlers::asset))
        .with_state(console)
}

/// The console of the `deployer local` whose API is at `origin`, for its API's listener:
/// it connects to that local cloud on its first request (the listener serves by then).
pub fn local_router(origin: String, stage: Stage, sender: Sender) -> Router {
    let cell: Arc<tokio::sync::OnceCell<Router>> = Arc::new(tokio::sync::OnceCell::new());
    let serve = move |req: Request| {
        let (cell, origin, sender) = (cell.clone(), origin.clone(), sender.clone());
        async move {
            let connect = || async {
                let console = Console::local(&origin, stage, sender).await?;
                anyhow::Ok(router(Arc::new(console)))
            };
            match cell.get_or_try_init(connect).await {
                Ok(r) => {
                    // Without this route's own match (its `*rest`), which the console's
                    // routes would read as theirs.
                    let (mut parts, body) = req.into_parts();
                    parts.extensions = Default::default();
                    let req = Request::from_parts(parts, body);
                    r.clone().oneshot(req).await.into_response()
                }
                Err(e) => {
                    let m = format!("the console cannot read this local cloud: {e:#}");
                    (axum::http::StatusCode::BAD_GATEWAY, m).into_response()
                }
            }
        }
    };
    Router::new()
        .route(PREFIX, axum::routing::any(serve.clone()))
        .route(&format!("{PREFIX}/{{*rest}}"), axum::routing::any(serve))
}

/// What a URL's query or path segment carries as it is (RFC 3986's unreserved characters).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `s` percent-encoded for a URL's query or path segment.
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// `deployer console`: serves the console of a deployed stage on 127.0.0.1 until Ctrl-C.
pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let actions = if args.allow_actions {
            Actions::Confirm
        } else {
            Actions::Off
        };
        let console = Console::connect(&args.target, actions).await?;
        let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let at = listener.local_addr()?;
        eprintln!(
            "[console] {} ({})",
            console.place(),
            match actions {
                Actions::Off => "read-only: --allow-actions offers redrive, stop and callbacks",
                _ => "actions on, each confirmed in the page",
            }
        );
        println!("Console: http://{at}{PREFIX}");
        let app = router(Arc::new(console));
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the console's server stopped")
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The console reaches a local cloud once for its Lambda API and its table alike (it
    /// read `/_local/endpoints` twice). An in-process stand-in for that one route: what is
    /// counted is the console's requests, which a real `deployer local` does not count.
    #[tokio::test]
    async fn the_console_reads_a_local_clouds_endpoints_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let endpoints = serde_json::json!({
            "lambda": origin,
            "dynamodb": origin,
            "region": "us-east-1",
            "table": "webhooks-dev",
            "processorFunction": "webhooks-dev-Processor",
            "processorAlias": "live",
            "durableFunctions": [
                {"logical": "Processor", "name": "webhooks-dev-Processor", "qualifier": "live"}
            ],
        });
        let counted = hits.clone();
        let app = Router::new().route(
            "/_local/endpoints",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = endpoints.clone();
                async move { axum::Json(body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let args = TargetArgs {
            stage: Stage::Dev,
            local: Some(format!("{origin}/dev")),
        };
        let console = Console::connect(&args, Actions::On).await.unwrap();
        assert!(console.webhooks.is_some());
        assert_eq!(console.functions.len(), 1);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
