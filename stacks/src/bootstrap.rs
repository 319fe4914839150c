//! The per account and region asset bucket of the deployer, as a stack of its own
//! (`deployer bootstrap`): encrypted, versioned, private, TLS only, old versions expire.
//! Also the role API Gateway writes its logs with: `deployer bootstrap` makes it the
//! account's CloudWatch Logs role when none is set (API Gateway's `UpdateAccount`, not
//! `AWS::ApiGateway::Account`, which would replace a role someone else set).

use crate::resources::iam::{Effect, PolicyDocument, Principal, Role, Statement};
use crate::resources::s3::{Bucket, BucketPolicy};
use crate::stack::RemovalPolicy;
use crate::{Expr, Pseudo, Stack, SynthError, Template};

/// The name of the bootstrap stack.
pub const STACK_NAME: &str = "deployer-bootstrap";
/// The output holding the bucket's name.
pub const BUCKET_OUTPUT: &str = "AssetBucketName";
/// Days an asset replaced by a newer upload (a non-current version) is kept.
pub const NONCURRENT_DAYS: u32 = 30;
/// The output holding the ARN of the role API Gateway pushes logs to CloudWatch with.
pub const API_GATEWAY_ROLE_OUTPUT: &str = "ApiGatewayCloudWatchRoleArn";
/// The AWS managed policy of that role (the `arn:<partition>:iam::aws:policy/` part left out).
pub const API_GATEWAY_LOGS_POLICY: &str = "service-role/AmazonAPIGatewayPushToCloudWatchLogs";

pub fn stack() -> Stack {
    let mut s = Stack::new(
        STACK_NAME,
        "Asset bucket of the deployer: function packages and deployed templates",
    );
    let bucket = s.add(
        "AssetBucket",
        Bucket::private_versioned().expire_noncurrent_after(NONCURRENT_DAYS),
    );
    // The packages of running stacks live here: deleting this stack must not delete them.
    s.removal_policy(
        &bucket,
        Some(RemovalPolicy::Retain),
        Some(RemovalPolicy::Retain),
    );
    let mut tls_only = PolicyDocument::new(vec![Statement {
        sid: Some("DenyInsecureTransport".to_owned()),
        effect: Effect::Deny,
        principal: Some(Principal::Any),
        action: vec!["s3:*".to_owned()],
        resource: vec![bucket.arn(), Expr::sub([bucket.arn(), Expr::lit("/*")])],
        condition: None,
    }]);
    tls_only.statement[0].condition = Some(
        [(
            "Bool".to_owned(),
            [("aws:SecureTransport".to_owned(), Expr::lit("false"))].into(),
        )]
        .into(),
    );
    s.add(
        "AssetBucketPolicy",
        BucketPolicy {
            bucket: bucket.name(),
            policy_document: tls_only,
        },
    );
    s.output(
        BUCKET_OUTPUT,
        "Bucket of function packages and templates",
        bucket.name(),
    );
    api_gateway_role(&mut s);
    s
}

/// API Gateway's account-wide CloudWatch Logs role: without one set, AWS refuses a stage
/// with access logging. Retained: the account setting may still name it after this stack
/// is gone.
fn api_gateway_role(s: &mut Stack) {
    let mut role = Role::for_service("apigateway.amazonaws.com")
        .description("API Gateway pushes access and execution logs to CloudWatch Logs");
    role.managed_policy_arns = vec![Expr::sub([
        Expr::lit("arn:"),
        Expr::pseudo(Pseudo::Partition),
        Expr::lit(format!(":iam::aws:policy/{API_GATEWAY_LOGS_POLICY}")),
    ])];
    let role = s.add("ApiGatewayCloudWatchRole", role);
    s.removal_policy(
        &role,
        Some(RemovalPolicy::Retain),
        Some(RemovalPolicy::Retain),
    );
    s.output(
        API_GATEWAY_ROLE_OUTPUT,
        "Role API Gateway writes logs to CloudWatch with (the account setting, when none was set)",
        role.arn(),
    );
}

pub fn synth() -> Result<Template, SynthError> {
    stack().synth()
}
