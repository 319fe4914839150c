//! The real `deployer local`, started on a free port for a test, and a small HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{assert_fresh, deployer_bin, workspace_root};

/// A running `deployer local`; stopped (SIGINT, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct LocalCloud {
    child: Child,
    /// Base URL of the API, stage included (`http://127.0.0.1:PORT/dev`).
    pub api: String,
    /// The Lambda endpoint (Invoke and the durable execution API).
    pub lambda: String,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl LocalCloud {
    /// Starts `deployer local --port 0 --no-build <args>` with `WEBHOOK_SECRET=secret`.
    pub fn start(args: &[&str], secret: Option<&str>) -> Self {
        LocalCloud::start_under(&[], args, secret)
    }

    /// Like [`LocalCloud::start`], run by `wrapper` (a program and its arguments, such as
    /// `strace -f -o FILE --`).
    pub fn start_under(wrapper: &[&str], args: &[&str], secret: Option<&str>) -> Self {
        LocalCloud::spawn(wrapper, args, secret, &[])
    }

    /// A local cloud whose reconciler runs every second (a one-second grace, waits a
    /// hundredth of their length), with `extra` arguments.
    pub fn reconciled(extra: &[&str], secret: Option<&str>) -> Self {
        let mut args = vec![
            "--ephemeral",
            "--reconcile-every",
            "1s",
            "--set",
            "reconcile-grace-s=1",
            "--time-scale",
            "0.01",
        ];
        args.extend(extra);
        LocalCloud::start(&args, secret)
    }

    /// Like [`LocalCloud::start`], with more environment (other sources' secrets, say).
    pub fn start_env(args: &[&str], secret: Option<&str>, env: &[(&str, &str)]) -> Self {
        LocalCloud::spawn(&[], args, secret, env)
    }

    fn spawn(wrapper: &[&str], args: &[&str], secret: Option<&str>, env: &[(&str, &str)]) -> Self {
        for f in ["receiver", "processor", "status", "reconciler"] {
            let bin = deployer_bin().with_file_name(f);
            let own = format!("functions/{f}");
            let sources = [
                own.as_str(),
                "functions/webhook-core",
                "functions/webhook-contract",
            ];
            assert_fresh(&bin, &sources, &format!("-p {f}"));
        }
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(deployer_bin());
                c
            }
            None => Command::new(deployer_bin()),
        };
        cmd.args(["local", "--port", "0", "--no-build"])
            .args(args)
            .current_dir(workspace_root())
            .env_remove("WEBHOOK_SECRET")
            .env(webhook_contract::env::ID_KEY, crate::ID_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(s) = secret {
            cmd.env("WEBHOOK_SECRET", s);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("deployer local starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let printed = stdout.clone();
        std::thread::spawn(move || {
            // Keep reading to the end, so the process never writes into a closed pipe.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = printed.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
                drop(s);
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let api = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("API: ") {
                        break url.to_owned();
                    }
                    // A stack without an API prints its Lambda endpoint instead.
                    if line.starts_with("Lambda: ") {
                        break String::new();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "deployer local printed no `API:` line within 30 s; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        let lambda = loop {
            if let Some(url) = stderr
                .lock()
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("[local] Lambda API: ").map(str::to_owned))
            {
                break url;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "deployer local printed no `[local] Lambda API:` line; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        LocalCloud {
            child,
            api,
            lambda,
            stderr,
            stdout,
        }
    }

    /// What it printed on stdout so far (the banner).
    pub fn printed(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGINT (Ctrl-C) and wait for the exit status.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("deployer local did not stop within 10 s of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// For a cloud started under a wrapper: SIGINT to the `deployer` the wrapper runs (its
    /// child), then waits for both to exit.
    pub fn interrupt_wrapped(&mut self) {
        let wrapper = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{wrapper}/task/{wrapper}/children"))
            .unwrap_or_default();
        for pid in children
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT);
            for _ in 0..250 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl LocalCloud {
    /// GET `path` of the Lambda endpoint as JSON (the durable API, `/_local/...`).
    pub fn lambda_json(&self, path: &str) -> serde_json::Value {
        let (code, text) = http("GET", &format!("{}{path}", self.lambda), &[], "");
        assert_eq!(code, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Where this local cloud's services are (`/_local/endpoints`).
    pub fn endpoints(&self) -> serde_json::Value {
        self.lambda_json("/_local/endpoints")
    }

    /// The memory of the local cloud: its own process and every process under it (the
    /// functions), as the proportional set size from `/proc/PID/smaps_rollup` (`Pss`:
    /// pages shared by several processes, such as one binary's code in each of its
    /// instances, are divided among them, so the sum counts each page once).
    pub fn resident_bytes(&self) -> u64 {
        self.processes().into_iter().filter_map(resident_of).sum()
    }

    /// The CPU time (user + system) the local cloud's processes used so far, by process
    /// name (`deployer`, `receiver`, `processor`, ...), from `/proc/PID/stat`.
    pub fn cpu_by_process(&self) -> std::collections::BTreeMap<String, Duration> {
        let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100) as f64;
        let mut out = std::collections::BTreeMap::new();
        for pid in self.processes() {
            if let Some((name, ticks)) = cpu_of(pid) {
                *out.entry(name).or_insert(Duration::ZERO) +=
                    Duration::from_secs_f64(ticks as f64 / tick);
            }
        }
        out
    }

    /// The local cloud's process and every process under it.
    fn processes(&self) -> Vec<u32> {
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| Some((pid, parent_of(pid)?)))
            .collect();
        let mut tree = vec![self.child.id()];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            tree.extend(
                parents
                    .iter()
                    .filter(|(_, p)| *p == parent)
                    .map(|(c, _)| *c),
            );
            i += 1;
        }
        tree
    }

    /// The local services' figures: executions, metrics, alarms, dead letters, pids.
    pub fn stats(&self) -> serde_json::Value {
        self.lambda_json("/_local/stats")
    }

    /// Every call the local cloud counted, by service and operation (`calls` of
    /// [`LocalCloud::stats`], which is not counted itself).
    pub fn calls(&self) -> serde_json::Value {
        self.stats()["calls"].clone()
    }

    /// Waits (at most `limit`) until `n` durable executions SUCCEEDED, reading
    /// [`LocalCloud::stats`] (not counted, unlike the Lambda API's list).
    pub fn wait_succeeded(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let by_status = self.executions_by_status();
            let done = by_status["SUCCEEDED"].as_u64().unwrap_or(0) as usize;
            if done >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {n} SUCCEEDED: {by_status}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// How many durable executions are in each status (`{"RUNNING": 3, ...}`; not
    /// counted as calls, and cheap to poll with thousands of executions).
    /// Starts an execution named `name` of the conformance app's function (a cloud started
    /// with `--app conformance`) on requirement `requirement`, asynchronously.
    pub fn start_conformance(&self, requirement: &str, name: &str, input: serde_json::Value) {
        let url = format!(
            "{}/2015-03-31/functions/conformance-local-Conformance/invocations?Qualifier=live",
            self.lambda
        );
        let headers = [
            ("X-Amz-Invocation-Type", "Event"),
            ("X-Amz-Durable-Execution-Name", name),
        ];
        let body = serde_json::json!({"requirement": requirement, "input": input}).to_string();
        let (code, text) = try_http("POST", &url, &headers, &body).expect("the Lambda API answers");
        assert_eq!(code, 202, "{text}");
    }

    pub fn executions_by_status(&self) -> serde_json::Value {
        let (code, body) = http(
            "GET",
            &format!("{}/_local/stats/executions", self.lambda),
            &[],
            "",
        );
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_default()
    }

    /// The durable executions of the webhook processor (named `name`, or all).
    /// The processor's executions (started through its `live` alias), or the one named so.
    pub fn executions(&self, name: Option<&str>) -> Vec<serde_json::Value> {
        let query = name.map_or(String::new(), |n| format!("&DurableExecutionName={n}"));
        let v = self.lambda_json(&format!(
            "/2025-12-01/functions/webhooks-dev-Processor/durable-executions?Qualifier=live{query}"
        ));
        v["DurableExecutions"].as_array().unwrap().clone()
    }

    /// The status of webhook `id` (`GET /webhooks/{id}`): HTTP status and JSON body.
    pub fn status(&self, id: &str) -> (u16, serde_json::Value) {
        let (code, text) = http("GET", &format!("{}/webhooks/{id}", self.api), &[], "");
        (code, serde_json::from_str(&text).unwrap_or_default())
    }

    /// Polls until webhook `id` is COMPLETED or FAILED (at most `limit`); its status body.
    pub fn wait_terminal(&self, id: &str, limit: Duration) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let (code, s) = self.status(id);
            if code == 200 && (s["status"] == "COMPLETED" || s["status"] == "FAILED") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{id} is still {code} {s} after {limit:?}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The webhook id (and first execution name) the receiver gives delivery `delivery` of the
/// `default` source (sent as `X-Webhook-Id`) where it has no secret, under the tests' id
/// key (a signed body is identified by itself: [`body_webhook_id`]).
pub fn webhook_id(delivery: &str) -> String {
    typed_webhook_id(webhook_contract::sources::DEFAULT, delivery).to_string()
}

/// The webhook id the receiver gives the signed body `body` of the `default` source, under
/// the tests' id key: its scheme (GitHub's) does not sign the delivery id, so the body
/// identifies a signed webhook.
pub fn body_webhook_id(body: &str) -> String {
    webhook_core::ids::IdKey::new(crate::ID_KEY)
        .webhook_id(
            webhook_contract::sources::DEFAULT,
            &webhook_core::ids::Delivery::BodyHash(webhook_core::ids::body_hash(body.as_bytes())),
        )
        .to_string()
}

/// The webhook id of delivery `delivery` of `source`, under the tests' id key.
pub fn typed_webhook_id(source: &str, delivery: &str) -> webhook_core::WebhookId {
    webhook_core::ids::IdKey::new(crate::ID_KEY).webhook_id(
        source,
        &webhook_core::ids::Delivery::Given(delivery.to_owned()),
    )
}

/// `s` percent-encoded for one URL path segment (an ARN, say).
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    try_http(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// One HTTP/1.1 request; the status (0: closed without an answer) and the body, or why it
/// could not be sent.
pub fn try_http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // 0: the server closed the connection without answering.
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// The name in `/proc/PID/stat` and the fields after it (field 3 first).
fn stat_of(pid: u32) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat.get(open + 1..close)?.to_owned();
    let fields = stat[close + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((name, fields))
}

/// The nice value of `pid` (field 19).
pub fn nice_of(pid: u32) -> Option<i64> {
    stat_of(pid)?.1.get(16)?.parse().ok()
}

/// The parent of `pid` (field 4).
fn parent_of(pid: u32) -> Option<u32> {
    stat_of(pid)?.1.get(1)?.parse().ok()
}

/// The name of `pid` and the clock ticks it ran (fields 14 and 15: user and system).
fn cpu_of(pid: u32) -> Option<(String, u64)> {
    let (name, fields) = stat_of(pid)?;
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((function_of(pid).unwrap_or(name), ticks(11)? + ticks(12)?))
}

/// For a process running a published version (a data directory's
/// `versions/<Function>/<number>`, whose file name is the number), its function's name as
/// its crate spells it (`Processor` -> `processor`).
fn function_of(pid: u32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let number = exe.file_name()?.to_str()?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let function = exe.parent()?.file_name()?.to_str()?;
    Some(function.to_lowercase())
}

/// The proportional set size of `pid` (`Pss` of `/proc/PID/smaps_rollup`), in bytes.
fn resident_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
