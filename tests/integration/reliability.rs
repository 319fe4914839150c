//! No acknowledged webhook is lost: every fault the issue lists, injected into a real
//! `deployer local` per webhook, ends with the webhook COMPLETED or FAILED (after the
//! reconciler runs), visible in `deployer webhooks list`, with exactly one execution per
//! attempt; what cannot be repaired is reported stuck.

use std::time::{Duration, Instant};

use serde_json::Value;
use tests::local::{LocalCloud, body_webhook_id, http};

const SECRET: &str = "reliability-secret";
const ORDER: &str = r#"{"type":"order","orderId":"R-1"}"#;

/// Posts `body` as delivery `delivery`, signed; the body carries the delivery id, so two
/// deliveries never share a body (one body under a second delivery id is a replay: 409).
fn post(cloud: &LocalCloud, delivery: &str, body: &str) -> (u16, Value) {
    let body = &signed_body(delivery, body);
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let (code, text) = http("POST", &format!("{}/webhooks", cloud.api), &headers, body);
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What [`post`] sends as delivery `delivery` of `body`: the body naming its delivery.
fn signed_body(delivery: &str, body: &str) -> String {
    let mut json: Value = serde_json::from_str(body).expect("a JSON object");
    json["delivery"] = Value::from(delivery);
    json.to_string()
}

/// The id of delivery `delivery` as [`post`] sends it: a case's body, else [`ORDER`] (the
/// signed body is the webhook's identity).
fn id_of(delivery: &str) -> String {
    let body = CASES
        .iter()
        .find(|c| c.delivery == delivery)
        .map_or(ORDER, |c| c.body);
    body_webhook_id(&signed_body(delivery, body))
}

/// `deployer webhooks <args> --local <api>`, which must succeed; its stdout as JSON.
fn webhooks(cloud: &LocalCloud, args: &[&str]) -> Value {
    let mut all = vec!["webhooks"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--local", &cloud.api, "--output", "json"]);
    let run = tests::deployer(&tests::workspace_root(), &all).success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run}"))
}

/// The statuses `webhooks list --status <status>` shows, by id.
fn listed(cloud: &LocalCloud, status: &str) -> Vec<String> {
    webhooks(cloud, &["list", "--status", status])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Execution names of `id`: one per attempt, each exactly once.
fn execution_names(cloud: &LocalCloud, id: &str) -> Vec<String> {
    let mut names: Vec<String> = cloud
        .executions(None)
        .iter()
        .map(|e| e["DurableExecutionName"].as_str().unwrap().to_owned())
        .filter(|n| n == id || n.starts_with(&format!("{id}-")))
        .collect();
    names.sort();
    names
}

/// Waits for `id` to be COMPLETED on attempt 2, with one execution per attempt.
fn completed_on_attempt_two(cloud: &LocalCloud, id: &str, limit: Duration) {
    let done = cloud.wait_terminal(id, limit);
    assert_eq!(
        (done["status"].as_str(), done["attempt"].as_u64()),
        (Some("COMPLETED"), Some(2)),
        "{done}"
    );
    assert_eq!(
        execution_names(cloud, id),
        [id.to_owned(), format!("{id}-2")]
    );
}

/// One scenario: its delivery, its fault (if any), what it must end as.
struct Case {
    delivery: &'static str,
    fault: Option<&'static str>,
    body: &'static str,
    status: &'static str,
    error_type: Option<&'static str>,
}

const CASES: [Case; 6] = [
    Case {
        delivery: "killed-before-start",
        fault: Some("kill-before-start"),
        body: ORDER,
        status: "COMPLETED",
        error_type: None,
    },
    Case {
        delivery: "start-dropped",
        fault: Some("drop-start"),
        body: ORDER,
        status: "COMPLETED",
        error_type: None,
    },
    Case {
        delivery: "store-broken",
        fault: Some("break-store:1"),
        body: ORDER,
        status: "FAILED",
        error_type: Some("PermanentError"),
    },
    Case {
        delivery: "store-throttled",
        // Six step attempts of three SDK attempts each: the step exhausts its retries,
        // the failure write goes through.
        fault: Some("throttle-store:18"),
        body: ORDER,
        status: "FAILED",
        error_type: Some("TransientError"),
    },
    Case {
        delivery: "step-panics",
        fault: Some("panic-in-step:process"),
        body: ORDER,
        status: "FAILED",
        error_type: Some("Panic"),
    },
    Case {
        delivery: "invalid",
        fault: None,
        body: r#"{"type":"refund"}"#,
        status: "FAILED",
        error_type: Some("ValidationFailed"),
    },
];

/// `--fault` of a case: `kind=<id>[:arg]`.
fn fault_arg(case: &Case) -> Option<String> {
    let id = id_of(case.delivery);
    case.fault.map(|f| match f.split_once(':') {
        Some((kind, arg)) => format!("{kind}={id}:{arg}"),
        None => format!("{f}={id}"),
    })
}

/// A local cloud whose reconciler runs every second, with `extra` arguments.
fn reconciled_cloud(extra: &[String]) -> LocalCloud {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    LocalCloud::reconciled(&extra, Some(SECRET))
}

#[test]
fn every_fault_ends_completed_or_failed_with_one_execution_each() {
    let faults: Vec<String> = CASES
        .iter()
        .filter_map(fault_arg)
        .flat_map(|f| ["--fault".to_owned(), f])
        .collect();
    let cloud = reconciled_cloud(&faults);
    for case in &CASES {
        let (code, body) = post(&cloud, case.delivery, case.body);
        // The receiver killed before its start answers through API Gateway's 502.
        let expected = if case.fault == Some("kill-before-start") {
            502
        } else {
            202
        };
        assert_eq!(
            code,
            expected,
            "{}: {body}\n{}",
            case.delivery,
            cloud.logs()
        );
    }
    for case in &CASES {
        let id = id_of(case.delivery);
        let done = cloud.wait_terminal(&id, Duration::from_secs(60));
        assert_eq!(done["status"], case.status, "{}: {done}", case.delivery);
        assert_eq!(
            done["error"]["type"].as_str(),
            case.error_type,
            "{}: {done}",
            case.delivery
        );
        assert_eq!(
            execution_names(&cloud, &id),
            std::slice::from_ref(&id),
            "{}: one execution",
            case.delivery
        );
    }
    // Where each failure happened.
    let (_, panicked) = cloud.status(&id_of("step-panics"));
    assert_eq!(
        (
            panicked["error"]["step"].as_str(),
            panicked["error"]["attempts"].as_u64()
        ),
        (Some("process"), Some(1))
    );
    let (_, throttled) = cloud.status(&id_of("store-throttled"));
    assert_eq!(throttled["error"]["attempts"], 6, "{throttled}");

    // The lists agree with the records.
    let completed = listed(&cloud, "completed");
    let failed = listed(&cloud, "failed");
    for case in &CASES {
        let id = id_of(case.delivery);
        let list = if case.status == "COMPLETED" {
            &completed
        } else {
            &failed
        };
        assert!(list.contains(&id), "{}: {list:?}", case.delivery);
    }
    let stats = cloud.stats();
    assert!(
        stats["alarms"]["ProcessorFailedAlarm"]["fired"].as_u64() >= Some(1),
        "{stats}"
    );
    assert!(
        stats["alarms"]["ProcessorEventsDroppedAlarm"]["fired"].as_u64() >= Some(1),
        "{stats}"
    );
    let dead: Vec<&Value> = stats["deadLetters"].as_array().unwrap().iter().collect();
    assert!(
        dead.iter()
            .any(|d| d["execution"] == id_of("start-dropped")),
        "{stats}"
    );
}

#[test]
fn a_timed_out_execution_is_failed_and_what_never_starts_is_reported_stuck() {
    let times_out = id_of("times-out");
    let stuck = id_of("never-starts");
    let cloud = reconciled_cloud(&[
        "--set".into(),
        "execution-timeout-s=3".into(),
        "--fault".into(),
        format!("hold-in-step={times_out}:process"),
        "--fault".into(),
        format!("drop-start={stuck}:1000000"),
    ]);
    assert_eq!(post(&cloud, "times-out", ORDER).0, 202);
    assert_eq!(post(&cloud, "never-starts", ORDER).0, 202);
    let done = cloud.wait_terminal(&times_out, Duration::from_secs(30));
    assert_eq!(done["error"]["type"], "ExecutionTimedOut", "{done}");
    assert_eq!(
        execution_names(&cloud, &times_out),
        std::slice::from_ref(&times_out)
    );

    // Every start of the other is dropped: stuck past the bound (ExecutionTimeout 3 s
    // + 2 x 1 s + grace 1 s), in the list and in the Stuck alarm.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listed(&cloud, "stuck").contains(&stuck) {
        assert!(
            Instant::now() < deadline,
            "never reported stuck:\n{}",
            cloud.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(cloud.status(&stuck).1["status"], "RECEIVED");
    assert!(execution_names(&cloud, &stuck).is_empty());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = cloud.stats();
        if stats["alarms"]["StuckAlarm"]["state"] == "ALARM" {
            assert!(
                stats["alarms"]["ProcessorTimedOutAlarm"]["fired"].as_u64() >= Some(1),
                "{stats}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no stuck alarm: {stats}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(cloud.logs().contains("[local] alarm StuckAlarm is ALARM"));
    assert!(
        cloud.logs().contains("stuck webhook"),
        "the reconciler's log line"
    );
}

#[test]
fn a_failed_webhook_stays_failed_on_redelivery_and_completes_when_redriven() {
    let id = id_of("redriven");
    let panic = format!("panic-in-step={id}:finalize");
    let cloud = LocalCloud::start(
        &["--ephemeral", "--time-scale", "0.01", "--fault", &panic],
        Some(SECRET),
    );
    assert_eq!(post(&cloud, "redriven", ORDER).0, 202);
    let done = cloud.wait_terminal(&id, Duration::from_secs(10));
    assert_eq!(done["status"], "FAILED", "{done}");

    // A redelivery is a duplicate: no new execution, and it says how to redrive.
    let (code, again) = post(&cloud, "redriven", ORDER);
    assert_eq!(code, 202);
    assert_eq!(again["status"], "FAILED");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains(&format!("deployer webhooks redrive {id}")),
        "{again}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(execution_names(&cloud, &id), std::slice::from_ref(&id));

    // Redrive: attempt 2 runs under its own name (the fault was for attempt 1's).
    let summary = webhooks(&cloud, &["redrive", &id]);
    assert_eq!(
        (summary["redriven"].as_u64(), summary["errors"].as_u64()),
        (Some(1), Some(0)),
        "{summary}"
    );
    completed_on_attempt_two(&cloud, &id, Duration::from_secs(10));

    // A completed webhook is not redriven; an unknown one is skipped; a bad id is an error.
    let bad = tests::deployer(
        &tests::workspace_root(),
        &[
            "webhooks",
            "redrive",
            &id,
            "wh_00000000000000000000000000000000",
            "nope",
            "--local",
            &cloud.api,
        ],
    );
    assert_eq!(bad.code, Some(1), "{bad}");
    assert_eq!(
        bad.stdout.trim(),
        "redriven 0, skipped 2, errors 1",
        "{bad}"
    );
    assert!(
        bad.stderr.contains("skipped") && bad.stderr.contains("it is COMPLETED, not FAILED"),
        "{bad}"
    );
    assert_eq!(execution_names(&cloud, &id).len(), 2, "nothing started");

    // `show` tells both attempts apart.
    let shown = webhooks(&cloud, &["show", &id]);
    let attempts = shown["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{shown}");
    assert_eq!(attempts[0]["executionStatus"], "FAILED");
    assert_eq!(attempts[1]["executionStatus"], "SUCCEEDED");
    assert!(
        attempts[1]["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "finalize"),
        "{shown}"
    );
}

#[test]
fn a_record_past_its_ttl_redelivered_is_processed_again() {
    let cloud = LocalCloud::start(
        &[
            "--ephemeral",
            "--reconcile-every",
            "1s",
            "--set",
            "reconcile-grace-s=1",
        ],
        Some(SECRET),
    );
    let id = id_of("expires");
    assert_eq!(post(&cloud, "expires", ORDER).0, 202);
    assert_eq!(
        cloud.wait_terminal(&id, Duration::from_secs(10))["status"],
        "COMPLETED"
    );

    // Expire the record (its TTL in the past); the TTL sweep deletes it.
    let endpoints = cloud.endpoints();
    let client = tests::functions::dynamo_at(endpoints["dynamodb"].as_str().unwrap());
    let table = endpoints["table"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .update_item()
            .table_name(&table)
            .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
            .update_expression("SET #t = :t")
            .expression_attribute_names("#t", "ttl")
            .expression_attribute_values(
                ":t",
                aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
            )
            .send()
            .await
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    while cloud.status(&id).0 != 404 {
        assert!(Instant::now() < deadline, "the record was never swept");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The same delivery again: a new record, whose start finds the old execution; the
    // reconciler sees that execution predates the record and starts attempt 2.
    assert_eq!(post(&cloud, "expires", ORDER).0, 202);
    completed_on_attempt_two(&cloud, &id, Duration::from_secs(20));
}

#[test]
fn webhooks_verbs_refuse_bad_input_clearly() {
    let root = tests::workspace_root();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = tests::deployer(&root, &["webhooks", "list", "--local", &url]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("no `deployer local` answers at"),
        "{run}"
    );
    let run = tests::deployer(
        &root,
        &["webhooks", "list", "--status", "lost", "--local", &url],
    );
    assert_eq!(run.code, Some(2), "{run}");
    let run = tests::deployer(&root, &["webhooks", "redrive", "--local", &url]);
    assert_eq!(run.code, Some(2), "ids or --status: {run}");
    let run = tests::deployer(&root, &["webhooks", "show", "not-an-id", "--local", &url]);
    assert_eq!(run.code, Some(1), "{run}");
}

#[test]
fn the_durable_journal_never_acknowledges_what_it_could_not_keep() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let journal = data.path().join("executions");
    let mut cloud = LocalCloud::start(&["--data-dir", dir], Some(SECRET));

    // The journal's directory is gone (a file in its place): the start cannot be written,
    // so it is not acknowledged: the receiver answers 503 and the record says so.
    std::fs::remove_dir_all(&journal).unwrap();
    std::fs::write(&journal, b"not a directory").unwrap();
    let (code, body) = post(&cloud, "unwritable", ORDER);
    assert_eq!(code, 503, "{body}");
    assert!(
        cloud.logs().contains("cannot persist execution"),
        "{}",
        cloud.logs()
    );
    assert!(cloud.executions(None).is_empty(), "nothing half-started");
    // Repaired, the provider's retry goes through.
    std::fs::remove_file(&journal).unwrap();
    std::fs::create_dir(&journal).unwrap();
    assert_eq!(post(&cloud, "unwritable", ORDER).0, 202);
    let id = id_of("unwritable");
    assert_eq!(
        cloud.wait_terminal(&id, Duration::from_secs(10))["status"],
        "COMPLETED"
    );
    assert!(cloud.interrupt().success());

    // Damage to what the journal acknowledged (its first frame, frames after it) stops the
    // next start, naming the file and what to do; no execution's name is silently freed.
    let log = journal.join("journal.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[12] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();
    let run = tests::deployer(
        &tests::workspace_root(),
        &["local", "--no-build", "--port", "0", "--data-dir", dir],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "the durable journal {} is damaged: the frame at byte 0",
            log.display()
        )),
        "{run}"
    );
    assert!(run.stderr.contains("quarantine"), "{run}");
    assert!(!run.stdout.contains("API:"), "{run}");
    assert_eq!(std::fs::read(&log).unwrap(), bytes, "left as found");
}

#[test]
fn chaos_loses_nothing_and_duplicates_nothing() {
    let report = tests::chaos::run(500, &["--instances", "2"]);
    eprintln!("{report:?}");
    assert_eq!(report.acknowledged, 500, "{report:?}");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.completed + report.failed, 500, "{report:?}");
    assert!(report.kills >= 5, "the chaos killed processes: {report:?}");
}

/// One system call of a thread's strace log: (call, its arguments, its result).
fn syscall(line: &str) -> Option<(&str, &str, &str)> {
    let (call, rest) = line.split_once('(')?;
    // strace pads the result: `fsync(59)                         = 0`.
    let (args, result) = rest.rsplit_once(')')?;
    let result = result
        .trim_start()
        .strip_prefix('=')?
        .split_whitespace()
        .next()?;
    Some((call, args, result))
}

/// In one thread's strace log (`strace -y`: paths beside descriptors), the journal's
/// appends (writes to `log`) and how many of them were synced before the thread wrote
/// anything else to it.
fn synced_appends(trace: &str, log: &str) -> (usize, usize) {
    let on_log = format!("<{log}>");
    let calls: Vec<(&str, &str, &str)> = trace
        .lines()
        .filter_map(syscall)
        .filter(|c| {
            c.1.split(',')
                .next()
                .is_some_and(|fd| fd.ends_with(&on_log))
        })
        .collect();
    let mut appends = 0;
    let mut synced = 0;
    for (at, (call, _, _)) in calls.iter().enumerate() {
        if !call.starts_with("pwrite") {
            continue;
        }
        appends += 1;
        if calls
            .get(at + 1)
            .is_some_and(|c| c.0 == "fdatasync" || c.0 == "fsync")
        {
            synced += 1;
        }
    }
    (appends, synced)
}

#[test]
fn the_journal_syncs_each_append_before_the_next() {
    let strace = tests::require_tool("strace", "apt-get install -y strace");
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let traces = tempfile::tempdir().unwrap();
    let trace = traces.path().join("trace");
    let trace_arg = trace.to_str().unwrap();
    let wrapper = [
        strace.to_str().unwrap(),
        // One file per thread: no interleaved, split lines.
        "-ff",
        "-qq",
        "-y",
        "-e",
        "trace=fsync,fdatasync,pwrite64",
        "-o",
        trace_arg,
        "--",
    ];
    let journal = data.path().join("executions");
    let mut cloud = LocalCloud::start_under(&wrapper, &["--data-dir", dir], Some(SECRET));
    assert_eq!(post(&cloud, "synced", ORDER).0, 202);
    let id = id_of("synced");
    assert_eq!(
        cloud.wait_terminal(&id, Duration::from_secs(20))["status"],
        "COMPLETED"
    );
    // The execution itself ends a moment after the record (its last checkpoint).
    let deadline = Instant::now() + Duration::from_secs(20);
    while cloud
        .executions(Some(&id))
        .first()
        .is_none_or(|e| e["Status"] != "SUCCEEDED")
    {
        assert!(Instant::now() < deadline, "the execution did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    cloud.interrupt_wrapped();
    let log = journal.join("journal.log");
    let (mut appends, mut synced) = (0, 0);
    for file in std::fs::read_dir(traces.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let (a, s) = synced_appends(&text, log.to_str().unwrap());
        appends += a;
        synced += s;
    }
    // The start and each checkpoint of the one execution: one frame each.
    assert!(appends >= 5, "{appends} journal appends in the trace");
    assert_eq!(
        synced, appends,
        "journal appends not synced before the next"
    );
}

/// One traced call of `strace -ttt -yy`: when it began (seconds), the call, its arguments.
fn timed_call(line: &str) -> Option<(f64, &str, &str)> {
    let (at, rest) = line.split_once(' ')?;
    let (call, args, _) = syscall(rest)?;
    Some((at.parse().ok()?, call, args))
}

/// DynamoDB's SQLite runs with `synchronous=NORMAL` (its commits are not synced one by
/// one) and the local cloud syncs its log in groups before it acknowledges: API Gateway's
/// 202 waits until the receiver's record is on disk. The start is dropped here, so no
/// journal write (which syncs the log too) stands between the record and the 202.
#[test]
fn the_202_waits_until_the_record_is_on_disk() {
    let strace = tests::require_tool("strace", "apt-get install -y strace");
    let data = tempfile::tempdir().unwrap();
    let traces = tempfile::tempdir().unwrap();
    let trace = traces.path().join("trace");
    let wrapper = [
        strace.to_str().unwrap(),
        "-ff",
        "-qq",
        "-ttt",
        "-yy",
        "-s",
        "16",
        "-e",
        "trace=fsync,fdatasync,pwrite64,write,writev,sendto,sendmsg",
        "-o",
        trace.to_str().unwrap(),
        "--",
    ];
    let id = id_of("synced-record");
    let fault = format!("drop-start={id}:1");
    let args = [
        "--data-dir",
        data.path().to_str().unwrap(),
        "--fault",
        &fault,
    ];
    let mut cloud = LocalCloud::start_under(&wrapper, &args, Some(SECRET));
    // strace's times are the wall clock's: what happened from here on is the webhook's
    // (dynoxide's own set-up at open commits at SQLite's default, before the switch).
    let posted = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert_eq!(post(&cloud, "synced-record", ORDER).0, 202);
    // `http://127.0.0.1:PORT/dev`: the API's own end of its sockets.
    let api_socket = format!("<TCP:[{}->", cloud.api.split('/').nth(2).unwrap());
    cloud.interrupt_wrapped();
    let wal = data.path().join("dynamodb.sqlite-wal");
    let on_wal = format!("<{}>", wal.display());
    // (when, call, descriptor, a 202?, thread): every thread's calls in time order.
    let mut calls = Vec::new();
    for file in std::fs::read_dir(traces.path()).unwrap() {
        let path = file.unwrap().path();
        let thread = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        calls.extend(text.lines().filter_map(timed_call).map(|(at, call, args)| {
            let fd = args.split(',').next().unwrap_or_default().to_owned();
            let is_202 = args.contains("HTTP/1.1 202");
            (at, call.to_owned(), fd, is_202, thread.clone())
        }));
    }
    calls.sort_by(|a, b| a.0.total_cmp(&b.0));
    let answered = calls
        .iter()
        .find(|c| c.3 && c.2.contains(&api_socket))
        .unwrap_or_else(|| panic!("no 202 on the API's socket ({api_socket}) in the trace"))
        .0;
    let until_answered: Vec<_> = calls
        .iter()
        .filter(|c| (posted..answered).contains(&c.0) && c.2.ends_with(&on_wal))
        .collect();
    let is_sync = |call: &str| call == "fdatasync" || call == "fsync";
    let last_write = until_answered
        .iter()
        .filter(|c| c.1.starts_with("pwrite"))
        .map(|c| c.0)
        .next_back()
        .expect("the record's commit wrote DynamoDB's log before the 202");
    assert!(
        until_answered
            .iter()
            .any(|c| c.0 > last_write && is_sync(&c.1)),
        "the 202 went out before the record's commit ({last_write}) was synced"
    );
    // The commits do not sync the log themselves (`synchronous=NORMAL`): no thread that
    // wrote it synced it (the barriers' thread syncs, and writes nothing).
    for c in until_answered.iter().filter(|c| is_sync(&c.1)) {
        assert!(
            !until_answered
                .iter()
                .any(|w| w.4 == c.4 && w.1.starts_with("pwrite")),
            "a thread that commits also synced the log ({}): SQLite is at synchronous=FULL",
            c.4
        );
    }
}
