//! The per account and region asset bucket of the deployer, as a stack of its own
//! (`deployer bootstrap`): encrypted, versioned, private, TLS only, old versions expire.

use crate::resources::iam::{Effect, PolicyDocument, Principal, Statement};
use crate::resources::s3::{Bucket, BucketPolicy};
use crate::stack::RemovalPolicy;
use crate::{Expr, Stack, SynthError, Template};

/// The name of the bootstrap stack.
pub const STACK_NAME: &str = "deployer-bootstrap";
/// The output holding the bucket's name.
pub const BUCKET_OUTPUT: &str = "AssetBucketName";
/// Days an asset replaced by a newer upload (a non-current version) is kept.
pub const NONCURRENT_DAYS: u32 = 30;

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
            [("aws:SecureTransport".to_owned(), "false".to_owned())].into(),
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
    s
}

pub fn synth() -> Result<Template, SynthError> {
    stack().synth()
}
