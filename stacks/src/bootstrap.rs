//! The per account and region asset bucket of the deployer, as a stack of its own
//! (`deployer bootstrap`): encrypted, versioned, private, TLS only, old versions expire, and
//! what is stored under a content hash (packages, assemblies) is never overwritten.
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
/// Where function packages are stored, each as `<prefix><sha256 hex>.zip`.
pub const PACKAGE_PREFIX: &str = "assets/";
/// Where assemblies (a build's templates and parameters) are stored, each as
/// `<prefix><sha256 hex>.json`.
pub const ASSEMBLY_PREFIX: &str = "assemblies/";
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
    tls_only.statement.push(no_overwrites(&bucket.arn()));
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

/// Objects under [`PACKAGE_PREFIX`] and [`ASSEMBLY_PREFIX`] are named by their SHA-256: a
/// write there must be conditional on the key not existing yet (`If-None-Match: *`, S3's
/// condition key `s3:if-none-match`), so what is stored is never replaced. Multipart
/// uploads and copies into those prefixes are refused too (their first request carries no
/// such header); the deployer uses neither. Build records (`deployments/`) are rewritten on
/// every deployment and stay writable.
pub fn no_overwrites(bucket_arn: &Expr) -> Statement {
    Statement {
        sid: Some("DenyOverwritingContentAddressedObjects".to_owned()),
        effect: Effect::Deny,
        principal: Some(Principal::Any),
        action: vec!["s3:PutObject".to_owned()],
        resource: [PACKAGE_PREFIX, ASSEMBLY_PREFIX]
            .iter()
            .map(|prefix| Expr::sub([bucket_arn.clone(), Expr::lit(format!("/{prefix}*"))]))
            .collect(),
        condition: Some(
            [(
                "Null".to_owned(),
                [("s3:if-none-match".to_owned(), Expr::lit("true"))].into(),
            )]
            .into(),
        ),
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The bucket policy denies unconditional writes of packages and assemblies, and only
    /// those: the TLS rule stays, and build records stay writable.
    #[test]
    fn packages_and_assemblies_are_written_only_if_absent() {
        let t = synth().unwrap().to_value().unwrap();
        let statements =
            &t["Resources"]["AssetBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(statements[0]["Sid"], "DenyInsecureTransport");
        let deny = &statements[1];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Principal"], "*");
        assert_eq!(deny["Action"], serde_json::json!(["s3:PutObject"]));
        assert_eq!(
            deny["Condition"],
            serde_json::json!({"Null": {"s3:if-none-match": "true"}})
        );
        let resources: Vec<String> = deny["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Fn::Sub"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            resources,
            [
                "${AssetBucket.Arn}/assets/*",
                "${AssetBucket.Arn}/assemblies/*"
            ]
        );
        assert_eq!(statements.as_array().unwrap().len(), 2);
    }
}
