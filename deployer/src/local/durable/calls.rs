//! What an execution waits for outside itself: callbacks (answered through
//! `SendDurableExecutionCallbackSuccess/Failure/Heartbeat`) and chained invokes of another
//! function of the template (a durable one runs as an execution of its own).

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::core::{
    CallbackAnswer, CallbackError, ChildExecution, Effect, Execution, InvokeOutcome, Target,
};
use super::drive::{function_error, invocation_error};
use super::model::ErrorObject;
use super::{Durable, Entry, ExecStatus, ServiceError, Start, execution_arn, now, split_qualifier};

impl Durable {
    /// Indexes the callbacks of `e` that wait for an answer.
    pub(super) fn index_callbacks(&self, e: &Execution) {
        let mut index = self.callbacks.lock().unwrap_or_else(|p| p.into_inner());
        for (id, op) in e.open_callbacks() {
            index.insert(id, (e.arn.clone(), op));
        }
    }

    /// Does what applied updates asked for, once they are durable.
    pub(super) fn take_effects(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        arn: &str,
        effects: Vec<Effect>,
    ) {
        for effect in effects {
            match effect {
                Effect::Callback { id, op } => {
                    self.callbacks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id, (arn.to_owned(), op));
                }
                Effect::Invoke { op } => self.clone().spawn_invoke(entry.clone(), op),
            }
        }
    }

    /// `SendDurableExecutionCallback{Success,Failure,Heartbeat}`.
    pub async fn callback(
        self: &Arc<Self>,
        callback_id: &str,
        answer: CallbackAnswer,
    ) -> Result<(), ServiceError> {
        let unknown = || ServiceError::NotFound(format!("callback {callback_id} not found"));
        let (arn, op) = self
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(callback_id)
            .cloned()
            .ok_or_else(unknown)?;
        let entry = self.entry(&arn).await?;
        let mut e = entry.exec.lock().await;
        let mut next = e.clone();
        let closes = !matches!(answer, CallbackAnswer::Heartbeat);
        next.resolve_callback(&op, answer, now())
            .map_err(|err| match err {
                CallbackError::NotFound(_) => unknown(),
                CallbackError::TimedOut(_) => {
                    ServiceError::CallbackTimeout(format!("callback {callback_id} timed out"))
                }
                CallbackError::Closed { status, .. } => {
                    ServiceError::Invalid(format!("callback {callback_id} is already {status:?}"))
                }
            })?;
        self.journal.save(&next).await?;
        *e = next;
        drop(e);
        if closes {
            self.callbacks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(callback_id);
        }
        entry.wake.notify_one();
        Ok(())
    }

    /// The function chained invoke `op` of execution `caller` names (a name or an ARN,
    /// with a qualifier).
    pub(super) fn target(&self, name: &str, caller: &str, op: &str) -> Result<Target, ErrorObject> {
        let (bare, qualifier) = split_qualifier(name);
        let f = self
            .functions
            .values()
            .find(|f| f.spec.name == bare || f.spec.logical == bare)
            .ok_or_else(|| not_found(name))?;
        let durable = f.spec.durable_timeout_s.is_some();
        let qualifier = match (qualifier, durable) {
            (Some(q), _) => q,
            (None, false) => "$LATEST".to_owned(),
            (None, true) => {
                return Err(ErrorObject::new(
                    "InvalidParameterValueException",
                    "durable functions must be invoked with a qualified ARN (a version or an alias)",
                ));
            }
        };
        let version = self
            .version_of(&f.spec.logical, &qualifier)
            .ok_or_else(|| not_found(&format!("{}:{qualifier}", f.spec.arn)))?;
        let child = durable.then(|| {
            let (name, id) = child_name(caller, op);
            let arn = execution_arn(&f.spec.arn, &qualifier, &name, &id);
            ChildExecution { name, id, arn }
        });
        Ok(Target {
            function: f.spec.logical.clone(),
            qualifier,
            version,
            child,
        })
    }

    /// Calls the target of chained invoke `op` of `entry`'s execution and records how it
    /// ended, in a task of its own.
    pub(super) fn spawn_invoke(self: Arc<Self>, entry: Arc<Entry>, op: String) {
        tokio::spawn(async move {
            let call = {
                let e = entry.exec.lock().await;
                e.invokes.get(&op).cloned().map(|c| (c, e.deadline))
            };
            let Some((call, deadline)) = call else {
                return;
            };
            let input = call.input.clone();
            let outcome = match &call.target.child {
                Some(child) => {
                    self.invoke_durable(&call.target, child, input, deadline)
                        .await
                }
                None => self.invoke_plain(&call.target, input).await,
            };
            entry
                .arrivals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((op, outcome));
            entry.wake.notify_one();
        });
    }

    async fn invoke_plain(&self, target: &Target, input: Option<String>) -> InvokeOutcome {
        let Ok(f) = self.versions.pool(&target.function, &target.version).await else {
            return InvokeOutcome::Failed(not_found(&target.function));
        };
        let payload = input.unwrap_or_else(|| "null".to_owned()).into_bytes();
        match f.invoke(payload).await {
            Ok(body) => InvokeOutcome::Succeeded(Some(String::from_utf8_lossy(&body).into_owned())),
            Err(crate::local::lambda::InvokeError::Function(doc)) => {
                InvokeOutcome::Failed(function_error(&doc))
            }
            Err(err) => InvokeOutcome::Failed(invocation_error(&err)),
        }
    }

    async fn invoke_durable(
        self: &Arc<Self>,
        target: &Target,
        child: &ChildExecution,
        input: Option<String>,
        deadline: f64,
    ) -> InvokeOutcome {
        let Some(f) = self.functions.get(&target.function).cloned() else {
            return InvokeOutcome::Failed(not_found(&target.function));
        };
        let start = Start {
            function: target.function.clone(),
            qualifier: target.qualifier.clone(),
            name: Some(child.name.clone()),
            input: input.unwrap_or_else(|| "{}".to_owned()),
            timeout_s: f.spec.durable_timeout_s.unwrap_or(900),
            async_start: false,
        };
        let arn = match self.start_with_id(start, Some(child.id.clone())).await {
            Ok((arn, _)) => arn,
            Err(e) => {
                let (_, kind) = e.code();
                return InvokeOutcome::Failed(ErrorObject::new(kind, e.to_string()));
            }
        };
        let limit = Duration::from_secs_f64((deadline - now()).max(0.0));
        let child = match self.wait(&arn, limit).await {
            Ok(child) => child,
            Err(e) => {
                return InvokeOutcome::Failed(ErrorObject::new("ServiceException", e.to_string()));
            }
        };
        let error = || child.error.clone().unwrap_or_default();
        match child.status {
            ExecStatus::Succeeded => InvokeOutcome::Succeeded(child.result.clone()),
            ExecStatus::Failed => InvokeOutcome::Failed(error()),
            ExecStatus::Stopped => InvokeOutcome::Stopped(error()),
            ExecStatus::TimedOut | ExecStatus::Running => InvokeOutcome::TimedOut(error()),
        }
    }
}

/// The name and id of the execution a chained invoke starts: derived from the caller and
/// the operation, so that a restarted service finds the same one.
fn child_name(caller: &str, op: &str) -> (String, String) {
    let digest = hex::encode(Sha256::digest(format!("{caller}\n{op}").as_bytes()));
    (
        format!("chained-{}", &digest[..48]),
        digest[48..].to_owned(),
    )
}

/// The error a chained invoke of an unknown function gets.
fn not_found(what: &str) -> ErrorObject {
    ErrorObject::new(
        "ResourceNotFoundException",
        format!("Function not found: {what}"),
    )
}
