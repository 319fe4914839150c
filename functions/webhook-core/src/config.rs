//! Configuration from the environment the stack (or the local cloud) sets.

use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use webhook_contract::{DEFAULT_TTL_DAYS, env};

use crate::Store;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {key} is {value:?}: {expected}")]
    Invalid {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The value of `key`, which must be set and not empty.
pub fn required(key: &'static str) -> Result<String, ConfigError> {
    match std::env::var(key) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(key)),
    }
}

/// The value of `key` when it is set and not empty.
pub fn optional(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// Days until a record expires: `TTL_DAYS`, default [`DEFAULT_TTL_DAYS`].
pub fn ttl_days() -> Result<u32, ConfigError> {
    match optional(env::TTL_DAYS) {
        None => Ok(DEFAULT_TTL_DAYS),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or(ConfigError::Invalid {
                key: env::TTL_DAYS,
                value: v,
                expected: "a whole number of days from 1 to 3650",
            }),
    }
}

/// How long one attempt of a function's AWS call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a function's AWS call may take with its retries: under the API functions'
/// 10 s timeout, so that a stuck call ends in an answer rather than in Lambda's kill.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(9);
/// How long connecting to an AWS endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// AWS configuration from the standard chain; endpoints from `AWS_ENDPOINT_URL_<SERVICE>`;
/// every call bounded ([`ATTEMPT_TIMEOUT`], [`CALL_TIMEOUT`], [`CONNECT_TIMEOUT`]).
pub async fn aws() -> SdkConfig {
    loader().load().await
}

fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts())
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build()
}

/// The status store named by `TABLE_NAME`, with `TTL_DAYS`.
pub fn store(sdk: &SdkConfig) -> Result<Store, ConfigError> {
    Ok(Store::new(
        aws_sdk_dynamodb::Client::new(sdk),
        required(env::TABLE_NAME)?,
        ttl_days()?,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Against a real socket that accepts and never answers (no AWS peer stalls on
    /// request): the call ends with a timeout instead of waiting for Lambda's kill.
    #[tokio::test]
    async fn an_aws_call_to_an_endpoint_that_never_answers_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let sdk = loader()
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "test",
            ))
            .endpoint_url(format!("http://{addr}"))
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let started = Instant::now();
        let call = client.describe_table().table_name("t").send();
        let outcome = tokio::time::timeout(CALL_TIMEOUT * 2, call)
            .await
            .expect("the call ends by itself");
        let took = started.elapsed();
        let err = outcome.expect_err("nothing answered");
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)),
            "{err:?}"
        );
        assert!(
            (ATTEMPT_TIMEOUT..CALL_TIMEOUT + Duration::from_secs(1)).contains(&took),
            "{took:?}"
        );
    }
}
