//! The durable execution service for functions with `DurableConfig`: executions, checkpoint
//! tokens, the operation log, retry and wait timers, re-invocation, execution names as
//! idempotency keys, `ExecutionTimeout`, history, get/list/stop. Every change is written to
//! the data directory before it is acknowledged, so a restarted local cloud finishes the
//! executions that were in flight.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};

use super::lambda::{Function, InvokeError};

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
}

impl ServiceError {
    pub fn code(&self) -> (u16, &'static str) {
        match self {
            ServiceError::NotFound(_) => (404, "ResourceNotFoundException"),
            ServiceError::Invalid(_) => (400, "InvalidParameterValueException"),
            ServiceError::AlreadyStarted(_) => (409, "DurableExecutionAlreadyStartedException"),
        }
    }
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
    faults: Faults,
}

/// Fault injection for tests.
#[derive(Debug, Default)]
pub struct Faults {
    /// Kill the function's process while it runs step `n` (1-based) of the next execution
    /// that reaches it, once; 0 is off.
    pub kill_in_step: AtomicUsize,
    /// Record the START of step `n` and never answer that checkpoint.
    pub hold_in_step: Option<usize>,
}

impl Durable {
    pub fn new(
        dir: Option<PathBuf>,
        functions: BTreeMap<String, Arc<Function>>,
        faults: Faults,
    ) -> Arc<Self> {
        Arc::new(Durable {
            dir,
            functions,
            executions: Mutex::new(BTreeMap::new()),
            names: Mutex::new(BTreeMap::new()),
            faults,
        })
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{id}.json")))
    }

    async fn persist(&self, e: &Execution) {
        let Some(path) = self.path(&e.id) else { return };
        let tmp = path.with_extension("json.tmp");
        match serde_json::to_vec(e) {
            Ok(bytes) => {
                if let Err(err) = tokio::fs::write(&tmp, bytes).await {
                    eprintln!("[local] cannot persist execution {}: {err}", e.id);
                    return;
                }
                if let Err(err) = tokio::fs::rename(&tmp, &path).await {
                    eprintln!("[local] cannot persist execution {}: {err}", e.id);
                }
            }
            Err(err) => eprintln!("[local] cannot persist execution {}: {err}", e.id),
        }
    }

    /// Loads the executions of a previous run and resumes those still running.
    pub async fn restore(self: &Arc<Self>) -> anyhow::Result<usize> {
        let Some(dir) = &self.dir else { return Ok(0) };
        tokio::fs::create_dir_all(dir).await?;
        let mut resumed = 0;
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let exec: Execution = match serde_json::from_slice(&tokio::fs::read(&path).await?) {
                Ok(e) => e,
                Err(err) => {
                    eprintln!("[local] ignoring {}: {err}", path.display());
                    continue;
                }
            };
            let running = exec.status == ExecStatus::Running;
            let arn = exec.arn.clone();
            self.names.lock().await.insert(
                (exec.function.clone(), exec.name.clone()),
                (arn.clone(), exec.input.clone()),
            );
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
    /// existing one of the same name and input.
    pub async fn start(
        self: &Arc<Self>,
        function: &str,
        qualifier: &str,
        name: Option<String>,
        input: String,
        timeout_s: u64,
    ) -> Result<(String, bool), ServiceError> {
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
        };
        exec.event(
            "ExecutionStarted",
            None,
            Some((
                "ExecutionStartedDetails",
                json!({"Input": {"Payload": exec.input, "Truncated": false}}),
            )),
        );
        self.persist(&exec).await;
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
                        self.persist(&e).await;
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
                let outcome = f
                    .invoke(serde_json::to_vec(&payload).unwrap_or_default())
                    .await;
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
                self.persist(&e).await;
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

    /// `CheckpointDurableExecution`.
    pub async fn checkpoint(&self, arn: &str, body: &Value) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
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
        e.checkpoints += 1;
        let t = now();
        let mut changed: Vec<usize> = Vec::new();
        let mut kill_now = false;
        let mut hold_now = false;
        for u in body["Updates"].as_array().into_iter().flatten() {
            let id = u["Id"].as_str().unwrap_or_default().to_owned();
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
            let index = match e.op_index(&id) {
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
                    let mut op =
                        json!({"Id": id, "Type": kind, "Status": "STARTED", "StartTimestamp": t});
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
            };
            let mut op = e.operations[index].clone();
            // The attempt this update is about: completed retries so far, plus one.
            let attempt = op["StepDetails"]["Attempt"].as_u64().unwrap_or(0) + 1;
            let (event, details) = match (kind, action) {
                ("STEP", "START") => {
                    op["Status"] = json!("STARTED");
                    if op["StepDetails"].is_null() {
                        op["StepDetails"] = json!({"Attempt": 0});
                    }
                    let steps_started = e.operations.iter().filter(|o| o["Type"] == "STEP").count();
                    kill_now = self
                        .faults
                        .kill_in_step
                        .compare_exchange(steps_started, 0, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                    hold_now = self.faults.hold_in_step == Some(steps_started);
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
                    op["StepDetails"]["NextAttemptTimestamp"] = json!(t + delay);
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
                    op["WaitDetails"] = json!({"ScheduledEndTimestamp": t + secs});
                    (
                        "WaitStarted",
                        json!({"Duration": secs, "ScheduledEndTimestamp": t + secs}),
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
            e.operations[index] = op.clone();
            let key = format!("{event}Details");
            e.event(event, Some(&op), Some((&key, details)));
            if !changed.contains(&index) {
                changed.push(index);
            }
        }
        let terminal = e.status != ExecStatus::Running;
        e.token = random_hex(40);
        let operations: Vec<Value> = changed.iter().map(|i| e.operations[*i].clone()).collect();
        let mut out = json!({"NewExecutionState": {"Operations": operations}});
        if !terminal {
            out["CheckpointToken"] = json!(e.token);
        }
        self.persist(&e).await;
        let function = e.function.clone();
        drop(e);
        if hold_now {
            eprintln!("[local] fault injection: holding the checkpoint of a step start");
            std::future::pending::<()>().await;
        }
        if kill_now {
            // Let the body start, then kill the process running it.
            if let Some(f) = self.functions.get(&function).cloned() {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    if f.kill_busy().await {
                        eprintln!(
                            "[local] fault injection: killed {} inside a step",
                            f.spec.crate_name
                        );
                    }
                });
            }
        }
        if terminal {
            entry.done.notify_waiters();
        }
        Ok(out)
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
        for entry in self.executions.lock().await.values() {
            let e = entry.exec.lock().await;
            if e.function == function && name.is_none_or(|n| n == e.name) {
                out.push(e.summary());
            }
        }
        json!({"DurableExecutions": out})
    }

    pub async fn stop(&self, arn: &str) -> Result<Value, ServiceError> {
        let entry = self.entry(arn).await?;
        let mut e = entry.exec.lock().await;
        let t = now();
        if e.status == ExecStatus::Running {
            e.status = ExecStatus::Stopped;
            e.ended = Some(t);
            e.event("ExecutionStopped", None, None);
            self.persist(&e).await;
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
