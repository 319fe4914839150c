//! `POST /webhooks`: verify, record, start the durable processor, answer 202.
//!
//! Nothing is stored for a rejected request. A delivery is recorded once (its id comes from
//! the provider's delivery id, or the body), and its durable execution is named after it, so
//! a redelivery returns the same id and never starts a second execution. If starting the
//! execution fails, the answer is 503 and the record says so: the provider's retry, or the
//! reconciler, starts it. A redelivery of a FAILED webhook is a duplicate too (a failure is
//! never silently processed again); its answer says how to redrive it.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::http::Method;
use serde::Serialize;
use webhook_contract::{env, routes};
use webhook_core::http::{self, body, header};
use webhook_core::ids::{Delivery, MAX_DELIVERY_ID_LEN};
use webhook_core::record::Start;
use webhook_core::record::check_fits;
use webhook_core::secret::SecretSource;
use webhook_core::starter::{LambdaStarter, Starter};
use webhook_core::store::{Inserted, NewWebhook};
use webhook_core::time::Instant;
use webhook_core::{Status, Store, WebhookId, config, signature};

/// Largest body accepted, in bytes (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The receiver and what it needs.
#[derive(Debug)]
pub struct Receiver<S> {
    pub store: Store,
    pub starter: S,
    pub secret: SecretSource,
    /// The stage's name, for the redrive hint of a failed webhook.
    pub stage: String,
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

/// A request refused before anything was stored.
fn refuse(status: u16, message: &str) -> ApiGatewayProxyResponse {
    http::error(status, message)
}

/// `application/json`, `application/json; charset=utf-8`, `application/<x>+json`.
fn is_json(content_type: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let media = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json") && sub.len() > 5)
}

/// The status URL of `id`: next to the path the request came in on, so that it carries the
/// API Gateway stage (`/dev/webhooks/<id>`).
fn status_url(req: &ApiGatewayProxyRequest, id: &WebhookId) -> String {
    let suffix = format!("/{}", routes::WEBHOOKS);
    match req.request_context.path.as_deref() {
        Some(path) if path.ends_with(&suffix) => format!("{path}/{id}"),
        _ => format!("/{}/{id}", routes::WEBHOOKS),
    }
}

impl<S: Starter> Receiver<S> {
    /// Handles one API Gateway proxy request; every failure is an HTTP answer.
    pub async fn handle(&self, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        match self.receive(&req).await {
            Ok(res) | Err(res) => res,
        }
    }

    async fn receive(
        &self,
        req: &ApiGatewayProxyRequest,
    ) -> Result<ApiGatewayProxyResponse, ApiGatewayProxyResponse> {
        if req.http_method != Method::POST {
            let res = refuse(
                405,
                &format!("{} is not allowed here; use POST", req.http_method),
            );
            return Err(http::with_header(res, "allow", "POST"));
        }
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
        match header(req, "content-type") {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(refuse(
                    415,
                    &format!(
                        "Content-Type must be application/json, not {:?}",
                        String::from_utf8_lossy(ct)
                    ),
                ));
            }
            None => return Err(refuse(415, "Content-Type must be application/json")),
        }
        match self.secret.get().await {
            Ok(Some(secret)) => signature::verify(secret, &raw, header(req, signature::HEADER))
                .map_err(|e| refuse(401, &e.to_string()))?,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook secret");
                return Err(refuse(
                    503,
                    "cannot verify signatures right now; retry later",
                ));
            }
        }
        if raw.is_empty() {
            return Err(refuse(400, "the body is empty; send a JSON object"));
        }
        let text = std::str::from_utf8(&raw)
            .map_err(|e| refuse(400, &format!("the body is not valid UTF-8: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| refuse(400, &format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(refuse(
                400,
                &format!(
                    "the body must be a JSON object, not {}",
                    webhook_core::rules::json_kind(&value)
                ),
            ));
        }
        let delivery = Delivery::of(|name| header(req, name), &raw)
            .map_err(|e| refuse(400, &e.to_string()))?;
        let id = delivery.webhook_id();

        let new = NewWebhook {
            id: id.clone(),
            delivery_id: delivery.value().to_owned(),
            payload: text.to_owned(),
        };
        let record = match self.store.insert(new, Instant::now()).await {
            Ok(Inserted::Created(record)) => record,
            Ok(Inserted::Existing(record)) => {
                tracing::info!(%id, status = record.status.as_str(), "redelivery");
                if record.status == Status::Failed {
                    return Ok(self.failed_duplicate(req, &record));
                }
                if matches!(record.start, Start::Started { .. }) {
                    return Ok(self.accepted(req, &id, record.status, true));
                }
                record
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
        let attempt = record.attempt;
        match self.starter.start(&id, attempt).await {
            Ok(started) => {
                let start = Start::Started {
                    execution_arn: started.execution_arn,
                };
                let recorded = self
                    .store
                    .record_start(&id, attempt, &start, Instant::now())
                    .await;
                if let Err(e) = recorded {
                    // The execution runs; a redelivery would only start it again by name,
                    // which the service deduplicates.
                    tracing::warn!(%id, error = %e, "execution started but not recorded");
                }
                tracing::info!(%id, "accepted");
                Ok(self.accepted(req, &id, record.status, false))
            }
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot start the processor");
                let failed = Start::Failed {
                    reason: e.to_string(),
                };
                let recorded = self
                    .store
                    .record_start(&id, attempt, &failed, Instant::now())
                    .await;
                if let Err(store_err) = recorded {
                    tracing::error!(%id, error = %store_err, "cannot record the failed start");
                }
                let body = serde_json::json!({
                    "message": "the webhook was recorded but processing could not start; deliver it again",
                    "id": id.as_str(),
                });
                Err(http::json(503, &body))
            }
        }
    }

    /// The answer to a redelivery of a webhook that FAILED: a duplicate, not processed again.
    fn failed_duplicate(
        &self,
        req: &ApiGatewayProxyRequest,
        record: &webhook_core::Record,
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

/// The receiver as configured by the environment (see [`webhook_contract::env`]).
pub async fn from_env() -> Result<Receiver<LambdaStarter>, config::ConfigError> {
    let sdk = config::aws().await;
    let store = config::store(&sdk)?;
    let function = config::required(env::PROCESSOR_FUNCTION)?;
    let secret = SecretSource::from_env(&sdk);
    if secret.is_off() {
        tracing::warn!(
            "neither {} nor {} is set: webhook signatures are NOT checked",
            env::WEBHOOK_SECRET,
            env::WEBHOOK_SECRET_ARN
        );
    }
    Ok(Receiver {
        store,
        starter: LambdaStarter::new(aws_sdk_lambda::Client::new(&sdk), function),
        secret,
        stage: config::optional(env::STAGE).unwrap_or_else(|| "<stage>".to_owned()),
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
