//! `AWS::S3::Bucket` and `AWS::S3::BucketPolicy`: the deployer's asset bucket.

use super::iam::PolicyDocument;
use crate::Expr;
use crate::cfn::Json;
use crate::l1::aws::s3::{bucket as l1, bucket_policy};

/// An S3 bucket with the settings an asset bucket needs; every one of them is on by
/// [`Bucket::private_versioned`]: encrypted at rest (SSE-S3), versioned, every kind of
/// public access blocked, ACLs disabled.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Old object versions expire after this many days.
    pub noncurrent_expiration_days: Option<u32>,
}

impl Bucket {
    /// Encrypted at rest (SSE-S3), versioned, with every kind of public access blocked and
    /// ACLs disabled (the bucket owner owns every object).
    pub fn private_versioned() -> Self {
        Bucket {
            noncurrent_expiration_days: None,
        }
    }

    /// Old object versions (replaced or deleted assets) expire after `days`; unfinished
    /// multipart uploads are aborted after a day.
    pub fn expire_noncurrent_after(mut self, days: u32) -> Self {
        self.noncurrent_expiration_days = Some(days);
        self
    }
}

impl super::Lower for Bucket {
    type L1 = l1::Bucket;
    fn lower(&self) -> l1::Bucket {
        let sse = l1::ServerSideEncryptionRule::new().server_side_encryption_by_default(
            l1::ServerSideEncryptionByDefault::new(l1::SseAlgorithm::AES256),
        );
        let mut b = l1::Bucket::new()
            .bucket_encryption(l1::BucketEncryption::new([sse]))
            .versioning_configuration(l1::VersioningConfiguration::new(l1::Status::Enabled))
            .public_access_block_configuration(
                l1::PublicAccessBlockConfiguration::new()
                    .block_public_acls(true)
                    .block_public_policy(true)
                    .ignore_public_acls(true)
                    .restrict_public_buckets(true),
            )
            .ownership_controls(l1::OwnershipControls::new([
                l1::OwnershipControlsRule::new()
                    .object_ownership(l1::ObjectOwnership::BucketOwnerEnforced),
            ]));
        if let Some(days) = self.noncurrent_expiration_days {
            let rule = l1::Rule::new(l1::RuleStatus::Enabled)
                .id("expire-old-assets")
                .noncurrent_version_expiration(l1::NoncurrentVersionExpiration::new(days))
                .abort_incomplete_multipart_upload(l1::AbortIncompleteMultipartUpload::new(1));
            b = b.lifecycle_configuration(l1::LifecycleConfiguration::new([rule]));
        }
        b
    }
}

/// A bucket's resource policy.
#[derive(Clone, Debug)]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}

impl super::Lower for BucketPolicy {
    type L1 = bucket_policy::BucketPolicy;
    fn lower(&self) -> bucket_policy::BucketPolicy {
        bucket_policy::BucketPolicy::new(self.bucket.clone(), Json::of(&self.policy_document))
    }
}
