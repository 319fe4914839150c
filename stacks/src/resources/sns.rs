//! `AWS::SNS::Topic` and `AWS::SNS::Subscription`.

use serde::Serialize;

use crate::Expr;

/// A topic (alarms notify it).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The KMS key messages are encrypted with at rest. CloudWatch alarms publish only to
    /// a topic whose key policy lets `cloudwatch.amazonaws.com` use the key: a
    /// customer-managed key, never the AWS managed `aws/sns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Expr>,
}

/// An email subscription to a topic (the address confirms it by mail).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
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
