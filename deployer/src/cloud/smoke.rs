//! `deployer smoke`: a signed webhook through a deployed stage's API, then its status
//! until COMPLETED. Every HTTP request ends by the `--timeout` deadline (an API that
//! accepts the connection and never answers included); the AWS calls before it (the
//! stack's outputs, the secret, an API key) end within the SDK's timeouts (`sdk.rs`).

use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use super::Cloud;
use super::commands::{SmokeArgs, deployed};
use super::status_read::StatusReader;
use crate::http::{Client, REQUEST_TIMEOUT, RequestError};

/// The pause between two reads of the status.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// Why the smoke test failed.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("smoke: {method} {url} got no answer within --timeout ({seconds} s)")]
    NoAnswer {
        method: &'static str,
        url: String,
        seconds: u64,
    },
    #[error("POST {url} answered {status}, not 202: {body}")]
    NotAccepted {
        url: String,
        status: u16,
        body: String,
    },
    #[error("POST {url} answered 202 without an id: {body}")]
    NoId { url: String, body: String },
    #[error("smoke: {id} FAILED: {body}")]
    Failed { id: String, body: String },
    #[error("smoke: {id} did not reach COMPLETED within {seconds} s ({last})")]
    NotCompleted {
        id: String,
        seconds: u64,
        last: Last,
    },
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// What the last status read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Last {
    /// The record's status.
    Status(String),
    /// An answer other than 200.
    Answer { status: u16, body: String },
    /// No read was answered before the deadline.
    NoAnswer { url: String },
}

impl std::fmt::Display for Last {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Last::Status(s) => write!(f, "last status: {s}"),
            Last::Answer { status, body } => write!(f, "last answer: HTTP {status}: {body}"),
            Last::NoAnswer { url } => write!(f, "GET {url} got no answer"),
        }
    }
}

/// The stage's API, secret and status reader.
struct Target {
    cloud: Cloud,
    api: String,
    secret: String,
    reader: StatusReader,
}

/// One run: the HTTP client and the deadline every request ends by.
struct Run {
    client: Client,
    deadline: Instant,
    seconds: u64,
}

pub fn smoke(args: SmokeArgs) -> anyhow::Result<()> {
    super::commands::runtime()?.block_on(async {
        let target = target(&args).await?;
        let run = Run {
            client: Client::new()?,
            deadline: Instant::now() + Duration::from_secs(args.timeout),
            seconds: args.timeout,
        };
        let id = run.send(&target).await?;
        eprintln!("smoke: accepted {id}; waiting for COMPLETED");
        run.until_completed(&target, &id).await?;
        println!("{id}");
        eprintln!("smoke: {id} COMPLETED");
        Ok(())
    })
}

/// The deployed stage's API (or `--api-url`), its webhook secret and status reader.
async fn target(args: &SmokeArgs) -> anyhow::Result<Target> {
    let (cloud, name, info) = deployed(args.stage).await?;
    let output = |k: &str| {
        info.outputs
            .get(k)
            .cloned()
            .with_context(|| format!("stack {name} has no output {k}"))
    };
    let api = match &args.api_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => output("ApiUrl")?,
    };
    let secret_id = output("WebhookSecretArn")?;
    let secret = cloud
        .secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(super::sdk_error)
        .with_context(|| format!("cannot read the webhook secret {secret_id}"))?
        .secret_string
        .context("the webhook secret has no string value")?;
    let reader = StatusReader::of(&cloud, &info.outputs).await?;
    Ok(Target {
        cloud,
        api,
        secret,
        reader,
    })
}

impl Run {
    /// One request, answered by the deadline (and within [`REQUEST_TIMEOUT`]).
    async fn request(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(u16, String), SmokeError> {
        let by = self.deadline.min(Instant::now() + REQUEST_TIMEOUT);
        match self.client.request_by(by, method, url, headers, body).await {
            Err(RequestError::NoAnswer { .. }) if by == self.deadline => {
                Err(SmokeError::NoAnswer {
                    method,
                    url: url.to_owned(),
                    seconds: self.seconds,
                })
            }
            other => Ok(other?),
        }
    }

    /// Sends a signed webhook the processor accepts (an order; the delivery id is its
    /// reference); returns its id.
    async fn send(&self, target: &Target) -> Result<String, SmokeError> {
        let delivery = format!(
            "smoke-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        let body = serde_json::json!({"type": "order", "orderId": delivery}).to_string();
        let signature = crate::sign(&target.secret, &body);
        let url = format!("{}/webhooks", target.api);
        let headers = [
            ("content-type", "application/json"),
            ("x-webhook-id", delivery.as_str()),
            ("x-hub-signature-256", signature.as_str()),
        ];
        let (status, text) = self
            .request("POST", &url, &headers, body.into_bytes())
            .await?;
        if status != 202 {
            return Err(SmokeError::NotAccepted {
                url,
                status,
                body: text,
            });
        }
        let accepted = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
        match accepted["id"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => Err(SmokeError::NoId { url, body: text }),
        }
    }

    /// Reads the webhook's status until COMPLETED (or FAILED, or the deadline).
    async fn until_completed(&self, target: &Target, id: &str) -> anyhow::Result<()> {
        let url = format!("{}/webhooks/{id}", target.api);
        let mut last = Last::NoAnswer { url: url.clone() };
        loop {
            let headers = target.reader.headers(&target.cloud, &url).await?;
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match self.request("GET", &url, &headers, vec![]).await {
                Ok((200, text)) => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    match v["status"].as_str().unwrap_or_default() {
                        "COMPLETED" => return Ok(()),
                        "FAILED" => {
                            let id = id.to_owned();
                            return Err(SmokeError::Failed { id, body: text }.into());
                        }
                        other => last = Last::Status(other.to_owned()),
                    }
                }
                Ok((status, body)) => last = Last::Answer { status, body },
                // The deadline passed during the read: `last` says what was seen before.
                Err(SmokeError::NoAnswer { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let now = Instant::now();
            if now >= self.deadline {
                return Err(SmokeError::NotCompleted {
                    id: id.to_owned(),
                    seconds: self.seconds,
                    last,
                }
                .into());
            }
            tokio::time::sleep(POLL_EVERY.min(self.deadline - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smoke_test_that_ran_out_of_time_says_what_it_saw_last() {
        let e = |last| SmokeError::NotCompleted {
            id: "wh_1".to_owned(),
            seconds: 2,
            last,
        };
        assert_eq!(
            e(Last::Status("RECEIVED".to_owned())).to_string(),
            "smoke: wh_1 did not reach COMPLETED within 2 s (last status: RECEIVED)"
        );
        assert_eq!(
            e(Last::Answer {
                status: 502,
                body: "bad gateway".to_owned()
            })
            .to_string(),
            "smoke: wh_1 did not reach COMPLETED within 2 s (last answer: HTTP 502: bad gateway)"
        );
        assert_eq!(
            e(Last::NoAnswer {
                url: "http://api/webhooks/wh_1".to_owned()
            })
            .to_string(),
            "smoke: wh_1 did not reach COMPLETED within 2 s (GET http://api/webhooks/wh_1 got no answer)"
        );
    }
}
