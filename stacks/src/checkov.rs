//! Checkov's CloudFormation checks that a resource of this project may skip, and the
//! `Metadata: {checkov: {skip: [{id, comment}]}}` block that says so.
//!
//! A skip is written with [`Stack::skip_check`](crate::Stack::skip_check), which takes one of
//! these checks and the reason it does not apply; synth refuses an empty or multi-line
//! reason and the same check skipped twice on one resource.

use serde::Serialize;

/// A checkov check (`checkov --framework cloudformation`), by what it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// `CKV_AWS_26`: an SNS topic names a KMS key (`KmsMasterKeyId`).
    SnsTopicKms,
    /// `CKV_AWS_27`: an SQS queue names a KMS key (`KmsMasterKeyId`).
    SqsQueueKms,
    /// `CKV_AWS_28`: a DynamoDB table has point-in-time recovery.
    DynamoDbPointInTimeRecovery,
    /// `CKV_AWS_59`: an API method has an authorizer or an API key.
    ApiMethodAuthorization,
    /// `CKV_AWS_111`: IAM write actions are constrained to resources.
    IamWriteConstrained,
    /// `CKV_AWS_115`: a function has reserved concurrency.
    LambdaReservedConcurrency,
    /// `CKV_AWS_116`: a function has a dead-letter queue.
    LambdaDeadLetterQueue,
    /// `CKV_AWS_117`: a function runs inside a VPC.
    LambdaInVpc,
    /// `CKV_AWS_119`: a DynamoDB table is encrypted with a customer-managed key.
    DynamoDbCustomerKey,
    /// `CKV_AWS_120`: an API stage has caching on.
    ApiStageCaching,
    /// `CKV_AWS_149`: a secret is encrypted with a customer-managed key.
    SecretCustomerKey,
    /// `CKV_AWS_158`: a log group is encrypted with a KMS key.
    LogGroupKms,
    /// `CKV_AWS_173`: a function's environment is encrypted with a customer-managed key.
    LambdaEnvironmentKms,
}

impl Check {
    /// Checkov's id of the check, such as `CKV_AWS_117`.
    pub fn id(self) -> &'static str {
        match self {
            Check::SnsTopicKms => "CKV_AWS_26",
            Check::SqsQueueKms => "CKV_AWS_27",
            Check::DynamoDbPointInTimeRecovery => "CKV_AWS_28",
            Check::ApiMethodAuthorization => "CKV_AWS_59",
            Check::IamWriteConstrained => "CKV_AWS_111",
            Check::LambdaReservedConcurrency => "CKV_AWS_115",
            Check::LambdaDeadLetterQueue => "CKV_AWS_116",
            Check::LambdaInVpc => "CKV_AWS_117",
            Check::DynamoDbCustomerKey => "CKV_AWS_119",
            Check::ApiStageCaching => "CKV_AWS_120",
            Check::SecretCustomerKey => "CKV_AWS_149",
            Check::LogGroupKms => "CKV_AWS_158",
            Check::LambdaEnvironmentKms => "CKV_AWS_173",
        }
    }
}

/// One skipped check of a resource, with why it does not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    #[serde(serialize_with = "check_id")]
    pub id: Check,
    pub comment: String,
}

fn check_id<S: serde::Serializer>(check: &Check, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(check.id())
}

/// A resource's `Metadata`: its checkov skips.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Metadata {
    pub(crate) checkov: Skips,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Skips {
    pub(crate) skip: Vec<Skip>,
}
