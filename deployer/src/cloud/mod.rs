//! Deploying to AWS (or any AWS-compatible endpoint): packaging, the asset bucket, change
//! sets with a diff and an approval, per-resource events, outputs, destroy and promotion.
//!
//! Credentials, region and endpoints come from aws-config's standard chain (profiles,
//! environment, SSO, web identity; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`).
//! Progress goes to stderr (a live line on a terminal, plain lines otherwise); machine
//! output (outputs, JSON diffs) to stdout.

pub mod apigateway_account;
pub mod assets;
pub mod changeset;
pub mod commands;
pub mod drift;
pub mod events;
pub mod hotswap;
pub mod integrity;
pub mod package;
pub mod permissions;
pub mod sdk;
pub mod smoke;
pub mod stack;
pub mod status_read;
pub mod template_diff;
pub mod wait;

use std::io::IsTerminal;

use anyhow::{Context, bail};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudformation as cfn;
use aws_sdk_s3 as s3;

/// The clients of one deployment, for one account and region, each with the timeouts of
/// [`sdk`].
#[derive(Debug, Clone)]
pub struct Cloud {
    pub cfn: cfn::Client,
    /// Account settings only (bootstrap), with timeouts.
    pub apigateway: aws_sdk_apigateway::Client,
    pub s3: s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Function code, versions and aliases (`deploy --hotswap`), with timeouts.
    pub lambda: aws_sdk_lambda::Client,
    pub region: String,
    /// The custom endpoint, when one is configured (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// The caller's credentials (SigV4 requests to an API whose route wants IAM).
    pub credentials: SharedCredentialsProvider,
    /// Becomes `true` at Ctrl-C (SIGINT), which from [`Cloud::connect`] on no longer kills
    /// the process: a running stack operation is left to CloudFormation, with a message.
    interrupt: tokio::sync::watch::Receiver<bool>,
}

impl Cloud {
    /// Loads the configuration and checks that there are credentials and a region.
    pub async fn connect() -> anyhow::Result<Self> {
        let interrupt = ctrl_c()?;
        let config = sdk::standard_chain().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            bail!(
                "no AWS region is configured: set AWS_REGION (or a region in your AWS profile); to run the stack without AWS, use `make local`"
            );
        };
        let provider = config.credentials_provider().context(
            "no AWS credentials provider is configured; to run the stack without AWS, use `make local`",
        )?;
        {
            use aws_credential_types::provider::ProvideCredentials;
            provider.provide_credentials().await.map_err(|e| {
                anyhow::anyhow!(
                    "no AWS credentials found ({e}): configure a profile (AWS_PROFILE, `aws configure`, `aws sso login`), environment variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or web identity; to run the stack on this machine without AWS, use `make local`"
                )
            })?;
        }
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok()
            .filter(|e| !e.is_empty());
        Ok(Cloud::with(&config, region, endpoint, provider, interrupt))
    }

    /// The clients of an AWS-compatible endpoint (an emulator) with static credentials,
    /// and no Ctrl-C handling: for callers of the library (the tests).
    pub fn at_endpoint(
        endpoint: &str,
        region: &str,
        credentials: aws_credential_types::Credentials,
    ) -> Self {
        let credentials = SharedCredentialsProvider::new(credentials);
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(credentials.clone())
            .build();
        // No sender: `interrupted` never resolves.
        let (_, interrupt) = tokio::sync::watch::channel(false);
        let endpoint = Some(endpoint.to_owned());
        Cloud::with(&config, region.to_owned(), endpoint, credentials, interrupt)
    }

    /// The clients of `config`, each with the timeouts of [`sdk`] whatever `config` says.
    fn with(
        config: &aws_config::SdkConfig,
        region: String,
        endpoint: Option<String>,
        credentials: SharedCredentialsProvider,
        interrupt: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let cfn_config = cfn::config::Builder::from(config)
            .timeout_config(sdk::short_calls())
            .build();
        // Custom endpoints (emulators, gateways) address buckets by path, not by host name.
        let s3_config = s3::config::Builder::from(config)
            .force_path_style(endpoint.is_some())
            .timeout_config(sdk::transfers())
            .build();
        let apigateway_config = aws_sdk_apigateway::config::Builder::from(config)
            .timeout_config(sdk::short_calls())
            .build();
        let secrets_config = aws_sdk_secretsmanager::config::Builder::from(config)
            .timeout_config(sdk::short_calls())
            .build();
        let lambda_config = aws_sdk_lambda::config::Builder::from(config)
            .timeout_config(sdk::short_calls())
            .build();
        Cloud {
            cfn: cfn::Client::from_conf(cfn_config),
            lambda: aws_sdk_lambda::Client::from_conf(lambda_config),
            apigateway: aws_sdk_apigateway::Client::from_conf(apigateway_config),
            s3: s3::Client::from_conf(s3_config),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets_config),
            region,
            endpoint,
            credentials,
            interrupt,
        }
    }

    /// Resolves once Ctrl-C has been pressed (at once if it already was).
    pub async fn interrupted(&self) {
        let mut rx = self.interrupt.clone();
        if rx.wait_for(|pressed| *pressed).await.is_err() {
            // The listener is gone: no Ctrl-C will ever be reported.
            std::future::pending::<()>().await;
        }
    }
}

/// From now on, Ctrl-C (SIGINT) sets the flag [`Cloud::interrupted`] waits for instead of
/// ending the process.
fn ctrl_c() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    let (tx, interrupt) = tokio::sync::watch::channel(false);
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot handle Ctrl-C")?;
    tokio::spawn(async move {
        if sigint.recv().await.is_some() {
            let _ = tx.send(true);
        }
    });
    Ok(interrupt)
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    /// A live view on a terminal, plain event lines otherwise.
    Auto,
    /// One plain line per event (for CI logs).
    Events,
}

impl Progress {
    pub fn live(self) -> bool {
        self == Progress::Auto && std::io::stderr().is_terminal()
    }
}

/// Asks a yes/no question on the terminal; `Ok(false)` when there is no terminal.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, Write};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// A message for an AWS SDK error: the service's code and message, not just "service error".
pub fn sdk_error<E, R>(err: aws_sdk_cloudformation::error::SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error
        + aws_sdk_cloudformation::error::ProvideErrorMetadata
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(e) => anyhow::anyhow!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or("(no message)")
        ),
        None => {
            let text = format!(
                "{}",
                aws_sdk_cloudformation::error::DisplayErrorContext(&err)
            );
            anyhow::anyhow!("{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_an_operation_and_an_attempt_timeout() {
        let credentials = aws_credential_types::Credentials::new("a", "b", None, None, "test");
        let cloud = Cloud::at_endpoint("http://127.0.0.1:9", "us-east-1", credentials);
        let timeouts = [
            cloud.cfn.config().timeout_config().cloned(),
            cloud.apigateway.config().timeout_config().cloned(),
            cloud.s3.config().timeout_config().cloned(),
            cloud.secrets.config().timeout_config().cloned(),
        ];
        for t in timeouts {
            let t = t.expect("a timeout config");
            assert!(t.operation_timeout().is_some(), "{t:?}");
            assert!(t.operation_attempt_timeout().is_some(), "{t:?}");
            assert!(t.connect_timeout().is_some(), "{t:?}");
        }
    }
}
