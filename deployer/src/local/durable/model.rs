//! The durable execution wire model (Lambda API `2025-12-01`), as types: operations and
//! their details, the updates a checkpoint carries, and the history events. Field names
//! and enum strings are the wire's (docs/durable-wire.md); timestamps are epoch seconds.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationType {
    Execution,
    Context,
    Step,
    Wait,
    Callback,
    ChainedInvoke,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    Started,
    Pending,
    Ready,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    Stopped,
}

impl OperationStatus {
    /// Whether the operation has its outcome (nothing can change it any more).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::TimedOut | Self::Stopped
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationAction {
    Start,
    Succeed,
    Fail,
    Retry,
    Cancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

impl ExecStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Running => "RUNNING",
            ExecStatus::Succeeded => "SUCCEEDED",
            ExecStatus::Failed => "FAILED",
            ExecStatus::TimedOut => "TIMED_OUT",
            ExecStatus::Stopped => "STOPPED",
        }
    }

    /// The status a `--status`/`Statuses` filter names.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// `ErrorObject`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<Vec<String>>,
}

impl ErrorObject {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        ErrorObject {
            error_type: Some(kind.to_owned()),
            error_message: Some(message.into()),
            ..ErrorObject::default()
        }
    }
}

/// One operation of the log (`Operation`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: OperationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    pub start_timestamp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_timestamp: Option<f64>,
    pub status: OperationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<ExecutionDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_details: Option<ContextDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_details: Option<StepDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_details: Option<WaitDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_details: Option<CallbackDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_details: Option<OutcomeDetails>,
}

impl ErrorObject {
    /// Its text's bytes (type, message, data, stack trace).
    pub fn bytes(&self) -> usize {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        len(&self.error_type)
            + len(&self.error_message)
            + len(&self.error_data)
            + self
                .stack_trace
                .iter()
                .flatten()
                .map(String::len)
                .sum::<usize>()
    }
}

impl Operation {
    /// The bytes of payload the operation stores (input, results, errors): what the
    /// durable service bills as data written.
    pub fn payload_bytes(&self) -> usize {
        let outcome = |result: &Option<String>, error: &Option<ErrorObject>| {
            result.as_ref().map_or(0, String::len) + error.as_ref().map_or(0, ErrorObject::bytes)
        };
        let outcomes = [
            self.context_details.as_ref().map(|d| (&d.result, &d.error)),
            self.step_details.as_ref().map(|d| (&d.result, &d.error)),
            self.callback_details
                .as_ref()
                .map(|d| (&d.result, &d.error)),
            self.chained_invoke_details
                .as_ref()
                .map(|d| (&d.result, &d.error)),
        ];
        self.execution_details
            .as_ref()
            .map_or(0, |d| d.input_payload.len())
            + outcomes
                .into_iter()
                .flatten()
                .map(|(r, e)| outcome(r, e))
                .sum::<usize>()
    }

    /// Ends the operation with `status` at `t`.
    pub fn close(&mut self, status: OperationStatus, t: f64) {
        self.status = status;
        self.end_timestamp = Some(t);
    }

    /// A new operation of `kind` that started at `t`, STARTED.
    pub fn started(id: &str, kind: OperationType, t: f64) -> Self {
        Operation {
            id: id.to_owned(),
            parent_id: None,
            name: None,
            kind,
            sub_type: None,
            start_timestamp: t,
            end_timestamp: None,
            status: OperationStatus::Started,
            execution_details: None,
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionDetails {
    pub input_payload: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_children: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepDetails {
    /// Attempts completed so far (the SDK's attempt number is this plus one).
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitDetails {
    pub scheduled_end_timestamp: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackDetails {
    pub callback_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `ChainedInvokeDetails`: the outcome of the invoked function.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutcomeDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `CheckpointDurableExecution`'s request.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckpointRequest {
    pub checkpoint_token: String,
    #[serde(default)]
    pub updates: Vec<OperationUpdate>,
}

/// `OperationUpdate`, as the SDK sends it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationUpdate {
    pub id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: OperationType,
    #[serde(default)]
    pub sub_type: Option<String>,
    pub action: OperationAction,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub error: Option<ErrorObject>,
    #[serde(default)]
    pub context_options: Option<ContextOptions>,
    #[serde(default)]
    pub step_options: Option<StepOptions>,
    #[serde(default)]
    pub wait_options: Option<WaitOptions>,
    #[serde(default)]
    pub callback_options: Option<CallbackOptions>,
    #[serde(default)]
    pub chained_invoke_options: Option<ChainedInvokeOptions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextOptions {
    #[serde(default)]
    pub replay_children: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepOptions {
    #[serde(default)]
    pub next_attempt_delay_seconds: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitOptions {
    #[serde(default)]
    pub wait_seconds: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackOptions {
    #[serde(default)]
    pub timeout_seconds: Option<i64>,
    #[serde(default)]
    pub heartbeat_timeout_seconds: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeOptions {
    pub function_name: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// What the invocation of a durable function answered (its output envelope).
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "Status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationOutput {
    Succeeded {
        #[serde(rename = "Result", default)]
        result: Option<String>,
    },
    Failed {
        #[serde(rename = "Error", default)]
        error: ErrorObject,
    },
    Pending,
}

/// `EventInput` / `EventResult`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default)]
    pub truncated: bool,
}

/// `EventError`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ErrorObject>,
    #[serde(default)]
    pub truncated: bool,
}

impl EventPayload {
    pub fn of(payload: Option<&String>) -> Option<Self> {
        payload.map(|p| EventPayload {
            payload: Some(p.clone()),
            truncated: false,
        })
    }
}

impl EventError {
    pub fn of(error: Option<&ErrorObject>) -> Self {
        EventError {
            payload: error.cloned(),
            truncated: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryDetails {
    pub current_attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_delay_seconds: Option<u64>,
}

impl RetryDetails {
    /// Attempt `n` (1-based), with no retry after it.
    pub fn last(n: u32) -> Option<Self> {
        Some(RetryDetails {
            current_attempt: n,
            next_attempt_delay_seconds: None,
        })
    }
}

/// The details of a history event; the variant names the event type. The names are the
/// wire's keys (`StepStartedDetails`, ...), hence the common suffix.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all_fields = "PascalCase")]
pub enum EventDetails {
    ExecutionStartedDetails {
        input: EventPayload,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        execution_timeout: Option<u64>,
    },
    ExecutionSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<EventPayload>,
    },
    ExecutionFailedDetails {
        error: EventError,
    },
    ExecutionTimedOutDetails {
        error: EventError,
    },
    ExecutionStoppedDetails {
        error: EventError,
    },
    ContextStartedDetails {},
    ContextSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<EventPayload>,
    },
    ContextFailedDetails {
        error: EventError,
    },
    WaitStartedDetails {
        duration: u64,
        scheduled_end_timestamp: f64,
    },
    WaitSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<u64>,
    },
    WaitCancelledDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<EventError>,
    },
    StepStartedDetails {},
    StepSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<EventPayload>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_details: Option<RetryDetails>,
    },
    StepFailedDetails {
        error: EventError,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_details: Option<RetryDetails>,
    },
    ChainedInvokeStartedDetails {
        function_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<EventPayload>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        executed_version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        durable_execution_arn: Option<String>,
    },
    ChainedInvokeSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<EventPayload>,
    },
    ChainedInvokeFailedDetails {
        error: EventError,
    },
    ChainedInvokeTimedOutDetails {
        error: EventError,
    },
    ChainedInvokeStoppedDetails {
        error: EventError,
    },
    CallbackStartedDetails {
        callback_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_timeout: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u64>,
    },
    CallbackSucceededDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<EventPayload>,
    },
    CallbackFailedDetails {
        error: EventError,
    },
    CallbackTimedOutDetails {
        error: EventError,
    },
    InvocationCompletedDetails {
        start_timestamp: f64,
        end_timestamp: f64,
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<EventError>,
    },
}

impl EventDetails {
    /// The event type (`EventType`): the variant's name without `Details`.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventDetails::ExecutionStartedDetails { .. } => "ExecutionStarted",
            EventDetails::ExecutionSucceededDetails { .. } => "ExecutionSucceeded",
            EventDetails::ExecutionFailedDetails { .. } => "ExecutionFailed",
            EventDetails::ExecutionTimedOutDetails { .. } => "ExecutionTimedOut",
            EventDetails::ExecutionStoppedDetails { .. } => "ExecutionStopped",
            EventDetails::ContextStartedDetails { .. } => "ContextStarted",
            EventDetails::ContextSucceededDetails { .. } => "ContextSucceeded",
            EventDetails::ContextFailedDetails { .. } => "ContextFailed",
            EventDetails::WaitStartedDetails { .. } => "WaitStarted",
            EventDetails::WaitSucceededDetails { .. } => "WaitSucceeded",
            EventDetails::WaitCancelledDetails { .. } => "WaitCancelled",
            EventDetails::StepStartedDetails { .. } => "StepStarted",
            EventDetails::StepSucceededDetails { .. } => "StepSucceeded",
            EventDetails::StepFailedDetails { .. } => "StepFailed",
            EventDetails::ChainedInvokeStartedDetails { .. } => "ChainedInvokeStarted",
            EventDetails::ChainedInvokeSucceededDetails { .. } => "ChainedInvokeSucceeded",
            EventDetails::ChainedInvokeFailedDetails { .. } => "ChainedInvokeFailed",
            EventDetails::ChainedInvokeTimedOutDetails { .. } => "ChainedInvokeTimedOut",
            EventDetails::ChainedInvokeStoppedDetails { .. } => "ChainedInvokeStopped",
            EventDetails::CallbackStartedDetails { .. } => "CallbackStarted",
            EventDetails::CallbackSucceededDetails { .. } => "CallbackSucceeded",
            EventDetails::CallbackFailedDetails { .. } => "CallbackFailed",
            EventDetails::CallbackTimedOutDetails { .. } => "CallbackTimedOut",
            EventDetails::InvocationCompletedDetails { .. } => "InvocationCompleted",
        }
    }
}

/// One history event (`Event`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    pub event_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub event_timestamp: f64,
    #[serde(flatten)]
    pub details: EventDetails,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_operation_s_payload_is_its_input_results_and_errors() {
        let mut op = Operation::started("1", OperationType::Step, 0.0);
        assert_eq!(op.payload_bytes(), 0);
        op.step_details = Some(StepDetails {
            result: Some("abc".into()),
            error: Some(ErrorObject {
                error_message: Some("de".into()),
                ..ErrorObject::default()
            }),
            ..StepDetails::default()
        });
        op.execution_details = Some(ExecutionDetails {
            input_payload: "{}".into(),
        });
        assert_eq!(op.payload_bytes(), 7);
    }

    #[test]
    fn events_serialize_as_the_wire_has_them() {
        let e = Event {
            event_type: "WaitStarted".into(),
            sub_type: Some("Wait".into()),
            event_id: 2,
            id: Some("a".into()),
            name: None,
            parent_id: None,
            event_timestamp: 1.5,
            details: EventDetails::WaitStartedDetails {
                duration: 2,
                scheduled_end_timestamp: 3.5,
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({"EventType": "WaitStarted", "SubType": "Wait", "EventId": 2, "Id": "a",
                   "EventTimestamp": 1.5,
                   "WaitStartedDetails": {"Duration": 2, "ScheduledEndTimestamp": 3.5}})
        );
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
        assert_eq!(e.details.event_type(), "WaitStarted");
        let empty = serde_json::to_value(EventDetails::ContextStartedDetails {}).unwrap();
        assert_eq!(empty, json!({"ContextStartedDetails": {}}));
    }

    #[test]
    fn unknown_enum_strings_are_refused() {
        let bad = json!({"Id": "1", "Type": "Step", "Action": "START"});
        assert!(serde_json::from_value::<OperationUpdate>(bad).is_err());
        let ok = json!({"Id": "1", "Type": "STEP", "Action": "START", "SubType": "Step"});
        assert!(serde_json::from_value::<OperationUpdate>(ok).is_ok());
    }

    #[test]
    fn invocation_outputs_parse() {
        let out: InvocationOutput =
            serde_json::from_value(json!({"Status": "SUCCEEDED", "Result": "1"})).unwrap();
        assert!(matches!(out, InvocationOutput::Succeeded { result: Some(r) } if r == "1"));
        let out: InvocationOutput = serde_json::from_value(json!({"Status": "PENDING"})).unwrap();
        assert!(matches!(out, InvocationOutput::Pending));
        assert!(serde_json::from_value::<InvocationOutput>(json!({"Status": "NOPE"})).is_err());
    }
}
