//! API Gateway (REST) on one machine: the template's routes, Lambda proxy integration,
//! the REST proxy event, and API Gateway's own answers (403 for an unknown route, 413 past
//! 10 MB, 429 past the stage's throttling, 504 past the 29 s integration timeout).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::lambda::Function;
use super::metrics::Metrics;
use super::model::{ACCOUNT, ApiSpec, Route, RouteAuth};
use super::sigv4;
use super::store_sync::StoreSync;

pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// For tests: an integration timeout shorter than API Gateway's 29 s, as a duration
/// (`2s`). No function behind the webhook API can run 29 s (their Timeout is 10 s; past it
/// the function is killed and the answer is 502), so only a shorter one shows the 504.
pub const INTEGRATION_TIMEOUT_ENV: &str = "DEPLOYER_LOCAL_INTEGRATION_TIMEOUT";

/// [`INTEGRATION_TIMEOUT`], or the duration [`INTEGRATION_TIMEOUT_ENV`] gives.
fn integration_timeout() -> Duration {
    let Ok(raw) = std::env::var(INTEGRATION_TIMEOUT_ENV) else {
        return INTEGRATION_TIMEOUT;
    };
    humantime::parse_duration(&raw).unwrap_or_else(|e| {
        eprintln!("[local] {INTEGRATION_TIMEOUT_ENV}=`{raw}` ignored ({e}); using 29 s");
        INTEGRATION_TIMEOUT
    })
}

pub struct Gateway {
    pub api: ApiSpec,
    pub functions: BTreeMap<String, Arc<Function>>,
    metrics: Arc<Metrics>,
    /// What `/_local/endpoints` answers (outside every stage's path).
    endpoints: Value,
    bucket: Mutex<(f64, Instant)>,
    next: std::sync::atomic::AtomicU64,
    /// The values of the stack's API keys (`x-api-key` of routes that require one).
    api_keys: Vec<String>,
    /// The credentials SigV4 signatures are checked with (`AWS_IAM` routes).
    credentials: Vec<(String, String)>,
    /// How long an integration may take before the 504 ([`INTEGRATION_TIMEOUT`] unless a
    /// test shortens it).
    integration_timeout: Duration,
    /// Passed before every answer: what the answer acknowledges is on disk.
    store: Arc<StoreSync>,
}

impl Gateway {
    pub fn new(
        api: ApiSpec,
        functions: BTreeMap<String, Arc<Function>>,
        metrics: Arc<Metrics>,
        endpoints: Value,
        api_keys: Vec<String>,
        store: Arc<StoreSync>,
    ) -> Arc<Self> {
        let burst = api.throttle.map_or(f64::MAX, |(_, b)| f64::from(b));
        Arc::new(Gateway {
            api,
            functions,
            metrics,
            endpoints,
            bucket: Mutex::new((burst, Instant::now())),
            next: std::sync::atomic::AtomicU64::new(1),
            api_keys,
            credentials: sigv4::accepted(),
            integration_timeout: integration_timeout(),
            store,
        })
    }

    /// API Gateway's authorization of `route`: `None` when the caller may call it, else
    /// API Gateway's 403.
    fn authorize(&self, route: &Route, parts: &Parts, body: &[u8]) -> Option<Response> {
        match route.auth {
            RouteAuth::None => None,
            RouteAuth::ApiKey => {
                let key = parts.headers.get("x-api-key").map(HeaderValue::as_bytes);
                let known = key.is_some_and(|k| self.api_keys.iter().any(|v| v.as_bytes() == k));
                (!known).then(|| message(StatusCode::FORBIDDEN, "Forbidden"))
            }
            RouteAuth::Iam => {
                let headers: Vec<(String, String)> = parts
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let now_s = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let signed = sigv4::Signed {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    query: parts.uri.query().unwrap_or_default(),
                    headers: &headers,
                    body,
                    now_s,
                };
                sigv4::verify(&signed, &self.credentials)
                    .err()
                    .map(|e| message(StatusCode::FORBIDDEN, &e.to_string()))
            }
        }
    }

    /// Token bucket of the stage: `rate` per second, `burst` at most.
    async fn admit(&self) -> bool {
        let Some((rate, burst)) = self.api.throttle else {
            return true;
        };
        let mut b = self.bucket.lock().await;
        let elapsed = b.1.elapsed().as_secs_f64();
        b.0 = (b.0 + elapsed * rate).min(f64::from(burst));
        b.1 = Instant::now();
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    let mut res = (status, axum::Json(json!({ "message": text }))).into_response();
    res.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("ApiGatewayError"),
    );
    res
}

/// Every request to the API; server errors count in API Gateway's `5XXError` metric.
pub async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    if req.uri().path() == "/_local/endpoints" {
        return axum::Json(gw.endpoints.clone()).into_response();
    }
    gw.metrics.count("apigateway", "request");
    let mut res = route(&gw, req).await;
    if let Err(e) = gw.store.barrier().await {
        res = message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    if res.status().is_server_error() {
        let dims = [
            ("ApiName", gw.api.name.as_str()),
            ("Stage", gw.api.stage.as_str()),
        ];
        gw.metrics.put("AWS/ApiGateway", "5XXError", &dims, 1.0);
    }
    res
}

async fn route(gw: &Gateway, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let stage_prefix = format!("/{}", gw.api.stage);
    let Some(rest) = path
        .strip_prefix(&stage_prefix)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return message(StatusCode::FORBIDDEN, "Missing Authentication Token");
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = parts.method.as_str();
    let mut matched = None;
    for route in &gw.api.routes {
        if route.segments.len() != segments.len() {
            continue;
        }
        let mut params = BTreeMap::new();
        let fits = route
            .segments
            .iter()
            .zip(&segments)
            .all(|(pattern, actual)| {
                match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => {
                        params.insert(name.to_owned(), percent_decode(actual, false));
                        true
                    }
                    None => pattern == actual,
                }
            });
        if fits && (route.method == method || route.method == "ANY") {
            matched = Some((route, params));
            break;
        }
    }
    let Some((route, params)) = matched else {
        return message(StatusCode::FORBIDDEN, "Missing Authentication Token");
    };
    if !gw.admit().await {
        return message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    let body = match to_bytes(body, MAX_PAYLOAD).await {
        Ok(b) => b,
        Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long"),
    };
    if let Some(refused) = gw.authorize(route, &parts, &body) {
        return refused;
    }
    let Some(function) = gw.functions.get(&route.function).cloned() else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
    };

    let mut headers = serde_json::Map::new();
    let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.insert(name.as_str().to_owned(), json!(v));
        multi
            .entry(name.as_str().to_owned())
            .or_default()
            .push(json!(v));
    }
    let mut query = serde_json::Map::new();
    let mut multi_query: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for pair in parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k, true), percent_decode(v, true));
        query.insert(k.clone(), json!(v));
        multi_query.entry(k).or_default().push(json!(v));
    }
    let (text, binary) = match std::str::from_utf8(&body) {
        Ok(t) => (t.to_owned(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&body),
            true,
        ),
    };
    let request_id = format!(
        "local-{:016x}",
        gw.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let nullable = |m: serde_json::Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    let event = json!({
        "resource": route.resource_path,
        "path": rest,
        "httpMethod": method,
        "headers": nullable(headers),
        "multiValueHeaders": multi,
        "queryStringParameters": nullable(query),
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": route.resource_path,
            "httpMethod": method,
            "path": path,
            "stage": gw.api.stage,
            "requestId": request_id,
            "accountId": ACCOUNT,
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": super::durable::now() as u64 * 1000,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": if body.is_empty() { Value::Null } else { json!(text) },
        "isBase64Encoded": binary,
    });
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    let outcome = match tokio::time::timeout(gw.integration_timeout, function.invoke(payload)).await
    {
        Ok(outcome) => outcome,
        Err(_) => return message(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out"),
    };
    let Ok(out) = outcome else {
        return message(StatusCode::BAD_GATEWAY, "Internal server error");
    };
    proxy_response(&out)
        .unwrap_or_else(|| message(StatusCode::BAD_GATEWAY, "Internal server error"))
}

/// The HTTP response a Lambda proxy integration's result describes.
fn proxy_response(out: &[u8]) -> Option<Response> {
    let v: Value = serde_json::from_slice(out).ok()?;
    let status = StatusCode::from_u16(u16::try_from(v["statusCode"].as_u64()?).ok()?).ok()?;
    let body = match v["body"].as_str() {
        Some(b) if v["isBase64Encoded"] == true => {
            base64::engine::general_purpose::STANDARD.decode(b).ok()?
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    let mut add = |k: &str, v: &Value| {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(k.as_bytes()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            res.headers_mut().append(name, value);
        }
    };
    for (k, vals) in v["multiValueHeaders"].as_object().into_iter().flatten() {
        for val in vals.as_array().into_iter().flatten() {
            add(k, val);
        }
    }
    for (k, val) in v["headers"].as_object().into_iter().flatten() {
        add(k, val);
    }
    Some(res)
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if plus_is_space && bytes[i] == b'+' {
                    b' '
                } else {
                    bytes[i]
                });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_without_panicking_on_odd_input() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%\u{e9}\u{e9}", false), "%\u{e9}\u{e9}");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
    }
}
