//! An execution's history as a timeline, pure: one row per operation (steps, waits,
//! callbacks, chained invokes, child contexts) with its attempts, the delays between them,
//! and how it ended, on a time axis from the execution's start to its end (or now).

use crate::executions::HistoryEvent;

/// What a stretch of a row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// A step's attempt, or the whole of a callback, invoke or context.
    Run,
    /// The delay before a step's next attempt.
    RetryDelay,
    /// A wait.
    Wait,
}

/// How a row or a segment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Succeeded,
    Failed,
    /// Never finished: the execution ended first (stopped, timed out, failed elsewhere).
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub span: Span,
    pub start_ms: i64,
    /// None while it lasts.
    pub end_ms: Option<i64>,
    pub outcome: Outcome,
    /// The attempt (steps), 1-based.
    pub attempt: Option<i32>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub operation_id: String,
    /// Step, Wait, Callback, ChainedInvoke, Context.
    pub kind: String,
    pub label: String,
    pub segments: Vec<Segment>,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// A callback's id (what `deployer callback` and the console's form answer).
    pub callback_id: Option<String>,
}

impl Row {
    pub fn start_ms(&self) -> i64 {
        self.segments.first().map_or(0, |s| s.start_ms)
    }

    pub fn end_ms(&self) -> Option<i64> {
        self.segments.last().and_then(|s| s.end_ms)
    }

    pub fn attempts(&self) -> usize {
        self.segments.iter().filter(|s| s.span == Span::Run).count()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub start_ms: i64,
    /// The execution's end, or now while it runs.
    pub end_ms: i64,
    pub running: bool,
    pub rows: Vec<Row>,
    /// The execution's own error, when it failed.
    pub error: Option<String>,
}

impl Timeline {
    /// Where `t` lies on the axis, in percent.
    pub fn percent(&self, t: i64) -> f64 {
        let total = (self.end_ms - self.start_ms).max(1) as f64;
        ((t - self.start_ms) as f64 / total * 100.0).clamp(0.0, 100.0)
    }
}

fn at_ms(e: &HistoryEvent) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(e.at.as_deref()?).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// The operation kind and what happened, from an event type (`StepFailed` -> Step, Failed).
fn split_kind(kind: &str) -> Option<(&'static str, &str)> {
    const KINDS: [&str; 6] = [
        "ChainedInvoke",
        "Execution",
        "Invocation",
        "Callback",
        "Context",
        "Step",
    ];
    let wait = kind.strip_prefix("Wait").map(|rest| ("Wait", rest));
    wait.or_else(|| {
        KINDS
            .iter()
            .find_map(|k| kind.strip_prefix(k).map(|rest| (*k, rest)))
    })
}

/// The timeline of `events` (an execution's history), at `now_ms` for what still runs.
pub fn of(events: &[HistoryEvent], now_ms: i64) -> Timeline {
    let mut t = Timeline {
        start_ms: events.iter().filter_map(at_ms).min().unwrap_or(now_ms),
        end_ms: now_ms,
        running: true,
        rows: Vec::new(),
        error: None,
    };
    let mut ordered: Vec<&HistoryEvent> = events.iter().collect();
    ordered.sort_by_key(|e| e.event_id);
    for e in ordered {
        let Some((kind, what)) = split_kind(&e.kind) else {
            continue;
        };
        let at = at_ms(e).unwrap_or(t.start_ms);
        match kind {
            "Execution" if what != "Started" => {
                t.running = false;
                t.end_ms = at;
                t.error = e.details.error.as_ref().map(|f| f.line());
            }
            "Execution" | "Invocation" => {}
            _ => apply(&mut t, kind, what, e, at),
        }
    }
    if t.running {
        t.end_ms = t.end_ms.max(now_ms);
    } else {
        cancel_open(&mut t);
    }
    t
}

/// What was still open when the execution ended ends with it, cancelled.
fn cancel_open(t: &mut Timeline) {
    let end = t.end_ms;
    for row in t.rows.iter_mut().filter(|r| r.outcome == Outcome::Running) {
        row.outcome = Outcome::Cancelled;
        for s in row.segments.iter_mut().filter(|s| s.end_ms.is_none()) {
            s.end_ms = Some(end.max(s.start_ms));
            s.outcome = Outcome::Cancelled;
        }
    }
}

/// One operation event onto its row (created by the operation's first event).
fn apply(t: &mut Timeline, kind: &str, what: &str, e: &HistoryEvent, at: i64) {
    let id = e.operation_id.clone().unwrap_or_default();
    let i = match t.rows.iter().position(|r| r.operation_id == id) {
        Some(i) => i,
        None => {
            t.rows.push(Row {
                operation_id: id.clone(),
                kind: kind.to_owned(),
                label: e.name.clone().unwrap_or(id),
                segments: Vec::new(),
                outcome: Outcome::Running,
                error: None,
                callback_id: None,
            });
            t.rows.len() - 1
        }
    };
    let row = &mut t.rows[i];
    if what == "Started" {
        started(row, kind, e, at);
    } else {
        ended(row, what == "Succeeded", e, at);
    }
}

/// An attempt, a wait, a callback... begins; a retry's delay ends with it.
fn started(row: &mut Row, kind: &str, e: &HistoryEvent, at: i64) {
    if let Some(s) = row
        .segments
        .last_mut()
        .filter(|s| s.span == Span::RetryDelay)
    {
        s.end_ms = Some(at);
    }
    row.segments.push(Segment {
        span: if kind == "Wait" {
            Span::Wait
        } else {
            Span::Run
        },
        start_ms: at,
        end_ms: None,
        outcome: Outcome::Running,
        attempt: (kind == "Step").then(|| row.attempts() as i32 + 1),
        error: None,
    });
    row.callback_id = row.callback_id.take().or(e.details.callback_id.clone());
}

/// The open segment ends; a step that will be tried again gets its delay, anything else
/// ends its row.
fn ended(row: &mut Row, succeeded: bool, e: &HistoryEvent, at: i64) {
    let outcome = if succeeded {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    };
    let error = e.details.error.as_ref().map(|f| f.line());
    if let Some(s) = row.segments.last_mut().filter(|s| s.end_ms.is_none()) {
        s.end_ms = Some(at);
        s.outcome = outcome;
        s.error.clone_from(&error);
    }
    match e.details.retry_delay_s {
        Some(delay) => row.segments.push(Segment {
            span: Span::RetryDelay,
            start_ms: at,
            end_ms: Some(at + i64::from(delay) * 1000),
            outcome: Outcome::Running,
            attempt: None,
            error: None,
        }),
        None => {
            row.outcome = outcome;
            row.error = error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executions::{Details, Failure};

    fn ev(id: i32, kind: &str, op: &str, at_s: u32, details: Details) -> HistoryEvent {
        HistoryEvent {
            event_id: id,
            kind: kind.to_owned(),
            operation_id: Some(op.to_owned()).filter(|o| !o.is_empty()),
            name: Some(op.to_owned()).filter(|o| !o.is_empty()),
            at: Some(format!("2026-12-02T10:00:{at_s:02}Z")),
            details,
            ..HistoryEvent::default()
        }
    }

    fn failed(message: &str, retry_delay_s: Option<i32>) -> Details {
        Details {
            error: Some(Failure {
                kind: Some("Boom".into()),
                message: Some(message.into()),
                ..Failure::default()
            }),
            retry_delay_s,
            ..Details::default()
        }
    }

    #[test]
    fn three_steps_and_a_retry_with_its_delay() {
        let d = Details::default;
        let events = vec![
            ev(1, "ExecutionStarted", "", 0, d()),
            ev(2, "StepStarted", "validate", 0, d()),
            ev(3, "StepSucceeded", "validate", 1, d()),
            ev(4, "StepStarted", "process", 1, d()),
            ev(5, "StepFailed", "process", 2, failed("flaky", Some(3))),
            ev(6, "StepStarted", "process", 5, d()),
            ev(7, "StepSucceeded", "process", 6, d()),
            ev(8, "WaitStarted", "pause", 6, d()),
            ev(9, "WaitSucceeded", "pause", 8, d()),
            ev(10, "ExecutionSucceeded", "", 8, d()),
        ];
        let t = of(&events, 0);
        assert!(!t.running);
        assert_eq!(t.end_ms - t.start_ms, 8000);
        let labels: Vec<_> = t.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["validate", "process", "pause"]);
        let process = &t.rows[1];
        assert_eq!(process.attempts(), 2);
        let spans: Vec<_> = process
            .segments
            .iter()
            .map(|s| (s.span, s.outcome))
            .collect();
        assert_eq!(
            spans,
            [
                (Span::Run, Outcome::Failed),
                (Span::RetryDelay, Outcome::Running),
                (Span::Run, Outcome::Succeeded)
            ]
        );
        assert_eq!(process.segments[0].error.as_deref(), Some("Boom: flaky"));
        assert_eq!(
            process.segments[1].end_ms,
            process.segments[2].start_ms.into()
        );
        assert_eq!(process.outcome, Outcome::Succeeded);
        assert_eq!(t.rows[2].segments[0].span, Span::Wait);
        assert_eq!(t.percent(t.rows[2].start_ms()), 75.0);
    }

    #[test]
    fn a_failed_execution_marks_its_step_and_a_running_one_reaches_now() {
        let d = Details::default;
        let failed_run = vec![
            ev(1, "ExecutionStarted", "", 0, d()),
            ev(2, "StepStarted", "validate", 0, d()),
            ev(3, "StepFailed", "validate", 1, failed("bad", None)),
            ev(4, "ExecutionFailed", "", 1, failed("bad", None)),
        ];
        let t = of(&failed_run, 0);
        assert_eq!(t.rows[0].outcome, Outcome::Failed);
        assert_eq!(t.rows[0].error.as_deref(), Some("Boom: bad"));
        assert_eq!(t.error.as_deref(), Some("Boom: bad"));

        // Stopped during a step: the step is cancelled at the execution's end.
        let mut stopped = failed_run[..2].to_vec();
        stopped.push(ev(4, "ExecutionStopped", "", 3, failed("stop", None)));
        let t = of(&stopped, 0);
        assert_eq!(t.rows[0].outcome, Outcome::Cancelled);
        assert_eq!(t.rows[0].end_ms(), Some(t.end_ms));

        let running = &failed_run[..2];
        let start = of(running, 0).start_ms;
        let t = of(running, start + 5000);
        assert!(t.running);
        assert_eq!(t.end_ms, start + 5000);
        assert_eq!(t.rows[0].end_ms(), None);
        assert_eq!(t.rows[0].outcome, Outcome::Running);
    }
}
