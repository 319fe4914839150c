//! Configuration from the environment the stack (or the local cloud) sets.

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
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

/// AWS configuration from the standard chain; endpoints from `AWS_ENDPOINT_URL_<SERVICE>`.
pub async fn aws() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The status store named by `TABLE_NAME`, with `TTL_DAYS`.
pub fn store(sdk: &SdkConfig) -> Result<Store, ConfigError> {
    Ok(Store::new(
        aws_sdk_dynamodb::Client::new(sdk),
        required(env::TABLE_NAME)?,
        ttl_days()?,
    ))
}
