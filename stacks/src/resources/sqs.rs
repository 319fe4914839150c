//! `AWS::SQS::Queue`.

use serde::{Serialize, Serializer};

use crate::Expr;

/// A queue, encrypted at rest with SQS-managed keys or with a KMS key.
#[derive(Clone, Debug)]
pub struct Queue {
    /// Seconds a message is kept (60 to 1,209,600).
    pub message_retention_period: u32,
    pub encryption: QueueEncryption,
}

/// How a queue encrypts its messages at rest.
#[derive(Clone, Debug, PartialEq)]
pub enum QueueEncryption {
    /// SSE-SQS: keys SQS owns and manages.
    SqsManaged,
    /// SSE-KMS with this key (ARN): senders need `kms:GenerateDataKey` and `kms:Decrypt`
    /// on it, receivers `kms:Decrypt`.
    Kms(Expr),
}

impl Queue {
    /// A dead-letter queue: messages kept the longest SQS allows, 14 days; SSE-SQS.
    pub fn dead_letters() -> Self {
        Queue {
            message_retention_period: 14 * 86_400,
            encryption: QueueEncryption::SqsManaged,
        }
    }

    pub fn encryption(mut self, e: QueueEncryption) -> Self {
        self.encryption = e;
        self
    }
}

impl Serialize for Queue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            kms_master_key_id: Option<&'a Expr>,
            message_retention_period: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            sqs_managed_sse_enabled: Option<bool>,
        }
        let (kms_master_key_id, sqs_managed_sse_enabled) = match &self.encryption {
            QueueEncryption::SqsManaged => (None, Some(true)),
            QueueEncryption::Kms(key) => (Some(key), None),
        };
        Props {
            kms_master_key_id,
            message_retention_period: self.message_retention_period,
            sqs_managed_sse_enabled,
        }
        .serialize(s)
    }
}
