//! DynamoDB on one machine: the template's tables (keys, global secondary indexes, TTL) in
//! an embedded dynoxide database, served on loopback, with TTL expiry swept every few
//! seconds. When a test arms a store fault, a front in the same process answers the
//! faulty writes itself and forwards everything else.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::faults::{Faults, StoreFault};
use super::metrics::Metrics;
use super::model::{Model, TableSpec};
use super::store_sync::StoreSync;

/// How often expired items are deleted.
pub const TTL_SWEEP: Duration = Duration::from_secs(2);

/// The DynamoDB endpoint the functions use.
#[derive(Debug, Clone)]
pub struct Dynamo {
    pub url: String,
    /// What an acknowledgement waits on: every write before it on disk.
    pub sync: Arc<StoreSync>,
}

/// The `CreateTable` request of `t`: keys, every key attribute defined once, indexes.
fn create_request(t: &TableSpec) -> Value {
    let schema = |keys: &[(String, String, String)]| -> Vec<Value> {
        keys.iter()
            .map(|(n, _, k)| json!({"AttributeName": n, "KeyType": k}))
            .collect()
    };
    let mut defs: BTreeMap<&str, &str> = BTreeMap::new();
    for (n, ty, _) in t.keys.iter().chain(t.indexes.iter().flat_map(|i| &i.keys)) {
        defs.insert(n, ty);
    }
    let defs: Vec<Value> = defs
        .iter()
        .map(|(n, ty)| json!({"AttributeName": n, "AttributeType": ty}))
        .collect();
    let mut request = json!({
        "TableName": t.name, "KeySchema": schema(&t.keys), "AttributeDefinitions": defs,
        "BillingMode": "PAY_PER_REQUEST",
    });
    let indexes: Vec<Value> = t
        .indexes
        .iter()
        .map(|i| {
            let mut projection = json!({"ProjectionType": i.projection});
            if !i.non_key_attributes.is_empty() {
                projection["NonKeyAttributes"] = json!(i.non_key_attributes);
            }
            json!({"IndexName": i.name, "KeySchema": schema(&i.keys), "Projection": projection})
        })
        .collect();
    if !indexes.is_empty() {
        request["GlobalSecondaryIndexes"] = json!(indexes);
    }
    request
}

fn exists(e: &dynoxide::DynoxideError) -> bool {
    matches!(e, dynoxide::DynoxideError::ResourceInUseException(_))
}

/// Creates every table of the model (kept ones are left as they are) and turns TTL on.
fn create_tables(db: &dynoxide::Database, model: &Model) -> anyhow::Result<()> {
    for t in &model.tables {
        let request = serde_json::from_value(create_request(t))?;
        match db.create_table(request) {
            Ok(_) => {}
            Err(e) if exists(&e) => {}
            Err(e) => bail!("cannot create table {}: {e}", t.name),
        }
        if let Some(attr) = &t.ttl_attribute {
            let request = serde_json::from_value(json!({
                "TableName": t.name,
                "TimeToLiveSpecification": {"AttributeName": attr, "Enabled": true},
            }))?;
            if let Err(e) = db.update_time_to_live(request)
                && !e.to_string().contains("already enabled")
            {
                eprintln!("[local] TTL on {}: {e}", t.name);
            }
        }
    }
    Ok(())
}

/// Opens the database: in memory, or `dynamodb.sqlite` in `data_dir`, whose commits are
/// synced in groups by the returned [`StoreSync`] (see there) rather than one by one.
fn open(data_dir: Option<&Path>) -> anyhow::Result<(dynoxide::Database, Arc<StoreSync>)> {
    let cannot = |e: dynoxide::DynoxideError| {
        anyhow::anyhow!("cannot open the local DynamoDB database: {e}")
    };
    let Some(dir) = data_dir else {
        return Ok((
            dynoxide::Database::memory().map_err(cannot)?,
            StoreSync::none(),
        ));
    };
    let file = dir.join("dynamodb.sqlite");
    let db = dynoxide::Database::new(&file.to_string_lossy()).map_err(cannot)?;
    // dynoxide's one way to set `synchronous=NORMAL` on its connection (the rest of what
    // it sets there are SQLite's defaults): commits stop syncing the log themselves.
    db.disable_bulk_loading().map_err(cannot)?;
    let mut wal = file.into_os_string();
    wal.push("-wal");
    let sync = StoreSync::start(wal.into())
        .map_err(|e| anyhow::anyhow!("cannot start DynamoDB's log syncer: {e}"))?;
    Ok((db, sync))
}

/// Opens the database (a file in `data_dir`, or memory), creates the tables, serves them
/// until `stop`, and sweeps expired items.
pub async fn start(
    model: &Model,
    data_dir: Option<&Path>,
    faults: Arc<Faults>,
    audit: bool,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Dynamo> {
    let (db, sync) = open(data_dir)?;
    create_tables(&db, model)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut url = format!("http://{}", listener.local_addr()?);
    serve_on_own_thread(listener, db.clone(), stop.clone())?;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TTL_SWEEP).await;
            let db = db.clone();
            let _ = tokio::task::spawn_blocking(move || db.sweep_ttl()).await;
        }
    });
    if faults.touch_store() || audit {
        url = front(model, url, (faults, metrics), audit, stop).await?;
    }
    Ok(Dynamo { url, sync })
}

/// Serves `db` on `listener` until `stop`, on a thread of its own with a one-thread
/// runtime. dynoxide answers each request synchronously while it holds the database (a
/// commit and its sync included): on the `deployer`'s two workers that stalled API Gateway,
/// the runtime API and the checkpoints behind every DynamoDB write. Its operations are one
/// at a time anyway (one SQLite connection behind a lock), so one thread loses nothing.
fn serve_on_own_thread(
    listener: std::net::TcpListener,
    db: dynoxide::Database,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("dynamodb".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return eprintln!("[local] DynamoDB server: {e}"),
                };
                let shutdown = async move {
                    let _ = stop.changed().await;
                };
                if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, shutdown).await
                {
                    eprintln!("[local] DynamoDB server: {e}");
                }
            })
        })?;
    Ok(())
}

/// What the front needs: where the store is, each table's partition key, the faults.
struct Front {
    store: String,
    keys: BTreeMap<String, String>,
    faults: Arc<Faults>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Function -> the IAM actions (and their resources) its calls needed, when audited.
    calls: Option<std::sync::Mutex<Calls>>,
    /// Counts every operation (the front runs with `--audit-calls` or a store fault:
    /// without it, no DynamoDB call is counted).
    metrics: Arc<Metrics>,
}

/// Function -> `dynamodb:<Action>` -> `table` or `index/<name>`.
type Calls = BTreeMap<String, std::collections::BTreeSet<(String, String)>>;

/// The IAM actions one DynamoDB request needs, with their resource: a transaction needs
/// each of its items' actions (`TransactWriteItems` is no IAM action of its own).
fn iam_actions(operation: &str, body: &Value) -> Vec<(String, String)> {
    let on = |v: &Value| match v["IndexName"].as_str() {
        Some(index) => format!("index/{index}"),
        None => "table".to_owned(),
    };
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.iter().next().map(|(k, v)| (k.clone(), v)))
            .map(|(kind, v)| {
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    _ => "GetItem",
                };
                (format!("dynamodb:{action}"), on(v))
            })
            .collect(),
        "" => vec![],
        op => vec![(format!("dynamodb:{op}"), on(body))],
    }
}

/// Serves a front of the store at `store` that answers faulty writes itself.
async fn front(
    model: &Model,
    store: String,
    (faults, metrics): (Arc<Faults>, Arc<Metrics>),
    audit: bool,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let keys = model
        .tables
        .iter()
        .filter_map(|t| {
            let hash = t.keys.iter().find(|(_, _, k)| k == "HASH")?;
            Some((t.name.clone(), hash.0.clone()))
        })
        .collect();
    let state = Arc::new(Front {
        store,
        keys,
        faults,
        client: Client::builder(TokioExecutor::new()).build_http(),
        calls: audit.then(|| std::sync::Mutex::new(Calls::new())),
        metrics,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(super::nodelay(listener), app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await;
    });
    eprintln!("[local] DynamoDB fault front on {url}");
    Ok(url)
}

/// The record a status update is about: an `UpdateItem` that writes the `status`
/// attribute (a processor step, a failure, a reconciler's repair; not the receiver's
/// insert or its start bookkeeping). Store faults hit exactly those.
fn status_update_of(front: &Front, operation: &str, body: &Value) -> Option<String> {
    if operation != "UpdateItem" {
        return None;
    }
    let writes_status = body["ExpressionAttributeNames"]
        .as_object()
        .is_some_and(|names| names.values().any(|v| v == "status"))
        && body["UpdateExpression"]
            .as_str()
            .is_some_and(|e| e.starts_with("SET"));
    if !writes_status {
        return None;
    }
    let key_attr = front.keys.get(body["TableName"].as_str()?)?;
    Some(body["Key"][key_attr]["S"].as_str()?.to_owned())
}

fn dynamo_error(kind: &str, message: &str) -> Response {
    let body =
        json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message});
    let mut res = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
    res.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    res
}

async fn forward(State(front): State<Arc<Front>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/_local/calls"
        && let Some(calls) = &front.calls
    {
        let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
        return axum::Json(calls).into_response();
    }
    let Ok(body) = to_bytes(body, 16 * 1024 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "").into_response();
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'))
        .map(|(_, op)| op.to_owned())
        .unwrap_or_default();
    let mut doc = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    front.metrics.count("dynamodb", &operation);
    // Audited calls are also weighed: the store is asked for the capacity each one
    // consumed, and the caller sees the answer only if it asked for it.
    let weigh = front
        .calls
        .is_some()
        .then(|| ask_capacity(&mut doc))
        .flatten();
    // Rewritten only where the capacity was added to the request.
    let body = match weigh {
        Some(false) => Bytes::from(doc.to_string()),
        _ => body,
    };
    if let Some(calls) = &front.calls {
        let function = parts.uri.path().trim_matches('/').to_owned();
        if let Ok(mut calls) = calls.lock() {
            calls
                .entry(function)
                .or_default()
                .extend(iam_actions(&operation, &doc));
        }
    }
    if let Some(key) = status_update_of(&front, &operation, &doc) {
        match front.faults.store(&key) {
            Some(StoreFault::Throttle) => {
                eprintln!("[local] fault injection: throttled {operation} of {key}");
                return dynamo_error(
                    "ThrottlingException",
                    "Rate of requests exceeds the allowed throughput (fault injection)",
                );
            }
            Some(StoreFault::Break) => {
                eprintln!("[local] fault injection: refused {operation} of {key}");
                return dynamo_error(
                    "ValidationException",
                    "The write was refused (fault injection)",
                );
            }
            None => {}
        }
    }
    let mut out = axum::http::Request::builder()
        .method(parts.method)
        // The store is at `/`; an audited function's path only names it.
        .uri(format!("{}/", front.store));
    for (k, v) in &parts.headers {
        // The body may have been rewritten: hyper sets its length.
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let Ok(out) = out.body(Full::new(body)) else {
        return (StatusCode::BAD_GATEWAY, "").into_response();
    };
    match front.client.request(out).await {
        Ok(res) => {
            let (mut parts, body) = res.into_parts();
            let Ok(mut bytes) = body.collect().await.map(|b| b.to_bytes()) else {
                return (StatusCode::BAD_GATEWAY, "").into_response();
            };
            if let Some(caller_asked) = weigh
                && let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes)
            {
                let units = consumed(&operation, &answer);
                front.metrics.consume(&operation, units);
                if !caller_asked && let Some(o) = answer.as_object_mut() {
                    o.remove("ConsumedCapacity");
                    bytes = Bytes::from(answer.to_string());
                    parts.headers.remove("content-length");
                    parts.headers.remove("x-amz-crc32");
                }
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Operations that consume read units (every other one that consumes any writes).
const READS: [&str; 5] = [
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
];

/// Asks the store for the capacity a request consumes (`ReturnConsumedCapacity: TOTAL`)
/// when the caller did not: `Some(whether the caller asked itself)`, or `None` for a
/// request that is not an object (the store refuses it anyway).
fn ask_capacity(request: &mut Value) -> Option<bool> {
    let o = request.as_object_mut()?;
    let asked = matches!(
        o.get("ReturnConsumedCapacity").and_then(Value::as_str),
        Some("TOTAL" | "INDEXES")
    );
    if !asked {
        o.insert("ReturnConsumedCapacity".into(), json!("TOTAL"));
    }
    Some(asked)
}

/// The capacity units an answer says its request consumed (table and indexes), as
/// read or write units by the operation's kind. A batch or transaction answers a list.
fn consumed(operation: &str, answer: &Value) -> super::metrics::Units {
    let parse = |v: &Value| v["CapacityUnits"].as_f64().unwrap_or(0.0);
    let total = match &answer["ConsumedCapacity"] {
        Value::Array(list) => list.iter().map(parse).sum(),
        Value::Null => 0.0,
        one => parse(one),
    };
    if READS.contains(&operation) {
        super::metrics::Units {
            read: total,
            write: 0.0,
        }
    } else {
        super::metrics::Units {
            read: 0.0,
            write: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::metrics::Units;
    use crate::local::model::IndexSpec;

    #[test]
    fn capacity_is_asked_for_once_and_weighed_by_the_operation_s_kind() {
        let mut mine = json!({"TableName": "t"});
        assert_eq!(ask_capacity(&mut mine), Some(false));
        assert_eq!(mine["ReturnConsumedCapacity"], "TOTAL");
        let mut theirs = json!({"ReturnConsumedCapacity": "INDEXES"});
        assert_eq!(ask_capacity(&mut theirs), Some(true));
        assert_eq!(theirs["ReturnConsumedCapacity"], "INDEXES");
        assert_eq!(ask_capacity(&mut json!("not an object")), None);

        let one = json!({"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2.0}});
        assert_eq!(
            consumed("UpdateItem", &one),
            Units {
                read: 0.0,
                write: 2.0
            }
        );
        assert_eq!(
            consumed("GetItem", &one),
            Units {
                read: 2.0,
                write: 0.0
            }
        );
        let list = json!({"ConsumedCapacity": [
            {"TableName": "t", "CapacityUnits": 4.0},
            {"TableName": "u", "CapacityUnits": 1.0},
        ]});
        assert_eq!(
            consumed("TransactWriteItems", &list),
            Units {
                read: 0.0,
                write: 5.0
            }
        );
        assert_eq!(consumed("PutItem", &json!({})), Units::default());
    }

    #[test]
    fn tables_are_created_with_their_indexes_and_every_key_defined_once() {
        let key = |n: &str, t: &str, k: &str| (n.to_owned(), t.to_owned(), k.to_owned());
        let t = TableSpec {
            name: "webhooks".into(),
            keys: vec![key("id", "S", "HASH")],
            ttl_attribute: Some("ttl".into()),
            indexes: vec![IndexSpec {
                name: "attention".into(),
                keys: vec![key("attention", "S", "HASH"), key("since", "N", "RANGE")],
                projection: "INCLUDE".into(),
                non_key_attributes: vec!["status".into()],
            }],
        };
        let r = create_request(&t);
        assert_eq!(r["AttributeDefinitions"].as_array().unwrap().len(), 3);
        assert_eq!(
            r["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"],
            json!(["status"])
        );
        let _: dynoxide::actions::create_table::CreateTableRequest =
            serde_json::from_value(r).unwrap();
    }
}
