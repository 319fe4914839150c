//! `POST /webhooks/{source}` (and `POST /webhooks`, the `default` source): verify the
//! source's signature, record, start the durable processor, answer 202.
//!
//! Nothing is stored for a rejected request. A delivery is recorded once: its id is derived
//! with a server-side key from the source and the provider's delivery id (or the body), and
//! its durable execution is named after it, so a redelivery returns the same id and never
//! starts a second execution. A redelivery must carry the same body (409 otherwise); for
//! signed sources whose delivery ids are not signed (GitHub, Shopify), the signed body is the
//! identity instead, so a body can only ever be one delivery (409 for the same body under a
//! new id: a replay). If starting the execution fails, the answer is
//! 503 and the record says so: the provider's retry, or the reconciler, starts it. A
//! redelivery of a FAILED webhook is a duplicate too (a failure is never silently processed
//! again); its answer says how to redrive it.

use std::collections::BTreeMap;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::http::Method;
use serde::Serialize;
use serde_json::Value;
use webhook_contract::{env, routes, sources};
use webhook_core::http::{self, body, header};
use webhook_core::ids::{Delivery, IdKey, MAX_DELIVERY_ID_LEN, body_hash};
use webhook_core::record::{Start, check_fits};
use webhook_core::schemes::{self, Refusal, Scheme, Verified};
use webhook_core::secret::SecretSource;
use webhook_core::sources::{Sources, secret_env};
use webhook_core::starter::{LambdaStarter, Starter};
use webhook_core::store::{Inserted, NewWebhook};
use webhook_core::time::{Clock, Instant};
use webhook_core::{Record, Status, Store, WebhookId, config};

/// Largest body accepted, in bytes (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// One source the receiver serves.
#[derive(Debug)]
pub struct Source {
    pub scheme: Scheme,
    pub secret: SecretSource,
}

/// The receiver and what it needs.
#[derive(Debug)]
pub struct Receiver<S> {
    pub store: Store,
    pub starter: S,
    /// Every source by name; `POST /webhooks` is [`sources::DEFAULT`].
    pub sources: BTreeMap<String, Source>,
    /// The key webhook ids are derived with.
    pub id_key: IdKey,
    /// The stage's name, for the redrive hint of a failed webhook.
    pub stage: String,
    /// What signed timestamps are held against.
    pub clock: Clock,
}

/// The 202 body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted<'a> {
    pub id: &'a str,
    pub status: Status,
    pub status_url: &'a str,
    /// For a redelivered webhook that FAILED: why it is not processed again, and how to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why a request gets no 202.
#[derive(Debug)]
enum Refused {
    /// Refused before anything was stored: a status and what to fix.
    Plain { status: u16, message: String },
    /// Not a POST.
    Method(Method),
    /// Recorded, but its execution could not start: the provider should deliver it again.
    NotStarted(WebhookId),
}

impl Refused {
    fn response(self) -> ApiGatewayProxyResponse {
        match self {
            Refused::Plain { status, message } => http::error(status, &message),
            Refused::Method(method) => http::with_header(
                http::error(405, &format!("{method} is not allowed here; use POST")),
                "allow",
                "POST",
            ),
            Refused::NotStarted(id) => http::json(
                503,
                &serde_json::json!({
                    "message": "the webhook was recorded but processing could not start; deliver it again",
                    "id": id.as_str(),
                }),
            ),
        }
    }
}

/// A request refused before anything was stored.
fn refuse(status: u16, message: &str) -> Refused {
    Refused::Plain {
        status,
        message: message.to_owned(),
    }
}

type Answer = Result<ApiGatewayProxyResponse, Refused>;

/// What a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Json,
    Form,
}

/// The media type of a Content-Type value, lowercase.
fn media(content_type: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(content_type).ok()?;
    Some(text.split(';').next()?.trim().to_ascii_lowercase())
}

/// `application/json`, `application/json; charset=utf-8`, `application/<x>+json`.
fn is_json(content_type: &[u8]) -> bool {
    media(content_type).is_some_and(|m| {
        m == "application/json"
            || m.strip_prefix("application/")
                .is_some_and(|sub| sub.ends_with("+json") && sub.len() > 5)
    })
}

/// What the body is, or 415 with what the source takes.
fn content(req: &ApiGatewayProxyRequest, scheme: Scheme) -> Result<Content, Refused> {
    let forms = scheme.accepts_forms();
    let expected = if forms {
        "application/json or application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    match header(req, "content-type") {
        Some(ct) if is_json(ct) => Ok(Content::Json),
        Some(ct) if forms && media(ct).as_deref() == Some("application/x-www-form-urlencoded") => {
            Ok(Content::Form)
        }
        Some(ct) => Err(refuse(
            415,
            &format!(
                "Content-Type must be {expected}, not {:?}",
                String::from_utf8_lossy(ct)
            ),
        )),
        None => Err(refuse(415, &format!("Content-Type must be {expected}"))),
    }
}

/// The status URL of `id`: under the stage's `/webhooks`, whatever source the request came
/// in through (`/dev/webhooks/<id>`).
fn status_url(req: &ApiGatewayProxyRequest, id: &WebhookId) -> String {
    let marker = format!("/{}", routes::WEBHOOKS);
    match req
        .request_context
        .path
        .as_deref()
        .and_then(|p| p.find(&marker).map(|at| &p[..at]))
    {
        Some(stage) => format!("{stage}{marker}/{id}"),
        None => format!("{marker}/{id}"),
    }
}

/// The body parsed: a JSON object, or a form's fields (GitHub's form option: its `payload`).
fn parse(scheme: Scheme, content: Content, raw: &[u8]) -> Result<(String, Value), Refused> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| refuse(400, &format!("the body is not valid UTF-8: {e}")))?;
    let value = match content {
        Content::Form if scheme == Scheme::Github => {
            webhook_core::forms::payload(raw).ok_or_else(|| {
                refuse(
                    400,
                    "a GitHub form delivery carries its event as JSON in the `payload` field",
                )
            })?
        }
        Content::Form => webhook_core::forms::as_json(raw)
            .ok_or_else(|| refuse(400, "the form body has no fields"))?,
        Content::Json => serde_json::from_str(text)
            .map_err(|e| refuse(400, &format!("the body is not valid JSON: {e}")))?,
    };
    if !value.is_object() {
        return Err(refuse(
            400,
            &format!(
                "the body must be a JSON object, not {}",
                webhook_core::rules::json_kind(&value)
            ),
        ));
    }
    Ok((text.to_owned(), value))
}

impl<S: Starter> Receiver<S> {
    /// Handles one API Gateway proxy request; every failure is an HTTP answer.
    pub async fn handle(&self, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        self.receive(&req).await.unwrap_or_else(Refused::response)
    }

    /// The source the request names (its path parameter), or `default`.
    fn source<'a>(
        &'a self,
        req: &ApiGatewayProxyRequest,
    ) -> Result<(&'a str, &'a Source), Refused> {
        let name = req
            .path_parameters
            .get(routes::KEY_PARAM)
            .map_or(sources::DEFAULT, String::as_str);
        self.sources
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| {
                let known: Vec<&str> = self.sources.keys().map(String::as_str).collect();
                refuse(
                    404,
                    &format!(
                        "no webhook source `{}`; the sources are {}",
                        name.chars().take(40).collect::<String>(),
                        known.join(", ")
                    ),
                )
            })
    }

    /// The signature check of `source`: what it vouches for, or `None` when the source has
    /// no secret (signatures off).
    async fn verify(
        &self,
        source: &Source,
        req: &ApiGatewayProxyRequest,
        raw: &[u8],
    ) -> Result<Option<Verified>, Refused> {
        let unreadable = |e: webhook_core::secret::SecretError| {
            tracing::error!(error = %e, "cannot read the webhook secret");
            refuse(503, "cannot verify signatures right now; retry later")
        };
        let Some(keys) = source.secret.keys().await.map_err(unreadable)? else {
            return Ok(None);
        };
        let headers = |name: &str| header(req, name);
        let request = schemes::Request {
            header: &headers,
            body: raw,
            now_s: self.clock.now_s(),
        };
        let mut verified = schemes::verify(source.scheme, &keys, &request);
        if matches!(verified, Err(Refusal::Mismatch(_)))
            && let Some(fresh) = source.secret.reread().await.map_err(unreadable)?
        {
            // The secret was rotated since the keys were cached.
            verified = schemes::verify(source.scheme, &fresh, &request);
        }
        verified.map(Some).map_err(|refusal| match refusal {
            Refusal::Body(reason) => refuse(400, &reason),
            other => refuse(401, &other.to_string()),
        })
    }

    async fn receive(&self, req: &ApiGatewayProxyRequest) -> Answer {
        if req.http_method != Method::POST {
            return Err(Refused::Method(req.http_method.clone()));
        }
        let (name, source) = self.source(req)?;
        let raw = body(req).map_err(|e| refuse(400, &e.to_string()))?;
        if raw.len() > MAX_BODY_BYTES {
            return Err(refuse(
                413,
                &format!(
                    "the body is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
                    raw.len()
                ),
            ));
        }
        check_fits(raw.len(), MAX_DELIVERY_ID_LEN).map_err(|e| refuse(413, &e.to_string()))?;
        if raw.is_empty() {
            return Err(refuse(400, "the body is empty; send a JSON object"));
        }
        let content = content(req, source.scheme)?;
        let verified = self.verify(source, req, &raw).await?;
        if let Some(challenge) = verified.as_ref().and_then(|v| v.challenge.clone()) {
            // Slack's url_verification: answer the challenge, record nothing.
            return Ok(http::json(
                200,
                &serde_json::json!({ "challenge": challenge }),
            ));
        }
        let (text, value) = parse(source.scheme, content, &raw)?;
        let new = self.identify(
            req,
            name,
            source.scheme,
            verified.as_ref(),
            &raw,
            text,
            &value,
        )?;
        self.record(req, new).await
    }

    /// The record of a verified request: its id and its delivery id.
    ///
    /// Where the source signs the body but not the delivery id (GitHub, Shopify), the body
    /// identifies the webhook: a captured request sent again under a new delivery id finds
    /// the record of its first delivery and is refused as a replay ([`Self::redelivered`]),
    /// with the one conditional write every webhook costs.
    #[allow(clippy::too_many_arguments)]
    fn identify(
        &self,
        req: &ApiGatewayProxyRequest,
        name: &str,
        scheme: Scheme,
        verified: Option<&Verified>,
        raw: &[u8],
        text: String,
        value: &Value,
    ) -> Result<NewWebhook, Refused> {
        let delivery = match verified.and_then(|v| v.delivery_id.clone()) {
            Some(given) => Delivery::given("the delivery id", given),
            None => Delivery::of(|name| header(req, name), raw),
        }
        .map_err(|e| refuse(400, &e.to_string()))?;
        let hash = body_hash(raw);
        // Only a signed body can be replayed: without a secret anyone may send anything.
        let by_body = verified.is_some() && !scheme.signs_the_delivery_id();
        let id = if by_body {
            self.id_key
                .webhook_id(name, &Delivery::BodyHash(hash.clone()))
        } else {
            self.id_key.webhook_id(name, &delivery)
        };
        let headers = |name: &str| header(req, name);
        Ok(NewWebhook {
            id,
            delivery_id: delivery.value().to_owned(),
            payload: text,
            source: name.to_owned(),
            scheme: scheme.as_str().to_owned(),
            body_hash: hash,
            event_type: schemes::event_type(scheme, &headers, value),
        })
    }

    /// Records `new` and starts its execution; a redelivery starts nothing.
    async fn record(&self, req: &ApiGatewayProxyRequest, new: NewWebhook) -> Answer {
        let id = new.id.clone();
        let (hash, delivery_id) = (new.body_hash.clone(), new.delivery_id.clone());
        let record = match self.store.insert(new, Instant::now()).await {
            Ok(Inserted::Created(record)) => record,
            Ok(Inserted::Existing(record)) => {
                return self.redelivered(req, record, &hash, &delivery_id).await;
            }
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot record the webhook");
                let status = if e.is_transient() { 503 } else { 500 };
                return Err(refuse(
                    status,
                    "cannot record the webhook right now; retry later",
                ));
            }
        };
        self.start(req, &record, false).await
    }

    /// A webhook recorded before: the same delivery of the same body is a duplicate (started
    /// if it never was). Where the delivery id identifies the webhook, another body under it
    /// is refused; where the body does, the same body under another delivery id is (a
    /// replay).
    async fn redelivered(
        &self,
        req: &ApiGatewayProxyRequest,
        record: Record,
        hash: &str,
        delivery_id: &str,
    ) -> Answer {
        if record.delivery_id != delivery_id {
            let first = &record.delivery_id;
            tracing::warn!(id = %record.id, %first, "replay under a new delivery id");
            return Err(refuse(
                409,
                &format!(
                    "this body was delivered before, as delivery {first}: a request is delivered again under its own delivery id, never a new one"
                ),
            ));
        }
        tracing::info!(id = %record.id, status = record.status.as_str(), "redelivery");
        if record.body_hash.as_deref().is_some_and(|h| h != hash) {
            return Err(refuse(
                409,
                &format!(
                    "delivery {} was received before with another body; a delivery id names one body",
                    record.delivery_id
                ),
            ));
        }
        if record.status == Status::Failed {
            return Ok(self.failed_duplicate(req, &record));
        }
        if matches!(record.start, Start::Started { .. }) {
            return Ok(self.accepted(req, &record.id, record.status, true));
        }
        // Not seen started yet (the processor's first write records it): start it again
        // by name, which the durable service deduplicates; still a duplicate delivery.
        self.start(req, &record, true).await
    }

    /// Starts the execution of `record`'s attempt and answers 202 (503 if it cannot);
    /// `duplicate`: the delivery was received before.
    async fn start(
        &self,
        req: &ApiGatewayProxyRequest,
        record: &Record,
        duplicate: bool,
    ) -> Answer {
        let (id, attempt) = (&record.id, record.attempt);
        match self.starter.start(id, attempt).await {
            Ok(started) => {
                // The processor's first write records the start and its execution: one
                // DynamoDB call less before the 202. Only a record that says its start
                // failed is corrected here, so that it does not say so while it runs.
                if matches!(record.start, Start::Failed { .. }) {
                    let start = Start::Started {
                        execution_arn: started.execution_arn,
                    };
                    let recorded = self
                        .store
                        .record_start(id, attempt, &start, Instant::now())
                        .await;
                    if let Err(e) = recorded {
                        tracing::warn!(%id, error = %e, "execution started but not recorded");
                    }
                }
                tracing::info!(%id, "accepted");
                Ok(self.accepted(req, id, record.status, duplicate))
            }
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot start the processor");
                let failed = Start::Failed {
                    reason: e.to_string(),
                };
                let recorded = self
                    .store
                    .record_start(id, attempt, &failed, Instant::now())
                    .await;
                if let Err(store_err) = recorded {
                    tracing::error!(%id, error = %store_err, "cannot record the failed start");
                }
                Err(Refused::NotStarted(id.clone()))
            }
        }
    }

    /// The answer to a redelivery of a webhook that FAILED: a duplicate, not processed again.
    fn failed_duplicate(
        &self,
        req: &ApiGatewayProxyRequest,
        record: &Record,
    ) -> ApiGatewayProxyResponse {
        let message = format!(
            "this webhook FAILED on attempt {}; a redelivery does not process it again. \
             Redrive it once the cause is fixed: deployer webhooks redrive {} --stage {}",
            record.attempt, record.id, self.stage
        );
        self.respond(req, &record.id, record.status, true, Some(message))
    }

    fn accepted(
        &self,
        req: &ApiGatewayProxyRequest,
        id: &WebhookId,
        status: Status,
        duplicate: bool,
    ) -> ApiGatewayProxyResponse {
        self.respond(req, id, status, duplicate, None)
    }

    fn respond(
        &self,
        req: &ApiGatewayProxyRequest,
        id: &WebhookId,
        status: Status,
        duplicate: bool,
        message: Option<String>,
    ) -> ApiGatewayProxyResponse {
        let url = status_url(req, id);
        let res = http::json(
            202,
            &Accepted {
                id: id.as_str(),
                status,
                status_url: &url,
                message,
            },
        );
        let res = http::with_header(res, "location", &url);
        if duplicate {
            http::with_header(res, "x-webhook-duplicate", "true")
        } else {
            res
        }
    }
}

/// The sources of the environment (`WEBHOOK_SOURCES`, else `default` alone), each with its
/// secret.
fn sources_from_env(
    sdk: &config::SdkConfig,
) -> Result<BTreeMap<String, Source>, config::ConfigError> {
    let sources = match config::optional(env::SOURCES) {
        Some(json) => Sources::parse(&json).map_err(|e| config::ConfigError::Invalid {
            key: env::SOURCES,
            value: e.to_string(),
            expected: "JSON of {name: {scheme, secret}}",
        })?,
        None => Sources::default_only(config::optional(env::WEBHOOK_SECRET_ARN)),
    };
    let mut out = BTreeMap::new();
    for (name, spec) in sources.iter() {
        let secret = SecretSource::from_env_or(sdk, &secret_env(name), spec.secret.as_deref());
        if secret.is_off() {
            tracing::warn!(source = %name, "no secret: webhook signatures of this source are NOT checked");
        }
        out.insert(
            name.clone(),
            Source {
                scheme: spec.scheme,
                secret,
            },
        );
    }
    Ok(out)
}

/// The key ids are derived with: `WEBHOOK_ID_KEY` (local), else the secret
/// `WEBHOOK_ID_KEY_ARN`.
async fn id_key_from_env(sdk: &config::SdkConfig) -> Result<IdKey, config::ConfigError> {
    let source = SecretSource::from_env_or(
        sdk,
        env::ID_KEY,
        config::optional(env::ID_KEY_ARN).as_deref(),
    );
    match source.keys().await {
        Ok(Some(keys)) => Ok(IdKey::new(keys.current)),
        Ok(None) => Err(config::ConfigError::Missing(env::ID_KEY_ARN)),
        Err(e) => Err(config::ConfigError::Invalid {
            key: env::ID_KEY_ARN,
            value: e.to_string(),
            expected: "a readable Secrets Manager secret",
        }),
    }
}

/// The receiver as configured by the environment (see [`webhook_contract::env`]).
pub async fn from_env() -> Result<Receiver<LambdaStarter>, config::ConfigError> {
    let sdk = config::aws().await;
    let store = config::store(&sdk)?;
    let function = config::required(env::PROCESSOR_FUNCTION)?;
    Ok(Receiver {
        store,
        starter: LambdaStarter::new(aws_sdk_lambda::Client::new(&sdk), function),
        sources: sources_from_env(&sdk)?,
        id_key: id_key_from_env(&sdk).await?,
        stage: config::optional(env::STAGE).unwrap_or_else(|| "<stage>".to_owned()),
        clock: Clock::System,
    })
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.github+json",
        ] {
            assert!(is_json(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/xml",
            "application/+json",
            "json",
            "",
        ] {
            assert!(!is_json(bad.as_bytes()), "{bad}");
        }
    }
}
