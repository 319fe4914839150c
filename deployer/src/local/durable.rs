//! The durable execution service for functions with `DurableConfig`: executions, checkpoint
//! tokens, the operation log, retry and wait timers, re-invocation, execution names as
//! idempotency keys, `ExecutionTimeout`, history, get/list/stop. Every change is written to
//! the data directory before it is acknowledged, so a restarted local cloud finishes the
//! executions that were in flight.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};

use super::faults::Faults;
use super::lambda::{Function, InvokeError};
use super::metrics::Metrics;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

impl ExecStatus {
    fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Running => "RUNNING",
            ExecStatus::Succeeded => "SUCCEEDED",
            ExecStatus::Failed => "FAILED",
            ExecStatus::TimedOut => "TIMED_OUT",
            ExecStatus::Stopped => "STOPPED",
        }
    }
}

/// One durable execution, as persisted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub function: String,
    pub function_arn: String,
    pub qualifier: String,
    pub input: String,
    pub status: ExecStatus,
    pub result: Option<String>,
    pub error: Option<Value>,
    /// Operations in wire form (`Operation`), in creation order.
    pub operations: Vec<Value>,
    pub token: String,
    pub started: f64,
    pub ended: Option<f64>,
    pub deadline: f64,
    pub history: Vec<Value>,
    pub invocations: u32,
    pub checkpoints: u32,
    pub failed_invocations: u32,
    /// Started by an asynchronous `Invoke`: when it ends FAILED, STOPPED or TIMED_OUT, its
    /// event goes to the function's dead-letter queue.
    #[serde(default)]
    pub async_start: bool,
}

impl Execution {
    fn event(&mut self, kind: &str, op: Option<&Value>, details: Option<(&str, Value)>) {
        let mut e = json!({
            "EventType": kind,
            "EventId": self.history.len() + 1,
            "EventTimestamp": now(),
        });
        if let Some(op) = op {
            for k in ["Id", "Name", "ParentId", "SubType"] {
                if let Some(v) = op.get(k) {
                    e[k] = v.clone();
                }
            }
        } else if kind.starts_with("Execution") {
            // Execution events name the execution, as the service (and dex-local-runner) do.
            e["Id"] = json!(self.id);
            e["Name"] = json!(self.name);
        }
        if let Some((key, value)) = details {
            e[key] = value;
        }
        self.history.push(e);
    }

    fn op_index(&self, id: &str) -> Option<usize> {
        self.operations.iter().position(|o| o["Id"] == id)
    }

    pub fn summary(&self) -> Value {
        let mut v = json!({
            "DurableExecutionArn": self.arn,
            "DurableExecutionName": self.name,
            "FunctionArn": format!("{}:{}", self.function_arn, self.qualifier),
            "Status": self.status.as_str(),
            "StartTimestamp": self.started,
        });
        if let Some(end) = self.ended {
            v["EndTimestamp"] = json!(end);
        }
        v
    }
}

/// The error Lambda reports for an invocation that did not return (as in the
/// `InvocationCompleted` event of the durable service).
fn invocation_error(err: &InvokeError) -> Value {
    match err {
        InvokeError::Crashed => json!({
            "ErrorType": "Runtime.ExitError",
            "ErrorMessage": "Runtime exited without providing a reason",
        }),
        InvokeError::Timeout => json!({
            "ErrorType": "Sandbox.Timedout",
            "ErrorMessage": "Task timed out",
        }),
        InvokeError::Function(doc) => {
            let doc: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
            json!({
                "ErrorType": doc["errorType"].as_str().unwrap_or("Runtime.Unknown"),
                "ErrorMessage": doc["errorMessage"].as_str().unwrap_or(""),
            })
        }
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
            ServiceError::Storage(_) => (500, "ServiceException"),
            ServiceError::Unavailable(_) => (503, "ServiceException"),
        }
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

struct Entry {
    exec: Mutex<Execution>,
    wake: Notify,
    done: Notify,
}

/// The service.
pub struct Durable {
    dir: Option<PathBuf>,
    functions: BTreeMap<String, Arc<Function>>,
    executions: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// (function, execution name) -> (ARN, input): names are idempotency keys.
    names: Mutex<BTreeMap<(String, String), (String, String)>>,
    faults: Arc<Faults>,
    /// Waits and retry delays last this many times their length (tests speed them up).
    time_scale: f64,
    metrics: Arc<Metrics>,
    /// Events sent to dead-letter queues: (queue ARN, execution name, status).
    dead_letters: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl Durable {
    pub fn new(
        dir: Option<PathBuf>,
        functions: BTreeMap<String, Arc<Function>>,
        faults: Arc<Faults>,
        time_scale: f64,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Durable {
            dir,
            functions,
            executions: Mutex::new(BTreeMap::new()),
            names: Mutex::new(BTreeMap::new()),
            faults,
            time_scale,
            metrics,
            dead_letters: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{id}.json")))
    }

    /// Writes `e` to its file and makes it durable (the file, then the directory entry of
    /// the rename) before anything about it is acknowledged.
    async fn persist(&self, e: &Execution) -> Result<(), ServiceError> {
        let Some(path) = self.path(&e.id) else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(e).map_err(|err| {
            ServiceError::Storage(format!("cannot encode execution {}: {err}", e.id))
        })?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_durably(&path, &bytes, dir.as_deref()))
            .await
            .map_err(|err| ServiceError::Storage(err.to_string()))?
            .map_err(|err| {
                eprintln!("[local] cannot persist execution {}: {err}", e.id);
                ServiceError::Storage(format!("cannot persist execution {}: {err}", e.id))
            })
    }

    /// Persists `e` where no one waits for an answer (timers, invocation outcomes): a
    /// failure is reported and the change is written again with the next one.
    async fn persist_quietly(&self, e: &Execution) {
        let _ = self.persist(e).await;
    }

    /// Loads the executions of a previous run and resumes those still running. A file that
    /// cannot be read stops the start: its name must not be freed for a second execution.
    pub async fn restore(self: &Arc<Self>) -> anyhow::Result<usize> {
        let Some(dir) = &self.dir else { return Ok(0) };
        tokio::fs::create_dir_all(dir).await?;
        let mut resumed = 0;
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                // A write that never completed was never acknowledged.
                let _ = tokio::fs::remove_file(&path).await;
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let exec = read_execution(&path).await?;
            let running = exec.status == ExecStatus::Running;
            let arn = exec.arn.clone();
            let before = self.names.lock().await.insert(
                (exec.function.clone(), exec.name.clone()),
                (arn.clone(), exec.input.clone()),
            );
            if let Some((other, _)) = before {
                eprintln!(
                    "[local] journal: two executions named {}: {other} and {arn} ({})",
                    exec.name,
                    path.display()
                );
            }
            let entry = Arc::new(Entry {
                exec: Mutex::new(exec),
                wake: Notify::new(),
                done: Notify::new(),
            });
            self.executions.lock().await.insert(arn, entry.clone());
            if running {
                resumed += 1;
                self.clone().drive(entry);
            }
        }
        Ok(resumed)
    }

    /// Starts an execution of `function` (a logical id) through `qualifier`, or returns the
    /// existing one of the same name and input. The execution is on disk before it is
    /// acknowledged.
    ///
    /// The work runs in a task of its own: a caller that goes away (a killed receiver
    /// closes its connection, which drops the request's future) must not leave an execution
    /// written to the journal but unknown to the service, whose name a retry would reuse.
    pub async fn start(self: &Arc<Self>, req: Start) -> Result<(String, bool), ServiceError> {
        let this = self.clone();
        tokio::spawn(async move { this.start_now(req).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the start was interrupted: {e}")))?
    }

    async fn start_now(self: Arc<Self>, req: Start) -> Result<(String, bool), ServiceError> {
        let Start {
            function,
            qualifier,
            name,
            input,
            timeout_s,
            async_start,
        } = req;
        let (function, qualifier) = (function.as_str(), qualifier.as_str());
        let f = self
            .functions
            .get(function)
            .ok_or_else(|| ServiceError::NotFound(format!("function {function} not found")))?;
        let name = name.unwrap_or_else(|| random_hex(32));
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ServiceError::Invalid(format!(
                "DurableExecutionName {name:?} must match [a-zA-Z0-9-_]{{1,64}}"
            )));
        }
        let mut executions = self.executions.lock().await;
        let mut names = self.names.lock().await;
        if let Some((arn, existing_input)) = names.get(&(function.to_owned(), name.clone())) {
            if *existing_input == input {
                return Ok((arn.clone(), false));
            }
            return Err(ServiceError::AlreadyStarted(format!(
                "an execution named {name} already exists with another input"
            )));
        }
        let (name_key, input_key) = (name.clone(), input.clone());
        let id = random_hex(32);
        let arn = format!("{}:{qualifier}/durable-execution/{name}/{id}", f.spec.arn);
        let t = now();
        let mut exec = Execution {
            arn: arn.clone(),
            name,
            id: id.clone(),
            function: function.to_owned(),
            function_arn: f.spec.arn.clone(),
            qualifier: qualifier.to_owned(),
            input: input.clone(),
            status: ExecStatus::Running,
            result: None,
            error: None,
            operations: vec![json!({
                "Id": id,
                "Type": "EXECUTION",
                "Status": "STARTED",
                "StartTimestamp": t,
                "ExecutionDetails": {"InputPayload": input},
            })],
            token: random_hex(40),
            started: t,
            ended: None,
            deadline: t + timeout_s as f64,
            history: vec![],
            invocations: 0,
            checkpoints: 0,
            failed_invocations: 0,
            async_start,
        };
        exec.event(
            "ExecutionStarted",
            None,
            Some((
                "ExecutionStartedDetails",
                json!({"Input": {"Payload": exec.input, "Truncated": false}}),
            )),
        );
        self.persist(&exec).await?;
        self.metrics.put(
            "AWS/Lambda",
            "DurableExecutionStarted",
            &[("FunctionName", &f.spec.name)],
            1.0,
        );
        let entry = Arc::new(Entry {
            exec: Mutex::new(exec),
            wake: Notify::new(),
            done: Notify::new(),
        });
        names.insert((function.to_owned(), name_key), (arn.clone(), input_key));
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

    /// Invokes the function until the execution ends, sleeping between invocations until a
    /// timer is due.
    fn drive(self: Arc<Self>, entry: Arc<Entry>) {
        tokio::spawn(async move {
            loop {
                // Wake due timers; decide whether to invoke now.
                let (payload, function, wait) = {
                    let mut e = entry.exec.lock().await;
                    if e.status != ExecStatus::Running {
                        entry.done.notify_waiters();
                        return;
                    }
                    let t = now();
                    if t >= e.deadline {
                        e.status = ExecStatus::TimedOut;
                        e.ended = Some(t);
                        e.event("ExecutionTimedOut", None, None);
                        self.persist_quietly(&e).await;
                        self.ended(&e);
                        entry.done.notify_waiters();
                        return;
                    }
                    let mut woke = false;
                    let mut next_due: Option<f64> = None;
                    let mut blocked = false;
                    let mut events = Vec::new();
                    for op in e.operations.iter_mut() {
                        match (op["Type"].as_str(), op["Status"].as_str()) {
                            (Some("STEP"), Some("PENDING")) => {
                                let due = op["StepDetails"]["NextAttemptTimestamp"]
                                    .as_f64()
                                    .unwrap_or(t);
                                if due <= t {
                                    op["Status"] = json!("READY");
                                    woke = true;
                                } else {
                                    next_due = Some(next_due.map_or(due, |d| d.min(due)));
                                }
                            }
                            (Some("WAIT"), Some("STARTED")) => {
                                let due = op["WaitDetails"]["ScheduledEndTimestamp"]
                                    .as_f64()
                                    .unwrap_or(t);
                                if due <= t {
                                    op["Status"] = json!("SUCCEEDED");
                                    op["EndTimestamp"] = json!(t);
                                    events.push(op.clone());
                                    woke = true;
                                } else {
                                    next_due = Some(next_due.map_or(due, |d| d.min(due)));
                                }
                            }
                            (Some("CALLBACK"), Some("STARTED")) => blocked = true,
                            _ => {}
                        }
                    }
                    for op in &events {
                        let secs = op["WaitDetails"]["ScheduledEndTimestamp"]
                            .as_f64()
                            .unwrap_or(t)
                            - op["StartTimestamp"].as_f64().unwrap_or(t);
                        e.event(
                            "WaitSucceeded",
                            Some(op),
                            Some(("WaitSucceededDetails", json!({"Duration": secs.round()}))),
                        );
                    }
                    let pending = next_due.is_some() || blocked;
                    let first = e.invocations == 0;
                    if woke || first || !pending {
                        e.invocations += 1;
                        let payload = json!({
                            "DurableExecutionArn": e.arn,
                            "CheckpointToken": e.token,
                            "InitialExecutionState": {"Operations": e.operations},
                        });
                        (Some(payload), e.function.clone(), Duration::ZERO)
                    } else {
                        let wait = next_due
                            .map(|d| Duration::from_secs_f64((d - t).max(0.0)))
                            .unwrap_or(Duration::from_secs(3600))
                            .min(Duration::from_secs_f64((e.deadline - t).max(0.0)));
                        (None, e.function.clone(), wait)
                    }
                };
                let Some(payload) = payload else {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = entry.wake.notified() => {}
                    }
                    continue;
                };
                let Some(f) = self.functions.get(&function).cloned() else {
                    return;
                };
                // ExecutionTimeout holds whatever the invocation does: past it, the loop
                // times the execution out (its late checkpoints are refused).
                let deadline = entry.exec.lock().await.deadline;
                let until_deadline = Duration::from_secs_f64((deadline - now()).max(0.0));
                let invocation = f.invoke(serde_json::to_vec(&payload).unwrap_or_default());
                let outcome = tokio::select! {
                    outcome = invocation => outcome,
                    _ = tokio::time::sleep(until_deadline) => continue,
                };
                let mut e = entry.exec.lock().await;
                if e.status != ExecStatus::Running {
                    continue;
                }
                match outcome {
                    Ok(body) => {
                        e.failed_invocations = 0;
                        let out: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let t = now();
                        e.event(
                            "InvocationCompleted",
                            None,
                            Some(("InvocationCompletedDetails", json!({}))),
                        );
                        match out["Status"].as_str() {
                            Some("SUCCEEDED") => {
                                e.status = ExecStatus::Succeeded;
                                e.result = out["Result"].as_str().map(str::to_owned);
                                e.ended = Some(t);
                                let result = e.result.clone();
                                e.event(
                                    "ExecutionSucceeded",
                                    None,
                                    Some((
                                        "ExecutionSucceededDetails",
                                        json!({"Result": {"Payload": result, "Truncated": false}}),
                                    )),
                                );
                            }
                            Some("FAILED") => {
                                e.status = ExecStatus::Failed;
                                e.error = Some(out["Error"].clone());
                                e.ended = Some(t);
                                let error = out["Error"].clone();
                                e.event(
                                    "ExecutionFailed",
                                    None,
                                    Some((
                                        "ExecutionFailedDetails",
                                        json!({"Error": {"Payload": error, "Truncated": false}}),
                                    )),
                                );
                            }
                            Some("PENDING") => {}
                            _ => {
                                eprintln!(
                                    "[local] {}: unexpected invocation response {out}",
                                    e.name
                                );
                                e.failed_invocations += 1;
                            }
                        }
                    }
                    Err(err) => {
                        e.failed_invocations += 1;
                        e.event(
                            "InvocationCompleted",
                            None,
                            Some((
                                "InvocationCompletedDetails",
                                json!({"Error": {"Payload": invocation_error(&err), "Truncated": false}}),
                            )),
                        );
                        eprintln!(
                            "[local] execution {}: invocation failed ({err}); invoking again",
                            e.name
                        );
                        if e.failed_invocations >= 10 {
                            e.status = ExecStatus::Failed;
                            e.ended = Some(now());
                            e.error = Some(
                                json!({"ErrorType": "InvocationFailed", "ErrorMessage": err.to_string()}),
                            );
                            e.event("ExecutionFailed", None, None);
                        }
                    }
                }
                self.persist_quietly(&e).await;
                if e.status != ExecStatus::Running {
                    self.ended(&e);
                }
                let backoff = match e.failed_invocations {
                    0 => Duration::ZERO,
                    n => Duration::from_millis(100 * u64::from(n.min(20))),
                };
                drop(e);
                if !backoff.is_zero() {
                    tokio::time::sleep(backoff).await;
                }
            }
        });
    }

    /// `CheckpointDurableExecution`: the batch is applied to a copy of the execution, which
    /// replaces it only once it is on disk; an invalid update or a failed write changes
    /// nothing and is answered with an error (the SDK retries a 5xx).
    ///
    /// Like [`Durable::start`], the work runs in a task of its own, so that a caller that
    /// goes away cannot leave the journal ahead of the service.
    pub async fn checkpoint(
        self: &Arc<Self>,
        arn: &str,
        body: Value,
    ) -> Result<Value, ServiceError> {
        let this = self.clone();
        let arn = arn.to_owned();
        let (out, hold) = tokio::spawn(async move { this.checkpoint_now(&arn, &body).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the checkpoint was interrupted: {e}")))??;
        if hold {
            eprintln!("[local] fault injection: holding the checkpoint of a step start");
            std::future::pending::<()>().await;
        }
        Ok(out)
    }

    async fn checkpoint_now(&self, arn: &str, body: &Value) -> Result<(Value, bool), ServiceError> {
        let entry = self.entry(arn).await?;
        let updates: &[Value] = body["Updates"].as_array().map_or(&[], Vec::as_slice);
        self.await_pending_kill(&entry, updates).await?;
        let mut e = entry.exec.lock().await;
        if body["CheckpointToken"].as_str() != Some(e.token.as_str()) {
            return Err(ServiceError::Invalid(
                "Invalid Checkpoint Token: it was consumed or never issued".to_owned(),
            ));
        }
        if e.status != ExecStatus::Running {
            return Err(ServiceError::Invalid(format!(
                "execution is {}",
                e.status.as_str()
            )));
        }
        let mut next = e.clone();
        next.checkpoints += 1;
        let (changed, hold) = self.apply_batch(&mut next, updates, now())?;
        next.token = random_hex(40);
        self.persist(&next).await?;
        *e = next;
        let terminal = e.status != ExecStatus::Running;
        let operations: Vec<Value> = changed.iter().map(|i| e.operations[*i].clone()).collect();
        let mut out = json!({"NewExecutionState": {"Operations": operations}});
        if !terminal {
            out["CheckpointToken"] = json!(e.token);
        }
        if terminal {
            self.ended(&e);
        }
        drop(e);
        if terminal {
            entry.done.notify_waiters();
        }
        Ok((out, hold))
    }

    /// A step's end must not be recorded while a kill of that step is pending (the kill
    /// fires on the body's log line, which comes first): wait for the kill, then refuse.
    async fn await_pending_kill(
        &self,
        entry: &Entry,
        updates: &[Value],
    ) -> Result<(), ServiceError> {
        let pending = {
            let e = entry.exec.lock().await;
            updates.iter().any(|u| {
                let ends = matches!(u["Action"].as_str(), Some("SUCCEED" | "FAIL" | "RETRY"));
                let step = e
                    .op_index(u["Id"].as_str().unwrap_or_default())
                    .and_then(|i| e.operations[i]["Name"].as_str().map(str::to_owned));
                ends && step.is_some_and(|s| self.faults.kill_pending(&e.name, &s))
            })
        };
        if !pending {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let still = {
                let e = entry.exec.lock().await;
                updates.iter().any(|u| {
                    e.op_index(u["Id"].as_str().unwrap_or_default())
                        .and_then(|i| e.operations[i]["Name"].as_str())
                        .is_some_and(|s| self.faults.kill_pending(&e.name, s))
                })
            };
            if !still || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Let the kill land before answering the process it killed.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(ServiceError::Unavailable(
            "the process is being killed (fault injection)".to_owned(),
        ))
    }

    /// Applies a batch of updates to `e` at time `t`: the indexes of the operations that
    /// changed, and whether a hold-in-step fault asks to never answer.
    fn apply_batch(
        &self,
        e: &mut Execution,
        updates: &[Value],
        t: f64,
    ) -> Result<(Vec<usize>, bool), ServiceError> {
        let mut changed: Vec<usize> = Vec::new();
        let mut hold = false;
        for u in updates {
            let kind = u["Type"].as_str().unwrap_or_default();
            let action = u["Action"].as_str().unwrap_or_default();
            if kind == "EXECUTION" {
                match action {
                    "SUCCEED" => {
                        e.status = ExecStatus::Succeeded;
                        e.result = u["Payload"].as_str().map(str::to_owned);
                    }
                    "FAIL" => {
                        e.status = ExecStatus::Failed;
                        e.error = Some(u["Error"].clone());
                    }
                    _ => {
                        return Err(ServiceError::Invalid(format!(
                            "EXECUTION {action} is not valid"
                        )));
                    }
                }
                e.ended = Some(t);
                continue;
            }
            let index = operation_for(e, u, t)?;
            let mut op = e.operations[index].clone();
            if (kind, action) == ("STEP", "START") {
                let step = op["Name"].as_str().unwrap_or_default();
                hold |= self.faults.hold(&e.name, step);
            }
            let (event, details) = transition(&mut op, u, t, self.time_scale)?;
            e.operations[index] = op.clone();
            let key = format!("{event}Details");
            e.event(event, Some(&op), Some((&key, details)));
            if !changed.contains(&index) {
                changed.push(index);
            }
        }
        Ok((changed, hold))
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
        let page: Vec<Value> = e.operations.iter().skip(start).take(max).cloned().collect();
        let mut out = json!({"Operations": page});
        if start + max < e.operations.len() {
            out["NextMarker"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    pub async fn get(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let e = entry.exec.lock().await;
        let mut v = e.summary();
        v["InputPayload"] = json!(e.input);
        if let Some(r) = &e.result {
            v["Result"] = json!(r);
        }
        if let Some(err) = &e.error {
            v["Error"] = err.clone();
        }
        v["Version"] = json!(e.qualifier);
        Ok(v)
    }

    pub async fn history(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let e = entry.exec.lock().await;
        Ok(json!({"Events": e.history}))
    }

    pub async fn list(&self, function: &str, name: Option<&str>) -> Value {
        let mut out = Vec::new();
        // By name: one lookup, not a walk over every execution (the reconciler asks this
        // for each record it examines).
        if let Some(name) = name {
            let arn = self
                .names
                .lock()
                .await
                .get(&(function.to_owned(), name.to_owned()))
                .map(|(arn, _)| arn.clone());
            if let Some(arn) = arn
                && let Ok(entry) = self.entry(&arn).await
            {
                out.push(entry.exec.lock().await.summary());
            }
            return json!({"DurableExecutions": out});
        }
        for entry in self.executions.lock().await.values() {
            let e = entry.exec.lock().await;
            if e.function == function && name.is_none_or(|n| n == e.name) {
                out.push(e.summary());
            }
        }
        json!({"DurableExecutions": out})
    }

    pub async fn stop(self: &Arc<Self>, arn: &str) -> Result<Value, ServiceError> {
        let this = self.clone();
        let arn = arn.to_owned();
        tokio::spawn(async move { this.stop_now(&arn).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the stop was interrupted: {e}")))?
    }

    async fn stop_now(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let mut e = entry.exec.lock().await;
        let t = now();
        if e.status == ExecStatus::Running {
            let mut next = e.clone();
            next.status = ExecStatus::Stopped;
            next.ended = Some(t);
            next.event("ExecutionStopped", None, None);
            self.persist(&next).await?;
            *e = next;
            self.ended(&e);
        }
        entry.wake.notify_waiters();
        Ok(json!({"StopTimestamp": t}))
    }

    /// Waits until the execution ends (at most `limit`), for synchronous invocations.
    pub async fn wait(&self, arn: &str, limit: Duration) -> Result<Execution, ServiceError> {
        let entry = self.entry(arn).await?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = entry.done.notified();
            {
                let e = entry.exec.lock().await;
                if e.status != ExecStatus::Running || tokio::time::Instant::now() >= deadline {
                    return Ok(e.clone());
                }
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// Checkpoint calls and invocations of every execution so far.
    pub async fn counts(&self) -> Vec<(String, u32, u32, ExecStatus)> {
        let mut out = Vec::new();
        for entry in self.executions.lock().await.values() {
            let e = entry.exec.lock().await;
            out.push((e.name.clone(), e.checkpoints, e.invocations, e.status));
        }
        out
    }
}

/// Writes `bytes` to `path` through a temporary file, syncing the file and then the
/// directory, so that after a crash the file holds either the old or the new content.
fn write_durably(
    path: &std::path::Path,
    bytes: &[u8],
    dir: Option<&std::path::Path>,
) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = dir {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The execution in `path`, or an error that says how to get past a broken file.
async fn read_execution(path: &std::path::Path) -> anyhow::Result<Execution> {
    let quarantine = || {
        let dir = path.parent().unwrap_or(path);
        format!(
            "move it out of the way to start without it (mkdir -p {q} && mv {f} {q}/), and the execution it held is lost; or start with another --data-dir",
            q = dir.join("quarantine").display(),
            f = path.display()
        )
    };
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot read durable execution file {}: {e}; {}",
            path.display(),
            quarantine()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "durable execution file {} is corrupt ({e}); {}",
            path.display(),
            quarantine()
        )
    })
}

/// The index of the operation update `u` is about, created by a START.
fn operation_for(e: &mut Execution, u: &Value, t: f64) -> Result<usize, ServiceError> {
    let id = u["Id"].as_str().unwrap_or_default().to_owned();
    let kind = u["Type"].as_str().unwrap_or_default();
    let action = u["Action"].as_str().unwrap_or_default();
    Ok(match e.op_index(&id) {
        Some(i) => {
            if e.operations[i]["Type"] != kind {
                return Err(ServiceError::Invalid(format!(
                    "operation {id} is a {}, not a {kind}",
                    e.operations[i]["Type"]
                )));
            }
            i
        }
        None if action == "START" => {
            let mut op = json!({"Id": id, "Type": kind, "Status": "STARTED", "StartTimestamp": t});
            for k in ["ParentId", "Name", "SubType"] {
                if !u[k].is_null() {
                    op[k] = u[k].clone();
                }
            }
            e.operations.push(op);
            e.operations.len() - 1
        }
        None => {
            return Err(ServiceError::Invalid(format!(
                "operation {id} was never started"
            )));
        }
    })
}

/// Applies update `u` to `op` at `t` (delays scaled by `scale`): the history event and its
/// details.
fn transition(
    op: &mut Value,
    u: &Value,
    t: f64,
    scale: f64,
) -> Result<(&'static str, Value), ServiceError> {
    let kind = u["Type"].as_str().unwrap_or_default();
    let action = u["Action"].as_str().unwrap_or_default();
    // The attempt this update is about: completed retries so far, plus one.
    let attempt = op["StepDetails"]["Attempt"].as_u64().unwrap_or(0) + 1;
    let (event, details) = match (kind, action) {
        ("STEP", "START") => {
            op["Status"] = json!("STARTED");
            if op["StepDetails"].is_null() {
                op["StepDetails"] = json!({"Attempt": 0});
            }
            ("StepStarted", json!({}))
        }
        ("STEP", "SUCCEED") => {
            op["Status"] = json!("SUCCEEDED");
            op["EndTimestamp"] = json!(t);
            op["StepDetails"]["Result"] = u["Payload"].clone();
            (
                "StepSucceeded",
                json!({
                    "Result": {"Payload": u["Payload"], "Truncated": false},
                    "RetryDetails": {"CurrentAttempt": attempt},
                }),
            )
        }
        ("STEP", "FAIL") => {
            op["Status"] = json!("FAILED");
            op["EndTimestamp"] = json!(t);
            op["StepDetails"]["Error"] = u["Error"].clone();
            (
                "StepFailed",
                json!({
                    "Error": {"Payload": u["Error"], "Truncated": false},
                    "RetryDetails": {"CurrentAttempt": attempt},
                }),
            )
        }
        ("STEP", "RETRY") => {
            let delay = u["StepOptions"]["NextAttemptDelaySeconds"]
                .as_f64()
                .unwrap_or(0.0);
            if delay < 1.0 {
                return Err(ServiceError::Invalid(
                    "RETRY needs StepOptions.NextAttemptDelaySeconds >= 1".to_owned(),
                ));
            }
            op["Status"] = json!("PENDING");
            op["StepDetails"]["Attempt"] = json!(attempt);
            op["StepDetails"]["NextAttemptTimestamp"] = json!(t + delay * scale);
            if !u["Error"].is_null() {
                op["StepDetails"]["Error"] = u["Error"].clone();
            }
            (
                "StepFailed",
                json!({
                    "Error": {"Payload": u["Error"], "Truncated": false},
                    "RetryDetails": {"CurrentAttempt": attempt, "NextAttemptDelaySeconds": delay},
                }),
            )
        }
        ("WAIT", "START") => {
            let secs = u["WaitOptions"]["WaitSeconds"].as_f64().unwrap_or(0.0);
            let end = t + secs * scale;
            op["WaitDetails"] = json!({"ScheduledEndTimestamp": end});
            (
                "WaitStarted",
                json!({"Duration": secs, "ScheduledEndTimestamp": end}),
            )
        }
        ("WAIT", "CANCEL") => {
            op["Status"] = json!("CANCELLED");
            op["EndTimestamp"] = json!(t);
            ("WaitCancelled", json!({}))
        }
        ("CONTEXT", "START") => ("ContextStarted", json!({})),
        ("CONTEXT", "SUCCEED") => {
            op["Status"] = json!("SUCCEEDED");
            op["EndTimestamp"] = json!(t);
            op["ContextDetails"] = json!({"Result": u["Payload"]});
            ("ContextSucceeded", json!({}))
        }
        ("CONTEXT", "FAIL") => {
            op["Status"] = json!("FAILED");
            op["EndTimestamp"] = json!(t);
            op["ContextDetails"] = json!({"Error": u["Error"]});
            ("ContextFailed", json!({}))
        }
        ("CALLBACK", "START") => {
            op["CallbackDetails"] = json!({"CallbackId": random_hex(32)});
            (
                "CallbackStarted",
                json!({"CallbackId": op["CallbackDetails"]["CallbackId"]}),
            )
        }
        (k, a) => {
            return Err(ServiceError::Invalid(format!("{k} {a} is not supported")));
        }
    };
    Ok((event, details))
}
