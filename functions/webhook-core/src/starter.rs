//! Starting the durable processor: an asynchronous `Invoke` of its alias, named after the
//! webhook and its attempt so that the execution name is the idempotency key: attempt 1 is
//! named after the id, a redriven attempt `n` is `<id>-<n>`.

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::{Deserialize, Serialize};

use crate::WebhookId;

/// What the processor receives: the id and the attempt; the payload stays in the status
/// record. Inputs of executions started before attempts existed have no `attempt` (1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorInput {
    pub id: String,
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

impl ProcessorInput {
    pub fn new(id: &WebhookId, attempt: u32) -> Self {
        ProcessorInput {
            id: id.as_str().to_owned(),
            attempt,
        }
    }
}

/// The durable execution name of `attempt` of `id`: the id itself for the first attempt,
/// `<id>-<attempt>` after that (at most 35 + 11 characters of `[a-z0-9_-]`, within the
/// service's 64).
pub fn execution_name(id: &WebhookId, attempt: u32) -> String {
    if attempt <= 1 {
        id.as_str().to_owned()
    } else {
        format!("{id}-{attempt}")
    }
}

/// A started (or already running) execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot start the processor: {0}")]
pub struct StartError(pub String);

/// Starts the durable execution of a webhook. Starting the same webhook twice must not
/// create a second execution.
pub trait Starter: Send + Sync {
    fn start(
        &self,
        id: &WebhookId,
        attempt: u32,
    ) -> impl Future<Output = Result<Started, StartError>> + Send;
}

/// The real starter: `Invoke` with `InvocationType=Event` and `DurableExecutionName=<id>` on
/// the processor's qualified ARN.
#[derive(Clone, Debug)]
pub struct LambdaStarter {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaStarter {
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        LambdaStarter {
            client,
            function: function.into(),
        }
    }
}

impl Starter for LambdaStarter {
    async fn start(&self, id: &WebhookId, attempt: u32) -> Result<Started, StartError> {
        let payload = serde_json::to_vec(&ProcessorInput::new(id, attempt))
            .map_err(|e| StartError(e.to_string()))?;
        let result = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .durable_execution_name(execution_name(id, attempt))
            .payload(Blob::new(payload))
            .send()
            .await;
        match result {
            Ok(out) => Ok(Started {
                execution_arn: out.durable_execution_arn().map(str::to_owned),
            }),
            // Same name, same input: the execution exists, which is what we wanted.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_durable_execution_already_started_exception()) =>
            {
                Ok(Started {
                    execution_arn: None,
                })
            }
            Err(e) => Err(StartError(
                aws_sdk_lambda::error::DisplayErrorContext(&e).to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_name_their_executions() {
        let id = WebhookId::parse("wh_0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(execution_name(&id, 1), id.as_str());
        assert_eq!(execution_name(&id, 2), format!("{id}-2"));
        assert!(execution_name(&id, u32::MAX).len() <= 64);
    }

    #[test]
    fn inputs_without_an_attempt_are_the_first() {
        let old: ProcessorInput = serde_json::from_str(r#"{"id":"wh_x"}"#).unwrap();
        assert_eq!(old.attempt, 1);
        let text = serde_json::to_string(&ProcessorInput {
            id: "wh_x".into(),
            attempt: 3,
        })
        .unwrap();
        assert_eq!(text, r#"{"id":"wh_x","attempt":3}"#);
    }
}
