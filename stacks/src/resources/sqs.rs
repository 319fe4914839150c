//! `AWS::SQS::Queue`.

use crate::Expr;
use crate::l1::aws::sqs::queue as l1;

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

impl super::Lower for Queue {
    type L1 = l1::Queue;
    fn lower(&self) -> l1::Queue {
        let q = l1::Queue::new().message_retention_period(self.message_retention_period);
        match &self.encryption {
            QueueEncryption::SqsManaged => q.sqs_managed_sse_enabled(true),
            QueueEncryption::Kms(key) => q.kms_master_key_id(key.clone()),
        }
    }
}
