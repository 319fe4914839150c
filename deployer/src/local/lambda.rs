//! Lambda on one machine: each function runs as its real binary in child processes that
//! speak the Lambda Runtime API, served here, one listener per process so that a timed-out
//! or crashed invocation is pinned to the process that had it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::model::{FunctionSpec, REGION};
use super::nodelay;

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeError {
    /// The handler returned an error (the Runtime API error document).
    Function(String),
    /// The invocation ran past the function's timeout; its process was killed.
    Timeout { request_id: String, seconds: f64 },
    /// The process exited during the invocation.
    Crashed,
}

impl InvokeError {
    /// The `errorType` Lambda reports for an invocation that produced no response of its own.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvokeError::Function(_) => "Runtime.Unknown",
            InvokeError::Timeout { .. } => "Sandbox.Timedout",
            InvokeError::Crashed => "Runtime.ExitError",
        }
    }
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Function(e) => write!(f, "function error: {e}"),
            // Lambda's words.
            InvokeError::Timeout { seconds, .. } => {
                write!(f, "Task timed out after {seconds:.2} seconds")
            }
            InvokeError::Crashed => f.write_str("the function's process exited"),
        }
    }
}

pub type Outcome = Result<Vec<u8>, InvokeError>;

struct Job {
    request_id: String,
    payload: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

struct Current {
    request_id: String,
    /// The X-Ray trace id of this invocation: the function's SDK calls carry it
    /// (`x-amzn-trace-id`), which tells the local services who is calling.
    trace_id: String,
    reply: oneshot::Sender<Outcome>,
    /// When the process received the event: Lambda bills from here to its answer.
    received: Instant,
}

/// What to do with a process after one of its log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineAction {
    Nothing,
    /// Kill the process that printed the line (fault injection).
    Kill,
}

/// Decides about one line a function's process printed.
pub type LineWatch = Arc<dyn Fn(&str) -> LineAction + Send + Sync>;

/// What the local cloud does with the functions' output besides printing it.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Embedded-metric-format lines become data points.
    pub metrics: Option<Arc<super::metrics::Metrics>>,
    /// Decides about each line (the kill-in-step fault watches for a step body's line).
    pub on_line: Option<LineWatch>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("metrics", &self.metrics.is_some())
            .field("on_line", &self.on_line.is_some())
            .finish()
    }
}

/// One process of a function and its Runtime API endpoint.
struct Instance {
    index: usize,
    current: Mutex<Option<Current>>,
    pid: Mutex<Option<u32>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// When the current process was spawned, until its first `next`.
    spawned: Mutex<Option<Instant>>,
    /// Counts the processes of this instance that have exited: a `next` that outlived its
    /// process sees another number.
    generation: AtomicU64,
    /// The code generation (`Function::code`) its process was spawned with.
    code: AtomicU64,
    /// The request id of the invocation whose Invoke phase runs: from its event to the
    /// process's next request for one. Lambda's timeout bounds the whole phase, work
    /// after the response included.
    phase: Mutex<Option<String>>,
    /// `generation + 1` while that process waits in `next` for an event, else 0.
    waiting: AtomicU64,
}

impl Instance {
    /// The timeout of invocation `request_id`: if its Invoke phase still runs, the process
    /// is killed, and a caller still waiting for its outcome gets `Sandbox.Timedout` (billed
    /// to that moment, as Lambda bills a timed-out invocation its whole timeout).
    async fn time_out(&self, f: &Function, request_id: &str, timeout: Duration) {
        let mut current = self.current.lock().await;
        let mut phase = self.phase.lock().await;
        if phase.as_deref() != Some(request_id) {
            return;
        }
        *phase = None;
        let seconds = timeout.as_secs_f64();
        let after = match current.take_if(|c| c.request_id == request_id) {
            Some(c) => {
                f.bill(&c);
                let _ = c.reply.send(Err(InvokeError::Timeout {
                    request_id: request_id.to_owned(),
                    seconds,
                }));
                ""
            }
            None => " after its response",
        };
        eprintln!(
            "[local] {request_id}: task timed out after {seconds:.2} s{after}: killing its process"
        );
        drop((phase, current));
        if let Some(kill) = self.kill.lock().await.take() {
            let _ = kill.send(());
        }
    }

    /// Whether its live process waits in `next` for an event.
    fn idle(&self) -> bool {
        self.waiting.load(Ordering::Acquire) == self.generation.load(Ordering::Acquire) + 1
    }
}

/// Marks an instance's process as waiting in `next`, until dropped.
struct Waiting<'a>(&'a Instance, u64);

impl<'a> Waiting<'a> {
    fn new(instance: &'a Instance, generation: u64) -> Self {
        instance.waiting.store(generation + 1, Ordering::Release);
        Waiting(instance, generation + 1)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .waiting
            .compare_exchange(self.1, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// A deployed function: its processes and its queue of invocations.
pub struct Function {
    pub spec: FunctionSpec,
    /// The code its processes run; replaced by [`Function::replace_code`].
    binary: std::sync::RwLock<PathBuf>,
    /// Counts code replacements: a process spawned with older code takes no more jobs.
    code: AtomicU64,
    env: BTreeMap<String, String>,
    hooks: Hooks,
    jobs: mpsc::Sender<Job>,
    queue: Mutex<mpsc::Receiver<Job>>,
    /// Invocations a caller may prepare at once ([`Function::slot`]).
    slots: tokio::sync::Semaphore,
    instances: Mutex<Vec<Arc<Instance>>>,
    next_id: AtomicU64,
    /// Spawn-to-first-`next` times, for the cold-start figure.
    pub cold_starts: Mutex<Vec<Duration>>,
}

/// A log line in Lambda's JSON format, as `tracing`'s JSON formatter writes it.
#[derive(serde::Deserialize)]
struct JsonLine {
    level: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

/// A function's log line for a person at a terminal: a JSON line (the template's
/// `LogFormat: JSON`) as `LEVEL message key="value" ...`; any other line as it is.
fn readable(line: &str) -> std::borrow::Cow<'_, str> {
    let Ok(JsonLine { level, mut fields }) = serde_json::from_str::<JsonLine>(line) else {
        return line.into();
    };
    let mut out = level;
    if let Some(serde_json::Value::String(message)) = fields.remove("message") {
        out.push(' ');
        out.push_str(&message);
    }
    for (k, v) in fields {
        match v {
            serde_json::Value::String(s) => out.push_str(&format!(" {k}={s:?}")),
            other => out.push_str(&format!(" {k}={other}")),
        }
    }
    out.into()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// How many invocations of one function callers that wait for a slot may have prepared
/// (payload built, queued or running) at once: enough to keep every process busy, few
/// enough that a backlog of executions does not hold a payload each.
pub const PREPARED_INVOCATIONS: usize = 256;

impl Function {
    /// A slot to prepare an invocation in: a caller with a backlog (the durable service)
    /// builds a payload only once it holds one, and keeps it until the invocation ends.
    pub async fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.slots.acquire().await.ok()
    }

    pub fn new(
        spec: FunctionSpec,
        binary: PathBuf,
        env: BTreeMap<String, String>,
        hooks: Hooks,
    ) -> Arc<Self> {
        let (jobs, queue) = mpsc::channel(1024);
        Arc::new(Function {
            spec,
            binary: std::sync::RwLock::new(binary),
            code: AtomicU64::new(0),
            env,
            hooks,
            jobs,
            queue: Mutex::new(queue),
            slots: tokio::sync::Semaphore::new(PREPARED_INVOCATIONS),
            instances: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            cold_starts: Mutex::new(Vec::new()),
        })
    }

    /// Starts `count` processes.
    pub async fn start(self: &Arc<Self>, count: usize) -> anyhow::Result<()> {
        for index in 0..count {
            let instance = Arc::new(Instance {
                index,
                current: Mutex::new(None),
                pid: Mutex::new(None),
                kill: Mutex::new(None),
                spawned: Mutex::new(None),
                generation: AtomicU64::new(0),
                code: AtomicU64::new(0),
                phase: Mutex::new(None),
                waiting: AtomicU64::new(0),
            });
            self.instances.lock().await.push(instance.clone());
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(response),
                )
                .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state((self.clone(), instance.clone()));
            tokio::spawn(async move {
                let _ = axum::serve(nodelay(listener), app).await;
            });
            let f = self.clone();
            tokio::spawn(async move { f.supervise(instance, addr.to_string()).await });
        }
        Ok(())
    }

    /// The code its processes run now.
    fn binary(&self) -> PathBuf {
        self.binary
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `binary` from now on: idle processes are replaced at once, busy ones once their
    /// invocation has ended (none is cut short).
    pub async fn replace_code(&self, binary: PathBuf) {
        *self.binary.write().unwrap_or_else(|p| p.into_inner()) = binary;
        self.code.fetch_add(1, Ordering::AcqRel);
        for instance in self.instances.lock().await.iter() {
            // Under `current`'s lock, which `next` holds while it claims a job.
            let current = instance.current.lock().await;
            if current.is_none()
                && let Some(kill) = instance.kill.lock().await.take()
            {
                let _ = kill.send(());
            }
            drop(current);
        }
    }

    /// Keeps one process running for `instance`; a process that exits is replaced.
    async fn supervise(self: Arc<Self>, instance: Arc<Instance>, runtime_api: String) {
        let mut failures = 0u32;
        loop {
            let started = std::time::Instant::now();
            *instance.spawned.lock().await = Some(started);
            let child = self.spawn(&runtime_api, &instance);
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "[{}] cannot start {}: {e}",
                        self.spec.crate_name,
                        self.binary().display()
                    );
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            *instance.pid.lock().await = child.id();
            let (kill_tx, kill_rx) = oneshot::channel();
            *instance.kill.lock().await = Some(kill_tx);
            tokio::select! {
                _ = child.wait() => {}
                _ = kill_rx => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
            }
            *instance.pid.lock().await = None;
            instance.generation.fetch_add(1, Ordering::AcqRel);
            *instance.phase.lock().await = None;
            if let Some(current) = instance.current.lock().await.take() {
                // Lambda bills a crashed invocation up to the crash.
                self.bill(&current);
                let _ = current.reply.send(Err(InvokeError::Crashed));
            }
            failures = if started.elapsed() < Duration::from_secs(1) {
                failures + 1
            } else {
                0
            };
            if failures > 0 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(10)))).await;
            }
        }
    }

    fn spawn(&self, runtime_api: &str, instance: &Arc<Instance>) -> std::io::Result<Child> {
        let index = instance.index;
        instance
            .code
            .store(self.code.load(Ordering::Acquire), Ordering::Release);
        // A durable function works in the background of the requests that started it:
        // on two cores it yields to the request path, as on AWS it would not share them.
        // At the lowest priority (19): the local services it calls run at full priority,
        // so that is still enough for it to drain its backlog while requests arrive.
        let mut cmd = if self.spec.durable_timeout_s.is_some() {
            let mut nice = Command::new("nice");
            nice.args(["-n", "19"]).arg(self.binary());
            nice
        } else {
            Command::new(self.binary())
        };
        cmd.env_clear()
            .envs(&self.env)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{index}"))
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            // The functions allocate with mimalloc, which commits its arenas eagerly by
            // default: 9 MiB resident per idle process where glibc's allocator kept 1.4
            // (1.8 committed lazily). Here a dozen processes share one machine's memory;
            // on AWS each function has its own.
            .env("MIMALLOC_ARENA_EAGER_COMMIT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        let mut child = cmd.spawn()?;
        let prefix = format!("[{}]", self.spec.crate_name);
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let (prefix, hooks, instance) = (prefix.clone(), self.hooks.clone(), instance.clone());
            let function = self.spec.crate_name.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let shown = readable(&line);
                    eprintln!("{prefix} {shown}");
                    if let Some(m) = &hooks.metrics {
                        m.logged(&function, line.len() + 1);
                        m.put_emf(&line);
                    }
                    let action = hooks
                        .on_line
                        .as_ref()
                        .map_or(LineAction::Nothing, |f| f(&shown));
                    if action == LineAction::Kill
                        && let Some(kill) = instance.kill.lock().await.take()
                    {
                        let _ = kill.send(());
                        eprintln!(
                            "{prefix} fault injection: killed the process that printed that line"
                        );
                    }
                }
            });
        }
        Ok(child)
    }

    /// Invokes the function and waits for its outcome (at most its timeout).
    pub async fn invoke(self: &Arc<Self>, payload: Vec<u8>) -> Outcome {
        if let Some(m) = &self.hooks.metrics {
            m.count("invocations", &self.spec.crate_name);
        }
        let (reply, rx) = oneshot::channel();
        let request_id = format!(
            "{:08x}-local-{:012x}",
            now_ms() as u32,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let job = Job {
            request_id,
            payload,
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return Err(InvokeError::Crashed);
        }
        rx.await.unwrap_or(Err(InvokeError::Crashed))
    }

    /// Kills the process running the invocation whose trace id is `trace_id`, if this
    /// function has it (fault injection: it behaves exactly like a crash).
    pub async fn kill_traced(&self, trace_id: &str) -> bool {
        for instance in self.instances.lock().await.iter() {
            let running = instance
                .current
                .lock()
                .await
                .as_ref()
                .is_some_and(|c| trace_id.contains(&c.trace_id));
            if running && let Some(kill) = instance.kill.lock().await.take() {
                let _ = kill.send(());
                return true;
            }
        }
        false
    }

    /// Counts `c`'s duration so far as billed (Lambda bills from the event on).
    fn bill(&self, c: &Current) {
        if let Some(m) = &self.hooks.metrics {
            m.billed(&self.spec.crate_name, c.received.elapsed());
        }
    }

    /// How many of its processes wait for an event.
    pub async fn idle(&self) -> usize {
        self.instances
            .lock()
            .await
            .iter()
            .filter(|i| i.idle())
            .count()
    }

    pub async fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for i in self.instances.lock().await.iter() {
            if let Some(pid) = *i.pid.lock().await {
                out.push(pid);
            }
        }
        out
    }
}

type St = State<(Arc<Function>, Arc<Instance>)>;

async fn next(State((f, instance)): St) -> Response {
    // Cold start: process spawn to its first request for an event.
    if let Some(spawned) = instance.spawned.lock().await.take() {
        let mut cold = f.cold_starts.lock().await;
        if cold.len() < 1000 {
            cold.push(spawned.elapsed());
        }
    }
    let generation = instance.generation.load(Ordering::Acquire);
    // Asking for an event ends the Invoke phase of the one before.
    *instance.phase.lock().await = None;
    let job = {
        let _waiting = Waiting::new(&instance, generation);
        let mut queue = f.queue.lock().await;
        queue.recv().await
    };
    let Some(job) = job else {
        return StatusCode::GONE.into_response();
    };
    // The process that asked may have died while it waited (its request is still served):
    // give the job back for a live process instead of letting it time out here.
    if instance.generation.load(Ordering::Acquire) != generation {
        let _ = f.jobs.send(job).await;
        return StatusCode::GONE.into_response();
    }
    let timeout = Duration::from_secs(f.spec.timeout_s.max(1));
    let deadline = now_ms() + timeout.as_millis();
    // A trace id of its own per invocation (X-Ray's format: 1-<8 hex time>-<24 hex>).
    let trace_id = format!(
        "1-{:08x}-{}",
        (now_ms() / 1000) as u32,
        super::durable::random_hex(24)
    );
    {
        // The code check and the claim of the job under one lock: `replace_code` bumps the
        // code before it looks for idle processes under this lock, so a process is killed
        // before it claims a job, or not while it holds one.
        let mut current = instance.current.lock().await;
        if instance.code.load(Ordering::Acquire) != f.code.load(Ordering::Acquire) {
            // Code replaced since this process started: the job goes to one of the new code.
            drop(current);
            let _ = f.jobs.send(job).await;
            if let Some(kill) = instance.kill.lock().await.take() {
                let _ = kill.send(());
            }
            return StatusCode::GONE.into_response();
        }
        *instance.phase.lock().await = Some(job.request_id.clone());
        *current = Some(Current {
            request_id: job.request_id.clone(),
            trace_id: trace_id.clone(),
            reply: job.reply,
            received: Instant::now(),
        });
    }
    // The template's timeout: past it, the process is killed and the invocation fails.
    let (watch_f, watch_instance) = (f.clone(), instance.clone());
    let request_id = job.request_id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        watch_instance
            .time_out(&watch_f, &request_id, timeout)
            .await;
    });
    let mut headers = HeaderMap::new();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    };
    set("lambda-runtime-aws-request-id", job.request_id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set("lambda-runtime-invoked-function-arn", f.spec.arn.clone());
    set(
        "lambda-runtime-trace-id",
        format!("Root={trace_id};Parent=0000000000000000;Sampled=0"),
    );
    (StatusCode::OK, headers, job.payload).into_response()
}

async fn finish(f: &Function, instance: &Instance, id: &str, outcome: Outcome) -> StatusCode {
    let mut current = instance.current.lock().await;
    match current.take() {
        Some(c) if c.request_id == id => {
            f.bill(&c);
            let _ = c.reply.send(outcome);
            StatusCode::ACCEPTED
        }
        other => {
            *current = other;
            StatusCode::BAD_REQUEST
        }
    }
}

async fn response(State((f, instance)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&f, &instance, &id, Ok(body.to_vec())).await
}

async fn error(State((f, instance)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(
        &f,
        &instance,
        &id,
        Err(InvokeError::Function(
            String::from_utf8_lossy(&body).into_owned(),
        )),
    )
    .await
}

async fn init_error(State((f, _)): St, body: Bytes) -> StatusCode {
    eprintln!(
        "[{}] init error: {}",
        f.spec.crate_name,
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_log_lines_are_shown_as_text_and_others_as_they_are() {
        let line = r#"{"level":"INFO","fields":{"message":"step body running","step":"validate","attempt":1}}"#;
        assert_eq!(
            readable(line),
            r#"INFO step body running attempt=1 step="validate""#
        );
        assert_eq!(readable("plain text"), "plain text");
        assert_eq!(readable(r#"{"_aws":{}}"#), r#"{"_aws":{}}"#);
    }

    /// A function that answers its event, then works on and never asks for the next one
    /// (a Runtime API client in bash: no real function misbehaves on purpose).
    const ANSWERS_THEN_HANGS: &str = r#"#!/bin/bash
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: l\r\n\r\n' >&3
while IFS= read -r line <&3; do
  line=${line%$'\r'}
  [ -z "$line" ] && break
  case "${line,,}" in lambda-runtime-aws-request-id:*) id=${line#*: } ;; esac
done
printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: l\r\nContent-Length: 2\r\n\r\nok' "$id" >&3
while read -r -t 60 -u 3 line; do :; done
"#;

    #[tokio::test]
    async fn the_timeout_bounds_the_work_after_the_answer_too() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("hangs");
        std::fs::write(&binary, ANSWERS_THEN_HANGS).unwrap();
        let mut permissions = std::fs::metadata(&binary).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&binary, permissions).unwrap();
        let spec = FunctionSpec {
            logical: "Hangs".into(),
            name: "hangs".into(),
            arn: "arn:aws:lambda:us-east-1:000000000000:function:hangs".into(),
            crate_name: "hangs".into(),
            env: BTreeMap::new(),
            timeout_s: 1,
            memory_mb: 128,
            durable_timeout_s: None,
            dead_letter: None,
            reserved_concurrency: None,
        };
        let f = Function::new(spec, binary, BTreeMap::new(), Hooks::default());
        f.start(1).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), f.invoke(b"{}".to_vec()))
            .await
            .expect("answered");
        assert_eq!(answer.unwrap(), b"ok");
        let first = f.pids().await;
        assert_eq!(first.len(), 1);
        // Its Invoke phase runs until it asks for the next event: killed at the timeout.
        let deadline = Instant::now() + Duration::from_secs(10);
        while f.pids().await == first {
            assert!(
                Instant::now() < deadline,
                "the process {first:?} still runs"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
