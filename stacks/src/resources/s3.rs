//! `AWS::S3::Bucket` and `AWS::S3::BucketPolicy`: the deployer's asset bucket.

use serde::Serialize;

use super::iam::PolicyDocument;
use crate::Expr;

/// An S3 bucket with the settings an asset bucket needs; every one of them is on by
/// [`Bucket::private_versioned`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_encryption: serde_json::Value,
    pub versioning_configuration: serde_json::Value,
    pub public_access_block_configuration: serde_json::Value,
    pub ownership_controls: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_configuration: Option<serde_json::Value>,
}

impl Bucket {
    /// Encrypted at rest (SSE-S3), versioned, with every kind of public access blocked and
    /// ACLs disabled (the bucket owner owns every object).
    pub fn private_versioned() -> Self {
        Bucket {
            bucket_encryption: serde_json::json!({
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            }),
            versioning_configuration: serde_json::json!({"Status": "Enabled"}),
            public_access_block_configuration: serde_json::json!({
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            }),
            ownership_controls: serde_json::json!({
                "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
            }),
            lifecycle_configuration: None,
        }
    }

    /// Old object versions (replaced or deleted assets) expire after `days`; unfinished
    /// multipart uploads are aborted after a day.
    pub fn expire_noncurrent_after(mut self, days: u32) -> Self {
        self.lifecycle_configuration = Some(serde_json::json!({
            "Rules": [{
                "Id": "expire-old-assets",
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }]
        }));
        self
    }
}

/// A bucket's resource policy.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}
