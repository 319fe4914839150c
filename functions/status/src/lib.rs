//! `GET /webhooks/{id}`: the status of one webhook.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::http::Method;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use webhook_contract::{env, routes, steps};
use webhook_core::record::{Failure, Record, StepTimes};
use webhook_core::{Status, Store, WebhookId, config, http};

#[derive(Debug)]
pub struct StatusApi {
    pub store: Store,
    /// `Access-Control-Allow-Origin` for every answer, when set.
    pub cors_allow_origin: Option<String>,
}

/// Step times in execution order.
#[derive(Debug)]
struct Steps<'a>(Vec<(&'a str, &'a StepTimes)>);

impl Serialize for Steps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, times) in &self.0 {
            map.serialize_entry(name, times)?;
        }
        map.end()
    }
}

/// The 200 body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct View<'a> {
    id: &'a str,
    /// The source it came in through, and the provider's event type when it named one.
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    status: Status,
    attempt: u32,
    current_step: Option<&'a str>,
    steps: Steps<'a>,
    received_at: &'a str,
    updated_at: &'a str,
    expires_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Failure>,
}

fn view(record: &Record) -> View<'_> {
    let known = steps::ALL.iter().filter_map(|name| {
        record
            .steps
            .get_key_value(*name)
            .map(|(k, v)| (k.as_str(), v))
    });
    let others = record
        .steps
        .iter()
        .filter(|(k, _)| !steps::ALL.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v));
    View {
        id: record.id.as_str(),
        source: &record.source,
        event_type: record.event_type.as_deref(),
        status: record.status,
        attempt: record.attempt,
        current_step: record.current_step.as_deref(),
        steps: Steps(known.chain(others).collect()),
        received_at: &record.received_at,
        updated_at: &record.updated_at,
        expires_at: &record.expires_at,
        // The result is stored as JSON text; a record from an older processor version
        // that is not JSON is shown as a string.
        result: record.result.as_ref().map(|r| {
            serde_json::from_str(r).unwrap_or_else(|_| serde_json::Value::String(r.clone()))
        }),
        error: record.error.as_ref(),
    }
}

impl StatusApi {
    pub async fn handle(&self, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
        let res = match self.answer(&req).await {
            Ok(res) | Err(res) => res,
        };
        let res = http::with_header(res, "cache-control", "no-store");
        match &self.cors_allow_origin {
            Some(origin) => http::with_header(res, "access-control-allow-origin", origin),
            None => res,
        }
    }

    async fn answer(
        &self,
        req: &ApiGatewayProxyRequest,
    ) -> Result<ApiGatewayProxyResponse, ApiGatewayProxyResponse> {
        if req.http_method != Method::GET {
            let res = http::error(
                405,
                &format!("{} is not allowed here; use GET", req.http_method),
            );
            return Err(http::with_header(res, "allow", "GET"));
        }
        let raw = req
            .path_parameters
            .get(routes::KEY_PARAM)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| http::error(400, "missing webhook id: GET /webhooks/{id}"))?;
        let id = WebhookId::parse(raw).map_err(|e| http::error(400, &e.to_string()))?;
        let record = match self.store.get(&id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(http::error(404, &format!("no webhook {id}"))),
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot read the status record");
                let status = if e.is_transient() { 503 } else { 500 };
                return Err(http::error(
                    status,
                    "cannot read the status right now; retry later",
                ));
            }
        };
        // The key lookup is exact; this guards the guarantee that no other record is shown.
        if record.id != id {
            tracing::error!(%id, got = %record.id, "store returned another record");
            return Err(http::error(500, "internal error"));
        }
        Ok(http::json(200, &view(&record)))
    }
}

/// The status API as configured by the environment.
pub async fn from_env() -> Result<StatusApi, config::ConfigError> {
    Ok(StatusApi {
        store: config::store(&config::aws().await)?,
        cors_allow_origin: config::optional(env::CORS_ALLOW_ORIGIN),
    })
}
