//! `AWS::SNS::Topic` and `AWS::SNS::Subscription`.

use crate::Expr;
use crate::l1::aws::sns::{subscription, topic};

/// A topic (alarms notify it).
#[derive(Clone, Debug, Default)]
pub struct Topic {
    pub display_name: Option<String>,
    /// The KMS key messages are encrypted with at rest. CloudWatch alarms publish only to
    /// a topic whose key policy lets `cloudwatch.amazonaws.com` use the key: a
    /// customer-managed key, never the AWS managed `aws/sns`.
    pub kms_master_key_id: Option<Expr>,
}

/// An email subscription to a topic (the address confirms it by mail).
#[derive(Clone, Debug)]
pub struct Subscription {
    pub topic_arn: Expr,
    pub protocol: &'static str,
    pub endpoint: String,
}

impl Subscription {
    pub fn email(topic_arn: Expr, address: impl Into<String>) -> Self {
        Subscription {
            topic_arn,
            protocol: "email",
            endpoint: address.into(),
        }
    }
}

impl super::Lower for Topic {
    type L1 = topic::Topic;
    fn lower(&self) -> topic::Topic {
        let mut t = topic::Topic::new();
        t.display_name = self.display_name.clone().map(Expr::lit);
        t.kms_master_key_id = self.kms_master_key_id.clone();
        t
    }
}

impl super::Lower for Subscription {
    type L1 = subscription::Subscription;
    fn lower(&self) -> subscription::Subscription {
        subscription::Subscription::new(self.protocol, self.topic_arn.clone())
            .endpoint(self.endpoint.clone())
    }
}
