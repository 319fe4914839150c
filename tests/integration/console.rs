//! The console in a real browser (Debian's Chromium, headless) against a real `deployer
//! local`: the webhooks list with its filter and search, a webhook's exact payload and its
//! timeline, a failure marked, a redrive from the page, a conformance execution's retry
//! and wait; no console error and no request off 127.0.0.1. Screenshots of the list and of
//! a timeline go to `target/console/` for review (the README shows them).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tests::browser::{Browser, Served};
use tests::local::{LocalCloud, body_webhook_id, http, try_http};

const SECRET: &str = "console-secret";

/// Posts `body` (which names `delivery`, so that two deliveries never share a body) as
/// delivery `delivery`, signed; returns the status and the webhook id.
fn post(cloud: &LocalCloud, delivery: &str, body: &Value) -> (u16, String) {
    let body = sent_body(delivery, body);
    let sig = webhook_core::schemes::github::signature(SECRET.as_bytes(), body.as_bytes());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", delivery),
        ("X-Hub-Signature-256", sig.as_str()),
    ];
    let (code, _) = http("POST", &format!("{}/webhooks", cloud.api), &headers, &body);
    (code, body_webhook_id(&body))
}

/// What `post` sends as the body of `delivery`.
fn sent_body(delivery: &str, body: &Value) -> String {
    let mut body = body.clone();
    body["delivery"] = json!(delivery);
    body.to_string()
}

/// The console's address, as `deployer local` prints it (`Console: http://.../_console`).
fn console_url(cloud: &LocalCloud) -> String {
    // The line follows `API:` (on which `LocalCloud::start` returns) a moment later.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let printed = cloud.printed();
        if let Some(line) = printed.lines().find_map(|l| l.strip_prefix("Console: ")) {
            return line.trim().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no Console: line in\n{printed}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The console's origin (`http://127.0.0.1:PORT`).
fn origin(cloud: &LocalCloud) -> String {
    console_url(cloud).trim_end_matches("/_console").to_owned()
}

fn shots() -> PathBuf {
    tests::target_dir().join("console")
}

/// The rows of the webhooks table: (id, status).
fn rows(b: &mut Browser) -> Vec<(String, String)> {
    let v = b.eval(
        "Array.from(document.querySelectorAll('table.webhooks tbody tr')).map(r => [r.dataset.id, r.dataset.status])",
    );
    serde_json::from_value(v).expect("rows")
}

/// Waits for the page an action sends the browser back to (it says what was done).
fn wait_done(b: &mut Browser) {
    b.wait_for(
        "location.search.includes('done=') && document.readyState === 'complete'",
        Duration::from_secs(15),
    );
}

/// Every request the page made stayed on `origin` (or was inline).
fn assert_local_only(b: &Browser, origin: &str) {
    let away: Vec<&String> = b
        .requests
        .iter()
        .filter(|u| !u.starts_with(origin) && !u.starts_with("data:") && !u.starts_with("about:"))
        .collect();
    assert!(away.is_empty(), "requests off 127.0.0.1: {away:?}");
    assert!(!b.requests.is_empty(), "the page's requests were recorded");
}

#[test]
fn the_console_lists_filters_shows_and_redrives_webhooks_in_a_browser() {
    let order = json!({"type": "order", "orderId": "C-1"});
    let invalid = json!({"type": "order"});
    let failing = body_webhook_id(&sent_body("c-fails", &order));
    let fault = format!("panic-in-step={failing}:finalize");
    let cloud = LocalCloud::start(
        &["--ephemeral", "--time-scale", "0.01", "--fault", &fault],
        Some(SECRET),
    );
    let (code, valid) = post(&cloud, "c-valid", &order);
    assert_eq!(code, 202);
    assert_eq!(post(&cloud, "c-invalid", &invalid).0, 202);
    assert_eq!(post(&cloud, "c-fails", &order).0, 202);
    // Redelivered: the same webhook, not another.
    assert_eq!(post(&cloud, "c-valid", &order), (202, valid.clone()));
    // Badly signed: refused, so never a webhook the list could show.
    let forged = [
        ("Content-Type", "application/json"),
        ("X-Webhook-Id", "c-forged"),
        ("X-Hub-Signature-256", "sha256=00"),
    ];
    let body = sent_body("c-forged", &order);
    let (code, _) = http("POST", &format!("{}/webhooks", cloud.api), &forged, &body);
    assert_eq!(code, 401);
    let invalid_id = body_webhook_id(&sent_body("c-invalid", &invalid));
    for (id, want) in [
        (&valid, "COMPLETED"),
        (&invalid_id, "FAILED"),
        (&failing, "FAILED"),
    ] {
        let done = cloud.wait_terminal(id, Duration::from_secs(20));
        assert_eq!(done["status"], want, "{id}: {done}");
    }

    let origin = origin(&cloud);
    let console = console_url(&cloud);
    let mut b = Browser::launch(1280, 900);
    b.goto(&console);
    b.wait_loaded(&format!("{console}/webhooks"));
    let mut listed = rows(&mut b);
    listed.sort();
    let mut want = vec![
        (valid.clone(), "completed".to_owned()),
        (invalid_id.clone(), "failed".to_owned()),
        (failing.clone(), "failed".to_owned()),
    ];
    want.sort();
    assert_eq!(listed, want, "each webhook once, with its status");
    b.screenshot(&shots().join("webhooks.png"));

    // The filter: failed only.
    b.eval("document.querySelector('select[name=status]').value = 'failed'");
    b.click("form.filter button");
    b.wait_loaded(&format!("{console}/webhooks?status=failed"));
    let failed: Vec<String> = rows(&mut b).into_iter().map(|r| r.1).collect();
    assert_eq!(failed, ["failed", "failed"]);
    // The search, by delivery id.
    b.goto(&format!("{console}/webhooks"));
    b.eval("document.querySelector('input[name=q]').value = 'c-valid'");
    b.click("form.filter button");
    b.wait_loaded(&format!("{console}/webhooks?"));
    assert_eq!(rows(&mut b), [(valid.clone(), "completed".to_owned())]);

    // One webhook: the payload exactly as received, three step bars on its timeline.
    b.click(&format!("a[href$='/webhooks/{valid}']"));
    b.wait_loaded(&format!("{console}/webhooks/{valid}"));
    assert_eq!(
        b.text("pre[data-format=raw]"),
        sent_body("c-valid", &order),
        "the payload as received"
    );
    let steps = b.eval(
        "Array.from(document.querySelectorAll('.timeline li.row')).map(r => [r.querySelector('.label').firstChild.textContent.trim(), r.dataset.kind, r.dataset.outcome, r.querySelectorAll('.seg').length])",
    );
    assert_eq!(
        steps,
        json!([
            ["validate", "step", "succeeded", 1],
            ["process", "step", "succeeded", 1],
            ["finalize", "step", "succeeded", 1]
        ])
    );
    // Each bar is reachable with the keyboard and says what it is.
    let label = b.eval("document.querySelector('.seg').getAttribute('aria-label')");
    assert!(
        label
            .as_str()
            .unwrap()
            .starts_with("validate, attempt 1: succeeded after"),
        "{label}"
    );
    b.eval("document.querySelector('.seg').focus()");
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "ArrowRight", "code": "ArrowRight", "windowsVirtualKeyCode": 39}),
    );
    let focused = b.eval("document.activeElement.getAttribute('aria-label')");
    assert!(
        focused.as_str().unwrap().starts_with("process"),
        "{focused}"
    );
    b.screenshot(&shots().join("timeline.png"));
    // Readable on a narrow window: nothing wider than the phone it is on.
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 800, "deviceScaleFactor": 1, "mobile": true}),
    );
    let wide = b.eval("document.documentElement.scrollWidth");
    assert!(
        wide.as_u64().unwrap() <= 390,
        "the page is {wide} px wide on a 390 px window"
    );
    b.screenshot(&shots().join("timeline-narrow.png"));
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );

    // A failed webhook: its step marked failed with the error; redriven from the page.
    b.goto(&format!("{console}/webhooks/{failing}"));
    let marked = b.eval(
        "Array.from(document.querySelectorAll('.timeline li.row[data-outcome=failed]')).map(r => [r.querySelector('.label').firstChild.textContent.trim(), !!r.querySelector('.mark'), r.querySelector('.row-error') ? r.querySelector('.row-error').textContent : ''])",
    );
    let marked = marked.as_array().unwrap();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(marked[0][0], "finalize");
    assert_eq!(marked[0][1], true);
    assert!(!marked[0][2].as_str().unwrap().is_empty(), "{marked:?}");
    b.click("form.action button");
    b.wait_loaded(&format!("{console}/webhooks/{failing}?done="));
    assert!(
        b.text("p.done").contains("redriven: attempt 2 started"),
        "{}",
        b.text("p.done")
    );
    let done = cloud.wait_terminal(&failing, Duration::from_secs(20));
    assert_eq!(
        (done["status"].as_str(), done["attempt"].as_u64()),
        (Some("COMPLETED"), Some(2)),
        "{done}"
    );

    // Send a test webhook from the page: signed with the local secret, accepted.
    b.goto(&format!("{console}/webhooks"));
    b.eval("document.querySelector('form.send select').value = 'default'");
    b.click("form.send button");
    b.wait_loaded(&format!("{console}/webhooks/wh_"));
    assert!(
        b.text("p.done").contains("accepted (HTTP 202)"),
        "{}",
        b.text("p.done")
    );

    b.eval("1");
    assert!(b.errors.is_empty(), "errors in the page: {:?}", b.errors);
    assert_local_only(&b, &origin);
}

#[test]
fn the_console_refuses_bad_input_with_a_clear_status() {
    let cloud = LocalCloud::start(&["--ephemeral"], Some(SECRET));
    let console = console_url(&cloud);
    let (code, invalid) = post(&cloud, "c-refused", &json!({"type": "order"}));
    assert_eq!(code, 202);
    assert_eq!(
        cloud.wait_terminal(&invalid, Duration::from_secs(20))["status"],
        "FAILED"
    );
    let cases = [
        ("/webhooks?status=bogus", 400, "unknown status `bogus`"),
        ("/webhooks/not-an-id", 400, "not-an-id"),
        (
            "/webhooks/wh_00000000000000000000000000000000",
            404,
            "no webhook wh_00000000000000000000000000000000",
        ),
        ("/execution?arn=nope", 404, "nope"),
        (
            "/executions?status=sleeping",
            400,
            "unknown status `sleeping`",
        ),
        ("/assets/other.js", 404, "no such asset"),
    ];
    for (path, code, says) in cases {
        let (got, text) = try_http("GET", &format!("{console}{path}"), &[], "").unwrap();
        assert_eq!(got, code, "{path}: {text}");
        assert!(text.contains(says), "{path}: {text}");
    }
    let (got, text) = try_http(
        "POST",
        &format!("{console}/send"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "source=nope",
    )
    .unwrap();
    assert_eq!(got, 400, "{text}");
    assert!(text.contains("no source `nope`"), "{text}");
}

#[test]
fn a_conformance_execution_shows_its_retry_and_its_wait_on_the_timeline() {
    let cloud = LocalCloud::start(&["--app", "conformance", "--ephemeral"], None);
    cloud.start_conformance("1-11", "console-retried", Value::Null);
    cloud.start_conformance("1-10", "console-waited", Value::Null);
    // A minute's wait: running whatever the machine's load when the page opens.
    cloud.start_conformance("2-4", "console-live", Value::Null);
    cloud.start_conformance("4-2", "console-callback", Value::Null);
    cloud.start_conformance("2-4", "console-stopped", Value::Null);
    let origin = origin(&cloud);
    let console = console_url(&cloud);
    let mut b = Browser::launch(1000, 800);
    // Live: a running execution's timeline follows it without a reload.
    let page = |b: &mut Browser, name: &str| {
        b.goto(&format!("{console}/executions"));
        b.click(&format!("a[href*='{name}']"));
        b.wait_loaded(&format!("{console}/execution?"));
    };
    page(&mut b, "console-live");
    assert_eq!(
        b.eval("document.querySelector('.timeline').dataset.running"),
        "true"
    );
    b.eval("window.notReloaded = true");
    // On a loaded machine the wait may not have begun when the page opened: the page shows
    // it begin, then end.
    b.wait_for(
        "window.notReloaded && document.querySelector('li.row[data-kind=wait][data-outcome=running]')",
        Duration::from_secs(20),
    );
    // Ended from elsewhere (the CLI): the open page follows.
    let conformance =
        "arn:aws:lambda:us-east-1:000000000000:function:conformance-local-Conformance:live";
    tests::deployer(
        &tests::workspace_root(),
        &[
            "executions",
            "stop",
            "console-live",
            "--function",
            conformance,
            "--local",
            &cloud.lambda,
        ],
    )
    .success();
    b.wait_for(
        "window.notReloaded && document.querySelector('.timeline').dataset.running === 'false' && document.querySelector('li.row[data-kind=wait][data-outcome=cancelled]')",
        Duration::from_secs(20),
    );

    // A callback answered from the page: the execution gets the result.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        page(&mut b, "console-callback");
        if b.eval("!!document.querySelector('form.callback')") == json!(true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no callback to answer"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    b.eval("document.querySelector('form.callback textarea').value = '{\"approved\": true}'");
    b.click("form.callback button[value=succeed]");
    wait_done(&mut b);
    assert!(
        b.text("p.done").contains("answered: succeed"),
        "{}",
        b.text("p.done")
    );

    // A stop from the page.
    page(&mut b, "console-stopped");
    b.click("form.action button");
    wait_done(&mut b);
    assert!(
        b.text("p.done").contains("stopped at"),
        "{}",
        b.text("p.done")
    );
    assert_eq!(b.text("dl.record .badge"), "STOPPED");

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        b.goto(&format!("{console}/executions"));
        let ended = b
            .eval("document.querySelectorAll('table.executions tr[data-status=succeeded]').length");
        // The retried, the waited and the answered one.
        if ended == json!(3) {
            break;
        }
        let seen = b.eval("Array.from(document.querySelectorAll('table.executions tbody tr')).map(r => r.textContent)");
        assert!(
            std::time::Instant::now() < deadline,
            "the executions did not succeed: {seen}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // The retried step: a failed attempt, the delay, a succeeded attempt.
    b.click("a[href*='console-retried']");
    b.wait_loaded(&format!("{console}/execution?"));
    let segs = b.eval(
        "Array.from(document.querySelectorAll('.timeline li.row[data-kind=step] .seg')).map(s => s.className)",
    );
    assert_eq!(
        segs,
        json!(["seg run failed", "seg delay", "seg run succeeded"]),
        "attempt, delay, attempt"
    );
    // The failed step, then the wait.
    b.goto(&format!("{console}/executions"));
    b.click("a[href*='console-waited']");
    b.wait_loaded(&format!("{console}/execution?"));
    let kinds = b.eval(
        "Array.from(document.querySelectorAll('.timeline li.row')).map(r => [r.dataset.kind, r.dataset.outcome])",
    );
    assert_eq!(kinds, json!([["step", "failed"], ["wait", "succeeded"]]));
    let wait = b.eval("document.querySelector('.timeline li.row[data-kind=wait] .seg').getAttribute('aria-label')");
    assert!(
        wait.as_str().unwrap().contains("wait: succeeded after"),
        "{wait}"
    );

    b.eval("1");
    assert!(b.errors.is_empty(), "errors in the page: {:?}", b.errors);
    assert_local_only(&b, &origin);
}

/// `deployer console --local URL [more]`: the console a deployed stage gets, here reading
/// the local cloud through the same clients.
fn console_of(cloud: &LocalCloud, more: &[&str]) -> Served {
    let mut cmd = std::process::Command::new(tests::deployer_bin());
    cmd.args(["console", "--local", &cloud.api, "--port", "0"])
        .args(more);
    Served::start(cmd, "Console: ")
}

#[test]
fn deployer_console_is_read_only_unless_actions_are_allowed_and_then_asks() {
    let cloud = LocalCloud::start(&["--ephemeral"], Some(SECRET));
    let (code, failed) = post(&cloud, "c-read-only", &json!({"type": "order"}));
    assert_eq!(code, 202);
    assert_eq!(
        cloud.wait_terminal(&failed, Duration::from_secs(20))["status"],
        "FAILED"
    );
    let page = |console: &str| {
        let (code, text) =
            try_http("GET", &format!("{console}/webhooks/{failed}"), &[], "").unwrap();
        assert_eq!(code, 200, "{text}");
        text
    };
    let form = [("Content-Type", "application/x-www-form-urlencoded")];

    let read_only = console_of(&cloud, &[]);
    let text = page(&read_only.url);
    assert!(!text.contains("/redrive"), "no redrive offered: {text}");
    assert!(!text.contains("Send a test webhook"), "{text}");
    let redrive = format!("{}/webhooks/{failed}/redrive", read_only.url);
    let (code, text) = try_http("POST", &redrive, &form, "").unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("start it with --allow-actions"), "{text}");
    assert_eq!(cloud.status(&failed).1["attempt"], 1, "nothing redriven");

    let allowed = console_of(&cloud, &["--allow-actions"]);
    let text = page(&allowed.url);
    assert!(
        text.contains(&format!("data-confirm=\"Redrive {failed} as attempt 2?\"")),
        "the redrive asks first: {text}"
    );
}

#[test]
fn the_webhooks_list_pages_by_fifty() {
    let cloud = LocalCloud::start(&["--ephemeral"], Some(SECRET));
    let console = console_url(&cloud);
    let order = json!({"type": "order", "orderId": "P-1"});
    let mut ids = Vec::new();
    for n in 0..51 {
        let (code, id) = post(&cloud, &format!("c-page-{n:02}"), &order);
        assert_eq!(code, 202);
        ids.push(id);
    }
    let rows_of = |text: &str| text.matches("<tr data-id=").count();
    let (code, first) = try_http("GET", &format!("{console}/webhooks"), &[], "").unwrap();
    assert_eq!(code, 200, "{first}");
    assert!(first.contains("51 webhooks"), "{first}");
    assert_eq!(rows_of(&first), 50);
    assert!(
        first.contains("rel=\"next\"") && !first.contains("rel=\"prev\""),
        "{first}"
    );
    let (_, second) = try_http("GET", &format!("{console}/webhooks?page=1"), &[], "").unwrap();
    assert_eq!(rows_of(&second), 1);
    assert!(
        second.contains("Page 2 of 2") && second.contains("rel=\"prev\""),
        "{second}"
    );
    // A page past the end shows the last one.
    let (_, past) = try_http("GET", &format!("{console}/webhooks?page=9"), &[], "").unwrap();
    assert!(past.contains("Page 2 of 2"), "{past}");
}
