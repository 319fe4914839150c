//! A source's signing keys: from Secrets Manager in AWS (the `AWSCURRENT` version, and the
//! `AWSPREVIOUS` one while the rotation is younger than the grace window; cached, and read
//! again every few minutes), from the environment locally (`WEBHOOK_SECRET_<SOURCE>`, with
//! `_PREVIOUS` and `_ROTATED_AT`), or none (signatures not checked).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use tokio::sync::Mutex;
use webhook_contract::env;

use crate::config::optional;
use crate::schemes::Keys;

/// How long the previous secret is accepted after a rotation, by default (a day).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(86_400);

/// How long keys read from Secrets Manager are used before they are read again.
pub const REFRESH: Duration = Duration::from_secs(300);

/// A signature that matches no cached key makes the keys be read again, at most this often:
/// a rotation is then seen at once, not [`REFRESH`] later, and forged requests cannot make
/// every request read Secrets Manager.
pub const REREAD_AFTER: Duration = Duration::from_secs(30);

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Keys read at some time.
#[derive(Debug)]
pub struct Cached {
    read_at: std::time::Instant,
    keys: Keys,
}

#[derive(Debug)]
pub enum SecretSource {
    /// No secret configured: signatures are not checked.
    Off,
    /// A secret given in the environment, and perhaps the one it replaced.
    Plain {
        current: Vec<u8>,
        /// The previous secret and when it was replaced (epoch seconds).
        previous: Option<(Vec<u8>, u64)>,
        grace: Duration,
    },
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        arn: String,
        grace: Duration,
        /// See [`REREAD_AFTER`].
        reread_after: Duration,
        cached: Mutex<Option<Cached>>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the webhook secret {arn}: {message}")]
pub struct SecretError {
    pub arn: String,
    pub message: String,
}

fn grace_from_env() -> Duration {
    optional(env::ROTATION_GRACE_S)
        .and_then(|g| g.trim().parse().ok())
        .map_or(DEFAULT_GRACE, Duration::from_secs)
}

impl SecretSource {
    /// One plain secret (tests, the local cloud).
    pub fn plain(secret: impl Into<Vec<u8>>) -> Self {
        SecretSource::Plain {
            current: secret.into(),
            previous: None,
            grace: DEFAULT_GRACE,
        }
    }

    /// The keys of the secret in environment variable `key` (with `<key>_PREVIOUS` and
    /// `<key>_ROTATED_AT`), else of Secrets Manager secret `arn`, else off.
    pub fn from_env_or(sdk: &SdkConfig, key: &str, arn: Option<&str>) -> Self {
        let grace = grace_from_env();
        if let Some(plain) = optional(key) {
            let previous = optional(&format!("{key}_PREVIOUS")).map(|p| {
                let at = optional(&format!("{key}_ROTATED_AT"))
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0);
                (p.into_bytes(), at)
            });
            return SecretSource::Plain {
                current: plain.into_bytes(),
                previous,
                grace,
            };
        }
        match arn {
            Some(arn) => {
                SecretSource::secrets_manager(aws_sdk_secretsmanager::Client::new(sdk), arn, grace)
            }
            None => SecretSource::Off,
        }
    }

    /// Secret `arn` of Secrets Manager, its previous version accepted for `grace` after a
    /// rotation.
    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        arn: &str,
        grace: Duration,
    ) -> Self {
        SecretSource::SecretsManager {
            client,
            arn: arn.to_owned(),
            grace,
            reread_after: REREAD_AFTER,
            cached: Mutex::new(None),
        }
    }

    /// The same source, re-reading after a mismatch at most every `every` (tests).
    pub fn reread_after(mut self, every: Duration) -> Self {
        if let SecretSource::SecretsManager { reread_after, .. } = &mut self {
            *reread_after = every;
        }
        self
    }

    pub fn is_off(&self) -> bool {
        matches!(self, SecretSource::Off)
    }

    /// Keys read again because a signature matched none of the cached ones (a rotation the
    /// cache has not seen yet): `Some` only when they were read again and differ.
    pub async fn reread(&self) -> Result<Option<Keys>, SecretError> {
        let SecretSource::SecretsManager {
            client,
            arn,
            grace,
            reread_after,
            cached,
        } = self
        else {
            return Ok(None);
        };
        let mut cached = cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.read_at.elapsed() < *reread_after)
        {
            return Ok(None);
        }
        let keys = read(client, arn, *grace).await?;
        let changed = cached.as_ref().is_none_or(|c| c.keys != keys);
        *cached = Some(Cached {
            read_at: std::time::Instant::now(),
            keys: keys.clone(),
        });
        Ok(changed.then_some(keys))
    }

    /// The keys to verify with now, or `None` when signatures are off.
    pub async fn keys(&self) -> Result<Option<Keys>, SecretError> {
        match self {
            SecretSource::Off => Ok(None),
            SecretSource::Plain {
                current,
                previous,
                grace,
            } => Ok(Some(Keys {
                current: current.clone(),
                previous: previous
                    .as_ref()
                    .filter(|(_, at)| now_s() < at.saturating_add(grace.as_secs()))
                    .map(|(p, _)| p.clone()),
            })),
            SecretSource::SecretsManager {
                client,
                arn,
                grace,
                cached,
                ..
            } => {
                let mut cached = cached.lock().await;
                if let Some(c) = cached.as_ref().filter(|c| c.read_at.elapsed() < REFRESH) {
                    return Ok(Some(c.keys.clone()));
                }
                let keys = read(client, arn, *grace).await?;
                *cached = Some(Cached {
                    read_at: std::time::Instant::now(),
                    keys: keys.clone(),
                });
                Ok(Some(keys))
            }
        }
    }
}

/// One version stage of secret `arn`: its value and when that version was created.
async fn version(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    stage: &str,
) -> Result<Option<(Vec<u8>, Option<i64>)>, SecretError> {
    let result = client
        .get_secret_value()
        .secret_id(arn)
        .version_stage(stage)
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e)
            if stage != "AWSCURRENT"
                && e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(SecretError {
                arn: arn.to_owned(),
                message: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            });
        }
    };
    let value = out
        .secret_string()
        .map(|s| s.as_bytes().to_vec())
        .or_else(|| out.secret_binary().map(|b| b.as_ref().to_vec()))
        .filter(|s| !s.is_empty());
    Ok(value.map(|v| (v, out.created_date().map(|d| d.secs()))))
}

/// The current secret, and the previous one while the current is younger than `grace`.
async fn read(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    grace: Duration,
) -> Result<Keys, SecretError> {
    let (current, created) =
        version(client, arn, "AWSCURRENT")
            .await?
            .ok_or_else(|| SecretError {
                arn: arn.to_owned(),
                message: "the secret has no value".to_owned(),
            })?;
    let rotated_recently = created.is_some_and(|c| {
        i64::try_from(now_s()).unwrap_or(i64::MAX) - c
            < i64::try_from(grace.as_secs()).unwrap_or(i64::MAX)
    });
    let previous = if rotated_recently {
        version(client, arn, "AWSPREVIOUS").await?.map(|(p, _)| p)
    } else {
        None
    };
    Ok(Keys { current, previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_previous_secret_counts_only_inside_the_grace_window() {
        let at = |ago: u64| SecretSource::Plain {
            current: b"new".to_vec(),
            previous: Some((b"old".to_vec(), now_s() - ago)),
            grace: Duration::from_secs(3600),
        };
        let inside = at(60).keys().await.unwrap().unwrap();
        assert_eq!(inside.previous.as_deref(), Some(&b"old"[..]));
        let after = at(3601).keys().await.unwrap().unwrap();
        assert_eq!(after.previous, None);
        assert_eq!(after.current, b"new");
        assert!(SecretSource::Off.keys().await.unwrap().is_none());
    }
}
