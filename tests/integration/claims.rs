//! What README says of the local cloud's API Gateway, Lambda, durable service and DynamoDB,
//! each shown against a real `deployer local`: 429 past the stage's throttling, 413 past
//! 10 MB, 504 past the integration timeout, a function killed at its timeout,
//! `ExecutionTimeout`, and the TTL sweep.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tests::local::{LocalCloud, body_webhook_id, path_segment};

const SECRET: &str = "claims-secret";

/// A signed webhook of delivery `delivery` (the body names it, so no two share a body).
fn post(cloud: &LocalCloud, delivery: &str) -> (u16, String) {
    let answer = post_answer(cloud, delivery);
    (answer.status, answer.body)
}

/// The body [`post`] sends as delivery `delivery`.
fn body_of(delivery: &str) -> String {
    format!(r#"{{"type":"order","orderId":"C-1","delivery":"{delivery}"}}"#)
}

/// The id of what [`post`] sends as delivery `delivery` (the signed body is its identity).
fn id_of(delivery: &str) -> String {
    body_webhook_id(&body_of(delivery))
}

/// [`post`], with the answer's headers.
fn post_answer(cloud: &LocalCloud, delivery: &str) -> Answer {
    let body = body_of(delivery);
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    request("POST", &format!("{}/webhooks", cloud.api), &headers, &body)
}

/// One HTTP/1.1 request: the status, the response's header lines (lower-cased names) and
/// the body.
fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether the record of `id` exists, read straight from the local DynamoDB (no API call,
/// so no throttling).
fn recorded(cloud: &LocalCloud, id: &str) -> bool {
    let endpoints = cloud.endpoints();
    let client = tests::functions::dynamo_at(endpoints["dynamodb"].as_str().unwrap());
    let table = endpoints["table"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item()
            .is_some()
    })
}

/// The one process of `function` (clouds started with `--instances 1`), once it is
/// spawned: processes start in the background, so right after the start (or a kill) the
/// stats may list none yet.
fn only_pid(cloud: &LocalCloud, function: &str) -> i32 {
    eventually(
        cloud,
        Duration::from_secs(10),
        &format!("one {function} process"),
        || {
            let stats = cloud.stats();
            let pids = stats["pids"][function].as_array()?.clone();
            assert!(pids.len() <= 1, "{stats}");
            pids.first()
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
        },
    )
}

/// The one process of `function` once it waits for work: the `spawned`-th process of the
/// function has asked the Runtime API for its first event (each first request is a cold
/// start in the stats), and it waits for one now, so an invocation goes to it rather than
/// waiting in the queue.
fn idle_pid(cloud: &LocalCloud, function: &str, spawned: usize) -> i32 {
    eventually(
        cloud,
        Duration::from_secs(10),
        "the process waits for work",
        || {
            let stats = cloud.stats();
            let started = stats["coldStartsMs"][function].as_array().unwrap().len() >= spawned;
            // Waiting in `next`, not between an answer and its next request for an event.
            (started && stats["idle"][function] == 1).then_some(())
        },
    );
    only_pid(cloud, function)
}

fn alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; the local cloud reaps the processes it kills.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Polls `what` every 50 ms until it returns `Some`, at most `limit`.
fn eventually<T>(cloud: &LocalCloud, limit: Duration, what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; logs:\n{}",
            cloud.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The durable execution `name` of the processor, once it is no longer RUNNING.
fn ended_execution(cloud: &LocalCloud, name: &str, limit: Duration) -> Value {
    eventually(cloud, limit, &format!("execution {name} ends"), || {
        cloud
            .executions(Some(name))
            .into_iter()
            .find(|e| e["Status"] != "RUNNING")
    })
}

fn history(cloud: &LocalCloud, arn: &str) -> Vec<Value> {
    let v = cloud.lambda_json(&format!(
        "/2025-12-01/durable-executions/{}/history",
        path_segment(arn)
    ));
    v["Events"].as_array().unwrap().clone()
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// "API Gateway (REST): ... 429 past the stage's throttling": a token bucket of the
/// stage's rate and burst (here set to 1/s and 5, as `deploy --set` would). A burst past
/// it is answered 429 by API Gateway itself (the function never sees those requests);
/// once the bucket refills, requests go through again.
#[test]
fn a_burst_past_the_stages_throttling_is_answered_429_until_the_bucket_refills() {
    let cloud = LocalCloud::start(
        &[
            "--ephemeral",
            "--set",
            "throttle-rate=1",
            "--set",
            "throttle-burst=5",
        ],
        Some(SECRET),
    );
    let started = Instant::now();
    let mut accepted = Vec::new();
    let mut throttled = Vec::new();
    for n in 0..60 {
        let delivery = format!("burst-{n}");
        let answer = post_answer(&cloud, &delivery);
        match answer.status {
            202 => accepted.push(delivery),
            429 => {
                assert_eq!(answer.body, r#"{"message":"Too Many Requests"}"#);
                assert!(
                    answer.header("x-amzn-errortype").is_some(),
                    "API Gateway's own answer: {answer:?}"
                );
                throttled.push(delivery);
            }
            _ => panic!("{delivery}: {answer:?}\n{}", cloud.logs()),
        }
        if throttled.len() >= 5 {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert!(!throttled.is_empty(), "nothing throttled: {accepted:?}");
    // The bucket starts full: the whole burst goes through...
    let first: Vec<String> = (0..5).map(|n| format!("burst-{n}")).collect();
    let led: Vec<String> = accepted.iter().take(5).cloned().collect();
    assert_eq!(led, first, "throttled: {throttled:?}");
    // ...and past it, only what the rate refilled meanwhile (1 a second).
    assert!(
        (accepted.len() as f64) <= 5.0 + elapsed + 1.0,
        "{} accepted in {elapsed:.2} s at 1/s, burst 5",
        accepted.len()
    );
    // Throttled requests never reached the receiver: no record for them.
    for delivery in &throttled {
        assert!(!recorded(&cloud, &id_of(delivery)), "{delivery}");
    }
    for delivery in &accepted {
        assert!(recorded(&cloud, &id_of(delivery)), "{delivery}");
    }

    // The bucket refills at the stage's rate: a second later there is room for one.
    std::thread::sleep(Duration::from_millis(1_100));
    let (code, body) = post(&cloud, "after-refill");
    assert_eq!(code, 202, "{body}");
}

/// "413 past 10 MB": a body of exactly 10 MiB reaches the function (the receiver answers
/// with its own limit), one byte more is refused by API Gateway before any function runs.
#[test]
fn a_body_past_10_mb_is_refused_413_by_api_gateway() {
    let cloud = LocalCloud::start(&["--ephemeral"], None);
    let limit = 10 * 1024 * 1024;
    let url = format!("{}/webhooks", cloud.api);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", "big"),
    ];

    let at_limit = "x".repeat(limit);
    let answer = request("POST", &url, &headers, &at_limit);
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(
        answer.body.contains(&format!("the body is {limit} bytes")),
        "the receiver's own answer, so API Gateway let it through: {}",
        answer.body
    );
    assert_eq!(answer.header("x-amzn-errortype"), None, "{answer:?}");

    let past = "x".repeat(limit + 1);
    let answer = request("POST", &url, &headers, &past);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (413, r#"{"message":"Request Too Long"}"#)
    );
    assert!(
        answer.header("x-amzn-errortype").is_some(),
        "API Gateway's own answer: {answer:?}"
    );
}

/// "504 past 29 s": API Gateway answers 504 when the integration has not answered within
/// its timeout, and the function is not stopped by it (in AWS too, Lambda runs on). No
/// function behind this stack's API may run 29 s (their Timeout is 10 s: past it the
/// function is killed and API Gateway answers 502), so the test shortens the integration
/// timeout to 2 s (`DEPLOYER_LOCAL_INTEGRATION_TIMEOUT`) and holds the receiver with SIGSTOP.
#[test]
fn an_integration_slower_than_the_timeout_is_answered_504_and_runs_on() {
    let cloud = LocalCloud::start_env(
        &[
            "--ephemeral",
            "--instances",
            "1",
            "--durable-instances",
            "1",
        ],
        Some(SECRET),
        &[("DEPLOYER_LOCAL_INTEGRATION_TIMEOUT", "2s")],
    );
    let receiver = idle_pid(&cloud, "receiver", 1);
    let stopped = Pid::from_raw(receiver);
    kill(stopped, Signal::SIGSTOP).unwrap();
    let sent = Instant::now();
    let (code, body) = post(&cloud, "slow");
    let took = sent.elapsed();
    kill(stopped, Signal::SIGCONT).unwrap();
    assert_eq!(
        (code, body.as_str()),
        (504, r#"{"message":"Endpoint request timed out"}"#),
        "{}",
        cloud.logs()
    );
    assert!(took >= Duration::from_secs(2), "504 after {took:?}");
    // Before the receiver's own 10 s timeout (that would be a 502).
    assert!(took < Duration::from_secs(10), "504 after {took:?}");
    assert_eq!(
        only_pid(&cloud, "receiver"),
        receiver,
        "the timeout killed nothing"
    );
    // The receiver, let go, finishes its invocation: the webhook is recorded and processed
    // although its sender got a 504.
    let done = cloud.wait_terminal(&id_of("slow"), Duration::from_secs(15));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let stats = cloud.stats();
    let errors: f64 = stats["metrics"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.contains("5XXError"))
        .map(|(_, v)| v.as_f64().unwrap_or(0.0))
        .sum();
    assert!(errors >= 1.0, "the 504 counts in 5XXError: {stats}");
}

/// "the template's timeout enforced (the process is killed)": a processor invocation
/// held past the processor's Timeout (2 s, `--set processor-timeout-s=2`) is ended by
/// killing its process, reported as a timeout in the execution's history, and the durable
/// execution invokes again (and completes); a plain `Invoke` past the timeout answers a
/// function error that says it timed out.
#[test]
fn a_function_past_its_timeout_is_killed_and_reported_timed_out() {
    let id = id_of("held");
    let hold = format!("hold-in-step={id}:process");
    let cloud = LocalCloud::start(
        &[
            "--ephemeral",
            "--instances",
            "1",
            "--durable-instances",
            "1",
            "--set",
            "processor-timeout-s=2",
            "--fault",
            &hold,
        ],
        Some(SECRET),
    );
    let processor = only_pid(&cloud, "processor");
    assert_eq!(post(&cloud, "held").0, 202);
    let done = cloud.wait_terminal(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(
        cloud.logs().contains("holding the checkpoint"),
        "{}",
        cloud.logs()
    );
    assert!(
        !alive(processor),
        "the timed-out process {processor} was killed"
    );
    assert_ne!(only_pid(&cloud, "processor"), processor, "and replaced");

    let run = ended_execution(&cloud, &id, Duration::from_secs(10));
    assert_eq!(run["Status"], "SUCCEEDED", "{run}");
    let events = history(&cloud, run["DurableExecutionArn"].as_str().unwrap());
    let timed_out: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["EventType"] == "InvocationCompleted"
                && e["InvocationCompletedDetails"]["Error"].is_object()
        })
        .collect();
    assert_eq!(timed_out.len(), 1, "one failed invocation: {events:#?}");
    let error = &timed_out[0]["InvocationCompletedDetails"]["Error"]["Payload"];
    assert_eq!(error["ErrorType"], "Sandbox.Timedout", "{error}");
    assert_eq!(
        error["ErrorMessage"], "Task timed out after 2.00 seconds",
        "Lambda's words: {error}"
    );
    // Billed as Lambda bills it: the timed-out invocation its whole timeout, beside the
    // one that completed.
    let billed = &cloud.stats()["billed"]["processor"];
    assert!(billed["invocations"].as_u64() >= Some(2), "{billed}");
    assert!(billed["ms"].as_u64() >= Some(2000), "{billed}");
    // Killed at the Timeout: not before 2 s into the invocation (which started after the
    // execution did), long before anything else could end it.
    let at = |e: &Value| e["EventTimestamp"].as_f64().unwrap();
    let started = events
        .iter()
        .find(|e| e["EventType"] == "ExecutionStarted")
        .map(at)
        .unwrap_or_else(|| panic!("no ExecutionStarted: {events:#?}"));
    let killed = at(timed_out[0]) - started;
    assert!((2.0..20.0).contains(&killed), "killed {killed:.2} s in");

    // A plain Invoke (the handler run once, as an external durable service asks) of a
    // process that cannot answer: the same kill at 2 s, answered as a function error.
    let pid = idle_pid(&cloud, "processor", 2);
    kill(Pid::from_raw(pid), Signal::SIGSTOP).unwrap();
    let sent = Instant::now();
    let answer = request(
        "POST",
        &format!(
            "{}/2015-03-31/functions/webhooks-dev-Processor/invocations",
            cloud.lambda
        ),
        &[("x-dex-handler-invoke", "true")],
        "{}",
    );
    let took = sent.elapsed();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("x-amz-function-error"),
        Some("Unhandled"),
        "{answer:?}"
    );
    let doc: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(doc["errorType"], "Sandbox.Timedout", "{doc}");
    assert_eq!(
        doc["errorMessage"], "Task timed out after 2.00 seconds",
        "{doc}"
    );
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(20)).contains(&took),
        "answered after {took:?}"
    );
    eventually(
        &cloud,
        Duration::from_secs(5),
        "the stopped process is killed",
        || (!alive(pid)).then_some(()),
    );
}

/// "`ExecutionTimeout`": an execution still running at its ExecutionTimeout (2 s, `--set
/// execution-timeout-s=2`; its step is held, its invocation far from the processor's
/// 60 s Timeout) ends TIMED_OUT with an `ExecutionTimedOut` event, Lambda's
/// `DurableExecutionTimedOut` metric, and (started asynchronously) its event in the
/// dead-letter queue.
#[test]
fn an_execution_past_its_execution_timeout_ends_timed_out() {
    let id = id_of("too-long");
    let hold = format!("hold-in-step={id}:process");
    let cloud = LocalCloud::start(
        &[
            "--ephemeral",
            "--set",
            "execution-timeout-s=2",
            "--fault",
            &hold,
        ],
        Some(SECRET),
    );
    assert_eq!(post(&cloud, "too-long").0, 202);
    let run = ended_execution(&cloud, &id, Duration::from_secs(20));
    assert_eq!(run["Status"], "TIMED_OUT", "{run}");
    let arn = run["DurableExecutionArn"].as_str().unwrap();
    let got = cloud.lambda_json(&format!(
        "/2025-12-01/durable-executions/{}",
        path_segment(arn)
    ));
    assert_eq!(got["Status"], "TIMED_OUT", "{got}");
    let lasted = got["EndTimestamp"].as_f64().unwrap() - got["StartTimestamp"].as_f64().unwrap();
    assert!(
        (2.0..30.0).contains(&lasted),
        "ended {lasted:.2} s after its start"
    );

    let events = history(&cloud, arn);
    let last = events.last().unwrap();
    assert_eq!(last["EventType"], "ExecutionTimedOut", "{events:#?}");
    assert_eq!(last["Name"], id.as_str(), "{last}");
    assert!(
        !events.iter().any(|e| matches!(
            e["EventType"].as_str(),
            Some("ExecutionSucceeded" | "ExecutionFailed")
        )),
        "{events:#?}"
    );
    let stats = cloud.stats();
    let timed_out: f64 = stats["metrics"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.contains("DurableExecutionTimedOut"))
        .map(|(_, v)| v.as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(timed_out, 1.0, "{stats}");
    let dead = stats["deadLetters"].as_array().unwrap();
    assert!(
        dead.iter()
            .any(|d| d["execution"] == id.as_str() && d["why"] == "TIMED_OUT"),
        "{stats}"
    );
}

/// "TTL expiry on": an item whose TTL attribute is in the past is deleted by the sweep
/// (every 2 s); one whose TTL is ahead, and one without, stay.
#[test]
fn the_ttl_sweep_deletes_expired_items_only() {
    let cloud = LocalCloud::start(&["--ephemeral"], None);
    let endpoints = cloud.endpoints();
    let client = tests::functions::dynamo_at(endpoints["dynamodb"].as_str().unwrap());
    let table = endpoints["table"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = now_s();
    let items = [
        ("ttl-expired", Some(now - 60)),
        ("ttl-ahead", Some(now + 3600)),
        ("ttl-none", None),
    ];
    let present = |id: &str| {
        runtime.block_on(async {
            client
                .get_item()
                .table_name(&table)
                .key("id", AttributeValue::S(id.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item()
                .is_some()
        })
    };
    runtime.block_on(async {
        for (id, ttl) in items {
            let mut put = client
                .put_item()
                .table_name(&table)
                .item("id", AttributeValue::S(id.to_owned()));
            if let Some(t) = ttl {
                put = put.item("ttl", AttributeValue::N(t.to_string()));
            }
            put.send().await.unwrap();
        }
    });
    eventually(
        &cloud,
        Duration::from_secs(15),
        "the expired item is swept",
        || (!present("ttl-expired")).then_some(()),
    );
    // Another sweep or two later, the others are still there.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        present("ttl-ahead"),
        "an item whose TTL is ahead was deleted"
    );
    assert!(present("ttl-none"), "an item without a TTL was deleted");
}
