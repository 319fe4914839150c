//! Typed CloudFormation resources: the properties this project needs, not string maps.
//!
//! Each resource serializes to its `Properties` object. Numbers that CloudFormation
//! range-checks are plain Rust integers so that synth can check them; strings that may
//! be intrinsics are [`Expr`](crate::Expr).

pub mod apigateway;
pub mod cloudwatch;
pub mod dynamodb;
pub mod events;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod secrets;
pub mod sns;
pub mod sqs;

pub use crate::cfn::ResourceType;

/// The constructs of this module are resource types like any other (the open set): each
/// renders its own `Serialize` properties.
macro_rules! constructs {
    ($($ty:ty = $name:literal,)*) => {$(
        impl ResourceType for $ty {
            const TYPE: &'static str = $name;
            fn properties(&self) -> crate::cfn::Properties<'_> {
                crate::cfn::Properties::Serde(self)
            }
        }
    )*};
}

constructs! {
    iam::Role = "AWS::IAM::Role",
    iam::Policy = "AWS::IAM::Policy",
    iam::ManagedPolicy = "AWS::IAM::ManagedPolicy",
    lambda::Function = "AWS::Lambda::Function",
    lambda::Version = "AWS::Lambda::Version",
    lambda::Alias = "AWS::Lambda::Alias",
    lambda::Permission = "AWS::Lambda::Permission",
    logs::LogGroup = "AWS::Logs::LogGroup",
    dynamodb::Table = "AWS::DynamoDB::Table",
    secrets::Secret = "AWS::SecretsManager::Secret",
    apigateway::RestApi = "AWS::ApiGateway::RestApi",
    apigateway::ApiResource = "AWS::ApiGateway::Resource",
    apigateway::Method = "AWS::ApiGateway::Method",
    apigateway::Deployment = "AWS::ApiGateway::Deployment",
    apigateway::ApiStage = "AWS::ApiGateway::Stage",
    apigateway::ApiKey = "AWS::ApiGateway::ApiKey",
    apigateway::UsagePlan = "AWS::ApiGateway::UsagePlan",
    apigateway::UsagePlanKey = "AWS::ApiGateway::UsagePlanKey",
    s3::Bucket = "AWS::S3::Bucket",
    s3::BucketPolicy = "AWS::S3::BucketPolicy",
    events::Rule = "AWS::Events::Rule",
    cloudwatch::Alarm = "AWS::CloudWatch::Alarm",
    sns::Topic = "AWS::SNS::Topic",
    sns::Subscription = "AWS::SNS::Subscription",
    sqs::Queue = "AWS::SQS::Queue",
    kms::Key = "AWS::KMS::Key",
}

pub(crate) fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}
