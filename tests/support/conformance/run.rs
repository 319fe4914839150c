//! Running one requirement against the local cloud the way the official runner
//! (`validate.py`) does: invoke, then either wait for the end (synchronous requirements) or
//! poll the history, performing the `CallbackActions` as callbacks start (`AsyncInvoke`);
//! then the history (by `EventId`), the result and the logs.
//!
//! Two deviations, both about speed: the history is polled every 0.1 to 0.5 s (the official
//! runner: every 2 s), and the execution's end is also read from `GetDurableExecution` (the
//! official runner reads it from the history's `Execution*` events only, which the history
//! comparison still checks wherever a requirement lists them).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::matcher::{Placeholders, match_history, name_matches, py_eq, py_json_dumps};
use super::requirement::{CallbackAction, CallbackOperation, Requirement};
use super::{CRATE, FUNCTION, invoke, logs};
use crate::local::{LocalCloud, path_segment, try_http};

/// How long a synchronous requirement may run (1-13 waits out the SDK's default retry
/// delays for real: up to 15 s).
const SYNC_LIMIT: Duration = Duration::from_secs(60);

/// Runs requirement `id`; `Err` says everything that did not match.
pub fn run(cloud: &LocalCloud, id: &str, req: &Requirement) -> Result<(), String> {
    let mut ctx = Placeholders::with_variables(&req.variables);
    let arn = start(cloud, id, &ctx.substitute(&req.input))?;
    let events = if req.async_invoke {
        poll(cloud, &arn, req, &mut ctx)?
    } else {
        wait_for_end(cloud, &arn)?;
        history(cloud, &arn)?
    };
    let errors = match_history(&req.expected_execution_history, &events, &mut ctx);
    if !errors.is_empty() {
        return Err(mismatch(&errors, &events));
    }
    check_result(cloud, &arn, req, &ctx)?;
    check_logs(cloud, &arn, req, &ctx)
}

/// Starts the execution (`Event` invoke of the `live` alias); its ARN.
fn start(cloud: &LocalCloud, id: &str, input: &Value) -> Result<String, String> {
    let name = format!("req-{id}");
    invoke(cloud, &name, id, input)?;
    let list = get(
        cloud,
        &format!(
            "/2025-12-01/functions/{FUNCTION}/durable-executions?Qualifier=live&DurableExecutionName={name}"
        ),
    )?;
    list["DurableExecutions"][0]["DurableExecutionArn"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no execution named {name}: {list}"))
}

fn get(cloud: &LocalCloud, path: &str) -> Result<Value, String> {
    let url = format!("{}{path}", cloud.lambda);
    let (code, body) = try_http("GET", &url, &[], "").map_err(|e| format!("GET {path}: {e}"))?;
    if code != 200 {
        return Err(format!("GET {path}: {code} {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {path}: {e}: {body}"))
}

fn execution(cloud: &LocalCloud, arn: &str) -> Result<Value, String> {
    get(
        cloud,
        &format!("/2025-12-01/durable-executions/{}", path_segment(arn)),
    )
}

/// Every event of the execution's history (following `NextMarker`).
fn history(cloud: &LocalCloud, arn: &str) -> Result<Vec<Value>, String> {
    let base = format!(
        "/2025-12-01/durable-executions/{}/history?IncludeExecutionData=true",
        path_segment(arn)
    );
    let mut events = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let path = match &marker {
            Some(m) => format!("{base}&Marker={}", path_segment(m)),
            None => base.clone(),
        };
        let page = get(cloud, &path)?;
        events.extend(page["Events"].as_array().cloned().unwrap_or_default());
        match page["NextMarker"].as_str().filter(|m| !m.is_empty()) {
            Some(m) => marker = Some(m.to_owned()),
            None => return Ok(events),
        }
    }
}

fn is_running(execution: &Value) -> bool {
    execution["Status"] == "RUNNING"
}

/// Whether the history holds the execution's end (`get_execution_status`).
fn ended_in_history(events: &[Value]) -> bool {
    events.iter().any(|e| {
        matches!(
            e["EventType"].as_str(),
            Some(
                "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionStopped"
            )
        )
    })
}

/// Polling intervals: 0.1 s, growing to 0.5 s.
struct Pace(Duration);

impl Pace {
    fn new() -> Pace {
        Pace(Duration::from_millis(100))
    }

    fn sleep(&mut self) {
        std::thread::sleep(self.0);
        self.0 = (self.0 * 3 / 2).min(Duration::from_millis(500));
    }
}

/// Waits until a synchronous requirement's execution ends.
fn wait_for_end(cloud: &LocalCloud, arn: &str) -> Result<(), String> {
    let deadline = Instant::now() + SYNC_LIMIT;
    let mut pace = Pace::new();
    loop {
        let e = execution(cloud, arn)?;
        if !is_running(&e) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("still RUNNING after {SYNC_LIMIT:?}"));
        }
        pace.sleep();
    }
}

/// Polls an asynchronous requirement's history (`PollingValidator.validate`) until the
/// execution ends, no event came for the no-progress timeout, or (without an
/// `ExpectedResult`) the expected events are all there; performs the callback actions on
/// the way. Returns the last history.
fn poll(
    cloud: &LocalCloud,
    arn: &str,
    req: &Requirement,
    ctx: &mut Placeholders,
) -> Result<Vec<Value>, String> {
    let timeout = Duration::from_secs_f64(req.async_config.no_progress_timeout_seconds);
    let mut callbacks = Callbacks::new(&req.callback_actions);
    let (mut seen, mut progress) = (0, Instant::now());
    let mut pace = Pace::new();
    loop {
        pace.sleep();
        // The status first: a history read after it holds whatever ended the execution.
        let running = is_running(&execution(cloud, arn)?);
        let events = history(cloud, arn)?;
        if ended_in_history(&events) || !running {
            return Ok(events);
        }
        if events.len() > seen {
            (seen, progress) = (events.len(), Instant::now());
        } else if progress.elapsed() >= timeout {
            let errors = match_history(&req.expected_execution_history, &events, &mut ctx.clone());
            return Err(format!(
                "no new events for {timeout:?}; {}",
                mismatch(&errors, &events)
            ));
        }
        callbacks.perform(cloud, &events, ctx)?;
        if req.expected_result.is_none() && !req.expected_execution_history.is_empty() {
            let mut attempt = ctx.clone();
            if match_history(&req.expected_execution_history, &events, &mut attempt).is_empty() {
                *ctx = attempt;
                return Ok(events);
            }
        }
    }
}

/// The callback actions of one requirement and what has been done with them.
struct Callbacks<'a> {
    actions: &'a [CallbackAction],
    used: BTreeSet<usize>,
    handled: BTreeSet<String>,
}

impl<'a> Callbacks<'a> {
    fn new(actions: &'a [CallbackAction]) -> Self {
        Callbacks {
            actions,
            used: BTreeSet::new(),
            handled: BTreeSet::new(),
        }
    }

    /// For each callback started and not yet handled, in history order: the first unused
    /// action matching its name, after the action's delay. A heartbeat leaves the callback
    /// open for a later action; a callback no action matches is an error (unless the
    /// requirement has no actions: it is left to time out).
    fn perform(
        &mut self,
        cloud: &LocalCloud,
        events: &[Value],
        ctx: &Placeholders,
    ) -> Result<(), String> {
        for e in events
            .iter()
            .filter(|e| e["EventType"] == "CallbackStarted")
        {
            let id = e["CallbackStartedDetails"]["CallbackId"]
                .as_str()
                .unwrap_or_default();
            if id.is_empty() || self.handled.contains(id) {
                continue;
            }
            let name = e["Name"].as_str().unwrap_or_default();
            let Some(i) = self.find(name, ctx) else {
                self.handled.insert(id.to_owned());
                if self.actions.is_empty() {
                    continue;
                }
                return Err(format!(
                    "no matching CallbackAction for callback {name:?} (id={id})"
                ));
            };
            self.used.insert(i);
            let action = &self.actions[i];
            if action.operation != CallbackOperation::Heartbeat {
                self.handled.insert(id.to_owned());
            }
            std::thread::sleep(Duration::from_secs_f64(action.delay.max(0.0)));
            send(cloud, id, action, ctx)?;
        }
        Ok(())
    }

    fn find(&self, name: &str, ctx: &Placeholders) -> Option<usize> {
        (0..self.actions.len()).find(|i| {
            !self.used.contains(i)
                && name_matches(&ctx.substitute_str(&self.actions[*i].callback_name), name)
        })
    }
}

/// Sends `action` for callback `id` through the Lambda API
/// (`SendDurableExecutionCallback{Success,Failure,Heartbeat}`).
fn send(
    cloud: &LocalCloud,
    id: &str,
    action: &CallbackAction,
    ctx: &Placeholders,
) -> Result<(), String> {
    let payload = action
        .payload
        .as_ref()
        .filter(|p| !p.is_null())
        .map(|p| ctx.substitute(p));
    let (verb, content_type, body) = match action.operation {
        CallbackOperation::Success => (
            "succeed",
            "application/octet-stream",
            payload.as_ref().map(py_json_dumps).unwrap_or_default(),
        ),
        CallbackOperation::Failure => ("fail", "application/json", error_object(payload)?),
        CallbackOperation::Heartbeat => ("heartbeat", "application/json", String::new()),
    };
    let url = format!(
        "{}/2025-12-01/durable-execution-callbacks/{}/{verb}",
        cloud.lambda,
        path_segment(id)
    );
    let (code, text) = try_http("POST", &url, &[("Content-Type", content_type)], &body)
        .map_err(|e| format!("callback {verb} {id}: {e}"))?;
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!(
            "callback {verb} failed for callback_id={id}: {code} {text}"
        ))
    }
}

/// The failure payload's `ErrorType`, `ErrorMessage`, `ErrorData` and `StackTrace`.
fn error_object(payload: Option<Value>) -> Result<String, String> {
    let Some(payload) = payload else {
        return Ok("{}".to_owned());
    };
    let fields = payload
        .as_object()
        .ok_or_else(|| format!("a failure callback's payload must be an object: {payload}"))?;
    let error: serde_json::Map<String, Value> =
        ["ErrorType", "ErrorMessage", "ErrorData", "StackTrace"]
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), fields.get(*k)?.clone())))
            .collect();
    Ok(Value::Object(error).to_string())
}

/// The execution's status and result against `ExpectedResult` (`_validate_execution_result`).
fn check_result(
    cloud: &LocalCloud,
    arn: &str,
    req: &Requirement,
    ctx: &Placeholders,
) -> Result<(), String> {
    let Some(want) = &req.expected_result else {
        return Ok(());
    };
    let e = execution(cloud, arn)?;
    let status = e["Status"].as_str().unwrap_or_default();
    if let Some(expected) = want.execution_status.as_deref().filter(|s| *s != status) {
        return Err(format!("status {status} (want {expected}): {e}"));
    }
    let (Some(expected), "SUCCEEDED") = (&want.result, status) else {
        return Ok(());
    };
    let actual = match e["Result"].as_str() {
        Some(r) => serde_json::from_str(r).unwrap_or_else(|_| json!(r)),
        None => Value::Null,
    };
    let expected = ctx.substitute(expected);
    if py_eq(&expected, &actual) {
        Ok(())
    } else {
        Err(format!("expected Result={expected}, got {actual}"))
    }
}

/// `ExpectedLogs` against the execution's log records (given up to 2 s to arrive).
fn check_logs(
    cloud: &LocalCloud,
    arn: &str,
    req: &Requirement,
    ctx: &Placeholders,
) -> Result<(), String> {
    if req.expected_logs.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let records = logs::records(&cloud.logs(), CRATE, arn);
        let errors = logs::validate(&req.expected_logs, &records, ctx);
        if errors.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{}; records: {records:?}", errors.join("; ")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The mismatches, then the actual events (one line each, for reading).
fn mismatch(errors: &[String], events: &[Value]) -> String {
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            let mut brief = e.clone();
            if let Some(o) = brief.as_object_mut() {
                o.remove("EventTimestamp");
            }
            format!("    {brief}")
        })
        .collect();
    format!(
        "{}\n  actual events:\n{}",
        errors.join("\n  "),
        lines.join("\n")
    )
}
