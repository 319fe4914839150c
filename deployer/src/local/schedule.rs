//! EventBridge schedules on one machine: every `AWS::Events::Rule` with a `rate(...)`
//! invokes its target function with a scheduled event, at the template's rate or at the
//! rate `deployer local --reconcile-every` asks for (tests). A run is awaited before the
//! next one starts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::lambda::Function;
use super::model::{REGION, ScheduleSpec};

/// The event EventBridge sends to a scheduled target.
fn scheduled_event(rule: &ScheduleSpec, n: u64) -> Vec<u8> {
    json!({
        "version": "0",
        "id": format!("local-{}-{n}", rule.logical),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": super::model::ACCOUNT,
        "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "region": REGION,
        "resources": [rule.arn],
        "detail": {},
    })
    .to_string()
    .into_bytes()
}

/// Runs every schedule until `stop`.
pub fn start(
    schedules: &[ScheduleSpec],
    functions: &BTreeMap<String, Arc<Function>>,
    every: Option<Duration>,
    stop: watch::Receiver<bool>,
) {
    for rule in schedules {
        let Some(function) = functions.get(&rule.function).cloned() else {
            continue;
        };
        let rule = rule.clone();
        let every = every.unwrap_or(rule.every);
        eprintln!(
            "[local] schedule {}: {} every {}",
            rule.logical,
            function.spec.crate_name,
            humantime::format_duration(every)
        );
        let mut stop = stop.clone();
        tokio::spawn(async move {
            for n in 1.. {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = function.invoke(scheduled_event(&rule, n)).await {
                    eprintln!("[local] schedule {}: run {n} failed: {e}", rule.logical);
                }
            }
        });
    }
}
