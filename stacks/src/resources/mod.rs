//! The constructs (L2) of the webhook stack: the settings this project means, with defaults
//! and invariants (a table with TTL, a function with its logging), over the generated L1
//! types of [`l1`](crate::l1). Each construct lowers to its L1 resource ([`Lower`]), which
//! renders the template's properties in the schema's order, and synth checks the schema's
//! constraints on it, beside the construct's own (ranges, retention days). Numbers that
//! CloudFormation range-checks are plain Rust integers; strings that may be intrinsics are
//! [`Expr`](crate::Expr).
//!
//! One construct renders itself: [`apigateway::Method`], whose `RequestParameters` values
//! are booleans, which the generated type holds as text (the schema allows both).

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

/// A construct (L2) over a generated resource type (L1): it renders what its L1 resource
/// renders (the schema's property order) and synth checks the schema's constraints on it.
pub trait Lower {
    type L1: crate::cfn::CfnResource;
    /// The generated resource this construct stands for.
    fn lower(&self) -> Self::L1;
}

/// Implements [`ResourceType`] for constructs through their [`Lower`].
macro_rules! lowered {
    ($($ty:ty,)*) => {$(
        impl ResourceType for $ty {
            const TYPE: &'static str =
                <<$ty as Lower>::L1 as crate::cfn::CfnResource>::TYPE_NAME;
            fn properties(&self) -> crate::cfn::Properties<'_> {
                crate::cfn::Properties::Json(crate::cfn::ToJson::to_json(&self.lower()))
            }
            fn violations(&self) -> Vec<crate::cfn::Violation> {
                ResourceType::violations(&self.lower())
            }
        }
    )*};
}

lowered! {
    sqs::Queue,
    sns::Topic,
    sns::Subscription,
    kms::Key,
    secrets::Secret,
    logs::LogGroup,
    events::Rule,
    cloudwatch::Alarm,
    iam::Role,
    iam::Policy,
    iam::ManagedPolicy,
    s3::Bucket,
    s3::BucketPolicy,
    lambda::Function,
    lambda::Version,
    lambda::Alias,
    lambda::Permission,
    dynamodb::Table,
    apigateway::RestApi,
    apigateway::ApiResource,
    apigateway::Deployment,
    apigateway::ApiStage,
    apigateway::ApiKey,
    apigateway::UsagePlan,
    apigateway::UsagePlanKey,
}

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
    apigateway::Method = "AWS::ApiGateway::Method",
}

pub(crate) fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}
