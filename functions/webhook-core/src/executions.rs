//! Reading the processor's durable executions through the Lambda API (the reconciler and
//! `deployer webhooks` both ask: "what happened to this attempt?").

use aws_sdk_lambda::Client;
use aws_sdk_lambda::types::ExecutionStatus;

use crate::WebhookId;
use crate::starter::execution_name;

/// Where a durable execution is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

impl State {
    fn of(status: &ExecutionStatus) -> Option<State> {
        Some(match status {
            ExecutionStatus::Running => State::Running,
            ExecutionStatus::Succeeded => State::Succeeded,
            ExecutionStatus::Failed => State::Failed,
            ExecutionStatus::TimedOut => State::TimedOut,
            ExecutionStatus::Stopped => State::Stopped,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "RUNNING",
            State::Succeeded => "SUCCEEDED",
            State::Failed => "FAILED",
            State::TimedOut => "TIMED_OUT",
            State::Stopped => "STOPPED",
        }
    }
}

/// One durable execution, as much as the callers need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub state: State,
    /// Epoch ms.
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    /// `(ErrorType, ErrorMessage)` of a failed execution, when the service reports one.
    pub error: Option<(String, String)>,
}

/// A step of an execution's history, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: i32,
    pub kind: String,
    pub name: Option<String>,
    /// Epoch ms.
    pub at_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("Lambda {operation} failed: {message}")]
pub struct LookupError {
    pub operation: &'static str,
    pub message: String,
}

fn lookup_error<E, R>(
    operation: &'static str,
    e: aws_sdk_lambda::error::SdkError<E, R>,
) -> LookupError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    LookupError {
        operation,
        message: aws_sdk_lambda::error::DisplayErrorContext(e).to_string(),
    }
}

fn millis(t: &aws_sdk_lambda::primitives::DateTime) -> u64 {
    u64::try_from(t.to_millis().unwrap_or(0)).unwrap_or(0)
}

/// The durable executions of one function (the processor).
#[derive(Clone, Debug)]
pub struct Executions {
    client: Client,
    /// The function's name or ARN (qualified or not).
    function: String,
}

impl Executions {
    pub fn new(client: Client, function: impl Into<String>) -> Self {
        Executions {
            client,
            function: function.into(),
        }
    }

    /// The function without its qualifier, and the qualifier. `ListDurableExecutionsByFunction`
    /// lists the executions of one qualifier (`$LATEST` when none is given), so the
    /// executions started through an alias are listed through that alias.
    fn split(&self) -> (&str, Option<&str>) {
        let f = self.function.as_str();
        let (prefix_len, tail) = match f.rsplit_once(":function:") {
            Some((prefix, tail)) => (prefix.len() + ":function:".len(), tail),
            None => (0, f),
        };
        match tail.split_once(':') {
            Some((name, qualifier)) => (&f[..prefix_len + name.len()], Some(qualifier)),
            None => (f, None),
        }
    }

    /// The execution of `attempt` of `id`, if one was ever started.
    pub async fn of(&self, id: &WebhookId, attempt: u32) -> Result<Option<Execution>, LookupError> {
        self.named(&execution_name(id, attempt)).await
    }

    /// The execution named `name`, if any.
    pub async fn named(&self, name: &str) -> Result<Option<Execution>, LookupError> {
        let out = self
            .client
            .list_durable_executions_by_function()
            .function_name(self.split().0)
            .set_qualifier(self.split().1.map(str::to_owned))
            .durable_execution_name(name)
            .send()
            .await
            .map_err(|e| lookup_error("ListDurableExecutionsByFunction", e))?;
        let Some(found) = out
            .durable_executions()
            .iter()
            .find(|e| e.durable_execution_name() == name)
        else {
            return Ok(None);
        };
        let Some(state) = State::of(found.status()) else {
            return Err(LookupError {
                operation: "ListDurableExecutionsByFunction",
                message: format!("unknown execution status {:?}", found.status()),
            });
        };
        let mut execution = Execution {
            arn: found.durable_execution_arn().to_owned(),
            name: name.to_owned(),
            state,
            started_ms: millis(found.start_timestamp()),
            ended_ms: found.end_timestamp().map(millis),
            error: None,
        };
        if matches!(state, State::Failed | State::TimedOut | State::Stopped) {
            execution.error = self.get(&execution.arn).await?.error;
        }
        Ok(Some(execution))
    }

    /// The execution `arn`.
    pub async fn get(&self, arn: &str) -> Result<Execution, LookupError> {
        let out = self
            .client
            .get_durable_execution()
            .durable_execution_arn(arn)
            .send()
            .await
            .map_err(|e| lookup_error("GetDurableExecution", e))?;
        let state = State::of(out.status()).ok_or_else(|| LookupError {
            operation: "GetDurableExecution",
            message: format!("unknown execution status {:?}", out.status()),
        })?;
        Ok(Execution {
            arn: out.durable_execution_arn().to_owned(),
            name: out.durable_execution_name().to_owned(),
            state,
            started_ms: millis(out.start_timestamp()),
            ended_ms: out.end_timestamp().map(millis),
            error: out.error().map(|e| {
                let kind = e.error_type().unwrap_or("Unknown");
                let message = e.error_message().unwrap_or_default();
                // The durable SDKs record the whole source chain, `<type>: <message>`.
                let message = message
                    .strip_prefix(&format!("{kind}: "))
                    .unwrap_or(message);
                (kind.to_owned(), message.to_owned())
            }),
        })
    }

    /// The events of execution `arn`, every page.
    pub async fn history(&self, arn: &str) -> Result<Vec<Event>, LookupError> {
        let mut events = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .get_durable_execution_history()
                .durable_execution_arn(arn)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| lookup_error("GetDurableExecutionHistory", e))?;
            events.extend(out.events().iter().map(|e| {
                Event {
                    id: e.event_id(),
                    kind: e
                        .event_type()
                        .map_or_else(|| "Unknown".to_owned(), |t| t.as_str().to_owned()),
                    name: e.name().map(str::to_owned),
                    at_ms: e.event_timestamp().map(millis),
                }
            }));
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => return Ok(events),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executions(function: &str) -> Executions {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        Executions::new(Client::from_conf(config), function)
    }

    #[test]
    fn executions_are_listed_through_the_functions_qualifier() {
        let arn = "arn:aws:lambda:us-east-1:1:function:webhooks-dev-Processor";
        for (given, expected) in [
            (format!("{arn}:live"), (arn, Some("live"))),
            (arn.to_owned(), (arn, None)),
            (
                "webhooks-dev-Processor:live".to_owned(),
                ("webhooks-dev-Processor", Some("live")),
            ),
            (
                "webhooks-dev-Processor".to_owned(),
                ("webhooks-dev-Processor", None),
            ),
        ] {
            assert_eq!(executions(&given).split(), expected, "{given}");
        }
    }
}
