//! The webhook signing secret: from Secrets Manager in AWS (read once per container and
//! cached), from `WEBHOOK_SECRET` locally, or none (signatures not checked).

use aws_config::SdkConfig;
use tokio::sync::OnceCell;
use webhook_contract::env;

use crate::config::optional;

#[derive(Debug)]
pub enum SecretSource {
    /// No secret configured: signatures are not checked.
    Off,
    Plain(Vec<u8>),
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        arn: String,
        cached: OnceCell<Vec<u8>>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the webhook secret {arn}: {message}")]
pub struct SecretError {
    pub arn: String,
    pub message: String,
}

impl SecretSource {
    /// `WEBHOOK_SECRET` wins over `WEBHOOK_SECRET_ARN`; neither means off.
    pub fn from_env(sdk: &SdkConfig) -> Self {
        if let Some(plain) = optional(env::WEBHOOK_SECRET) {
            return SecretSource::Plain(plain.into_bytes());
        }
        match optional(env::WEBHOOK_SECRET_ARN) {
            Some(arn) => SecretSource::SecretsManager {
                client: aws_sdk_secretsmanager::Client::new(sdk),
                arn,
                cached: OnceCell::new(),
            },
            None => SecretSource::Off,
        }
    }

    pub fn is_off(&self) -> bool {
        matches!(self, SecretSource::Off)
    }

    /// The secret, or `None` when signatures are off.
    pub async fn get(&self) -> Result<Option<&[u8]>, SecretError> {
        match self {
            SecretSource::Off => Ok(None),
            SecretSource::Plain(s) => Ok(Some(s)),
            SecretSource::SecretsManager {
                client,
                arn,
                cached,
            } => {
                let secret = cached
                    .get_or_try_init(|| async {
                        let out = client
                            .get_secret_value()
                            .secret_id(arn)
                            .send()
                            .await
                            .map_err(|e| SecretError {
                                arn: arn.clone(),
                                message: aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                                    .to_string(),
                            })?;
                        out.secret_string()
                            .map(|s| s.as_bytes().to_vec())
                            .or_else(|| out.secret_binary().map(|b| b.as_ref().to_vec()))
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| SecretError {
                                arn: arn.clone(),
                                message: "the secret has no value".to_owned(),
                            })
                    })
                    .await?;
                Ok(Some(secret))
            }
        }
    }
}
