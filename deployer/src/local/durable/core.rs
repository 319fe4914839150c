//! The pure core of the durable execution service: an [`Execution`] and what changes it.
//! `apply` takes one checkpoint update, `due` says what the service should do next at a
//! given time, and the `resolve_*`/`fire_timers`/`end_invocation` functions take the other
//! inputs (a callback answered, a chained invoke finished, timers, an invocation's end).
//! Each appends the history events it causes. Nothing here does I/O or reads the clock:
//! the time, the time scale and fresh randomness come in through [`Env`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{
    CallbackDetails, ContextDetails, ErrorObject, Event, EventDetails, EventError, EventPayload,
    ExecStatus, ExecutionDetails, InvocationOutput, Operation, OperationAction, OperationStatus,
    OperationType, OperationUpdate, OutcomeDetails, RetryDetails, StepDetails, WaitDetails,
};

/// What the pure functions may not find out themselves.
pub struct Env<'a> {
    /// Now, in epoch seconds.
    pub now: f64,
    /// Waits, retry delays and callback timeouts last this many times their length.
    pub scale: f64,
    /// Fresh randomness, for callback ids.
    pub nonce: &'a str,
    /// The function a chained invoke (operation id, function name) calls, or the error
    /// invoking it gives.
    pub resolve: &'a dyn Fn(&str, &str) -> Result<Target, ErrorObject>,
}

/// The function a chained invoke calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The function's logical id in the template.
    pub function: String,
    pub qualifier: String,
    pub version: String,
    /// The durable execution it starts (durable functions only).
    pub child: Option<ChildExecution>,
}

/// The execution a chained invoke of a durable function starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildExecution {
    pub name: String,
    pub id: String,
    pub arn: String,
}

/// A chained invoke in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainedCall {
    pub target: Target,
    pub input: Option<String>,
}

/// A callback's deadlines (epoch seconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallbackTimers {
    pub timeout_at: Option<f64>,
    /// The heartbeat timeout, already scaled, and when it runs out.
    pub heartbeat_s: Option<f64>,
    pub heartbeat_at: Option<f64>,
}

/// One durable execution, as persisted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub function: String,
    pub function_arn: String,
    pub qualifier: String,
    /// The function version every invocation of the execution runs.
    #[serde(default)]
    pub version: String,
    pub input: String,
    pub status: ExecStatus,
    pub result: Option<String>,
    pub error: Option<ErrorObject>,
    /// The operation log, in creation order; the first is the EXECUTION operation.
    pub operations: Vec<Operation>,
    pub token: String,
    pub started: f64,
    pub ended: Option<f64>,
    pub deadline: f64,
    #[serde(default)]
    pub timeout_s: u64,
    pub history: Vec<Event>,
    pub invocations: u32,
    pub checkpoints: u32,
    pub failed_invocations: u32,
    /// Started by an asynchronous `Invoke`: when it ends FAILED, STOPPED or TIMED_OUT, its
    /// event goes to the function's dead-letter queue.
    #[serde(default)]
    pub async_start: bool,
    /// Callback deadlines, by operation id.
    #[serde(default)]
    pub callbacks: BTreeMap<String, CallbackTimers>,
    /// Chained invokes, by operation id.
    #[serde(default)]
    pub invokes: BTreeMap<String, ChainedCall>,
    /// Something the function waits for happened since its last invocation began.
    #[serde(default)]
    pub resumable: bool,
}

/// What a history event is about.
#[derive(Clone, Copy)]
enum Subject {
    Operation(usize),
    Execution,
    /// `InvocationCompleted` names neither an operation nor the execution.
    Invocation,
}

/// What a new execution is.
pub struct NewExecution {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub function: String,
    pub function_arn: String,
    pub qualifier: String,
    pub version: String,
    pub input: String,
    pub timeout_s: u64,
    pub async_start: bool,
    pub token: String,
}

/// A checkpoint update the log cannot take.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApplyError {
    #[error("operation {0} was never started")]
    NotStarted(String),
    /// The function's code took another path than the one the log recorded.
    #[error(
        "non-deterministic execution: operation {id} is {logged} in the log, but the code now starts {asked} there (did the code change while the execution was in flight?)"
    )]
    Nondeterministic {
        id: String,
        logged: String,
        asked: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// A callback answer the log cannot take.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CallbackError {
    #[error("callback {0} not found")]
    NotFound(String),
    #[error("callback {0} timed out")]
    TimedOut(String),
    #[error("callback {id} is already {status:?}")]
    Closed { id: String, status: OperationStatus },
}

/// How an external system answers a callback.
#[derive(Clone, Debug)]
pub enum CallbackAnswer {
    Succeed(Option<String>),
    Fail(ErrorObject),
    Heartbeat,
}

/// How a chained invoke ended.
#[derive(Clone, Debug)]
pub enum InvokeOutcome {
    Succeeded(Option<String>),
    Failed(ErrorObject),
    TimedOut(ErrorObject),
    Stopped(ErrorObject),
}

/// How one invocation of the function ended.
#[derive(Clone, Debug)]
pub enum InvocationEnd {
    Returned(InvocationOutput),
    /// The invocation did not return (crash, timeout, an error of the runtime, an answer
    /// that is not an output envelope): the service invokes again.
    Errored(ErrorObject),
}

/// What an applied update asks the service to do once the change is durable.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Call the target of this chained invoke.
    Invoke { op: String },
    /// A callback with this id now waits for its answer.
    Callback { id: String, op: String },
}

/// What the service should do next with a running execution.
#[derive(Clone, Debug, PartialEq)]
pub enum Due {
    /// It is no longer running.
    Ended,
    /// Its `ExecutionTimeout` has passed.
    TimeOut,
    /// Timers have expired: fire them.
    Fire,
    /// Invoke the function.
    Invoke,
    /// Nothing until this time (epoch seconds), or until woken.
    Sleep(f64),
}

/// Invocations of a running execution that failed in a row before it fails.
pub const MAX_FAILED_INVOCATIONS: u32 = 10;

impl Execution {
    /// The payload bytes the execution stores: every operation's, and its own result or
    /// error.
    pub fn payload_bytes(&self) -> usize {
        self.operations
            .iter()
            .map(Operation::payload_bytes)
            .sum::<usize>()
            + self.result.as_ref().map_or(0, String::len)
            + self.error.as_ref().map_or(0, ErrorObject::bytes)
    }

    /// The durable operations AWS would bill so far: one per operation (the start, each
    /// step, wait, callback, child context) and one per step retry. (AWS counts a few
    /// composite operations higher, such as wait-for-callback; none runs here.)
    pub fn metered_operations(&self) -> usize {
        self.operations
            .iter()
            .map(|op| 1 + op.step_details.as_ref().map_or(0, |d| d.attempt as usize))
            .sum()
    }

    pub fn new(n: NewExecution, now: f64) -> Self {
        let mut exec = Execution {
            operations: vec![Operation {
                execution_details: Some(ExecutionDetails {
                    input_payload: n.input.clone(),
                }),
                ..Operation::started(&n.id, OperationType::Execution, now)
            }],
            arn: n.arn,
            name: n.name,
            id: n.id,
            function: n.function,
            function_arn: n.function_arn,
            qualifier: n.qualifier,
            version: n.version,
            input: n.input,
            status: ExecStatus::Running,
            result: None,
            error: None,
            token: n.token,
            started: now,
            ended: None,
            deadline: now + n.timeout_s as f64,
            timeout_s: n.timeout_s,
            history: Vec::new(),
            invocations: 0,
            checkpoints: 0,
            failed_invocations: 0,
            async_start: n.async_start,
            callbacks: BTreeMap::new(),
            invokes: BTreeMap::new(),
            resumable: false,
        };
        let details = EventDetails::ExecutionStartedDetails {
            input: EventPayload {
                payload: Some(exec.input.clone()),
                truncated: false,
            },
            execution_timeout: Some(n.timeout_s),
        };
        exec.record(Subject::Execution, details, now);
        exec
    }

    /// Appends the event `details` about `subject`.
    fn record(&mut self, subject: Subject, details: EventDetails, now: f64) -> Event {
        let (id, name, parent_id, sub_type) = match subject {
            Subject::Operation(i) => {
                let o = &self.operations[i];
                (
                    Some(o.id.clone()),
                    o.name.clone(),
                    o.parent_id.clone(),
                    o.sub_type.clone(),
                )
            }
            // Execution events name the execution, as the service (and dex-local-runner) do.
            Subject::Execution => (Some(self.id.clone()), Some(self.name.clone()), None, None),
            Subject::Invocation => (None, None, None, None),
        };
        let event = Event {
            event_type: details.event_type().to_owned(),
            sub_type,
            event_id: u32::try_from(self.history.len() + 1).unwrap_or(u32::MAX),
            id,
            name,
            parent_id,
            event_timestamp: now,
            details,
        };
        self.history.push(event.clone());
        event
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.operations.iter().position(|o| o.id == id)
    }

    fn close(&mut self, status: ExecStatus, details: EventDetails, now: f64) {
        self.status = status;
        self.ended = Some(now);
        self.record(Subject::Execution, details, now);
    }

    /// Applies a checkpoint's updates in order: the indexes of the operations that changed
    /// and what to do once the change is durable. On an error the caller drops the copy it
    /// applied them to, so a batch changes everything or nothing.
    pub fn apply_batch(
        &mut self,
        updates: &[OperationUpdate],
        env: &Env,
    ) -> Result<(Vec<usize>, Vec<Effect>), ApplyError> {
        let mut changed = Vec::new();
        let mut effects = Vec::new();
        for u in updates {
            let (index, effect) = self.apply(u, env)?;
            if let Some(i) = index
                && !changed.contains(&i)
            {
                changed.push(i);
            }
            effects.extend(effect);
        }
        Ok((changed, effects))
    }

    /// Applies one update: the operation it changed (none for the execution's own) and
    /// what the service must do about it.
    pub fn apply(
        &mut self,
        u: &OperationUpdate,
        env: &Env,
    ) -> Result<(Option<usize>, Option<Effect>), ApplyError> {
        if u.kind == OperationType::Execution {
            self.apply_execution(u, env.now)?;
            return Ok((None, None));
        }
        let index = self.operation_for(u, env.now)?;
        let effect = match u.kind {
            OperationType::Step => self.apply_step(index, u, env).map(|()| None)?,
            OperationType::Wait => self.apply_wait(index, u, env).map(|()| None)?,
            OperationType::Context => self.apply_context(index, u, env.now).map(|()| None)?,
            OperationType::Callback => Some(self.apply_callback(index, u, env)?),
            OperationType::ChainedInvoke => self.apply_invoke(index, u, env)?,
            OperationType::Execution => None,
        };
        Ok((Some(index), effect))
    }

    fn apply_execution(&mut self, u: &OperationUpdate, now: f64) -> Result<(), ApplyError> {
        match u.action {
            OperationAction::Succeed => {
                self.result = u.payload.clone();
                let result = EventPayload::of(u.payload.as_ref());
                self.close(
                    ExecStatus::Succeeded,
                    EventDetails::ExecutionSucceededDetails { result },
                    now,
                );
            }
            OperationAction::Fail => {
                self.error = u.error.clone();
                let error = EventError::of(u.error.as_ref());
                self.close(
                    ExecStatus::Failed,
                    EventDetails::ExecutionFailedDetails { error },
                    now,
                );
            }
            other => {
                return Err(ApplyError::Invalid(format!(
                    "EXECUTION {other:?} is not a valid update"
                )));
            }
        }
        Ok(())
    }

    /// The index of the operation `u` is about; a START of a new id creates it. A START of
    /// a logged id must name the same operation (type, name, sub-type, parent).
    fn operation_for(&mut self, u: &OperationUpdate, now: f64) -> Result<usize, ApplyError> {
        let Some(i) = self.index(&u.id) else {
            if u.action != OperationAction::Start {
                return Err(ApplyError::NotStarted(u.id.clone()));
            }
            self.operations.push(Operation {
                parent_id: u.parent_id.clone(),
                name: u.name.clone(),
                sub_type: u.sub_type.clone(),
                ..Operation::started(&u.id, u.kind, now)
            });
            return Ok(self.operations.len() - 1);
        };
        let op = &self.operations[i];
        let same_sub_type = match (&op.sub_type, &u.sub_type) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b || u.action != OperationAction::Start,
        };
        let same_name = op.name == u.name || u.action != OperationAction::Start;
        if op.kind != u.kind || !same_sub_type || !same_name {
            let describe = |kind: OperationType, name: &Option<String>| match name {
                Some(n) => format!("a {kind:?} named {n:?}"),
                None => format!("a {kind:?}"),
            };
            return Err(ApplyError::Nondeterministic {
                id: u.id.clone(),
                logged: describe(op.kind, &op.name),
                asked: describe(u.kind, &u.name),
            });
        }
        if op.status.is_closed() {
            return Err(ApplyError::Invalid(format!(
                "operation {} is already {:?}",
                u.id, op.status
            )));
        }
        Ok(i)
    }

    fn unsupported(u: &OperationUpdate) -> ApplyError {
        ApplyError::Invalid(format!("{:?} {:?} is not a valid update", u.kind, u.action))
    }

    fn apply_step(&mut self, i: usize, u: &OperationUpdate, env: &Env) -> Result<(), ApplyError> {
        let now = env.now;
        let op = &mut self.operations[i];
        let details = op.step_details.get_or_insert_with(StepDetails::default);
        // The attempt this update is about: completed retries so far, plus one.
        let attempt = details.attempt + 1;
        let event = match u.action {
            OperationAction::Start => {
                op.status = OperationStatus::Started;
                details.next_attempt_timestamp = None;
                EventDetails::StepStartedDetails {}
            }
            OperationAction::Succeed => {
                // Fields, not `close`: `details` borrows the step details.
                op.status = OperationStatus::Succeeded;
                op.end_timestamp = Some(now);
                details.result = u.payload.clone();
                details.error = None;
                EventDetails::StepSucceededDetails {
                    result: EventPayload::of(u.payload.as_ref()),
                    retry_details: RetryDetails::last(attempt),
                }
            }
            OperationAction::Fail => {
                // Fields, not `close`: `details` borrows the step details.
                op.status = OperationStatus::Failed;
                op.end_timestamp = Some(now);
                details.error = u.error.clone();
                EventDetails::StepFailedDetails {
                    error: EventError::of(u.error.as_ref()),
                    retry_details: RetryDetails::last(attempt),
                }
            }
            OperationAction::Retry => {
                op.status = OperationStatus::Pending;
                step_retry(details, u, attempt, env)?
            }
            OperationAction::Cancel => return Err(Self::unsupported(u)),
        };
        self.record(Subject::Operation(i), event, now);
        Ok(())
    }

    fn apply_wait(&mut self, i: usize, u: &OperationUpdate, env: &Env) -> Result<(), ApplyError> {
        let now = env.now;
        let op = &mut self.operations[i];
        let event = match u.action {
            OperationAction::Start => {
                let secs = u
                    .wait_options
                    .as_ref()
                    .and_then(|o| o.wait_seconds)
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| {
                        ApplyError::Invalid("WAIT START needs WaitOptions.WaitSeconds".into())
                    })?;
                let secs = u64::try_from(secs).unwrap_or(0);
                let end = now + secs as f64 * env.scale;
                op.wait_details = Some(WaitDetails {
                    scheduled_end_timestamp: end,
                });
                EventDetails::WaitStartedDetails {
                    duration: secs,
                    scheduled_end_timestamp: end,
                }
            }
            OperationAction::Cancel => {
                op.close(OperationStatus::Cancelled, now);
                EventDetails::WaitCancelledDetails {
                    error: u.error.as_ref().map(|e| EventError::of(Some(e))),
                }
            }
            _ => return Err(Self::unsupported(u)),
        };
        self.record(Subject::Operation(i), event, now);
        Ok(())
    }

    fn apply_context(&mut self, i: usize, u: &OperationUpdate, now: f64) -> Result<(), ApplyError> {
        let op = &mut self.operations[i];
        let replay_children = u.context_options.as_ref().map(|o| o.replay_children);
        let event = match u.action {
            OperationAction::Start => EventDetails::ContextStartedDetails {},
            OperationAction::Succeed => {
                op.close(OperationStatus::Succeeded, now);
                op.context_details = Some(ContextDetails {
                    replay_children,
                    result: u.payload.clone(),
                    error: None,
                });
                EventDetails::ContextSucceededDetails {
                    result: EventPayload::of(u.payload.as_ref()),
                }
            }
            OperationAction::Fail => {
                op.close(OperationStatus::Failed, now);
                op.context_details = Some(ContextDetails {
                    replay_children,
                    result: None,
                    error: u.error.clone(),
                });
                EventDetails::ContextFailedDetails {
                    error: EventError::of(u.error.as_ref()),
                }
            }
            _ => return Err(Self::unsupported(u)),
        };
        self.record(Subject::Operation(i), event, now);
        Ok(())
    }

    fn apply_callback(
        &mut self,
        i: usize,
        u: &OperationUpdate,
        env: &Env,
    ) -> Result<Effect, ApplyError> {
        if u.action != OperationAction::Start {
            return Err(Self::unsupported(u));
        }
        let options = u.callback_options.clone().unwrap_or_default();
        let positive = |s: Option<i64>| s.and_then(|s| u64::try_from(s).ok()).filter(|s| *s > 0);
        let (timeout, heartbeat) = (
            positive(options.timeout_seconds),
            positive(options.heartbeat_timeout_seconds),
        );
        let id = callback_id(env.nonce, &self.arn, &u.id);
        let op = &mut self.operations[i];
        op.callback_details = Some(CallbackDetails {
            callback_id: id.clone(),
            result: None,
            error: None,
        });
        let heartbeat_s = heartbeat.map(|h| h as f64 * env.scale);
        self.callbacks.insert(
            u.id.clone(),
            CallbackTimers {
                timeout_at: timeout.map(|t| env.now + t as f64 * env.scale),
                heartbeat_s,
                heartbeat_at: heartbeat_s.map(|h| env.now + h),
            },
        );
        let event = EventDetails::CallbackStartedDetails {
            callback_id: id.clone(),
            heartbeat_timeout: heartbeat,
            timeout,
        };
        self.record(Subject::Operation(i), event, env.now);
        Ok(Effect::Callback {
            id,
            op: u.id.clone(),
        })
    }

    fn apply_invoke(
        &mut self,
        i: usize,
        u: &OperationUpdate,
        env: &Env,
    ) -> Result<Option<Effect>, ApplyError> {
        let options = match (u.action, &u.chained_invoke_options) {
            (OperationAction::Start, Some(o)) => o.clone(),
            (OperationAction::Start, None) => {
                return Err(ApplyError::Invalid(
                    "CHAINED_INVOKE START needs ChainedInvokeOptions.FunctionName".into(),
                ));
            }
            _ => return Err(Self::unsupported(u)),
        };
        let resolved = (env.resolve)(&u.id, &options.function_name);
        let (version, arn) = match &resolved {
            Ok(t) => (
                Some(t.version.clone()),
                t.child.as_ref().map(|c| c.arn.clone()),
            ),
            Err(_) => (None, None),
        };
        let event = EventDetails::ChainedInvokeStartedDetails {
            function_name: options.function_name.clone(),
            tenant_id: options.tenant_id.clone(),
            input: EventPayload::of(u.payload.as_ref()),
            executed_version: version,
            durable_execution_arn: arn,
        };
        self.record(Subject::Operation(i), event, env.now);
        match resolved {
            Ok(target) => {
                let call = ChainedCall {
                    target,
                    input: u.payload.clone(),
                };
                self.invokes.insert(u.id.clone(), call);
                Ok(Some(Effect::Invoke { op: u.id.clone() }))
            }
            Err(error) => {
                self.finish_invoke(i, InvokeOutcome::Failed(error), env.now);
                Ok(None)
            }
        }
    }

    fn finish_invoke(&mut self, i: usize, outcome: InvokeOutcome, now: f64) {
        let op = &mut self.operations[i];
        let (status, details, event) = match outcome {
            InvokeOutcome::Succeeded(result) => (
                OperationStatus::Succeeded,
                OutcomeDetails {
                    result: result.clone(),
                    error: None,
                },
                EventDetails::ChainedInvokeSucceededDetails {
                    result: EventPayload::of(result.as_ref()),
                },
            ),
            InvokeOutcome::Failed(e) => failed(OperationStatus::Failed, e, |error| {
                EventDetails::ChainedInvokeFailedDetails { error }
            }),
            InvokeOutcome::TimedOut(e) => failed(OperationStatus::TimedOut, e, |error| {
                EventDetails::ChainedInvokeTimedOutDetails { error }
            }),
            InvokeOutcome::Stopped(e) => failed(OperationStatus::Stopped, e, |error| {
                EventDetails::ChainedInvokeStoppedDetails { error }
            }),
        };
        op.close(status, now);
        op.chained_invoke_details = Some(details);
        let id = op.id.clone();
        self.invokes.remove(&id);
        self.resumable = true;
        self.record(Subject::Operation(i), event, now);
    }

    /// Records the end of chained invoke `op`. A chained invoke that is no longer waited
    /// for (the execution ended, or it was recorded before) changes nothing.
    pub fn resolve_invoke(&mut self, op: &str, outcome: InvokeOutcome, now: f64) -> bool {
        let Some(i) = self.index(op) else {
            return false;
        };
        if self.status != ExecStatus::Running || self.operations[i].status.is_closed() {
            return false;
        }
        self.finish_invoke(i, outcome, now);
        true
    }

    /// Records an external system's answer to callback operation `op`.
    pub fn resolve_callback(
        &mut self,
        op: &str,
        answer: CallbackAnswer,
        now: f64,
    ) -> Result<(), CallbackError> {
        let i = self
            .index(op)
            .filter(|_| self.status == ExecStatus::Running)
            .ok_or_else(|| CallbackError::NotFound(op.to_owned()))?;
        let status = self.operations[i].status;
        if status == OperationStatus::TimedOut {
            return Err(CallbackError::TimedOut(op.to_owned()));
        }
        if status.is_closed() {
            return Err(CallbackError::Closed {
                id: op.to_owned(),
                status,
            });
        }
        let (status, result, error, event) = match answer {
            CallbackAnswer::Heartbeat => {
                if let Some(t) = self.callbacks.get_mut(op)
                    && let Some(h) = t.heartbeat_s
                {
                    t.heartbeat_at = Some(now + h);
                }
                return Ok(());
            }
            CallbackAnswer::Succeed(result) => {
                let event = EventDetails::CallbackSucceededDetails {
                    result: EventPayload::of(result.as_ref()),
                };
                (OperationStatus::Succeeded, result, None, event)
            }
            CallbackAnswer::Fail(error) => {
                let event = EventDetails::CallbackFailedDetails {
                    error: EventError::of(Some(&error)),
                };
                (OperationStatus::Failed, None, Some(error), event)
            }
        };
        self.close_callback(i, status, result, error, event, now);
        Ok(())
    }

    fn close_callback(
        &mut self,
        i: usize,
        status: OperationStatus,
        result: Option<String>,
        error: Option<ErrorObject>,
        event: EventDetails,
        now: f64,
    ) {
        let op = &mut self.operations[i];
        op.close(status, now);
        if let Some(d) = op.callback_details.as_mut() {
            d.result = result;
            d.error = error;
        }
        let id = op.id.clone();
        self.callbacks.remove(&id);
        self.resumable = true;
        self.record(Subject::Operation(i), event, now);
    }

    /// Whether the function waits for something (a timer, a callback, a chained invoke).
    fn outstanding(&self) -> bool {
        self.operations.iter().any(|o| {
            matches!(
                (o.kind, o.status),
                (OperationType::Step, OperationStatus::Pending)
                    | (OperationType::Wait, OperationStatus::Started)
                    | (OperationType::Callback, OperationStatus::Started)
                    | (OperationType::ChainedInvoke, OperationStatus::Started)
            )
        })
    }

    /// When each timer of the log expires: (operation index, time).
    fn timers(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.operations.iter().enumerate().flat_map(|(i, o)| {
            let at = match (o.kind, o.status) {
                (OperationType::Step, OperationStatus::Pending) => o
                    .step_details
                    .as_ref()
                    .and_then(|d| d.next_attempt_timestamp)
                    .or(Some(o.start_timestamp)),
                (OperationType::Wait, OperationStatus::Started) => {
                    o.wait_details.as_ref().map(|d| d.scheduled_end_timestamp)
                }
                (OperationType::Callback, OperationStatus::Started) => self
                    .callbacks
                    .get(&o.id)
                    .and_then(|t| match (t.timeout_at, t.heartbeat_at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }),
                _ => None,
            };
            at.map(|t| (i, t))
        })
    }

    /// What to do next at `now`.
    pub fn due(&self, now: f64) -> Due {
        if self.status != ExecStatus::Running {
            return Due::Ended;
        }
        if now >= self.deadline {
            return Due::TimeOut;
        }
        let next = self.timers().map(|(_, t)| t).reduce(f64::min);
        if next.is_some_and(|t| t <= now) {
            return Due::Fire;
        }
        if self.resumable || self.invocations == 0 || !self.outstanding() {
            return Due::Invoke;
        }
        Due::Sleep(next.unwrap_or(self.deadline).min(self.deadline))
    }

    /// Fires every timer expired at `now`; `scale` is the time scale waits started with.
    pub fn fire_timers(&mut self, now: f64, scale: f64) {
        let expired: Vec<usize> = self
            .timers()
            .filter(|(_, t)| *t <= now)
            .map(|(i, _)| i)
            .collect();
        for i in expired {
            self.resumable = true;
            match self.operations[i].kind {
                OperationType::Step => self.operations[i].status = OperationStatus::Ready,
                OperationType::Wait => self.fire_wait(i, now, scale),
                OperationType::Callback => self.fire_callback(i, now),
                _ => {}
            }
        }
    }

    fn fire_wait(&mut self, i: usize, now: f64, scale: f64) {
        let op = &mut self.operations[i];
        op.close(OperationStatus::Succeeded, now);
        let end = op
            .wait_details
            .as_ref()
            .map_or(now, |d| d.scheduled_end_timestamp);
        let secs = ((end - op.start_timestamp) / scale.max(f64::MIN_POSITIVE)).round();
        let duration = Some(secs.max(0.0) as u64);
        self.record(
            Subject::Operation(i),
            EventDetails::WaitSucceededDetails { duration },
            now,
        );
    }

    fn fire_callback(&mut self, i: usize, now: f64) {
        let timers = self.callbacks.get(&self.operations[i].id).cloned();
        let timers = timers.unwrap_or_default();
        let heartbeat = timers.heartbeat_at.is_some_and(|h| h <= now)
            && timers.timeout_at.is_none_or(|t| t > now);
        let error = if heartbeat {
            ErrorObject::new("Callback.Heartbeat", "the callback's heartbeat timed out")
        } else {
            ErrorObject::new("Callback.Timeout", "the callback timed out")
        };
        let event = EventDetails::CallbackTimedOutDetails {
            error: EventError::of(Some(&error)),
        };
        self.close_callback(i, OperationStatus::TimedOut, None, Some(error), event, now);
    }

    /// Ends the execution TIMED_OUT: its `ExecutionTimeout` passed.
    pub fn time_out(&mut self, now: f64) {
        let error = ErrorObject::new(
            "Execution.TimedOut",
            format!(
                "the execution ran past its ExecutionTimeout of {} s",
                self.timeout_s
            ),
        );
        self.error = Some(error.clone());
        let details = EventDetails::ExecutionTimedOutDetails {
            error: EventError::of(Some(&error)),
        };
        self.close(ExecStatus::TimedOut, details, now);
    }

    /// Ends the execution STOPPED (`StopDurableExecution`); false when it had ended.
    pub fn stop(&mut self, error: Option<ErrorObject>, now: f64) -> bool {
        if self.status != ExecStatus::Running {
            return false;
        }
        self.error = error.clone();
        let details = EventDetails::ExecutionStoppedDetails {
            error: EventError::of(error.as_ref()),
        };
        self.close(ExecStatus::Stopped, details, now);
        true
    }

    /// Begins an invocation: the log it hands the function.
    pub fn begin_invocation(&mut self) -> InvocationPayload {
        self.invocations += 1;
        self.resumable = false;
        InvocationPayload {
            durable_execution_arn: self.arn.clone(),
            checkpoint_token: self.token.clone(),
            initial_execution_state: ExecutionState {
                operations: self.operations.clone(),
            },
        }
    }

    /// Records how an invocation that began at `started` ended at `now`.
    pub fn end_invocation(&mut self, end: InvocationEnd, started: f64, request_id: &str, now: f64) {
        let error = match &end {
            InvocationEnd::Errored(e) => Some(EventError::of(Some(e))),
            InvocationEnd::Returned(_) => None,
        };
        let details = EventDetails::InvocationCompletedDetails {
            start_timestamp: started,
            end_timestamp: now,
            request_id: request_id.to_owned(),
            error,
        };
        self.record(Subject::Invocation, details, now);
        match end {
            InvocationEnd::Returned(InvocationOutput::Succeeded { result }) => {
                self.failed_invocations = 0;
                self.result = result.clone();
                let result = EventPayload::of(result.as_ref());
                let details = EventDetails::ExecutionSucceededDetails { result };
                self.close(ExecStatus::Succeeded, details, now);
            }
            InvocationEnd::Returned(InvocationOutput::Failed { error }) => {
                self.failed_invocations = 0;
                self.error = Some(error.clone());
                let error = EventError::of(Some(&error));
                self.close(
                    ExecStatus::Failed,
                    EventDetails::ExecutionFailedDetails { error },
                    now,
                );
            }
            InvocationEnd::Returned(InvocationOutput::Pending) => self.failed_invocations = 0,
            InvocationEnd::Errored(error) => {
                self.failed_invocations += 1;
                // The function is invoked again, whatever it waits for.
                self.resumable = true;
                if self.failed_invocations >= MAX_FAILED_INVOCATIONS {
                    let error = ErrorObject::new(
                        "InvocationFailed",
                        format!(
                            "{MAX_FAILED_INVOCATIONS} invocations in a row failed; the last: {}",
                            error.error_message.unwrap_or_default()
                        ),
                    );
                    self.error = Some(error.clone());
                    let error = EventError::of(Some(&error));
                    self.close(
                        ExecStatus::Failed,
                        EventDetails::ExecutionFailedDetails { error },
                        now,
                    );
                }
            }
        }
    }

    /// Fails the execution because its code diverged from its log.
    pub fn fail_nondeterministic(&mut self, why: &ApplyError, now: f64) {
        let error = ErrorObject::new("NonDeterministicExecutionError", why.to_string());
        self.error = Some(error.clone());
        let error = EventError::of(Some(&error));
        self.close(
            ExecStatus::Failed,
            EventDetails::ExecutionFailedDetails { error },
            now,
        );
    }

    /// The callback operations waiting for an answer: (callback id, operation id).
    pub fn open_callbacks(&self) -> Vec<(String, String)> {
        self.operations
            .iter()
            .filter(|o| o.kind == OperationType::Callback && !o.status.is_closed())
            .filter_map(|o| {
                let d = o.callback_details.as_ref()?;
                Some((d.callback_id.clone(), o.id.clone()))
            })
            .collect()
    }
}

/// A step's RETRY: the next attempt after the delay (scaled), and its event.
fn step_retry(
    details: &mut StepDetails,
    u: &OperationUpdate,
    attempt: u32,
    env: &Env,
) -> Result<EventDetails, ApplyError> {
    let now = env.now;
    let delay = u
        .step_options
        .as_ref()
        .and_then(|o| o.next_attempt_delay_seconds)
        .filter(|d| *d >= 1)
        .ok_or_else(|| {
            ApplyError::Invalid("RETRY needs StepOptions.NextAttemptDelaySeconds >= 1".to_owned())
        })?;
    let delay = u64::try_from(delay).unwrap_or(1);
    details.attempt = attempt;
    details.next_attempt_timestamp = Some(now + delay as f64 * env.scale);
    if u.error.is_some() {
        details.error = u.error.clone();
    }
    let retry_details = Some(RetryDetails {
        current_attempt: attempt,
        next_attempt_delay_seconds: Some(delay),
    });
    Ok(match (&u.error, &u.payload) {
        // wait_for_condition's "continue": a check that succeeded, with the
        // state the next one starts from.
        (None, Some(state)) => {
            details.result = Some(state.clone());
            EventDetails::StepSucceededDetails {
                result: EventPayload::of(Some(state)),
                retry_details,
            }
        }
        _ => EventDetails::StepFailedDetails {
            error: EventError::of(u.error.as_ref()),
            retry_details,
        },
    })
}

fn failed(
    status: OperationStatus,
    error: ErrorObject,
    event: impl FnOnce(EventError) -> EventDetails,
) -> (OperationStatus, OutcomeDetails, EventDetails) {
    let details = OutcomeDetails {
        result: None,
        error: Some(error.clone()),
    };
    (status, details, event(EventError::of(Some(&error))))
}

/// A callback id: opaque, unguessable without the nonce, distinct per operation.
pub fn callback_id(nonce: &str, arn: &str, op: &str) -> String {
    let digest = Sha256::digest(format!("{nonce}\n{arn}\n{op}").as_bytes());
    hex::encode(digest)
}

/// The event a durable function is invoked with.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationPayload {
    pub durable_execution_arn: String,
    pub checkpoint_token: String,
    pub initial_execution_state: ExecutionState,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionState {
    pub operations: Vec<Operation>,
}

#[cfg(test)]
mod tests;
