//! `AWS::Logs::LogGroup`.

use crate::Expr;
use crate::l1::aws::logs::log_group as l1;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Clone, Debug)]
pub struct LogGroup {
    pub log_group_name: Option<Expr>,
    /// Days to keep log events; one of [`RETENTION_DAYS`].
    pub retention_in_days: u32,
    /// The KMS key (ARN) the events are encrypted with; CloudWatch Logs' own keys without
    /// one. The key's policy must let CloudWatch Logs use it for this group.
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

impl super::Lower for LogGroup {
    type L1 = l1::LogGroup;
    fn lower(&self) -> l1::LogGroup {
        let mut g = l1::LogGroup::new().retention_in_days(self.retention_in_days);
        g.log_group_name = self.log_group_name.clone();
        g.kms_key_id = self.kms_key_id.clone();
        g
    }
}
