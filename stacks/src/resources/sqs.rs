//! `AWS::SQS::Queue`.

use serde::Serialize;

/// A queue, encrypted with SQS-managed keys.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    /// Seconds a message is kept (60 to 1,209,600).
    pub message_retention_period: u32,
    pub sqs_managed_sse_enabled: bool,
}

impl Queue {
    /// A dead-letter queue: messages kept the longest SQS allows, 14 days.
    pub fn dead_letters() -> Self {
        Queue {
            message_retention_period: 14 * 86_400,
            sqs_managed_sse_enabled: true,
        }
    }
}
