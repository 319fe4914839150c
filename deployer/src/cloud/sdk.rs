//! The one place the AWS SDK's configuration gets its timeouts. Every client the deployer
//! makes (`deploy` and the other stack verbs, `smoke`, `webhooks`, `executions`, against
//! AWS or a local cloud) is built from [`standard_chain`] or with [`short_calls`] /
//! [`transfers`], so no AWS call can wait forever: a connection within [`CONNECT`], an
//! answer within an attempt timeout, and the call with its retries within an operation
//! timeout.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

/// The longest a connection may take to open.
pub const CONNECT: Duration = Duration::from_secs(10);
/// The longest one attempt of a call that moves no data may take, answer included.
pub const ATTEMPT: Duration = Duration::from_secs(30);
/// The longest a call that moves no data may take, its retries included.
pub const OPERATION: Duration = Duration::from_secs(60);

/// The longest a transfer may go without a byte read.
pub const TRANSFER_READ: Duration = Duration::from_secs(60);
/// The longest one attempt of a transfer (a package up or down) may take.
pub const TRANSFER_ATTEMPT: Duration = Duration::from_secs(15 * 60);
/// The longest a transfer may take, its retries included.
pub const TRANSFER_OPERATION: Duration = Duration::from_secs(30 * 60);

/// Timeouts of calls that move no data (CloudFormation, Secrets Manager, API Gateway,
/// Lambda, DynamoDB): a connection in 10 s, an answer in 30 s, 60 s with the retries.
pub fn short_calls() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .operation_attempt_timeout(ATTEMPT)
        .operation_timeout(OPERATION)
        .build()
}

/// Timeouts of calls that move packages (S3): a connection in 10 s, at most 60 s without a
/// byte read, and generous totals (a large package on a slow link takes its time, but not
/// forever).
pub fn transfers() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .read_timeout(TRANSFER_READ)
        .operation_attempt_timeout(TRANSFER_ATTEMPT)
        .operation_timeout(TRANSFER_OPERATION)
        .build()
}

/// The standard AWS chain (profiles, environment, SSO, web identity; `AWS_ENDPOINT_URL`),
/// with [`short_calls`] for every client made from it.
pub async fn standard_chain() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(short_calls())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_bounds_a_call_and_each_attempt() {
        for config in [short_calls(), transfers()] {
            assert!(config.connect_timeout().is_some(), "{config:?}");
            assert!(config.operation_timeout().is_some(), "{config:?}");
            assert!(config.operation_attempt_timeout().is_some(), "{config:?}");
        }
        assert_eq!(short_calls().operation_timeout(), Some(OPERATION));
        assert_eq!(transfers().read_timeout(), Some(TRANSFER_READ));
    }
}
