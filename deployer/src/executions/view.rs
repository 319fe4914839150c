//! What the verbs print, as types: read from the Lambda API's answers, serialized for
//! `--output json` (camelCase keys, RFC 3339 times) and drawn as tables by `text`.

use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
use aws_sdk_lambda::types::{ErrorObject, Event, EventError, EventInput, EventResult, Execution};
use serde::Serialize;

/// An RFC 3339 time (`2026-01-02T03:04:05.123Z`).
pub fn rfc3339(t: &DateTime) -> String {
    t.fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| format!("{}s", t.secs()))
}

/// An execution as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub name: String,
    pub status: String,
    pub started: String,
    pub ended: Option<String>,
    pub arn: String,
    pub function_arn: String,
}

impl Summary {
    pub fn of(e: &Execution) -> Self {
        Summary {
            name: e.durable_execution_name().to_owned(),
            status: e.status().as_str().to_owned(),
            started: rfc3339(e.start_timestamp()),
            ended: e.end_timestamp().map(rfc3339),
            arn: e.durable_execution_arn().to_owned(),
            function_arn: e.function_arn().to_owned(),
        }
    }
}

/// A failure, as the service reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

impl Failure {
    pub fn of(e: &ErrorObject) -> Self {
        Failure {
            kind: e.error_type().map(str::to_owned),
            message: e.error_message().map(str::to_owned),
            data: e.error_data().map(str::to_owned),
            stack_trace: e.stack_trace().to_vec(),
        }
    }

    /// `Type: message`, for tables.
    pub fn line(&self) -> String {
        match (&self.kind, &self.message) {
            (Some(k), Some(m)) => format!("{k}: {m}"),
            (Some(k), None) => k.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => "(no detail)".to_owned(),
        }
    }
}

/// One execution in full (`get`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub name: String,
    pub status: String,
    pub started: String,
    pub ended: Option<String>,
    pub arn: String,
    pub function_arn: String,
    pub version: Option<String>,
    /// The input, as JSON text (when the service includes execution data).
    pub input: Option<String>,
    /// The result, as JSON text.
    pub result: Option<String>,
    pub error: Option<Failure>,
    pub trace_id: Option<String>,
}

impl Detail {
    pub fn of(
        o: &aws_sdk_lambda::operation::get_durable_execution::GetDurableExecutionOutput,
    ) -> Self {
        Detail {
            name: o.durable_execution_name().to_owned(),
            status: o.status().as_str().to_owned(),
            started: rfc3339(o.start_timestamp()),
            ended: o.end_timestamp().map(rfc3339),
            arn: o.durable_execution_arn().to_owned(),
            function_arn: o.function_arn().to_owned(),
            version: o.version().map(str::to_owned),
            input: o.input_payload().map(str::to_owned),
            result: o.result().map(str::to_owned),
            error: o.error().map(Failure::of),
            trace_id: o
                .trace_header()
                .and_then(|t| t.x_amzn_trace_id())
                .map(str::to_owned),
        }
    }
}

/// One event of an execution's history (`history`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub event_id: i32,
    #[serde(rename = "type")]
    pub kind: String,
    pub sub_type: Option<String>,
    /// The operation's id.
    pub operation_id: Option<String>,
    pub name: Option<String>,
    pub parent_id: Option<String>,
    pub at: Option<String>,
    #[serde(flatten)]
    pub details: Details,
}

/// What an event carries besides its kind, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// Set when the service cut the payload (input, result or error).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The id `deployer callback` answers (CallbackStarted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// The attempt a step event is about (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i32>,
    /// A step event that schedules another attempt: the delay before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_delay_s: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<i32>,
    /// The function a chained invoke calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// The Lambda request of an invocation (InvocationCompleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl HistoryEvent {
    pub fn of(e: &Event) -> Self {
        HistoryEvent {
            event_id: e.event_id,
            kind: e
                .event_type
                .as_ref()
                .map_or("(none)", |t| t.as_str())
                .to_owned(),
            sub_type: e.sub_type.clone(),
            operation_id: e.id.clone(),
            name: e.name.clone(),
            parent_id: e.parent_id.clone(),
            at: e.event_timestamp.as_ref().map(rfc3339),
            details: details(e),
        }
    }
}

fn input(i: Option<&EventInput>) -> Details {
    Details {
        input: i.and_then(|i| i.payload()).map(str::to_owned),
        truncated: i.and_then(|i| i.truncated()).unwrap_or(false),
        ..Details::default()
    }
}

fn result(r: Option<&EventResult>) -> Details {
    Details {
        result: r.and_then(|r| r.payload()).map(str::to_owned),
        truncated: r.and_then(|r| r.truncated()).unwrap_or(false),
        ..Details::default()
    }
}

fn error(e: Option<&EventError>) -> Details {
    Details {
        error: e.and_then(|e| e.payload()).map(Failure::of),
        truncated: e.and_then(|e| e.truncated()).unwrap_or(false),
        ..Details::default()
    }
}

/// The details of `e`, whichever kind it is.
fn details(e: &Event) -> Details {
    execution_details(e)
        .or_else(|| step_details(e))
        .or_else(|| callback_details(e))
        .or_else(|| invoke_details(e))
        .unwrap_or_default()
}

fn execution_details(e: &Event) -> Option<Details> {
    if let Some(d) = &e.execution_started_details {
        return Some(input(d.input()));
    }
    if let Some(d) = &e.execution_succeeded_details {
        return Some(result(d.result()));
    }
    let failed = [
        e.execution_failed_details.as_ref().map(|d| d.error()),
        e.execution_timed_out_details.as_ref().map(|d| d.error()),
        e.execution_stopped_details.as_ref().map(|d| d.error()),
    ];
    failed.into_iter().flatten().next().map(error)
}

fn step_details(e: &Event) -> Option<Details> {
    let attempt = |r: Option<&aws_sdk_lambda::types::RetryDetails>| r.map(|r| r.current_attempt());
    let delay = |r: Option<&aws_sdk_lambda::types::RetryDetails>| {
        r.and_then(|r| r.next_attempt_delay_seconds())
    };
    if let Some(d) = &e.step_succeeded_details {
        return Some(Details {
            attempt: attempt(d.retry_details()),
            retry_delay_s: delay(d.retry_details()),
            ..result(d.result())
        });
    }
    if let Some(d) = &e.step_failed_details {
        return Some(Details {
            attempt: attempt(d.retry_details()),
            retry_delay_s: delay(d.retry_details()),
            ..error(d.error())
        });
    }
    if let Some(d) = &e.context_succeeded_details {
        return Some(result(d.result()));
    }
    if let Some(d) = &e.context_failed_details {
        return Some(error(d.error()));
    }
    if let Some(d) = &e.wait_started_details {
        return Some(Details {
            wait_seconds: Some(d.duration()),
            ..Details::default()
        });
    }
    if let Some(d) = &e.wait_succeeded_details {
        return Some(Details {
            wait_seconds: d.duration(),
            ..Details::default()
        });
    }
    e.wait_cancelled_details.as_ref().map(|d| error(d.error()))
}

fn callback_details(e: &Event) -> Option<Details> {
    if let Some(d) = &e.callback_started_details {
        return Some(Details {
            callback_id: Some(d.callback_id().to_owned()).filter(|c| !c.is_empty()),
            ..Details::default()
        });
    }
    if let Some(d) = &e.callback_succeeded_details {
        return Some(result(d.result()));
    }
    let failed = [
        e.callback_failed_details.as_ref().map(|d| d.error()),
        e.callback_timed_out_details.as_ref().map(|d| d.error()),
    ];
    failed.into_iter().flatten().next().map(error)
}

fn invoke_details(e: &Event) -> Option<Details> {
    if let Some(d) = &e.chained_invoke_started_details {
        return Some(Details {
            function_name: Some(d.function_name().to_owned()),
            ..input(d.input())
        });
    }
    if let Some(d) = &e.chained_invoke_succeeded_details {
        return Some(result(d.result()));
    }
    let failed = [
        e.chained_invoke_failed_details.as_ref().map(|d| d.error()),
        e.chained_invoke_timed_out_details
            .as_ref()
            .map(|d| d.error()),
        e.chained_invoke_stopped_details.as_ref().map(|d| d.error()),
    ];
    if let Some(err) = failed.into_iter().flatten().next() {
        return Some(error(err));
    }
    e.invocation_completed_details.as_ref().map(|d| Details {
        request_id: Some(d.request_id().to_owned()).filter(|r| !r.is_empty()),
        ..error(d.error())
    })
}

/// What `stop` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stopped {
    pub arn: String,
    pub name: String,
    pub stopped: String,
}

/// What `callback` sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub callback_id: String,
    /// `succeed`, `fail` or `heartbeat`.
    pub action: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::{
        CallbackStartedDetails, EventType, RetryDetails, StepFailedDetails,
    };

    #[test]
    fn a_callback_start_carries_its_id() {
        let e = Event::builder()
            .event_id(4)
            .event_type(EventType::CallbackStarted)
            .name("approval")
            .callback_started_details(
                CallbackStartedDetails::builder()
                    .callback_id("cb-1")
                    .build()
                    .unwrap(),
            )
            .build();
        let v = serde_json::to_value(HistoryEvent::of(&e)).unwrap();
        assert_eq!(v["type"], "CallbackStarted");
        assert_eq!(v["callbackId"], "cb-1");
        assert_eq!(v["name"], "approval");
        assert!(v.get("result").is_none(), "{v}");
    }

    #[test]
    fn a_failed_step_carries_its_error_and_attempt() {
        let e = Event::builder()
            .event_id(7)
            .event_type(EventType::StepFailed)
            .step_failed_details(
                StepFailedDetails::builder()
                    .error(
                        EventError::builder()
                            .payload(
                                ErrorObject::builder()
                                    .error_type("Timeout")
                                    .error_message("slow")
                                    .build(),
                            )
                            .build(),
                    )
                    .retry_details(RetryDetails::builder().current_attempt(2).build())
                    .build(),
            )
            .build();
        let h = HistoryEvent::of(&e);
        assert_eq!(h.details.attempt, Some(2));
        assert_eq!(h.details.error.unwrap().line(), "Timeout: slow");
    }
}
