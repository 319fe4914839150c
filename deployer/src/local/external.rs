//! An external durable execution service in place of the embedded one (`--durable-service`),
//! used to check the embedded service against AWS's own emulator, `dex-local-runner`.
//!
//! The local cloud keeps running the functions: an `Invoke` of a durable function starts the
//! execution at the external service (`POST /start-durable-execution`, with this Lambda API as
//! the execution's `LambdaEndpoint`); the service then invokes the handler here, marked with
//! `X-Dex-Handler-Invoke`, and the function checkpoints to the service, whose URL it gets as
//! `AWS_ENDPOINT_URL_LAMBDA`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::model::ACCOUNT;
use crate::http::Client;

/// The header with which the external service marks an invocation of a handler (as opposed
/// to a caller's `Invoke`, which starts an execution).
pub const HANDLER_INVOKE_HEADER: &str = "x-dex-handler-invoke";

#[derive(Debug, Clone)]
pub struct ExternalDurable {
    base: String,
    /// This local cloud's Lambda API, where the service invokes handlers.
    lambda_url: String,
    client: Client,
}

/// What a start needs to know of the function.
#[derive(Debug)]
pub struct StartRequest<'a> {
    pub function: &'a str,
    pub qualifier: &'a str,
    pub name: Option<String>,
    pub input: String,
    pub timeout_s: u64,
}

impl ExternalDurable {
    pub fn new(base: &str, lambda_url: &str) -> anyhow::Result<Self> {
        Ok(ExternalDurable {
            base: base.trim_end_matches('/').to_owned(),
            lambda_url: lambda_url.to_owned(),
            client: Client::new()?,
        })
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, text) = self
            .client
            .request(
                method,
                &url,
                &[("content-type", "application/json")],
                payload.into_bytes(),
            )
            .await
            .with_context(|| format!("the durable service at {} did not answer", self.base))?;
        if !(200..300).contains(&status) {
            bail!("{url} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{url} answered with no JSON: {text}"))
    }

    /// Starts an execution; returns its ARN.
    pub async fn start(&self, req: StartRequest<'_>) -> anyhow::Result<String> {
        let name = req.name.unwrap_or_else(|| super::durable::random_hex(32));
        let mut body = json!({
            "AccountId": ACCOUNT,
            "FunctionName": req.function,
            "FunctionQualifier": req.qualifier,
            "ExecutionName": name,
            "ExecutionTimeoutSeconds": req.timeout_s,
            "ExecutionRetentionPeriodDays": 1,
            "LambdaEndpoint": self.lambda_url,
        });
        body["Input"] = Value::String(req.input);
        let out = self
            .call("POST", "/start-durable-execution", Some(body))
            .await?;
        out["ExecutionArn"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the durable service returned no ExecutionArn: {out}"))
    }

    /// Waits until the execution ends (up to `limit`); returns its description.
    pub async fn wait(&self, arn: &str, limit: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        let path = format!(
            "/2025-12-01/durable-executions/{}",
            percent_encoding::utf8_percent_encode(arn, percent_encoding::NON_ALPHANUMERIC)
        );
        loop {
            let e = self.call("GET", &path, None).await?;
            if e["Status"] != "RUNNING" || tokio::time::Instant::now() >= deadline {
                return Ok(e);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
