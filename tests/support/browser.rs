//! A real browser for the pages the project serves: Debian's Chromium, headless, started on
//! 127.0.0.1 by the test and driven over the DevTools protocol (a WebSocket of JSON
//! messages). It keeps what the page reported as errors (console errors, uncaught
//! exceptions, failed loads) and every URL the page requested.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long one DevTools answer may take.
const ANSWER: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: String,
    /// What the page reported as errors, in order.
    pub errors: Vec<String>,
    /// Every URL the page requested, in order.
    pub requests: Vec<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `ws://` address Chromium prints on stderr once its DevTools endpoint listens.
fn devtools_url(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("chromium did not open its DevTools endpoint within 30 s")
}

impl Browser {
    /// Starts Chromium with a window of `width` x `height` and opens a blank page.
    pub fn launch(width: u32, height: u32) -> Browser {
        let chromium = crate::require_tool("chromium", "apt-get install -y chromium");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start chromium");
        let url = devtools_url(&mut child);
        let (ws, _) = tungstenite::connect(&url).expect("cannot reach chromium's DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(ANSWER)).expect("a read timeout");
        }
        let mut b = Browser {
            child,
            ws,
            next: 0,
            session: String::new(),
            errors: Vec::new(),
            requests: Vec::new(),
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_owned();
        for domain in ["Page", "Runtime", "Network", "Log"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Sends `method` (to the page once attached) and returns its result; events that
    /// arrive meanwhile are recorded.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|err| panic!("DevTools {method} failed: {err}"))
    }

    /// [`Browser::call`], with the protocol's error (a page navigating away, say) returned.
    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
        loop {
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t.to_string(),
                Ok(_) => continue,
                Err(e) => panic!("DevTools {method}: no answer: {e}"),
            };
            let v: Value = serde_json::from_str(&text).expect("DevTools sends JSON");
            if v["id"] == json!(id) {
                if let Some(err) = v.get("error") {
                    return Err(err.to_string());
                }
                return Ok(v["result"].clone());
            }
            self.record(&v);
        }
    }

    fn record(&mut self, event: &Value) {
        let p = &event["params"];
        match event["method"].as_str().unwrap_or_default() {
            "Runtime.consoleAPICalled" if p["type"] == "error" => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["value"].to_string())
                    .collect();
                self.errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            "Runtime.exceptionThrown" => {
                let d = &p["exceptionDetails"];
                self.errors.push(format!(
                    "uncaught: {} {}",
                    d["text"], d["exception"]["description"]
                ));
            }
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                let e = &p["entry"];
                self.errors
                    .push(format!("log: {} ({})", e["text"], e["url"]));
            }
            "Network.requestWillBeSent" => {
                if let Some(url) = p["request"]["url"].as_str() {
                    self.requests.push(url.to_owned());
                }
            }
            _ => {}
        }
    }

    /// Evaluates `js` in the page (promises awaited) and returns its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let out = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = out.get("exceptionDetails") {
            panic!("{js} threw: {ex}");
        }
        out["result"]["value"].clone()
    }

    /// Waits until `js` is true in the page.
    pub fn wait_for(&mut self, js: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let guarded =
                format!("(() => {{ try {{ return !!({js}); }} catch (e) {{ return false; }} }})()");
            // A page between two documents answers with an error: not yet.
            let out = self.try_call(
                "Runtime.evaluate",
                json!({"expression": guarded, "returnByValue": true}),
            );
            let ready = out.is_ok_and(|o| o["result"]["value"] == json!(true));
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{js}` did not hold within {limit:?} at {}",
                self.eval("location.href")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_loaded(url);
    }

    /// Waits until the page at a URL starting with `prefix` is loaded.
    pub fn wait_loaded(&mut self, prefix: &str) {
        let js = format!(
            "location.href.startsWith({}) && document.readyState === 'complete'",
            json!(prefix)
        );
        self.wait_for(&js, Duration::from_secs(15));
    }

    /// Clicks the first element `css` selects (a button that submits a form navigates).
    pub fn click(&mut self, css: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
            json!(css)
        );
        assert_eq!(self.eval(&js), json!(true), "nothing matches `{css}`");
    }

    /// The page's text content of the first element `css` selects ("" when none).
    pub fn text(&mut self, css: &str) -> String {
        let js = format!(
            "(document.querySelector({}) || {{textContent: ''}}).textContent",
            json!(css)
        );
        self.eval(&js).as_str().unwrap_or_default().to_owned()
    }

    /// Saves a PNG of the whole page to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"].as_str().expect("screenshot data");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, bytes).expect("write screenshot");
    }
}

/// A server the test started that prints its address as `<prefix><URL>` on stdout (as
/// `deployer console` prints `Console: http://...`); killed when dropped.
#[derive(Debug)]
pub struct Served {
    child: Child,
    pub url: String,
}

impl Served {
    /// Spawns `cmd` and waits (at most 60 s) for its `prefix` line.
    pub fn start(mut cmd: Command, prefix: &str) -> Served {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let wanted = prefix.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix(&wanted) {
                    let _ = tx.send(Ok(url.trim().to_owned()));
                }
            }
        });
        let (err_tx, err_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
            let _ = err_tx.send(text);
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok::<String, ()>(url)) => Served { child, url },
            _ => {
                let _ = child.kill();
                let stderr = err_rx
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default();
                panic!("the server printed no `{prefix}` line:\n{stderr}");
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
