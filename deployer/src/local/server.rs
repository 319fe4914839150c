//! The Lambda API of the local cloud, for `AWS_ENDPOINT_URL_LAMBDA`: `Invoke` (versions,
//! aliases, `RequestResponse` and `Event`, durable execution names) and the durable
//! execution API the SDK and operators use.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::durable::core::CallbackAnswer;
use super::durable::model::{CheckpointRequest, ErrorObject, ExecStatus};
use super::durable::{Durable, ListFilter, ServiceError, Start, split_qualifier};
use super::external::{ExternalDurable, HANDLER_INVOKE_HEADER, StartRequest};
use super::faults::Faults;
use super::lambda::{Function, InvokeError};
use super::metrics::Metrics;
use super::store_sync::StoreSync;
use super::versions::Versions;

pub struct Lambda {
    /// The newest version of each function, by logical id.
    pub functions: BTreeMap<String, Arc<Function>>,
    pub versions: Arc<Versions>,
    pub durable: Arc<Durable>,
    /// An external durable service that runs the executions instead of `durable`.
    pub external: Option<ExternalDurable>,
    pub faults: Arc<Faults>,
    pub metrics: Arc<Metrics>,
    /// What `/_local/endpoints` answers: where this local cloud's services are.
    pub endpoints: Value,
    /// Passed before a synchronous invocation's answer: the function's writes are on disk.
    pub store: Arc<StoreSync>,
}

/// `route`, counted as a call of the Lambda API operation `op` (what AWS bills and counts).
fn counted(
    l: &Arc<Lambda>,
    op: &'static str,
    route: axum::routing::MethodRouter<Arc<Lambda>>,
) -> axum::routing::MethodRouter<Arc<Lambda>> {
    let l = l.clone();
    route.route_layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            l.metrics.count("lambda", op);
            next.run(req)
        },
    ))
}

pub fn router(state: Arc<Lambda>) -> Router {
    const EXECUTIONS: &str = "/2025-12-01/durable-executions/{arn}";
    const CALLBACKS: &str = "/2025-12-01/durable-execution-callbacks/{id}";
    // The Lambda API: each path with the operation it is counted as.
    let api = [
        (
            "/2015-03-31/functions/{name}/invocations".to_owned(),
            "Invoke",
            post(invoke),
        ),
        (
            format!("{EXECUTIONS}/checkpoint"),
            "CheckpointDurableExecution",
            post(checkpoint),
        ),
        (
            format!("{EXECUTIONS}/state"),
            "GetDurableExecutionState",
            get(state_page),
        ),
        (
            EXECUTIONS.to_owned(),
            "GetDurableExecution",
            get(get_execution),
        ),
        (
            format!("{EXECUTIONS}/history"),
            "GetDurableExecutionHistory",
            get(history),
        ),
        (
            format!("{EXECUTIONS}/stop"),
            "StopDurableExecution",
            post(stop),
        ),
        (
            "/2025-12-01/functions/{name}/durable-executions".to_owned(),
            "ListDurableExecutionsByFunction",
            get(list),
        ),
        (
            format!("{CALLBACKS}/succeed"),
            "SendDurableExecutionCallbackSuccess",
            post(callback_succeed),
        ),
        (
            format!("{CALLBACKS}/fail"),
            "SendDurableExecutionCallbackFailure",
            post(callback_fail),
        ),
        (
            format!("{CALLBACKS}/heartbeat"),
            "SendDurableExecutionCallbackHeartbeat",
            post(callback_heartbeat),
        ),
    ];
    let router = api
        .into_iter()
        .fold(Router::new(), |router, (path, op, route)| {
            router.route(&path, counted(&state, op, route))
        });
    router
        .route("/_local/stats", get(stats))
        .route("/_local/stats/executions", get(executions_by_status))
        .route("/_local/endpoints", get(endpoints))
        .with_state(state)
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    let mut res = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({"__type": kind, "message": message, "Type": "User"})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(kind) {
        res.headers_mut().insert("x-amzn-errortype", v);
    }
    res
}

fn service_error(e: ServiceError) -> Response {
    let (status, kind) = e.code();
    error(status, kind, &e.to_string())
}

impl Lambda {
    /// The function a name refers to, and its qualifier (checked against the aliases).
    fn resolve(
        &self,
        raw: &str,
        qualifier: Option<String>,
    ) -> Result<(Arc<Function>, Option<String>), Box<Response>> {
        let (name, in_name) = split_qualifier(raw);
        let qualifier = qualifier.or(in_name);
        let f = self
            .functions
            .values()
            .find(|f| f.spec.name == name)
            .cloned()
            .ok_or_else(|| {
                error(
                    404,
                    "ResourceNotFoundException",
                    &format!("Function not found: {raw}"),
                )
            })?;
        if let Some(q) = &qualifier
            && self.durable.version_of(&f.spec.logical, q).is_none()
        {
            return Err(Box::new(error(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: {}:{q}", f.spec.arn),
            )));
        }
        Ok((f, qualifier))
    }
}

async fn invoke(
    State(l): State<Arc<Lambda>>,
    Path(name): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |k: &str| header_value(&headers, k);
    let (f, qualifier) = match l.resolve(&name, q.get("Qualifier").cloned()) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let kind = header("x-amz-invocation-type").unwrap_or_else(|| "RequestResponse".to_owned());
    // An external durable service invoking a handler: run it once with the payload as given.
    let handler_invoke = header(HANDLER_INVOKE_HEADER).is_some_and(|v| v == "true");
    if let Some(timeout) = f.spec.durable_timeout_s.filter(|_| !handler_invoke) {
        let Some(qualifier) = qualifier else {
            return error(
                400,
                "InvalidParameterValueException",
                "durable functions must be invoked with a qualified ARN (a version or an alias)",
            );
        };
        if let Some(external) = &l.external {
            return start_external(external, &f, &qualifier, &kind, &header, body, timeout).await;
        }
        let call = DurableCall {
            f: &f,
            qualifier: &qualifier,
            kind: &kind,
            timeout,
        };
        return invoke_durable(&l, call, &headers, &body).await;
    }
    let version = qualifier
        .as_deref()
        .and_then(|q| l.versions.version_of(&f.spec.logical, q))
        .unwrap_or_else(|| "$LATEST".to_owned());
    let f = match l.versions.pool(&f.spec.logical, &version).await {
        Ok(f) => f,
        Err(e) => return error(500, "ServiceException", &format!("{e:#}")),
    };
    let res = invoke_plain(f, &kind, body).await;
    // An event's 202 acknowledges nothing the function wrote: it has not run yet.
    if kind != "Event"
        && let Err(e) = l.store.barrier().await
    {
        return error(500, "ServiceException", &e.to_string());
    }
    with_version(res, &version)
}

/// A request header as text.
fn header_value(headers: &HeaderMap, k: &str) -> Option<String> {
    headers
        .get(k)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn with_version(mut res: Response, version: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(version) {
        res.headers_mut().insert("x-amz-executed-version", v);
    }
    res
}

/// An `Invoke` of a durable function, through a qualifier.
struct DurableCall<'a> {
    f: &'a Arc<Function>,
    qualifier: &'a str,
    kind: &'a str,
    timeout: u64,
}

/// Starts (or finds, by name) the execution an `Invoke` of a durable function asks for; a
/// synchronous one waits for its result, as Lambda does, up to 15 minutes.
async fn invoke_durable(
    l: &Lambda,
    call: DurableCall<'_>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let header = |k: &str| header_value(headers, k);
    let DurableCall {
        f,
        qualifier,
        kind,
        timeout,
    } = call;
    let name = header("x-amz-durable-execution-name");
    if let Some(res) = start_faults(l, f, name.as_deref(), kind, &header).await {
        return res;
    }
    let started = l
        .durable
        .start(Start {
            function: f.spec.logical.clone(),
            qualifier: qualifier.to_owned(),
            name,
            input: invocation_input(body),
            timeout_s: timeout,
            async_start: kind == "Event",
        })
        .await;
    let (arn, _) = match started {
        Ok(x) => x,
        Err(e) => return service_error(e),
    };
    let version = l
        .durable
        .version_of(&f.spec.logical, qualifier)
        .unwrap_or_else(|| "1".to_owned());
    let mut res = if kind == "Event" {
        StatusCode::ACCEPTED.into_response()
    } else {
        match l.durable.wait(&arn, Duration::from_secs(900)).await {
            Ok(e) => (
                StatusCode::OK,
                e.result.unwrap_or_else(|| "null".to_owned()),
            )
                .into_response(),
            Err(e) => return service_error(e),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&arn) {
        res.headers_mut().insert("x-amz-durable-execution-arn", v);
    }
    with_version(res, &version)
}

/// `Invoke` of a function that is not durable (or of a durable handler by an external
/// durable service).
async fn invoke_plain(f: Arc<Function>, kind: &str, body: Bytes) -> Response {
    if kind == "Event" {
        let payload = body.to_vec();
        tokio::spawn(async move {
            if let Err(e) = f.invoke(payload).await {
                eprintln!(
                    "[local] asynchronous invocation of {} failed: {e}",
                    f.spec.name
                );
            }
        });
        return StatusCode::ACCEPTED.into_response();
    }
    match f.invoke(body.to_vec()).await {
        Ok(out) => (StatusCode::OK, out).into_response(),
        Err(InvokeError::Function(doc)) => {
            let mut res = (StatusCode::OK, doc).into_response();
            res.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            res
        }
        Err(e) => {
            let mut res = (
                StatusCode::OK,
                json!({"errorType": e.error_type(), "errorMessage": e.to_string()}).to_string(),
            )
                .into_response();
            res.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            res
        }
    }
}

/// The start faults of execution `name`: the caller killed before the start, or the
/// asynchronous start accepted and dropped (to the dead-letter queue, with Lambda's metric).
async fn start_faults(
    l: &Lambda,
    f: &Function,
    name: Option<&str>,
    kind: &str,
    header: &impl Fn(&str) -> Option<String>,
) -> Option<Response> {
    let name = name?;
    if l.faults.kill_before_start(name) {
        let trace = header("x-amzn-trace-id").unwrap_or_default();
        let mut killed = false;
        for caller in l.functions.values() {
            killed |= caller.kill_traced(&trace).await;
        }
        eprintln!(
            "[local] fault injection: killed the caller starting {name} before the start ({})",
            if killed {
                "found by its trace id"
            } else {
                "caller not found"
            }
        );
        return Some(error(
            503,
            "ServiceException",
            "the caller was killed (fault injection)",
        ));
    }
    if kind == "Event" && l.faults.drop_start(name) {
        eprintln!("[local] fault injection: dropped the asynchronous start of {name}");
        l.metrics.put(
            "AWS/Lambda",
            "AsyncEventsDropped",
            &[("FunctionName", &f.spec.name)],
            1.0,
        );
        if let Some(queue) = &f.spec.dead_letter {
            l.durable.dead_letter(queue, name, "event dropped");
        }
        return Some(StatusCode::ACCEPTED.into_response());
    }
    None
}

/// `Invoke` of a durable function when an external durable service runs the executions.
async fn start_external(
    external: &ExternalDurable,
    f: &Function,
    qualifier: &str,
    kind: &str,
    header: &impl Fn(&str) -> Option<String>,
    body: Bytes,
    timeout_s: u64,
) -> Response {
    let failed = |e: anyhow::Error| error(502, "ServiceException", &format!("{e:#}"));
    let started = external
        .start(StartRequest {
            function: &f.spec.name,
            qualifier,
            name: header("x-amz-durable-execution-name"),
            input: invocation_input(&body),
            timeout_s,
        })
        .await;
    let arn = match started {
        Ok(arn) => arn,
        Err(e) => return failed(e),
    };
    let mut res = if kind == "Event" {
        StatusCode::ACCEPTED.into_response()
    } else {
        match external.wait(&arn, Duration::from_secs(900)).await {
            Ok(e) => (
                StatusCode::OK,
                e["Result"].as_str().unwrap_or("null").to_owned(),
            )
                .into_response(),
            Err(e) => return failed(e),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&arn) {
        res.headers_mut().insert("x-amz-durable-execution-arn", v);
    }
    res
}

/// The input of a durable execution: the Invoke payload, `{}` when empty.
fn invocation_input(body: &[u8]) -> String {
    if body.is_empty() {
        "{}".to_owned()
    } else {
        String::from_utf8_lossy(body).into_owned()
    }
}

fn json_or(result: Result<Value, ServiceError>) -> Response {
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => service_error(e),
    }
}

async fn checkpoint(
    State(l): State<Arc<Lambda>>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Response {
    let body: CheckpointRequest = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid(&format!("invalid checkpoint request: {e}")),
    };
    json_or(l.durable.checkpoint(&arn, body).await)
}

async fn state_page(
    State(l): State<Arc<Lambda>>,
    Path(arn): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let max = q
        .get("MaxItems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100);
    json_or(
        l.durable
            .state(
                &arn,
                q.get("CheckpointToken").map(String::as_str),
                q.get("Marker").map(String::as_str),
                max,
            )
            .await,
    )
}

async fn get_execution(State(l): State<Arc<Lambda>>, Path(arn): Path<String>) -> Response {
    json_or(l.durable.get(&arn).await)
}

async fn history(State(l): State<Arc<Lambda>>, Path(arn): Path<String>) -> Response {
    json_or(l.durable.history(&arn).await)
}

fn invalid(message: &str) -> Response {
    error(400, "InvalidParameterValueException", message)
}

/// An `ErrorObject` body; empty means none. Err: why it is not one.
fn error_body(body: &[u8]) -> Result<Option<ErrorObject>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| format!("invalid error object: {e}"))
}

async fn stop(State(l): State<Arc<Lambda>>, Path(arn): Path<String>, body: Bytes) -> Response {
    match error_body(&body) {
        Ok(error) => json_or(l.durable.stop(&arn, error).await),
        Err(why) => invalid(&why),
    }
}

fn callback_answered(result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => axum::Json(json!({})).into_response(),
        Err(e) => service_error(e),
    }
}

/// `SendDurableExecutionCallbackSuccess`: the body is the result, as bytes.
async fn callback_succeed(
    State(l): State<Arc<Lambda>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return invalid("the callback result must be UTF-8 text");
    };
    let result = (!body.is_empty()).then_some(text);
    callback_answered(
        l.durable
            .callback(&id, CallbackAnswer::Succeed(result))
            .await,
    )
}

/// `SendDurableExecutionCallbackFailure`: the body is an `ErrorObject`.
async fn callback_fail(
    State(l): State<Arc<Lambda>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match error_body(&body) {
        Ok(error) => {
            let answer = CallbackAnswer::Fail(error.unwrap_or_default());
            callback_answered(l.durable.callback(&id, answer).await)
        }
        Err(why) => invalid(&why),
    }
}

async fn callback_heartbeat(State(l): State<Arc<Lambda>>, Path(id): Path<String>) -> Response {
    callback_answered(l.durable.callback(&id, CallbackAnswer::Heartbeat).await)
}

/// The filter of `ListDurableExecutionsByFunction` (`Statuses` repeats its key). Err: what
/// is wrong with it.
fn list_filter(q: &[(String, String)]) -> Result<ListFilter, String> {
    let time = |v: &str| {
        humantime::parse_rfc3339_weak(v)
            .map_err(|e| format!("{v:?} is not an RFC 3339 time: {e}"))
            .map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64()
            })
    };
    let mut filter = ListFilter::default();
    for (k, v) in q {
        match k.as_str() {
            "DurableExecutionName" => filter.name = Some(v.clone()),
            "Qualifier" => filter.qualifier = Some(v.clone()),
            "Statuses" => filter.statuses.push(
                ExecStatus::parse(v).ok_or_else(|| format!("{v:?} is not an execution status"))?,
            ),
            "StartedAfter" => filter.started_after = Some(time(v)?),
            "StartedBefore" => filter.started_before = Some(time(v)?),
            _ => {}
        }
    }
    Ok(filter)
}

async fn list(
    State(l): State<Arc<Lambda>>,
    Path(name): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (f, _) = match l.resolve(&name, None) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    match list_filter(&q) {
        Ok(filter) => axum::Json(l.durable.list(&f.spec.logical, &filter).await).into_response(),
        Err(why) => invalid(&why),
    }
}

/// Local-only figures for benchmarks: checkpoint calls and invocations per execution, and
/// the cold starts of each function's processes (spawn to first event request), in ms,
/// their pids, and how many of them wait for an event.
async fn stats(State(l): State<Arc<Lambda>>) -> Response {
    let executions = l.durable.counts().await;
    let mut cold = serde_json::Map::new();
    let mut pids = serde_json::Map::new();
    let mut idle = serde_json::Map::new();
    for f in l.functions.values() {
        pids.insert(f.spec.crate_name.clone(), json!(f.pids().await));
        idle.insert(f.spec.crate_name.clone(), json!(f.idle().await));
        let ms: Vec<f64> = f
            .cold_starts
            .lock()
            .await
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        cold.insert(f.spec.crate_name.clone(), json!(ms));
    }
    let dead_letters: Vec<Value> = l
        .durable
        .dead_letters()
        .into_iter()
        .map(|(queue, name, why)| json!({"queue": queue, "execution": name, "why": why}))
        .collect();
    let mut out = json!({
        "executions": executions, "coldStartsMs": cold, "pids": pids, "idle": idle,
        "deadLetters": dead_letters,
    });
    if let (Value::Object(o), Value::Object(m)) = (&mut out, l.metrics.snapshot()) {
        o.extend(m);
    }
    axum::Json(out).into_response()
}

/// How many executions are in each status (what a benchmark polls while it waits).
async fn executions_by_status(State(l): State<Arc<Lambda>>) -> Response {
    axum::Json(l.durable.by_status().await).into_response()
}

/// Where this local cloud's services are (for `deployer webhooks --local`).
async fn endpoints(State(l): State<Arc<Lambda>>) -> Response {
    axum::Json(l.endpoints.clone()).into_response()
}
