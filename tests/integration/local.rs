//! `deployer local`, spawned for real on a free port: end to end, crash and resume, restart.

use std::time::{Duration, Instant};

use serde_json::Value;
use tests::dex::DexRunner;
use tests::local::{LocalCloud, body_webhook_id, http, path_segment};

const SECRET: &str = "local-test-secret";

fn sign(body: &str) -> String {
    webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes())
}

fn post(cloud: &LocalCloud, delivery: &str, body: &str, signed: bool) -> (u16, Value) {
    let sig = sign(body);
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
    ];
    if signed {
        headers.push(("X-Hub-Signature-256", &sig));
    }
    let (status, text) = http("POST", &format!("{}/webhooks", cloud.api), &headers, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn status(cloud: &LocalCloud, id: &str) -> Value {
    let (code, text) = http("GET", &format!("{}/webhooks/{id}", cloud.api), &[], "");
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Polls the status API until `id` is COMPLETED (or FAILED), at most `limit`.
fn wait_done(cloud: &LocalCloud, id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = status(cloud, id);
        if s["status"] == "COMPLETED" || s["status"] == "FAILED" {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{id} is still {} after {limit:?}; logs:\n{}",
            s["status"],
            cloud.logs()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The durable executions of the processor, through the local Lambda API.
fn executions(cloud: &LocalCloud) -> Vec<Value> {
    let (code, text) = http(
        "GET",
        &format!(
            "{}/2025-12-01/functions/webhooks-dev-Processor/durable-executions?Qualifier=live",
            cloud.lambda
        ),
        &[],
        "",
    );
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["DurableExecutions"].as_array().unwrap().clone()
}

/// The processor's executions once none is running any more (the status record reaches
/// COMPLETED inside the last step, a moment before the execution itself ends).
fn finished_executions(cloud: &LocalCloud) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let runs = executions(cloud);
        if runs.iter().all(|r| r["Status"] != "RUNNING") {
            return runs;
        }
        assert!(
            Instant::now() < deadline,
            "executions still running: {runs:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn history(cloud: &LocalCloud, arn: &str) -> Vec<Value> {
    history_at(&cloud.lambda, arn)
}

/// The history of an execution at a durable execution API (`base`).
fn history_at(base: &str, arn: &str) -> Vec<Value> {
    let encoded = path_segment(arn);
    let (code, text) = http(
        "GET",
        &format!("{base}/2025-12-01/durable-executions/{encoded}/history"),
        &[],
        "",
    );
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["Events"].as_array().unwrap().clone()
}

fn count(events: &[Value], kind: &str, name: &str) -> usize {
    events
        .iter()
        .filter(|e| e["EventType"] == kind && e["Name"] == name)
        .count()
}

const ORDER: &str = r#"{"type":"order","orderId":"A-1","amount":12.5}"#;

#[test]
fn a_signed_webhook_completes_end_to_end() {
    let cloud = LocalCloud::start(&["--ephemeral"], Some(SECRET));
    let started = Instant::now();
    let (code, accepted) = post(&cloud, "e2e-1", ORDER, true);
    assert_eq!(code, 202, "{accepted}\n{}", cloud.logs());
    let id = accepted["id"].as_str().unwrap();
    assert_eq!(accepted["statusUrl"], format!("/dev/webhooks/{id}"));
    let done = wait_done(&cloud, id, Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    for step in ["validate", "process", "finalize"] {
        assert!(done["steps"][step]["finishedAt"].is_string(), "{done}");
    }
    assert_eq!(done["result"]["reference"], "A-1");

    // The same delivery again: the same id, and still one execution.
    let (code, again) = post(&cloud, "e2e-1", ORDER, true);
    assert_eq!(code, 202);
    assert_eq!(again["id"], id);
    let runs = finished_executions(&cloud);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["DurableExecutionName"], id);
    assert_eq!(runs[0]["Status"], "SUCCEEDED");

    // Unsigned with a secret set: 401.
    let (code, refused) = post(&cloud, "e2e-2", ORDER, false);
    assert_eq!(code, 401, "{refused}");
    assert_eq!(executions(&cloud).len(), 1);
}

#[test]
fn background_work_yields_and_no_function_runs_past_its_reserved_concurrency() {
    let cloud = LocalCloud::start(&["--ephemeral", "--instances", "3"], None);
    // Every process spawned (their pids appear as they start).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pids = loop {
        let pids = cloud.stats()["pids"].clone();
        let started = |f: &str| pids[f].as_array().map_or(0, Vec::len);
        // A durable function runs twice as many (its invocations mostly wait on their
        // checkpoints' syncs), within its reserved concurrency (20 in dev).
        if started("receiver") == 3 && started("processor") == 6 {
            break pids;
        }
        assert!(std::time::Instant::now() < deadline, "{pids}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let of = |f: &str| -> Vec<u32> {
        pids[f]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| u32::try_from(p.as_u64()?).ok())
            .collect()
    };
    let nice_of = |pid: u32| tests::local::nice_of(pid).unwrap();
    // The reconciler's template reserves one execution; the others more than three.
    std::thread::sleep(Duration::from_millis(200));
    let reconcilers = cloud.stats()["pids"]["reconciler"].clone();
    assert_eq!(
        reconcilers.as_array().map(Vec::len),
        Some(1),
        "{reconcilers}"
    );
    // The durable processor runs at the lowest priority (19), the request path at the
    // local cloud's own niceness.
    let base = nice_of(std::process::id());
    assert!(
        base < 19,
        "the test itself runs at the lowest priority: {base}"
    );
    assert!(of("receiver").iter().all(|p| nice_of(*p) == base), "{pids}");
    let background = 19;
    assert!(
        of("processor").iter().all(|p| nice_of(*p) == background),
        "{pids}"
    );
}

#[test]
fn api_gateway_answers_like_api_gateway() {
    let cloud = LocalCloud::start(&["--ephemeral"], None);
    let (code, body) = http("GET", &format!("{}/nowhere", cloud.api), &[], "");
    assert_eq!(
        (code, body.as_str()),
        (403, r#"{"message":"Missing Authentication Token"}"#)
    );
    let (code, _) = http("DELETE", &format!("{}/webhooks", cloud.api), &[], "");
    assert_eq!(code, 403);
    let base = cloud.api.rsplit_once('/').unwrap().0;
    let (code, _) = http("GET", &format!("{base}/prod/webhooks/x"), &[], "");
    assert_eq!(code, 403, "another stage");
    let (code, body) = http("GET", &format!("{}/webhooks/nope", cloud.api), &[], "");
    assert_eq!(code, 400, "{body}");
    assert!(cloud.logs().contains("WARNING: WEBHOOK_SECRET is not set"));
    // What the warning says: the default source takes an unsigned webhook (there is no
    // Secrets Manager here to read the template's secret ARN from), a named source does not.
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", "unsigned-1"),
    ];
    let post = |route: &str| http("POST", &format!("{}/{route}", cloud.api), &headers, "{}");
    let (code, body) = post("webhooks");
    assert_eq!(code, 202, "{body}");
    let (code, body) = post("webhooks/github");
    assert_eq!(code, 401, "{body}");
}

/// How many times `step`'s body ran, from the processor's log lines.
fn body_runs(logs: &str, step: &str) -> usize {
    logs.lines()
        .filter(|l| {
            l.starts_with("[processor]")
                && l.contains("step body running")
                && l.contains(&format!("step=\"{step}\""))
        })
        .count()
}

#[test]
fn a_crash_inside_the_second_step_resumes_without_rerunning_the_first() {
    let id = body_webhook_id(ORDER);
    let kill = format!("kill-in-step={id}:process");
    let cloud = LocalCloud::start(&["--ephemeral", "--fault", &kill], Some(SECRET));
    let (code, accepted) = post(&cloud, "crash-1", ORDER, true);
    assert_eq!(code, 202);
    assert_eq!(accepted["id"], id);
    let done = wait_done(&cloud, &id, Duration::from_secs(15));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let logs = cloud.logs();
    // The kill is triggered by the process step's own "running" line, and kills the
    // process that printed it.
    assert!(
        logs.contains("fault injection: killed the process that printed that line"),
        "{logs}"
    );
    assert_eq!(body_runs(&logs, "validate"), 1, "{logs}");
    assert_eq!(
        body_runs(&logs, "process"),
        2,
        "killed once inside, run again: {logs}"
    );
    assert_eq!(body_runs(&logs, "finalize"), 1, "{logs}");
    // Where it landed, from the history: after process started, before it ended, the
    // invocation died; validate was never started again.
    let runs = finished_executions(&cloud);
    let events = history(&cloud, runs[0]["DurableExecutionArn"].as_str().unwrap());
    let position = |kind: &str, name: &str| {
        events
            .iter()
            .position(|e| e["EventType"] == kind && e["Name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}: {events:#?}"))
    };
    let crash = events
        .iter()
        .position(|e| {
            e["EventType"] == "InvocationCompleted"
                && e["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"]
                    == "Runtime.ExitError"
        })
        .unwrap_or_else(|| panic!("no crashed invocation: {events:#?}"));
    assert!(position("StepStarted", "process") < crash, "{events:#?}");
    assert!(crash < position("StepSucceeded", "process"), "{events:#?}");
    assert!(position("StepSucceeded", "validate") < crash, "{events:#?}");
    assert_eq!(count(&events, "StepStarted", "validate"), 1);
    assert_eq!(count(&events, "StepSucceeded", "process"), 1);
    assert_eq!(count(&events, "StepSucceeded", "finalize"), 1);
}

/// Sends `body` as delivery `delivery` to a local cloud started with `hold-in-step` on its
/// second step, and returns its id once the execution is held there.
fn held_in_step_2(cloud: &LocalCloud, delivery: &str, body: &str) -> String {
    let (code, accepted) = post(cloud, delivery, body, true);
    assert_eq!(code, 202, "{accepted}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cloud.logs().contains("holding the checkpoint") {
        assert!(
            Instant::now() < deadline,
            "never reached step 2:\n{}",
            cloud.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    accepted["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_killed_local_cloud_finishes_its_executions_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let hold = format!("hold-in-step={}:process", body_webhook_id(ORDER));
    let mut first = LocalCloud::start(&["--data-dir", dir, "--fault", &hold], Some(SECRET));
    let id = held_in_step_2(&first, "restart-1", ORDER);
    assert_eq!(status(&first, &id)["status"], "VALIDATING");
    first.kill9();

    let second = LocalCloud::start(&["--data-dir", dir], Some(SECRET));
    assert!(
        second.logs().contains("resuming 1 durable execution"),
        "{}",
        second.logs()
    );
    let done = wait_done(&second, &id, Duration::from_secs(10));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(executions(&second).len(), 1);
}

/// `GetDurableExecution` of `arn` through the local Lambda API.
fn execution(cloud: &LocalCloud, arn: &str) -> Value {
    let url = format!(
        "{}/2025-12-01/durable-executions/{}",
        cloud.lambda,
        path_segment(arn)
    );
    let (code, text) = http("GET", &url, &[], "");
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// A target directory of its own holding copies of the function binaries as built (to be
/// changed without touching the real ones), and its `debug` directory.
fn copied_functions() -> (tempfile::TempDir, std::path::PathBuf) {
    let target = tempfile::tempdir().unwrap();
    let bins = target.path().join("debug");
    std::fs::create_dir_all(&bins).unwrap();
    for f in ["receiver", "processor", "status", "reconciler"] {
        std::fs::copy(tests::deployer_bin().with_file_name(f), bins.join(f)).unwrap();
    }
    (target, bins)
}

/// A deploy while an execution is in flight: the processor's code changes between two runs
/// on one data directory. The execution that waited in step 2 finishes on version 1 (its
/// own processes), a new one starts on version 2, and the alias routes to version 2.
#[test]
fn an_execution_finishes_on_the_version_it_started_on() {
    // The functions as built, copied: the second run gets another processor.
    let (target, bins) = copied_functions();
    let env = [("CARGO_TARGET_DIR", target.path().to_str().unwrap())];
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let hold = format!("hold-in-step={}:process", body_webhook_id(ORDER));
    let args = ["--data-dir", dir, "--fault", &hold];
    let mut first = LocalCloud::start_env(&args, Some(SECRET), &env);
    let old_id = held_in_step_2(&first, "version-1", ORDER);
    let old = executions(&first)[0]["DurableExecutionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(execution(&first, &old)["Version"], "1");
    first.kill9();

    // New code: the same program with other bytes, so another SHA-256.
    use std::io::Write;
    let mut processor = std::fs::OpenOptions::new()
        .append(true)
        .open(bins.join("processor"))
        .unwrap();
    processor.write_all(b"\0version 2").unwrap();
    drop(processor);
    let second = LocalCloud::start_env(&["--data-dir", dir], Some(SECRET), &env);
    let done = wait_done(&second, &old_id, Duration::from_secs(20));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(execution(&second, &old)["Version"], "1");
    assert!(
        second.logs().contains("starting processor version 1"),
        "the old execution ran on processes of version 1:\n{}",
        second.logs()
    );
    // Another body: the same one under a new id would be a replay.
    let order = ORDER.replace("A-1", "A-2");
    let (code, accepted) = post(&second, "version-2", &order, true);
    assert_eq!(code, 202, "{accepted}");
    let new_id = accepted["id"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_done(&second, &new_id, Duration::from_secs(20))["status"],
        "COMPLETED"
    );
    let newest: Vec<Value> = executions(&second)
        .into_iter()
        .filter(|e| e["DurableExecutionArn"] != old.as_str())
        .collect();
    assert_eq!(newest.len(), 1, "{newest:?}");
    let arn = newest[0]["DurableExecutionArn"].as_str().unwrap();
    assert_eq!(execution(&second, arn)["Version"], "2");
    // A version that was never published is Lambda's ResourceNotFoundException.
    let url = format!(
        "{}/2015-03-31/functions/webhooks-dev-Processor/invocations?Qualifier=3",
        second.lambda
    );
    let (code, text) = http("POST", &url, &[("X-Amz-Invocation-Type", "Event")], "{}");
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("ResourceNotFoundException"), "{text}");
}

#[test]
fn ctrl_c_stops_cleanly() {
    let mut cloud = LocalCloud::start(&["--ephemeral"], None);
    let status = cloud.interrupt();
    assert!(status.success(), "{status:?}\n{}", cloud.logs());
    assert!(cloud.logs().contains("[local] stopping"));
}

#[test]
fn bad_input_fails_clearly() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let root = tests::workspace_root();
    let run = tests::deployer(
        &root,
        &["local", "--ephemeral", "--no-build", "--port", &port],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "cannot listen on 127.0.0.1:{port}: pick another --port"
        )),
        "{run}"
    );
    assert!(!run.stdout.contains("API:"), "{run}");

    let file = tempfile::NamedTempFile::new().unwrap();
    let under_file = file.path().join("data");
    let run = tests::deployer(
        &root,
        &[
            "local",
            "--no-build",
            "--port",
            "0",
            "--data-dir",
            under_file.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("cannot create the data directory"),
        "{run}"
    );

    let run = tests::deployer(&root, &["local", "--stage", "qa"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("[possible values: dev, staging, prod]"),
        "{run}"
    );

    let run = tests::deployer(&root, &["local", "--ephemeral", "--data-dir", "x"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("cannot be used with"), "{run}");
}

/// The events of a history that both services must agree on: their order, type, subtype,
/// name and operation id (the execution's own id differs between services).
fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let id =
                if e["EventType"] == "ExecutionStarted" || e["EventType"] == "ExecutionSucceeded" {
                    "-"
                } else {
                    e["Id"].as_str().unwrap_or("?")
                };
            format!(
                "{} {} {} {} {id}",
                e["EventId"], e["EventType"], e["SubType"], e["Name"]
            )
        })
        .collect()
}

#[test]
fn the_processor_history_matches_aws_dex_local_runner() {
    // AWS's emulator runs the execution; the local cloud runs the functions and the rest.
    let dex = DexRunner::start();
    let theirs = LocalCloud::start(
        &["--ephemeral", "--durable-service", &dex.url],
        Some(SECRET),
    );
    let (code, accepted) = post(&theirs, "second-opinion", ORDER, true);
    assert_eq!(code, 202, "{accepted}\n{}", theirs.logs());
    let id = accepted["id"].as_str().unwrap().to_owned();
    let done = wait_done(&theirs, &id, Duration::from_secs(10));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let listed = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (code, text) = http(
                "GET",
                &format!(
                    "{}/2025-12-01/durable-executions?DurableExecutionName={id}",
                    dex.url
                ),
                &[],
                "",
            );
            assert_eq!(code, 200, "{text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            let runs = v["DurableExecutions"].as_array().unwrap().clone();
            if runs.len() == 1 && runs[0]["Status"] == "SUCCEEDED" {
                break runs;
            }
            assert!(
                Instant::now() < deadline,
                "dex-local-runner executions: {v}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let expected = history_at(&dex.url, listed[0]["DurableExecutionArn"].as_str().unwrap());
    // Nothing ran in the embedded service.
    assert!(executions(&theirs).is_empty());

    // The same delivery under the embedded durable service.
    let ours = LocalCloud::start(&["--ephemeral"], Some(SECRET));
    let (code, accepted) = post(&ours, "second-opinion", ORDER, true);
    assert_eq!(code, 202);
    assert_eq!(accepted["id"], id);
    wait_done(&ours, &id, Duration::from_secs(5));
    let runs = finished_executions(&ours);
    let actual = history(&ours, runs[0]["DurableExecutionArn"].as_str().unwrap());

    assert_eq!(
        shape(&actual),
        shape(&expected),
        "ours:\n{actual:#?}\ndex-local-runner:\n{expected:#?}"
    );
    assert_eq!(expected.len(), 9, "{expected:#?}");
}

/// The pids of `function`'s processes, from the local cloud's stats.
fn pids(cloud: &LocalCloud, function: &str) -> Vec<i32> {
    let (code, text) = http("GET", &format!("{}/_local/stats", cloud.lambda), &[], "");
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["pids"][function]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap() as i32)
        .collect()
}

#[test]
fn a_process_that_dies_while_waiting_for_work_gets_none() {
    let cloud = LocalCloud::start(&["--ephemeral", "--instances", "1"], Some(SECRET));
    // The pool starts in the background: wait for its one receiver process.
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let found = pids(&cloud, "receiver");
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(before.len(), 1, "{before:?}");
    // Idle, blocked in the Runtime API's `next`: kill it there.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(before[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids(&cloud, "receiver")
        .first()
        .is_none_or(|p| *p == before[0])
    {
        assert!(Instant::now() < deadline, "no new receiver process");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The dead process's pending `next` must not take the request: the new one answers.
    let started = Instant::now();
    let (code, accepted) = post(&cloud, "after-a-death", ORDER, true);
    assert_eq!(code, 202, "{accepted}\n{}", cloud.logs());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

/// Replaces `path` with `bytes` the way a build does: a new file renamed over the old one.
fn rebuilt(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::fs::metadata(path).unwrap().permissions()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `local --watch` (here `--no-build`: the binaries are watched, a build made elsewhere):
/// a function whose binary changes is published as a new version and restarted, the next
/// request runs the new code, and a function whose binary did not change is not touched.
#[test]
fn watch_restarts_only_the_functions_whose_code_changed() {
    let (target, bins) = copied_functions();
    let env = [("CARGO_TARGET_DIR", target.path().to_str().unwrap())];
    let cloud = LocalCloud::start_env(&["--ephemeral", "--watch"], Some(SECRET), &env);
    let status_of = |id: &str| http("GET", &format!("{}/webhooks/{id}", cloud.api), &[], "");
    let (code, body) = status_of("nope");
    assert_eq!(code, 400);
    assert!(body.contains("is not a webhook id"), "{body}");
    let mut receiver_pids = pids(&cloud, "receiver");
    receiver_pids.sort_unstable();

    // The status function's code changes (one message); the processor's bytes change.
    let status = std::fs::read(bins.join("status")).unwrap();
    let needle = b"is not a webhook id";
    let at = status
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the message is in the binary");
    let mut patched = status.clone();
    patched[at..at + needle.len()].copy_from_slice(b"is NOT a webhook id");
    rebuilt(&bins.join("status"), &patched);
    let mut processor = std::fs::read(bins.join("processor")).unwrap();
    processor.extend_from_slice(b"\0version 2");
    rebuilt(&bins.join("processor"), &processor);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = status_of("nope");
        if code == 400 && body.contains("is NOT a webhook id") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still the old code: {body}\n{}",
            cloud.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The processor's binary changed too: it is seen by the same poll or the next one.
    while !cloud
        .logs()
        .contains("[local] processor: new code, version 2")
    {
        assert!(Instant::now() < deadline, "{}", cloud.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = cloud.logs();
    assert!(
        logs.contains("[local] status: new code, version 2"),
        "{logs}"
    );
    assert!(!logs.contains("[local] receiver: new code"), "{logs}");
    // The same processes (listed by pool slot, which need not follow spawn order).
    let mut now = pids(&cloud, "receiver");
    now.sort_unstable();
    assert_eq!(now, receiver_pids, "the receiver was restarted");
    // A new webhook's execution runs on version 2 of the processor.
    let (code, accepted) = post(&cloud, "watched-1", ORDER, true);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap().to_owned();
    let done = wait_done(&cloud, &id, Duration::from_secs(20));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let arn = executions(&cloud)[0]["DurableExecutionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(execution(&cloud, &arn)["Version"], "2");
}

/// What one webhook costs, counted by the local cloud (`--audit-calls` puts the counting
/// front before DynamoDB): one API request, one invocation of each function, one `Invoke`,
/// six checkpoints (the official SDK writes START and SUCCEED for each of the three steps),
/// no other Lambda API call, and five DynamoDB calls (ten before issue 13). A change that
/// adds a call fails here.
#[test]
fn one_webhook_costs_the_calls_counted_here() {
    let cloud = LocalCloud::start(&["--ephemeral", "--audit-calls"], Some(SECRET));
    let (code, accepted) = post(&cloud, "counted-1", ORDER, true);
    assert_eq!(code, 202, "{accepted}");
    // Through the local cloud's own stats: the status route or the Lambda API's list
    // would add calls of their own.
    cloud.wait_succeeded(1, Duration::from_secs(20));
    let c = cloud.calls();
    assert_eq!(c["apigateway"], serde_json::json!({"request": 1}), "{c}");
    assert_eq!(
        c["invocations"],
        serde_json::json!({"receiver": 1, "processor": 1}),
        "{c}"
    );
    assert_eq!(
        c["lambda"],
        serde_json::json!({"Invoke": 1, "CheckpointDurableExecution": 6}),
        "{c}"
    );
    let dynamodb: u64 = c["dynamodb"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(dynamodb, 5, "{c}");
    // What on-demand bills, as the store weighs it (items under 1 KB): the receiver's
    // conditional put (the record, and its entry in the attention index), each step's
    // update of the record (the index projects nothing a step changes), finalize's removal
    // of the index entry. Eleven write units before the
    // attention index stopped following the steps and the signed body became the replay
    // guard (a second item, in a transaction AWS bills twice).
    let capacity = &cloud.stats()["capacity"]["dynamodb"];
    let units = |kind: &str| -> f64 {
        capacity
            .as_object()
            .unwrap()
            .values()
            .filter_map(|u| u[kind].as_f64())
            .sum()
    };
    assert_eq!(units("write"), 6.0, "{capacity}");
    // Validate reads what never changes of the record: not consistently, half a unit.
    assert_eq!(units("read"), 0.5, "{capacity}");
    // What CloudWatch Logs would ingest: one line per step and one per acceptance, in
    // Lambda's JSON format without span context (with it: about 1.3 KB per line), each
    // naming the webhook once (a step's line by its execution, whose name is the id:
    // 598 bytes a webhook when it named both).
    let logs = cloud.stats()["logBytes"].clone();
    let bytes: u64 = logs
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(bytes > 0 && bytes <= 480, "{logs}");
    // As AWS meters the execution: its start and one operation per step; what it stores
    // includes the payload validate carries.
    let execution = cloud.stats()["executions"][0].clone();
    assert_eq!(execution["operations"], 4, "{execution}");
    assert!(
        execution["payloadBytes"].as_u64().unwrap() > ORDER.len() as u64,
        "{execution}"
    );
}
