//! `CheckpointDurableExecution`: a batch of updates applied to a copy of the execution,
//! which replaces it only once it is on disk. An invalid update or a failed write changes
//! nothing and is answered with an error (the SDK retries a 5xx). A replay that diverged
//! from the log fails the execution with the reason.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::core::{ApplyError, Effect, Env, Execution};
use super::model::{CheckpointRequest, Operation, OperationAction, OperationType};
use super::{Durable, Entry, ExecStatus, ServiceError, now, random_hex};

const INVALID_TOKEN: &str = "Invalid Checkpoint Token: it was consumed or never issued";

impl Durable {
    /// Like [`Durable::start`], the work runs in a task of its own, so that a caller that
    /// goes away cannot leave the journal ahead of the service.
    pub async fn checkpoint(
        self: &Arc<Self>,
        arn: &str,
        req: CheckpointRequest,
    ) -> Result<Value, ServiceError> {
        let this = self.clone();
        let arn = arn.to_owned();
        let (out, hold) = tokio::spawn(async move { this.checkpoint_now(&arn, &req).await })
            .await
            .map_err(|e| ServiceError::Storage(format!("the checkpoint was interrupted: {e}")))??;
        if hold {
            eprintln!("[local] fault injection: holding the checkpoint of a step start");
            std::future::pending::<()>().await;
        }
        Ok(out)
    }

    async fn checkpoint_now(
        self: &Arc<Self>,
        arn: &str,
        req: &CheckpointRequest,
    ) -> Result<(Value, bool), ServiceError> {
        let entry = self.entry(arn).await?;
        self.await_pending_kill(&entry, req).await?;
        let mut e = entry.exec.lock().await;
        if req.checkpoint_token != e.token {
            return Err(ServiceError::Invalid(INVALID_TOKEN.to_owned()));
        }
        if e.status != ExecStatus::Running {
            return Err(ServiceError::Invalid(format!(
                "execution is {}",
                e.status.as_str()
            )));
        }
        let hold = req.updates.iter().any(|u| {
            (u.kind, u.action) == (OperationType::Step, OperationAction::Start)
                && self
                    .faults
                    .hold(&e.name, u.name.as_deref().unwrap_or_default())
        });
        let mut next = e.clone();
        next.checkpoints += 1;
        let (changed, effects) = match self.apply(&mut next, req) {
            Ok(x) => x,
            Err(err @ ApplyError::Nondeterministic { .. }) => {
                self.fail(&entry, &mut e, &err).await?;
                return Err(ServiceError::Invalid(err.to_string()));
            }
            Err(err) => return Err(ServiceError::Invalid(err.to_string())),
        };
        next.token = random_hex(40);
        self.journal.save(&next).await?;
        *e = next;
        let terminal = e.status != ExecStatus::Running;
        let operations: Vec<&Operation> = changed.iter().map(|i| &e.operations[*i]).collect();
        let mut out = json!({"NewExecutionState": {"Operations": operations}});
        if !terminal {
            out["CheckpointToken"] = json!(e.token);
        } else {
            self.ended(&e);
        }
        let arn = e.arn.clone();
        drop(e);
        self.take_effects(&entry, &arn, effects);
        if terminal {
            entry.done.notify_waiters();
        }
        entry.wake.notify_one();
        Ok((out, hold))
    }

    fn apply(
        &self,
        next: &mut Execution,
        req: &CheckpointRequest,
    ) -> Result<(Vec<usize>, Vec<Effect>), ApplyError> {
        let nonce = random_hex(32);
        let caller = next.arn.clone();
        let resolve = |op: &str, name: &str| self.target(name, &caller, op);
        let env = Env {
            now: now(),
            scale: self.time_scale,
            nonce: &nonce,
            resolve: &resolve,
        };
        next.apply_batch(&req.updates, &env)
    }

    /// Fails the execution: its code diverged from its log.
    async fn fail(
        &self,
        entry: &Entry,
        e: &mut Execution,
        why: &ApplyError,
    ) -> Result<(), ServiceError> {
        eprintln!("[local] execution {}: {why}", e.name);
        let mut next = e.clone();
        next.fail_nondeterministic(why, now());
        self.journal.save(&next).await?;
        *e = next;
        self.ended(e);
        entry.done.notify_waiters();
        Ok(())
    }

    /// A step's end must not be recorded while a kill of that step is pending (the kill
    /// fires on the body's log line, which comes first): wait for the kill, then refuse.
    async fn await_pending_kill(
        &self,
        entry: &Entry,
        req: &CheckpointRequest,
    ) -> Result<(), ServiceError> {
        let pending = || async {
            let e = entry.exec.lock().await;
            req.updates.iter().any(|u| {
                let ends = matches!(
                    u.action,
                    OperationAction::Succeed | OperationAction::Fail | OperationAction::Retry
                );
                let step = e
                    .operations
                    .iter()
                    .find(|o| o.id == u.id)
                    .and_then(|o| o.name.as_deref());
                ends && step.is_some_and(|s| self.faults.kill_pending(&e.name, s))
            })
        };
        if !pending().await {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while pending().await && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Let the kill land before answering the process it killed.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(ServiceError::Unavailable(
            "the process is being killed (fault injection)".to_owned(),
        ))
    }
}
