//! The durable execution service for functions with `DurableConfig`: executions, checkpoint
//! tokens, the operation log, retry and wait timers, callbacks, chained invokes,
//! re-invocation, execution names as idempotency keys, `ExecutionTimeout`, history,
//! get/list/stop. Every change is written to the data directory before it is acknowledged,
//! so a restarted local cloud finishes the executions that were in flight.
//!
//! Layers: [`model`] (the wire types), [`core`] (the pure state machine: `apply`, `due`),
//! [`journal`] (persistence), and the service here (`drive`, `checkpoint`, `calls`), which
//! holds the locks, talks to the functions and persists before it answers.

mod calls;
mod checkpoint;
pub mod core;
mod drive;
pub mod journal;
pub mod model;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};

use self::core::{Execution, NewExecution};
use self::journal::{Journal, JournalError};
pub use self::model::ExecStatus;
use self::model::{ErrorObject, Operation};
use super::faults::Faults;
use super::lambda::Function;
use super::metrics::Metrics;
use super::store_sync::StoreSync;
use super::versions::Versions;

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut out = String::new();
    while out.len() < n {
        let r = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        out.push_str(&format!("{r:016x}"));
    }
    out.truncate(n);
    out
}

/// A function name, ARN or partial ARN, and the qualifier in it, if any.
pub(crate) fn split_qualifier(raw: &str) -> (String, Option<String>) {
    let tail = raw.rsplit_once(":function:").map_or(raw, |(_, t)| t);
    match tail.split_once(':') {
        Some((name, q)) => (name.to_owned(), Some(q.to_owned())),
        None => (tail.to_owned(), None),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    AlreadyStarted(String),
    #[error("{0}")]
    CallbackTimeout(String),
    /// The change could not be made durable: nothing was acknowledged, the caller retries.
    #[error("{0}")]
    Storage(String),
    /// The caller's process is being killed (fault injection); nothing was applied.
    #[error("{0}")]
    Unavailable(String),
}

impl ServiceError {
    pub fn code(&self) -> (u16, &'static str) {
        match self {
            ServiceError::NotFound(_) => (404, "ResourceNotFoundException"),
            ServiceError::Invalid(_) => (400, "InvalidParameterValueException"),
            ServiceError::AlreadyStarted(_) => (409, "DurableExecutionAlreadyStartedException"),
            ServiceError::CallbackTimeout(_) => (400, "CallbackTimeoutException"),
            ServiceError::Storage(_) => (500, "ServiceException"),
            ServiceError::Unavailable(_) => (503, "ServiceException"),
        }
    }
}

impl From<JournalError> for ServiceError {
    fn from(e: JournalError) -> Self {
        eprintln!("[local] {e}");
        ServiceError::Storage(e.to_string())
    }
}

/// What starting an execution takes.
#[derive(Debug)]
pub struct Start {
    /// The function's logical id.
    pub function: String,
    pub qualifier: String,
    pub name: Option<String>,
    pub input: String,
    pub timeout_s: u64,
    /// Started by an asynchronous `Invoke` (its event can go to a dead-letter queue).
    pub async_start: bool,
}

/// Which executions `list` returns.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// The version or alias the executions were started through; `$LATEST` when none.
    pub qualifier: Option<String>,
    pub name: Option<String>,
    pub statuses: Vec<ExecStatus>,
    pub started_after: Option<f64>,
    pub started_before: Option<f64>,
}

struct Entry {
    exec: Mutex<Execution>,
    /// Chained invokes that ended, waiting for the driver to record them between two
    /// invocations (so that the invocation that started one is recorded as completed
    /// first, as on AWS).
    arrivals: std::sync::Mutex<Vec<(String, core::InvokeOutcome)>>,
    /// The driver sleeps on this between invocations (a permit is kept when it is busy).
    wake: Notify,
    done: Notify,
}

impl Entry {
    fn new(exec: Execution) -> Arc<Self> {
        Arc::new(Entry {
            exec: Mutex::new(exec),
            arrivals: std::sync::Mutex::new(Vec::new()),
            wake: Notify::new(),
            done: Notify::new(),
        })
    }
}

/// (function's logical id, execution name).
type NameKey = (String, String);

/// The service.
pub struct Durable {
    journal: Journal,
    /// The newest version of each function, by logical id.
    functions: BTreeMap<String, Arc<Function>>,
    versions: Arc<Versions>,
    executions: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// (function, execution name) -> (ARN, input): names are idempotency keys.
    names: Mutex<BTreeMap<NameKey, (String, String)>>,
    /// Starts in progress, by (function, execution name): two starts of one name take turns,
    /// starts of different names write the journal together (its group commit).
    starting: std::sync::Mutex<HashMap<NameKey, Arc<Mutex<()>>>>,
    /// Callback id -> (execution ARN, operation id) of the callbacks waiting for an answer.
    callbacks: std::sync::Mutex<HashMap<String, (String, String)>>,
    faults: Arc<Faults>,
    /// Waits, retry delays and callback timeouts last this many times their length.
    time_scale: f64,
    metrics: Arc<Metrics>,
    /// Events sent to dead-letter queues: (queue ARN, execution name, status).
    dead_letters: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl Durable {
    pub fn new(
        dir: Option<std::path::PathBuf>,
        versions: Arc<Versions>,
        faults: Arc<Faults>,
        time_scale: f64,
        metrics: Arc<Metrics>,
        store: Arc<StoreSync>,
    ) -> Arc<Self> {
        Arc::new(Durable {
            journal: Journal::new(dir, store),
            functions: versions.functions(),
            versions,
            executions: Mutex::new(BTreeMap::new()),
            names: Mutex::new(BTreeMap::new()),
            starting: std::sync::Mutex::new(HashMap::new()),
            callbacks: std::sync::Mutex::new(HashMap::new()),
            faults,
            time_scale,
            metrics,
            dead_letters: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Loads the executions of a previous run and resumes those still running.
    pub async fn restore(self: &Arc<Self>) -> anyhow::Result<usize> {
        let mut resumed = 0;
        for exec in self.journal.load().await? {
            let running = exec.status == ExecStatus::Running;
            let arn = exec.arn.clone();
            let key = (exec.function.clone(), exec.name.clone());
            let before = self
                .names
                .lock()
                .await
                .insert(key, (arn.clone(), exec.input.clone()));
            if let Some((other, _)) = before {
                eprintln!(
                    "[local] journal: two executions named {}: {other} and {arn}",
                    exec.name
                );
            }
            self.index_callbacks(&exec);
            let invokes: Vec<String> = exec.invokes.keys().cloned().collect();
            let entry = Entry::new(exec);
            self.executions.lock().await.insert(arn, entry.clone());
            if running {
                resumed += 1;
                for op in invokes {
                    self.clone().spawn_invoke(entry.clone(), op);
                }
                self.clone().drive(entry);
            }
        }
        Ok(resumed)
    }

    /// The version an invocation through `qualifier` runs.
    pub(crate) fn version_of(&self, function: &str, qualifier: &str) -> Option<String> {
        self.versions.version_of(function, qualifier)
    }

    /// Starts an execution of `function` (a logical id) through `qualifier`, or returns the
    /// existing one of the same name and input. The execution is on disk before it is
    /// acknowledged.
    ///
    /// The work runs in a task of its own: a caller that goes away (a killed receiver
    /// closes its connection, which drops the request's future) must not leave an execution
    /// written to the journal but unknown to the service, whose name a retry would reuse.
    pub async fn start(self: &Arc<Self>, req: Start) -> Result<(String, bool), ServiceError> {
        self.start_with_id(req, None).await
    }

    async fn start_with_id(
        self: &Arc<Self>,
        req: Start,
        id: Option<String>,
    ) -> Result<(String, bool), ServiceError> {
        let this = self.clone();
        tokio::spawn(async move { this.start_now(req, id).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the start was interrupted: {e}")))?
    }

    async fn start_now(
        self: Arc<Self>,
        req: Start,
        id: Option<String>,
    ) -> Result<(String, bool), ServiceError> {
        let f = self.functions.get(&req.function).cloned().ok_or_else(|| {
            ServiceError::NotFound(format!("function {} not found", req.function))
        })?;
        let name = req.name.clone().unwrap_or_else(|| random_hex(32));
        check_name(&name)?;
        let key = (req.function.clone(), name.clone());
        let turn = self
            .starting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let held = turn.lock().await;
        let started = self.start_named(&f, req, name, id).await;
        drop(held);
        let mut starting = self.starting.lock().unwrap_or_else(|p| p.into_inner());
        // Here and in the map: nobody else waits for this name's turn.
        if Arc::strong_count(&turn) == 2 {
            starting.remove(&key);
        }
        started
    }

    /// Starts the execution `name` of `f` (its turn held), or returns the existing one. The
    /// service's maps are locked only to look the name up and to add the execution once the
    /// journal holds it.
    async fn start_named(
        self: &Arc<Self>,
        f: &Function,
        req: Start,
        name: String,
        id: Option<String>,
    ) -> Result<(String, bool), ServiceError> {
        let key = (req.function.clone(), name.clone());
        if let Some((arn, existing_input)) = self.names.lock().await.get(&key) {
            if *existing_input == req.input {
                return Ok((arn.clone(), false));
            }
            return Err(ServiceError::AlreadyStarted(format!(
                "an execution named {name} already exists with another input"
            )));
        }
        let id = id.unwrap_or_else(|| random_hex(32));
        let arn = execution_arn(&f.spec.arn, &req.qualifier, &name, &id);
        let version = self
            .version_of(&req.function, &req.qualifier)
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "Function not found: {}:{}",
                    f.spec.arn, req.qualifier
                ))
            })?;
        let exec = Execution::new(
            NewExecution {
                arn: arn.clone(),
                name,
                id,
                function: req.function.clone(),
                function_arn: f.spec.arn.clone(),
                qualifier: req.qualifier,
                version,
                input: req.input.clone(),
                timeout_s: req.timeout_s,
                async_start: req.async_start,
                token: random_hex(40),
            },
            now(),
        );
        self.journal.save(&exec).await?;
        self.metrics.put(
            "AWS/Lambda",
            "DurableExecutionStarted",
            &[("FunctionName", &f.spec.name)],
            1.0,
        );
        let entry = Entry::new(exec);
        let mut executions = self.executions.lock().await;
        let mut names = self.names.lock().await;
        names.insert(key, (arn.clone(), req.input));
        executions.insert(arn.clone(), entry.clone());
        drop((executions, names));
        self.clone().drive(entry);
        Ok((arn, true))
    }

    async fn entry(&self, arn: &str) -> Result<Arc<Entry>, ServiceError> {
        self.executions
            .lock()
            .await
            .get(arn)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("durable execution {arn} not found")))
    }

    /// What an execution's end tells the outside: Lambda's metric of it, and for an
    /// asynchronous start that ended FAILED, STOPPED or TIMED_OUT, its event in the
    /// function's dead-letter queue.
    fn ended(&self, e: &Execution) {
        let Some(f) = self.functions.get(&e.function) else {
            return;
        };
        let metric = match e.status {
            ExecStatus::Running => return,
            ExecStatus::Succeeded => "DurableExecutionSucceeded",
            ExecStatus::Failed => "DurableExecutionFailed",
            ExecStatus::TimedOut => "DurableExecutionTimedOut",
            ExecStatus::Stopped => "DurableExecutionStopped",
        };
        self.metrics
            .put("AWS/Lambda", metric, &[("FunctionName", &f.spec.name)], 1.0);
        if e.status != ExecStatus::Succeeded
            && e.async_start
            && let Some(queue) = &f.spec.dead_letter
        {
            self.dead_letter(queue, &e.name, e.status.as_str());
        }
    }

    /// Sends the event of `name` to dead-letter queue `queue`: a log line, and the stats.
    pub fn dead_letter(&self, queue: &str, name: &str, why: &str) {
        eprintln!("[local] dead-letter queue {queue}: the event of execution {name} ({why})");
        self.dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((queue.to_owned(), name.to_owned(), why.to_owned()));
    }

    /// Events sent to dead-letter queues so far: (queue, execution name, why).
    pub fn dead_letters(&self) -> Vec<(String, String, String)> {
        self.dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `GetDurableExecutionState`: the operation log, a page at a time.
    pub async fn state(
        &self,
        arn: &str,
        token: Option<&str>,
        marker: Option<&str>,
        max: usize,
    ) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let e = entry.exec.lock().await;
        if token != Some(e.token.as_str()) {
            return Err(ServiceError::Invalid(
                "Invalid Checkpoint Token: it was consumed or never issued".to_owned(),
            ));
        }
        let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
        let max = max.clamp(1, 1000);
        let page: Vec<&Operation> = e.operations.iter().skip(start).take(max).collect();
        let mut out = json!({"Operations": page});
        if start + max < e.operations.len() {
            out["NextMarker"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    /// `GetDurableExecution`.
    pub async fn get(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let e = entry.exec.lock().await;
        let mut v = summary(&e);
        v["InputPayload"] = json!(e.input);
        if let Some(r) = &e.result {
            v["Result"] = json!(r);
        }
        if let Some(err) = &e.error {
            v["Error"] = json!(err);
        }
        v["Version"] = json!(e.version);
        v["DurableConfig"] = json!({"ExecutionTimeout": e.timeout_s});
        Ok(v)
    }

    /// `GetDurableExecutionHistory`.
    pub async fn history(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let e = entry.exec.lock().await;
        Ok(json!({"Events": e.history}))
    }

    /// `ListDurableExecutionsByFunction`, oldest first: as on AWS, the executions of one
    /// qualifier (`$LATEST` unless the filter names a version or an alias).
    pub async fn list(&self, function: &str, filter: &ListFilter) -> Value {
        let qualifier = filter.qualifier.as_deref().unwrap_or("$LATEST");
        let keep = |e: &Execution| {
            e.function == function
                && (e.qualifier == qualifier || e.version == qualifier)
                && filter.name.as_ref().is_none_or(|n| *n == e.name)
                && (filter.statuses.is_empty() || filter.statuses.contains(&e.status))
                && filter.started_after.is_none_or(|t| e.started >= t)
                && filter.started_before.is_none_or(|t| e.started < t)
        };
        let mut out = Vec::new();
        // By name: one lookup, not a walk over every execution (the reconciler asks this
        // for each record it examines).
        if let Some(name) = &filter.name {
            let arn = self
                .names
                .lock()
                .await
                .get(&(function.to_owned(), name.clone()))
                .map(|(arn, _)| arn.clone());
            if let Some(arn) = arn
                && let Ok(entry) = self.entry(&arn).await
            {
                let e = entry.exec.lock().await;
                if keep(&e) {
                    out.push((e.started, summary(&e)));
                }
            }
        } else {
            for entry in self.executions.lock().await.values() {
                let e = entry.exec.lock().await;
                if keep(&e) {
                    out.push((e.started, summary(&e)));
                }
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        let out: Vec<Value> = out.into_iter().map(|(_, v)| v).collect();
        json!({"DurableExecutions": out})
    }

    /// `StopDurableExecution`, with the error the caller gave.
    pub async fn stop(
        self: &Arc<Self>,
        arn: &str,
        error: Option<ErrorObject>,
    ) -> Result<Value, ServiceError> {
        let this = self.clone();
        let arn = arn.to_owned();
        tokio::spawn(async move { this.stop_now(&arn, error).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the stop was interrupted: {e}")))?
    }

    async fn stop_now(&self, arn: &str, error: Option<ErrorObject>) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let mut e = entry.exec.lock().await;
        let t = now();
        let mut next = e.clone();
        if next.stop(error, t) {
            self.journal.save(&next).await?;
            *e = next;
            self.ended(&e);
            entry.done.notify_waiters();
        }
        entry.wake.notify_one();
        Ok(json!({"StopTimestamp": e.ended.unwrap_or(t)}))
    }

    /// Waits until the execution ends (at most `limit`), for synchronous invocations.
    pub async fn wait(&self, arn: &str, limit: Duration) -> Result<Execution, ServiceError> {
        let entry = self.entry(arn).await?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = entry.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let e = entry.exec.lock().await;
                if e.status != ExecStatus::Running || tokio::time::Instant::now() >= deadline {
                    return Ok(e.clone());
                }
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// How many executions are in each status (`RUNNING`, `SUCCEEDED`, ...): what a
    /// benchmark polls while it waits, cheaper than [`Self::counts`].
    pub async fn by_status(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for entry in self.executions.lock().await.values() {
            let status = entry.exec.lock().await.status;
            *out.entry(status.as_str()).or_default() += 1;
        }
        out
    }

    /// Checkpoint calls, invocations and stored payload bytes of every execution so far.
    pub async fn counts(&self) -> Vec<Counts> {
        let mut out = Vec::new();
        for entry in self.executions.lock().await.values() {
            let e = entry.exec.lock().await;
            out.push(Counts {
                name: e.name.clone(),
                checkpoints: e.checkpoints,
                invocations: e.invocations,
                payload_bytes: e.payload_bytes(),
                operations: e.metered_operations(),
                status: e.status,
            });
        }
        out
    }
}

/// What one execution cost so far, for the local cloud's stats.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub name: String,
    pub checkpoints: u32,
    pub invocations: u32,
    /// Input, results and errors stored: what the durable service bills as data written.
    pub payload_bytes: usize,
    /// Durable operations as AWS meters them.
    pub operations: usize,
    pub status: ExecStatus,
}

/// Execution names are `[a-zA-Z0-9-_]{1,64}`.
fn check_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "DurableExecutionName {name:?} must match [a-zA-Z0-9-_]{{1,64}}"
        )))
    }
}

fn execution_arn(function_arn: &str, qualifier: &str, name: &str, id: &str) -> String {
    format!("{function_arn}:{qualifier}/durable-execution/{name}/{id}")
}

/// An execution as `ListDurableExecutionsByFunction` shows it.
fn summary(e: &Execution) -> Value {
    let mut v = json!({
        "DurableExecutionArn": e.arn,
        "DurableExecutionName": e.name,
        "FunctionArn": format!("{}:{}", e.function_arn, e.qualifier),
        "Status": e.status.as_str(),
        "StartTimestamp": e.started,
    });
    if let Some(end) = e.ended {
        v["EndTimestamp"] = json!(end);
    }
    v
}
