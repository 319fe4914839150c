//! The driver of one execution: fires its timers, times it out, invokes the function when
//! the execution can make progress, and records how each invocation ended.

use std::sync::Arc;
use std::time::Duration;

use super::core::{Due, InvocationEnd};
use super::model::{ErrorObject, InvocationOutput};
use super::{Durable, Entry, now, random_hex};
use crate::local::lambda::InvokeError;

/// What the driver does after a move.
enum Flow {
    Continue,
    Exit,
}

/// The error Lambda reports for an invocation that did not return (as in the
/// `InvocationCompleted` event of the durable service).
pub(super) fn invocation_error(err: &InvokeError) -> ErrorObject {
    match err {
        InvokeError::Crashed => ErrorObject::new(
            err.error_type(),
            "Runtime exited without providing a reason",
        ),
        InvokeError::Timeout { .. } => ErrorObject::new(err.error_type(), err.to_string()),
        InvokeError::Function(doc) => function_error(doc),
    }
}

/// The error in a function error document (`{"errorType", "errorMessage"}`).
pub(super) fn function_error(doc: &str) -> ErrorObject {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        error_type: Option<String>,
        error_message: Option<String>,
    }
    let doc: Option<Doc> = serde_json::from_str(doc).ok();
    let (kind, message) = doc.map_or((None, None), |d| (d.error_type, d.error_message));
    ErrorObject::new(
        kind.as_deref().unwrap_or("Runtime.Unknown"),
        message.unwrap_or_default(),
    )
}

impl Durable {
    /// Drives the execution until it ends, in a task of its own.
    pub(super) fn drive(self: Arc<Self>, entry: Arc<Entry>) {
        tokio::spawn(async move {
            while let Flow::Continue = self.advance(&entry).await {}
            entry.done.notify_waiters();
        });
    }

    /// One move: whatever `due` says now, once chained invokes that ended are recorded.
    async fn advance(&self, entry: &Entry) -> Flow {
        let mut e = entry.exec.lock().await;
        let t = now();
        let arrived: Vec<_> =
            std::mem::take(&mut *entry.arrivals.lock().unwrap_or_else(|p| p.into_inner()));
        if !arrived.is_empty() {
            let mut next = e.clone();
            for (op, outcome) in &arrived {
                next.resolve_invoke(op, outcome.clone(), t);
            }
            match self.journal.save(&next).await {
                Ok(()) => *e = next,
                // Not recorded: try again with the next move.
                Err(_) => entry
                    .arrivals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(arrived),
            }
        }
        match e.due(t) {
            Due::Ended => Flow::Exit,
            Due::TimeOut => {
                e.time_out(t);
                let _ = self.journal.save(&e).await;
                self.ended(&e);
                Flow::Exit
            }
            Due::Fire => {
                e.fire_timers(t, self.time_scale);
                // Not acknowledged to anyone: a failed write is retried with the next one.
                let _ = self.journal.save(&e).await;
                Flow::Continue
            }
            Due::Sleep(until) => {
                drop(e);
                let wait = Duration::from_secs_f64((until - t).clamp(0.0, 3600.0));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = entry.wake.notified() => {}
                }
                Flow::Continue
            }
            Due::Invoke => {
                let (function, version) = (e.function.clone(), e.version.clone());
                drop(e);
                // Boxed: an execution waiting in a backlog keeps only this much of its
                // task, not the state of an invocation in flight.
                Box::pin(self.invoke(entry, &function, &version)).await
            }
        }
    }

    /// Invokes the version of the function the execution runs on, once, and records how
    /// it ended. The payload is built once the function has a slot for it.
    async fn invoke(&self, entry: &Entry, function: &str, version: &str) -> Flow {
        let f = match self.versions.pool(function, version).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("[local] cannot invoke {function} version {version}: {e:#}");
                return Flow::Exit;
            }
        };
        let Some(_slot) = f.slot().await else {
            return Flow::Exit;
        };
        let mut e = entry.exec.lock().await;
        // It may have moved while it waited (stopped, timed out): decide again.
        if !matches!(e.due(now()), Due::Invoke) {
            return Flow::Continue;
        }
        let payload = e.begin_invocation();
        let deadline = e.deadline;
        drop(e);
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        drop(payload);
        let started = now();
        // ExecutionTimeout holds whatever the invocation does: past it, the next move times
        // the execution out (its late checkpoints are refused).
        let until_deadline = Duration::from_secs_f64((deadline - started).max(0.0));
        let outcome = tokio::select! {
            outcome = f.invoke(body) => outcome,
            _ = tokio::time::sleep(until_deadline) => return Flow::Continue,
        };
        let end = match outcome {
            Ok(body) => match serde_json::from_slice::<InvocationOutput>(&body) {
                Ok(out) => InvocationEnd::Returned(out),
                Err(err) => InvocationEnd::Errored(ErrorObject::new(
                    "Runtime.InvalidResponse",
                    format!("the function's answer is not a durable invocation output: {err}"),
                )),
            },
            Err(err) => {
                eprintln!("[local] durable invocation failed ({err}); invoking again");
                InvocationEnd::Errored(invocation_error(&err))
            }
        };
        let mut e = entry.exec.lock().await;
        if e.status != super::ExecStatus::Running {
            return Flow::Continue;
        }
        e.end_invocation(end, started, &random_hex(32), now());
        let _ = self.journal.save(&e).await;
        if e.status != super::ExecStatus::Running {
            self.ended(&e);
            return Flow::Exit;
        }
        let backoff = Duration::from_millis(100 * u64::from(e.failed_invocations.min(20)));
        drop(e);
        tokio::time::sleep(backoff).await;
        Flow::Continue
    }
}
