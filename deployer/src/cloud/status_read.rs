//! Reading a webhook's status through a deployed stage's API, under the stage's
//! `status-auth` (its `StatusAuth` output): nothing, the stage's API key (`x-api-key`, its
//! value read from API Gateway), or a SigV4 signature with the caller's credentials.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::Context;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::Cloud;

/// How `GET /webhooks/{id}` is authorized.
#[derive(Debug)]
pub enum StatusReader {
    Open,
    ApiKey(String),
    Iam,
}

impl StatusReader {
    /// The reader of a stage, from its outputs (no `StatusAuth`: a stack from before the
    /// setting, open).
    pub async fn of(cloud: &Cloud, outputs: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        match outputs.get("StatusAuth").map(String::as_str) {
            None | Some("none") => Ok(StatusReader::Open),
            Some("iam") => Ok(StatusReader::Iam),
            Some("api-key") => {
                let id = outputs.get("StatusApiKeyId").context(
                    "the stack's status route wants an API key but it has no StatusApiKeyId output",
                )?;
                let key = cloud
                    .apigateway
                    .get_api_key()
                    .api_key(id)
                    .include_value(true)
                    .send()
                    .await
                    .map_err(super::sdk_error)
                    .with_context(|| format!("cannot read the value of API key {id}"))?;
                let value = key
                    .value
                    .context("API Gateway returned the key without its value")?;
                Ok(StatusReader::ApiKey(value))
            }
            Some(other) => anyhow::bail!(
                "the stack's StatusAuth output is `{other}`, not none, api-key or iam"
            ),
        }
    }

    /// The headers of `GET url` (signed now, for IAM).
    pub async fn headers(&self, cloud: &Cloud, url: &str) -> anyhow::Result<Vec<(String, String)>> {
        match self {
            StatusReader::Open => Ok(vec![]),
            StatusReader::ApiKey(key) => Ok(vec![("x-api-key".to_owned(), key.clone())]),
            StatusReader::Iam => {
                let identity = cloud
                    .credentials
                    .provide_credentials()
                    .await
                    .context("no AWS credentials to sign the status request with")?
                    .into();
                let params = v4::SigningParams::builder()
                    .identity(&identity)
                    .region(&cloud.region)
                    .name("execute-api")
                    .time(SystemTime::now())
                    .settings(SigningSettings::default())
                    .build()
                    .context("cannot set up SigV4")?
                    .into();
                let request =
                    SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
                        .with_context(|| format!("cannot sign GET {url}"))?;
                let (instructions, _) = sign(request, &params)
                    .with_context(|| format!("cannot sign GET {url}"))?
                    .into_parts();
                Ok(instructions
                    .headers()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect())
            }
        }
    }
}
