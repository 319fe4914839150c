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

use serde::Serialize;

/// A resource type that can be added to a [`Stack`](crate::Stack).
pub trait ResourceType: Into<Resource> + Sized {
    /// The CloudFormation type name, such as `AWS::DynamoDB::Table`.
    const TYPE: &'static str;
    #[doc(hidden)]
    fn downcast_mut(r: &mut Resource) -> Option<&mut Self>;
    #[doc(hidden)]
    fn downcast_ref(r: &Resource) -> Option<&Self>;
}

macro_rules! resources {
    ($($variant:ident($ty:ty) = $name:literal,)*) => {
        /// Any resource of the model.
        #[derive(Clone, Debug, Serialize)]
        #[serde(untagged)]
        pub enum Resource {
            $($variant($ty),)*
            /// A resource of the open set: any [`CfnResource`](crate::cfn::CfnResource),
            /// such as the generated types of [`l1`](crate::l1).
            Open(crate::cfn::AnyResource),
        }

        impl Resource {
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Resource::$variant(_) => $name,)*
                    Resource::Open(r) => r.type_name(),
                }
            }
        }

        $(
            impl From<$ty> for Resource {
                fn from(r: $ty) -> Self {
                    Resource::$variant(r)
                }
            }

            impl ResourceType for $ty {
                const TYPE: &'static str = $name;
                fn downcast_mut(r: &mut Resource) -> Option<&mut Self> {
                    match r {
                        Resource::$variant(inner) => Some(inner),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
                fn downcast_ref(r: &Resource) -> Option<&Self> {
                    match r {
                        Resource::$variant(inner) => Some(inner),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

resources! {
    Role(iam::Role) = "AWS::IAM::Role",
    Policy(iam::Policy) = "AWS::IAM::Policy",
    ManagedPolicy(iam::ManagedPolicy) = "AWS::IAM::ManagedPolicy",
    Function(lambda::Function) = "AWS::Lambda::Function",
    Version(lambda::Version) = "AWS::Lambda::Version",
    Alias(lambda::Alias) = "AWS::Lambda::Alias",
    Permission(lambda::Permission) = "AWS::Lambda::Permission",
    LogGroup(logs::LogGroup) = "AWS::Logs::LogGroup",
    Table(dynamodb::Table) = "AWS::DynamoDB::Table",
    Secret(secrets::Secret) = "AWS::SecretsManager::Secret",
    RestApi(apigateway::RestApi) = "AWS::ApiGateway::RestApi",
    ApiResource(apigateway::ApiResource) = "AWS::ApiGateway::Resource",
    Method(apigateway::Method) = "AWS::ApiGateway::Method",
    Deployment(apigateway::Deployment) = "AWS::ApiGateway::Deployment",
    ApiStage(apigateway::ApiStage) = "AWS::ApiGateway::Stage",
    ApiKey(apigateway::ApiKey) = "AWS::ApiGateway::ApiKey",
    UsagePlan(apigateway::UsagePlan) = "AWS::ApiGateway::UsagePlan",
    UsagePlanKey(apigateway::UsagePlanKey) = "AWS::ApiGateway::UsagePlanKey",
    Bucket(s3::Bucket) = "AWS::S3::Bucket",
    BucketPolicy(s3::BucketPolicy) = "AWS::S3::BucketPolicy",
    Rule(events::Rule) = "AWS::Events::Rule",
    Alarm(cloudwatch::Alarm) = "AWS::CloudWatch::Alarm",
    Topic(sns::Topic) = "AWS::SNS::Topic",
    Subscription(sns::Subscription) = "AWS::SNS::Subscription",
    Queue(sqs::Queue) = "AWS::SQS::Queue",
    Key(kms::Key) = "AWS::KMS::Key",
}

pub(crate) fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}
