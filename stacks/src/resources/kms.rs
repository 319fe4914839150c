//! `AWS::KMS::Key`: a customer-managed symmetric key.

use super::iam::PolicyDocument;
use crate::cfn::Json;
use crate::l1::aws::kms::key as l1;

/// A symmetric encryption key with its key policy. Automatic rotation is on.
#[derive(Clone, Debug)]
pub struct Key {
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

impl super::Lower for Key {
    type L1 = l1::Key;
    fn lower(&self) -> l1::Key {
        let mut k = l1::Key::new()
            .enable_key_rotation(self.enable_key_rotation)
            .key_policy(Json::of(&self.key_policy))
            .pending_window_in_days(self.pending_window_in_days);
        k.description = self.description.clone().map(crate::Expr::lit);
        k
    }
}
