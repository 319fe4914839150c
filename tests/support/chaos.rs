//! The chaos run, shared by the integration test and `make bench`: webhooks in flight
//! through a real `deployer local` while function processes are killed at random and the
//! local cloud itself is SIGKILLed once and restarted on the same data directory. Senders
//! behave like a provider: a delivery that was not answered 202 is delivered again.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::local::{LocalCloud, try_http};

/// What a chaos run came to.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub webhooks: usize,
    /// Deliveries answered 202 (each after as many redeliveries as it took).
    pub acknowledged: usize,
    pub completed: usize,
    pub failed: usize,
    /// Acknowledged webhooks not COMPLETED or FAILED when the run gave up waiting.
    pub lost: usize,
    /// Webhooks with more than one durable execution (one attempt each here).
    pub duplicates: usize,
    /// Their executions: (name, status, start).
    pub duplicated: Vec<(String, String, String)>,
    /// Function processes killed with SIGKILL.
    pub kills: usize,
    /// From the last fault (kill or restart) to the last webhook reaching a terminal status.
    pub settle: Duration,
}

fn random(bound: usize) -> usize {
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    usize::try_from(r % bound.max(1) as u64).unwrap_or(0)
}

/// The pids of the webhook functions' processes.
fn function_pids(cloud: &LocalCloud) -> Vec<i32> {
    let stats = cloud.stats();
    ["receiver", "processor"]
        .iter()
        .flat_map(|f| stats["pids"][*f].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_i64().and_then(|p| i32::try_from(p).ok()))
        .collect()
}

fn deliver(api: &RwLock<String>, secret: &str, delivery: &str, give_up: Instant) -> Option<String> {
    let body = format!(r#"{{"type":"order","orderId":"{delivery}"}}"#);
    let sig = webhook_core::schemes::github::signature(secret.as_bytes(), body.as_bytes());
    while Instant::now() < give_up {
        let base = api.read().unwrap_or_else(|p| p.into_inner()).clone();
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Webhook-Id", delivery),
            ("X-Hub-Signature-256", sig.as_str()),
        ];
        let (code, text) = try_http("POST", &format!("{base}/webhooks"), &headers, &body)
            .unwrap_or((0, String::new()));
        if code == 202 {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            return v["id"].as_str().map(str::to_owned);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Runs `n` webhooks through the chaos with `args` for `deployer local` (besides the data
/// directory and the secret).
pub fn run(n: usize, args: &[&str]) -> Report {
    let secret = "chaos-secret";
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap().to_owned();
    let mut all: Vec<&str> = vec![
        "--data-dir",
        &dir,
        "--no-throttle",
        "--reconcile-every",
        "1s",
    ];
    all.extend_from_slice(&["--set", "reconcile-grace-s=2"]);
    all.extend_from_slice(args);
    let mut cloud = LocalCloud::start(&all, Some(secret));
    let api = Arc::new(RwLock::new(cloud.api.clone()));
    let give_up = Instant::now() + Duration::from_secs(120);
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let (api, next, acked) = (api.clone(), next.clone(), acked.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    if let Some(id) = deliver(&api, secret, &format!("chaos-{i}"), give_up) {
                        acked.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                    }
                }
            })
        })
        .collect();

    // Kill function processes at random while the first half is in flight, then the whole
    // local cloud once, then more processes.
    let mut kills = 0;
    let mut last_fault = std::time::SystemTime::now();
    let mut restarted = false;
    let mut first_logs = String::new();
    while senders.iter().any(|s| !s.is_finished()) && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(300));
        if !restarted && next.load(Ordering::SeqCst) >= n / 2 {
            cloud.kill9();
            first_logs = cloud.logs();
            cloud = LocalCloud::start(&all, Some(secret));
            *api.write().unwrap_or_else(|p| p.into_inner()) = cloud.api.clone();
            restarted = true;
            last_fault = std::time::SystemTime::now();
            continue;
        }
        let pids = function_pids(&cloud);
        if !pids.is_empty() {
            let pid = pids[random(pids.len())];
            if nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            )
            .is_ok()
            {
                kills += 1;
                last_fault = std::time::SystemTime::now();
            }
        }
    }
    for s in senders {
        let _ = s.join();
    }
    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (mut report, last_terminal) = settle(&cloud, &acked, give_up + Duration::from_secs(60));
    report.webhooks = n;
    report.kills = kills;
    report.settle = last_terminal.duration_since(last_fault).unwrap_or_default();
    if report.duplicates > 0 || report.lost > 0 {
        let _ = std::fs::write("/tmp/chaos-first.log", &first_logs);
        let _ = std::fs::write("/tmp/chaos-second.log", cloud.logs());
    }
    report
}

/// Waits until every acknowledged webhook is terminal (or `deadline`), then counts; also
/// when the last one became terminal (its record's last write).
fn settle(
    cloud: &LocalCloud,
    acked: &[String],
    deadline: Instant,
) -> (Report, std::time::SystemTime) {
    let mut open: Vec<String> = acked.to_vec();
    let mut statuses: BTreeMap<String, String> = BTreeMap::new();
    let mut last_terminal = std::time::UNIX_EPOCH;
    while !open.is_empty() && Instant::now() < deadline {
        open.retain(|id| {
            let (code, s) = cloud.status(id);
            let status = s["status"].as_str().unwrap_or_default().to_owned();
            let terminal = code == 200 && (status == "COMPLETED" || status == "FAILED");
            if terminal {
                statuses.insert(id.clone(), status);
                if let Some(at) = s["updatedAt"]
                    .as_str()
                    .and_then(|t| humantime::parse_rfc3339(t).ok())
                {
                    last_terminal = last_terminal.max(at);
                }
            }
            !terminal
        });
        if !open.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Executions per webhook: `<id>` and any `<id>-<n>` (there are no redrives here).
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    let executions = cloud.executions(None);
    for e in &executions {
        let name = e["DurableExecutionName"].as_str().unwrap_or_default();
        let id = name.get(..35).unwrap_or(name);
        *per_id.entry(id.to_owned()).or_default() += 1;
    }
    let duplicated = executions
        .iter()
        .filter(|e| {
            let name = e["DurableExecutionName"].as_str().unwrap_or_default();
            per_id
                .get(name.get(..35).unwrap_or(name))
                .copied()
                .unwrap_or(0)
                > 1
        })
        .map(|e| {
            (
                e["DurableExecutionName"].to_string(),
                e["Status"].to_string(),
                e["StartTimestamp"].to_string(),
            )
        })
        .collect();
    let report = Report {
        acknowledged: acked.len(),
        completed: statuses.values().filter(|s| *s == "COMPLETED").count(),
        failed: statuses.values().filter(|s| *s == "FAILED").count(),
        lost: open.len(),
        duplicates: acked
            .iter()
            .filter(|id| per_id.get(*id).copied().unwrap_or(0) > 1)
            .count(),
        duplicated,
        ..Report::default()
    };
    (report, last_terminal)
}
