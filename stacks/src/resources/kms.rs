//! `AWS::KMS::Key`: a customer-managed symmetric key.

use serde::Serialize;

use super::iam::PolicyDocument;

/// A symmetric encryption key with its key policy. Automatic rotation is on.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enable_key_rotation: bool,
    pub key_policy: PolicyDocument,
    /// Days KMS waits before it destroys a key whose deletion was scheduled (7 to 30).
    pub pending_window_in_days: u32,
}

impl Key {
    /// A key rotated every year, governed by `policy`, kept 30 days after a deletion is
    /// scheduled (the longest KMS allows, to cancel a mistake).
    pub fn rotated(description: impl Into<String>, policy: PolicyDocument) -> Self {
        Key {
            description: Some(description.into()),
            enable_key_rotation: true,
            key_policy: policy,
            pending_window_in_days: 30,
        }
    }
}
