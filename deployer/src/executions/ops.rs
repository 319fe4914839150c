//! The Lambda durable execution calls of the verbs, each with the timeouts of the client
//! (`webhooks::target`), pages followed, and the errors the verbs tell apart typed.

use std::time::SystemTime;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::{Blob, DateTime};
use aws_sdk_lambda::types::{ErrorObject, ExecutionStatus};

use super::error::{ExecError, call};
use super::stage::{FunctionRef, StageLambda};
use super::view::{Answered, Detail, HistoryEvent, Stopped, Summary, rfc3339};

/// More pages than this is a service that keeps answering the same marker.
const MAX_PAGES: usize = 10_000;

/// Which executions `list` shows.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Any of these (all when empty).
    pub statuses: Vec<ExecutionStatus>,
    /// Started at or after.
    pub since: Option<SystemTime>,
    /// Exactly this name.
    pub name: Option<String>,
    pub limit: usize,
}

impl ListFilter {
    fn keeps(&self, e: &aws_sdk_lambda::types::Execution) -> bool {
        let status = self.statuses.is_empty() || self.statuses.contains(e.status());
        let since = self
            .since
            .is_none_or(|t| *e.start_timestamp() >= DateTime::from(t));
        let name = self
            .name
            .as_ref()
            .is_none_or(|n| e.durable_execution_name() == n);
        status && since && name
    }
}

/// [`call`], with a clearer word for an endpoint that does not serve the operation at all
/// (an emulator without it: 404/405 and no error code).
fn failed<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> ExecError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let unserved = err.as_service_error().is_some_and(|e| e.code().is_none())
        && err
            .raw_response()
            .is_some_and(|r| matches!(r.status().as_u16(), 404 | 405));
    if unserved {
        let status = err.raw_response().map_or(0, |r| r.status().as_u16());
        return ExecError::Call {
            operation,
            detail: format!(
                "the endpoint does not serve {operation} (HTTP {status}, no error code)"
            ),
            source: Box::new(err),
        };
    }
    call(operation, err)
}

/// The executions of `f` that `filter` keeps, newest first.
pub async fn list(
    l: &StageLambda,
    f: &FunctionRef,
    filter: &ListFilter,
) -> Result<Vec<Summary>, ExecError> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = l
            .client
            .list_durable_executions_by_function()
            .function_name(&f.name)
            .set_qualifier(f.qualifier.clone())
            .set_durable_execution_name(filter.name.clone())
            .set_statuses((!filter.statuses.is_empty()).then(|| filter.statuses.clone()))
            .set_started_after(filter.since.map(DateTime::from))
            .reverse_order(true)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| failed("ListDurableExecutionsByFunction", e))?;
        found.extend(
            out.durable_executions()
                .iter()
                .filter(|e| filter.keeps(e))
                .cloned(),
        );
        let next = out.next_marker().filter(|m| !m.is_empty());
        if found.len() >= filter.limit || next.is_none() || next == marker.as_deref() {
            break;
        }
        marker = next.map(str::to_owned);
    }
    // Newest first, whatever order the service answered in.
    found.sort_by(|a, b| b.start_timestamp().cmp(a.start_timestamp()));
    found.truncate(filter.limit);
    Ok(found.iter().map(Summary::of).collect())
}

/// Whether `s` is a durable execution ARN.
fn is_execution_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.contains("/durable-execution/")
}

/// Whether `s` is a valid durable execution name.
fn is_execution_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ARN of the execution `given` names: an ARN as it is, or the one execution of `f`
/// with that name.
pub async fn resolve(l: &StageLambda, f: &FunctionRef, given: &str) -> Result<String, ExecError> {
    if is_execution_arn(given) {
        return Ok(given.to_owned());
    }
    if !is_execution_name(given) {
        return Err(ExecError::NotAnExecution {
            given: given.to_owned(),
        });
    }
    let filter = ListFilter {
        name: Some(given.to_owned()),
        limit: usize::MAX,
        ..ListFilter::default()
    };
    let mut found = list(l, f, &filter).await?;
    match found.len() {
        0 => Err(ExecError::NoSuchName {
            name: given.to_owned(),
            function: f.to_string(),
            place: l.place(),
        }),
        1 => Ok(found.remove(0).arn),
        _ => Err(ExecError::AmbiguousName {
            name: given.to_owned(),
            function: f.to_string(),
            arns: found.into_iter().map(|s| s.arn).collect(),
        }),
    }
}

/// The execution `arn`, its input and result included.
pub async fn get(l: &StageLambda, arn: &str) -> Result<Detail, ExecError> {
    let out = l
        .client
        .get_durable_execution()
        .durable_execution_arn(arn)
        .include_execution_data(true)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                return ExecError::NoSuchExecution {
                    arn: arn.to_owned(),
                    place: l.place(),
                };
            }
            failed("GetDurableExecution", e)
        })?;
    Ok(Detail::of(&out))
}

/// Every event of the execution `arn`, oldest first.
pub async fn history(l: &StageLambda, arn: &str) -> Result<Vec<HistoryEvent>, ExecError> {
    let mut events = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = l
            .client
            .get_durable_execution_history()
            .durable_execution_arn(arn)
            .include_execution_data(true)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    return ExecError::NoSuchExecution {
                        arn: arn.to_owned(),
                        place: l.place(),
                    };
                }
                failed("GetDurableExecutionHistory", e)
            })?;
        events.extend(out.events().iter().map(HistoryEvent::of));
        let next = out.next_marker().filter(|m| !m.is_empty());
        if next.is_none() || next == marker.as_deref() {
            break;
        }
        marker = next.map(str::to_owned);
    }
    Ok(events)
}

/// Stops the running execution `arn`, with `error` as its reason.
pub async fn stop(
    l: &StageLambda,
    arn: &str,
    error: Option<ErrorObject>,
) -> Result<Stopped, ExecError> {
    let now = get(l, arn).await?;
    if now.status != ExecutionStatus::Running.as_str() {
        return Err(ExecError::AlreadyEnded {
            arn: arn.to_owned(),
            status: now.status,
        });
    }
    let out = l
        .client
        .stop_durable_execution()
        .durable_execution_arn(arn)
        .set_error(error)
        .send()
        .await
        .map_err(|e| failed("StopDurableExecution", e))?;
    Ok(Stopped {
        arn: arn.to_owned(),
        name: now.name,
        stopped: rfc3339(out.stop_timestamp()),
    })
}

/// What a callback is sent.
#[derive(Clone, Debug)]
pub enum Answer {
    /// The result, JSON text (none: the waiting code gets `null`).
    Succeed(Option<String>),
    Fail(ErrorObject),
    Heartbeat,
}

impl Answer {
    fn action(&self) -> &'static str {
        match self {
            Answer::Succeed(_) => "succeed",
            Answer::Fail(_) => "fail",
            Answer::Heartbeat => "heartbeat",
        }
    }
}

/// The error of a callback call: an unknown id and a closed callback told apart.
fn callback_failed<E>(
    l: &StageLambda,
    id: &str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
    not_found: impl Fn(&E) -> bool,
    closed: impl Fn(&E) -> bool,
) -> ExecError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(e) if not_found(e) => ExecError::NoSuchCallback {
            id: id.to_owned(),
            place: l.place(),
        },
        Some(e) if closed(e) => ExecError::CallbackClosed {
            id: id.to_owned(),
            source: Box::new(err),
        },
        _ => failed(operation, err),
    }
}

/// Sends `answer` to the callback `id`.
pub async fn answer(l: &StageLambda, id: &str, answer: Answer) -> Result<Answered, ExecError> {
    let action = answer.action();
    match answer {
        Answer::Succeed(result) => {
            use aws_sdk_lambda::operation::send_durable_execution_callback_success::SendDurableExecutionCallbackSuccessError as E;
            l.client
                .send_durable_execution_callback_success()
                .callback_id(id)
                .set_result(result.map(Blob::new))
                .send()
                .await
                .map_err(|e| {
                    let op = "SendDurableExecutionCallbackSuccess";
                    callback_failed(
                        l,
                        id,
                        op,
                        e,
                        E::is_resource_not_found_exception,
                        E::is_callback_timeout_exception,
                    )
                })?;
        }
        Answer::Fail(error) => {
            use aws_sdk_lambda::operation::send_durable_execution_callback_failure::SendDurableExecutionCallbackFailureError as E;
            l.client
                .send_durable_execution_callback_failure()
                .callback_id(id)
                .error(error)
                .send()
                .await
                .map_err(|e| {
                    let op = "SendDurableExecutionCallbackFailure";
                    callback_failed(
                        l,
                        id,
                        op,
                        e,
                        E::is_resource_not_found_exception,
                        E::is_callback_timeout_exception,
                    )
                })?;
        }
        Answer::Heartbeat => {
            use aws_sdk_lambda::operation::send_durable_execution_callback_heartbeat::SendDurableExecutionCallbackHeartbeatError as E;
            l.client
                .send_durable_execution_callback_heartbeat()
                .callback_id(id)
                .send()
                .await
                .map_err(|e| {
                    let op = "SendDurableExecutionCallbackHeartbeat";
                    callback_failed(
                        l,
                        id,
                        op,
                        e,
                        E::is_resource_not_found_exception,
                        E::is_callback_timeout_exception,
                    )
                })?;
        }
    }
    Ok(Answered {
        callback_id: id.to_owned(),
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_names() {
        let arn = "arn:aws:lambda:us-east-1:1:function:f:live/durable-execution/t/i";
        assert!(is_execution_arn(arn));
        assert!(!is_execution_arn("arn:aws:lambda:us-east-1:1:function:f"));
        assert!(is_execution_name("wh_0123-abc"));
        assert!(!is_execution_name(""));
        assert!(!is_execution_name("has space"));
        assert!(!is_execution_name(&"a".repeat(65)));
    }
}
