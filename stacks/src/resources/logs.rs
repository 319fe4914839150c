//! `AWS::Logs::LogGroup`.

use serde::Serialize;

use crate::Expr;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<Expr>,
    /// Days to keep log events; one of [`RETENTION_DAYS`].
    pub retention_in_days: u32,
    /// The KMS key (ARN) the events are encrypted with; CloudWatch Logs' own keys without
    /// one. The key's policy must let CloudWatch Logs use it for this group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Expr>,
}

impl LogGroup {
    pub fn new(name: Expr, retention_in_days: u32) -> Self {
        LogGroup {
            log_group_name: Some(name),
            retention_in_days,
            kms_key_id: None,
        }
    }

    /// Encrypts the events with the KMS key `key_arn`.
    pub fn kms_key(mut self, key_arn: Expr) -> Self {
        self.kms_key_id = Some(key_arn);
        self
    }
}
