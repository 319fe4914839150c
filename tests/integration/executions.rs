//! `deployer executions list|get|history|stop` and `deployer callback
//! succeed|fail|heartbeat`, end to end: against a real `deployer local` (the webhook app for
//! the processor's executions, the conformance app for executions that wait for a
//! callback) and against ministack, a deployed stage whose durable API has no executions.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::Run;
use tests::local::{LocalCloud, body_webhook_id, http, try_http};
use tests::ministack::ministack;

const SECRET: &str = "executions-test-secret";

/// `deployer <args> --local <url>`.
fn verb(url: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--local", url]);
    tests::deployer(&tests::workspace_root(), &all)
}

/// [`verb`] with `--output json`, which must succeed and print JSON.
fn json_of(url: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--output", "json"]);
    let run = verb(url, &all).success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run}"))
}

/// Asserts `run` failed with exit code `code` and said `text` on stderr, nothing on stdout.
fn fails(run: &Run, code: i32, text: &str) {
    assert_eq!(run.code, Some(code), "{run}");
    assert!(run.stderr.contains(text), "expected `{text}` in:\n{run}");
    assert!(run.stdout.is_empty(), "{run}");
}

/// Sends a signed webhook with delivery id `delivery` to the local cloud; its id.
fn post(cloud: &LocalCloud, delivery: &str) -> String {
    let order = order(delivery);
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), order.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let (code, text) = http("POST", &format!("{}/webhooks", cloud.api), &headers, &order);
    assert_eq!(code, 202, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, id_of(delivery));
    id
}

/// The body [`post`] sends as delivery `delivery`.
fn order(delivery: &str) -> String {
    json!({"type": "order", "orderId": delivery}).to_string()
}

/// The id of what [`post`] sends as delivery `delivery` (the signed body is its identity).
fn id_of(delivery: &str) -> String {
    body_webhook_id(&order(delivery))
}

/// Polls `get` of `execution` until `done` holds of it (at most 20 s).
fn wait_for(url: &str, execution: &str, extra: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut args = vec!["executions", "get", execution];
    args.extend_from_slice(extra);
    loop {
        let run = verb(url, &[&args[..], &["--output", "json"]].concat());
        if run.code == Some(0) {
            let v: Value = serde_json::from_str(&run.stdout).unwrap();
            if done(&v) {
                return v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{execution} never got there:\n{run}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the local cloud logs that it holds a step's checkpoint `n` times.
fn wait_held(cloud: &LocalCloud, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cloud.logs().matches("holding the checkpoint").count() < n {
        assert!(Instant::now() < deadline, "not held:\n{}", cloud.logs());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn list_get_history_and_stop_the_processors_executions_of_a_local_cloud() {
    let (held_a, held_b) = (id_of("exec-held-a"), id_of("exec-held-b"));
    let faults = [
        format!("hold-in-step={held_a}:process"),
        format!("hold-in-step={held_b}:process"),
    ];
    let cloud = LocalCloud::start(
        &["--ephemeral", "--fault", &faults[0], "--fault", &faults[1]],
        Some(SECRET),
    );
    let url = cloud.api.as_str();
    let done = post(&cloud, "exec-done");
    cloud.wait_terminal(&done, Duration::from_secs(20));
    let ended = wait_for(url, &done, &[], |v| v["status"] != "RUNNING");
    assert_eq!(ended["status"], "SUCCEEDED", "{ended}");
    post(&cloud, "exec-held-a");
    post(&cloud, "exec-held-b");
    wait_held(&cloud, 2);

    let arn = check_list(url, &done);
    check_get_and_history(url, &done, &arn);
    check_stop(url, &held_a, &held_b);
    check_refusals(url, &done, &arn);
}

/// list: every execution, newest first, as JSON and as a table; filters. The ARN of `done`.
fn check_list(url: &str, done: &str) -> String {
    let all = json_of(url, &["executions", "list"]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{all:#}");
    assert_eq!(names[2], done, "oldest last: {all:#}");
    let listed = &all[2];
    assert_eq!(listed["status"], "SUCCEEDED");
    let arn = listed["arn"].as_str().unwrap().to_owned();
    assert!(
        arn.contains(":function:webhooks-dev-Processor:live/durable-execution/"),
        "{arn}"
    );
    let table = verb(
        url,
        &[
            "executions",
            "list",
            "--function",
            "Processor",
            "--output",
            "table",
        ],
    )
    .success();
    let header = table.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("NAME ") && header.contains("STATUS"),
        "{table}"
    );
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with(done) && l.contains("SUCCEEDED")),
        "{table}"
    );
    let running = json_of(url, &["executions", "list", "--status", "running"]);
    assert_eq!(running.as_array().unwrap().len(), 2, "{running:#}");
    let recent = json_of(
        url,
        &[
            "executions",
            "list",
            "--status",
            "SUCCEEDED,STOPPED",
            "--since",
            "1h",
        ],
    );
    assert_eq!(recent.as_array().unwrap().len(), 1, "{recent:#}");
    let future = json_of(
        url,
        &["executions", "list", "--since", "2999-01-01T00:00:00Z"],
    );
    assert_eq!(future, json!([]));
    let limited = json_of(url, &["executions", "list", "--limit", "1"]);
    assert_eq!(limited.as_array().unwrap().len(), 1, "{limited:#}");
    arn
}

/// get and history, by name and by ARN: the same execution, its input and result, the
/// three steps between its start and its success.
fn check_get_and_history(url: &str, done: &str, arn: &str) {
    let by_name = json_of(url, &["executions", "get", done]);
    let by_arn = json_of(url, &["executions", "get", arn]);
    assert_eq!(by_name, by_arn);
    assert_eq!(by_name["arn"], arn);
    assert_eq!(by_name["status"], "SUCCEEDED");
    let result: Value = serde_json::from_str(by_name["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["status"], "COMPLETED", "{by_name:#}");
    let text = verb(url, &["executions", "get", done]).success();
    assert!(text.stdout.contains("status    SUCCEEDED"), "{text}");

    let events = json_of(url, &["executions", "history", done]);
    assert_eq!(events, json_of(url, &["executions", "history", arn]));
    let kinds: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap_or("").to_owned();
            (e["type"].as_str().unwrap().to_owned(), name)
        })
        .collect();
    assert_eq!(kinds.first().unwrap().0, "ExecutionStarted", "{events:#}");
    assert_eq!(kinds.last().unwrap().0, "ExecutionSucceeded", "{events:#}");
    for step in ["validate", "process", "finalize"] {
        assert!(
            kinds.contains(&("StepSucceeded".to_owned(), step.to_owned())),
            "{step}: {events:#}"
        );
    }
    let table = verb(url, &["executions", "history", done]).success();
    assert!(table.stdout.starts_with("ID "), "{table}");
    assert!(table.stdout.contains("StepSucceeded"), "{table}");
}

/// stop: one held execution by name, the other by ARN, with a reason.
fn check_stop(url: &str, held_a: &str, held_b: &str) {
    let stopped = json_of(url, &["executions", "stop", held_a]);
    assert_eq!(stopped["name"], held_a, "{stopped:#}");
    let b = json_of(url, &["executions", "get", held_b]);
    let b_arn = b["arn"].as_str().unwrap();
    let run = verb(
        url,
        &[
            "executions",
            "stop",
            b_arn,
            "--error-type",
            "Operator",
            "--error-message",
            "test",
        ],
    )
    .success();
    assert!(
        run.stdout.starts_with(&format!("stopped {held_b} at ")),
        "{run}"
    );
    for held in [held_a, held_b] {
        let v = json_of(url, &["executions", "get", held]);
        assert_eq!(v["status"], "STOPPED", "{v:#}");
    }
    let stopped = json_of(url, &["executions", "list", "--status", "STOPPED"]);
    assert_eq!(stopped.as_array().unwrap().len(), 2, "{stopped:#}");
}

/// What cannot be done says why.
fn check_refusals(url: &str, done: &str, arn: &str) {
    let run = verb(url, &["executions", "stop", done]);
    fails(&run, 1, "has already ended (SUCCEEDED): nothing to stop");
    let run = verb(url, &["executions", "get", "wh_nope"]);
    fails(
        &run,
        1,
        "no durable execution of processor (webhooks-dev-Processor:live) in the local cloud at",
    );
    assert!(run.stderr.contains("is named `wh_nope`"), "{run}");
    let unknown = arn.replace("/durable-execution/", "/durable-execution/x");
    let run = verb(url, &["executions", "history", &unknown]);
    fails(
        &run,
        1,
        &format!("no durable execution {unknown} in the local cloud at"),
    );
    let run = verb(url, &["executions", "get", "not a name"]);
    fails(&run, 1, "`not a name` is neither a durable execution ARN");
    let run = verb(url, &["executions", "list", "--function", "mailer"]);
    fails(
        &run,
        1,
        "stage dev has no function `mailer`; its functions: processor, receiver, reconciler, status",
    );
    let run = verb(url, &["executions", "list", "--function", "receiver"]);
    fails(&run, 1, "function receiver of stage dev is not durable");
    let run = verb(url, &["executions", "list", "--stage", "prod"]);
    fails(
        &run,
        1,
        "runs another stage or app (its durable function is webhooks-dev-Processor), not stage prod",
    );
    let run = verb(url, &["callback", "heartbeat", "no-such-callback"]);
    fails(
        &run,
        1,
        "no callback `no-such-callback` in the local cloud at",
    );
}

#[test]
fn bad_input_fails_clearly_before_any_call() {
    let root = tests::workspace_root();
    let run = tests::deployer(&root, &["executions", "list", "--stage", "qa"]);
    fails(&run, 2, "invalid value 'qa' for '--stage <STAGE>'");
    let run = tests::deployer(&root, &["executions", "list", "--since", "last week"]);
    fails(&run, 2, "`last week` is neither an RFC 3339 time");
    let run = tests::deployer(&root, &["executions", "list", "--status", "DONE"]);
    fails(&run, 2, "invalid value 'DONE' for '--status");
    let run = tests::deployer(&root, &["callback", "succeed", "id", "--result", "{oops"]);
    fails(
        &run,
        2,
        "invalid value '{oops' for '--result <JSON>': not JSON",
    );
    let run = tests::deployer(&root, &["executions", "get"]);
    fails(&run, 2, "<ARN|NAME>");
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = verb(&url, &["executions", "list"]);
    fails(&run, 1, &format!("no `deployer local` answers at {url}"));
    let run = verb(&url, &["callback", "heartbeat", "abc"]);
    fails(&run, 1, &format!("no `deployer local` answers at {url}"));
}

/// The conformance app's durable function, through its alias.
const CONFORMANCE: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:conformance-local-Conformance:live";

/// The id of the callback execution `name` waits for, from its history.
fn callback_id(url: &str, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = verb(
            url,
            &[
                "executions",
                "history",
                name,
                "--function",
                CONFORMANCE,
                "--output",
                "json",
            ],
        );
        if run.code == Some(0) {
            let events: Value = serde_json::from_str(&run.stdout).unwrap();
            let started = events.as_array().unwrap().iter().find_map(|e| {
                (e["type"] == "CallbackStarted")
                    .then(|| e["callbackId"].as_str().map(str::to_owned))
            });
            if let Some(Some(id)) = started {
                return id;
            }
        }
        assert!(Instant::now() < deadline, "no callback started:\n{run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn callbacks_are_answered_through_the_cli() {
    let cloud = LocalCloud::start(&["--app", "conformance", "--ephemeral"], None);
    let url = cloud.lambda.as_str();
    let on = ["--function", CONFORMANCE];

    // succeed (after a heartbeat): the waiting execution returns the result.
    cloud.start_conformance("4-1", "cli-succeed", json!("approval"));
    let id = callback_id(url, "cli-succeed");
    let run = verb(url, &["callback", "heartbeat", &id]).success();
    assert_eq!(
        run.stdout,
        format!("sent heartbeat to callback {id}\n"),
        "{run}"
    );
    let sent = json_of(
        url,
        &[
            "callback",
            "succeed",
            &id,
            "--result",
            r#"{"approved":true}"#,
        ],
    );
    assert_eq!(sent, json!({"callbackId": id, "action": "succeed"}));
    let ended = wait_for(url, "cli-succeed", &on, |v| v["status"] != "RUNNING");
    assert_eq!(ended["status"], "SUCCEEDED", "{ended:#}");
    let result: Value = serde_json::from_str(ended["result"].as_str().unwrap()).unwrap();
    assert_eq!(result, json!({"approved": true}));
    // A second answer finds the callback closed (or gone with its execution).
    let run = verb(url, &["callback", "succeed", &id]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains(&format!("callback `{id}`")), "{run}");

    // fail: the execution fails with the given error.
    cloud.start_conformance("4-1", "cli-fail", json!("approval"));
    let id = callback_id(url, "cli-fail");
    let run = verb(
        url,
        &[
            "callback",
            "fail",
            &id,
            "--error-type",
            "Rejected",
            "--error-message",
            "not today",
        ],
    )
    .success();
    assert_eq!(run.stdout, format!("sent fail to callback {id}\n"), "{run}");
    let ended = wait_for(url, "cli-fail", &on, |v| v["status"] != "RUNNING");
    assert_eq!(ended["status"], "FAILED", "{ended:#}");
    let events = json_of(
        url,
        &[
            "executions",
            "history",
            "cli-fail",
            "--function",
            CONFORMANCE,
        ],
    );
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "CallbackFailed")
        .unwrap_or_else(|| panic!("no CallbackFailed: {events:#}"));
    assert_eq!(failed["error"]["type"], "Rejected", "{failed:#}");
    assert_eq!(failed["error"]["message"], "not today", "{failed:#}");

    let run = verb(url, &["callback", "fail", "never-issued"]);
    fails(&run, 1, "no callback `never-issued` in the local cloud at");
}

#[test]
fn the_executions_verbs_against_a_deployed_stage_on_ministack() {
    // ministack serves the durable execution API, but runs no durable execution of a
    // function CloudFormation created: the deployed processor has none to show.
    let ms = ministack();
    let account = "000000000061";
    let stage = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--stage", "dev"]);
        ms.deployer(account, &all, &[])
    };
    ms.deployer(
        account,
        &["bootstrap", "--yes", "--progress", "events"],
        &[],
    )
    .success();
    let deploy = [
        "deploy",
        "--stage",
        "dev",
        "--yes",
        "--progress",
        "events",
        "--profile",
        "dev",
        "--no-build",
    ];
    ms.deployer(account, &deploy, &[]).success();

    let run = stage(&["executions", "list", "--output", "json"]).success();
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!([]),
        "{run}"
    );
    let run = stage(&["executions", "list"]).success();
    assert!(
        run.stderr
            .contains("no durable executions of processor (webhooks-dev-Processor-"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains(":live) in stage dev (stack webhooks-dev) match"),
        "{run}"
    );
    let run = stage(&["executions", "get", "wh_nope"]);
    fails(
        &run,
        1,
        "in stage dev (stack webhooks-dev) is named `wh_nope`",
    );
    let arn = format!(
        "arn:aws:lambda:us-east-1:{account}:function:webhooks-dev-Processor:1/durable-execution/t/unknown"
    );
    let run = stage(&["executions", "history", &arn]);
    fails(&run, 1, &format!("no durable execution {arn} in stage dev"));
    let run = stage(&["callback", "heartbeat", "bm9uZQ=="]);
    fails(
        &run,
        1,
        "no callback `bm9uZQ==` in stage dev (stack webhooks-dev)",
    );
    let run = stage(&["callback", "succeed", "bm9uZQ==", "--result", "1"]);
    fails(&run, 1, "no callback `bm9uZQ==`");
    // The console of the deployed stage: read through the standard chain, read-only.
    let console = tests::browser::Served::start(
        ms.command(
            &tests::workspace_root(),
            account,
            &["console", "--stage", "dev", "--port", "0"],
            &[],
        ),
        "Console: ",
    );
    let (code, text) = try_http("GET", &format!("{}/executions", console.url), &[], "").unwrap();
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("webhooks-dev-Processor") && text.contains("No execution."),
        "{text}"
    );
    let (code, text) = try_http("GET", &format!("{}/webhooks", console.url), &[], "").unwrap();
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("0 webhooks") && text.contains("stage dev"),
        "{text}"
    );
    let stop = format!("{}/stop", console.url);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (code, text) = try_http("POST", &stop, &form, "arn=x").unwrap();
    assert_eq!(code, 403, "{text}");
    drop(console);

    // A stage that is not deployed says so.
    let run = ms.deployer(account, &["executions", "list", "--stage", "prod"], &[]);
    fails(&run, 1, "stack webhooks-prod does not exist");
}
