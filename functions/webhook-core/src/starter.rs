//! Starting the durable processor: an asynchronous `Invoke` of its alias, named after the
//! webhook so that the execution name is the idempotency key.

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde::{Deserialize, Serialize};

use crate::WebhookId;

/// What the processor receives: only the id; the payload stays in the status record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorInput {
    pub id: String,
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
    fn start(&self, id: &WebhookId) -> impl Future<Output = Result<Started, StartError>> + Send;
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
    async fn start(&self, id: &WebhookId) -> Result<Started, StartError> {
        let payload = serde_json::to_vec(&ProcessorInput {
            id: id.as_str().to_owned(),
        })
        .map_err(|e| StartError(e.to_string()))?;
        let result = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .durable_execution_name(id.as_str())
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
