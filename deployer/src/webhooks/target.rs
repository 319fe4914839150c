//! Which webhooks `deployer webhooks` works on: a deployed stage (its stack's outputs,
//! through the standard AWS chain) or a running `deployer local` (its endpoints).

use anyhow::{Context, bail};
use aws_config::BehaviorVersion;
use stacks::webhook::Stage;
use webhook_core::Store;
use webhook_core::executions::Executions;
use webhook_core::starter::LambdaStarter;

use crate::cloud::stack::StackInfo;

/// Where the webhooks are.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The deployed stage (its stack's outputs name the table and the processor).
    #[arg(long, value_parser = crate::stage_parser(), default_value = "dev")]
    pub stage: Stage,
    /// A running `deployer local` instead of AWS, at URL (its API's address).
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "http://127.0.0.1:3000"
    )]
    pub local: Option<String>,
}

/// The store, the processor's executions and a starter, for one stage.
#[derive(Debug)]
pub struct Target {
    pub stage: String,
    pub store: Store,
    pub executions: Executions,
    pub starter: LambdaStarter,
    /// Seconds after which a non-terminal webhook is stuck.
    pub stuck_after_s: u64,
}

/// A stage, reached once: a running `deployer local` (its endpoints read) or a deployed
/// stack (described). What [`Target`] and the executions' `StageLambda` are built from, so
/// that a caller needing both (the console) reaches the stage once.
#[derive(Debug)]
pub(crate) enum Reached {
    Local(Box<LocalCloud>),
    Deployed(Box<DeployedStage>),
}

/// A deployed stage: its stack, as described, and the AWS configuration to call it with.
#[derive(Debug)]
pub(crate) struct DeployedStage {
    pub stack: String,
    pub info: StackInfo,
    pub sdk: aws_config::SdkConfig,
}

impl Reached {
    /// Whether the stage keeps webhooks in a table: the webhook app does, a local
    /// `--app conformance` does not.
    pub(crate) fn has_table(&self) -> bool {
        match self {
            Reached::Local(l) => l.endpoints.table.is_some(),
            Reached::Deployed(_) => true,
        }
    }

    /// Reads a local cloud's endpoints (`--local`), or describes the stage's stack.
    pub(crate) async fn reach(args: &TargetArgs) -> anyhow::Result<Self> {
        match &args.local {
            Some(url) => Ok(Reached::Local(Box::new(LocalCloud::connect(url).await?))),
            None => {
                let (_, stack, info) = crate::cloud::commands::deployed(args.stage).await?;
                Ok(Reached::Deployed(Box::new(DeployedStage {
                    stack,
                    info,
                    sdk: aws_sdk().await,
                })))
            }
        }
    }
}

impl Target {
    pub async fn resolve(args: &TargetArgs) -> anyhow::Result<Self> {
        Target::of(args.stage, &Reached::reach(args).await?)
    }

    /// The webhooks of `stage`, reached as `reached`.
    pub(crate) fn of(stage: Stage, reached: &Reached) -> anyhow::Result<Self> {
        match reached {
            Reached::Local(local) => Target::local(local, stage),
            Reached::Deployed(d) => Target::deployed(stage, &d.stack, &d.info, &d.sdk),
        }
    }

    fn new(
        sdk: &aws_config::SdkConfig,
        stage: Stage,
        table: &str,
        alias: &str,
        stuck_after_s: u64,
    ) -> Self {
        let lambda = aws_sdk_lambda::Client::new(sdk);
        Target {
            stage: stage.to_string(),
            store: Store::new(aws_sdk_dynamodb::Client::new(sdk), table, stage_ttl(stage)),
            executions: Executions::new(lambda.clone(), alias),
            starter: LambdaStarter::new(lambda, alias),
            stuck_after_s,
        }
    }

    /// A deployed stage, through the standard AWS chain.
    fn deployed(
        stage: Stage,
        name: &str,
        info: &StackInfo,
        sdk: &aws_config::SdkConfig,
    ) -> anyhow::Result<Self> {
        let output = |k: &str| {
            info.outputs
                .get(k)
                .cloned()
                .with_context(|| format!("stack {name} has no output {k}: deploy it again"))
        };
        let stuck = output("StuckAfterSeconds")?
            .parse()
            .with_context(|| format!("stack {name}: StuckAfterSeconds is not a number"))?;
        Ok(Target::new(
            sdk,
            stage,
            &output("TableName")?,
            &output("ProcessorAliasArn")?,
            stuck,
        ))
    }

    /// A running `deployer local`, its endpoints read.
    fn local(local: &LocalCloud, stage: Stage) -> anyhow::Result<Self> {
        let e = &local.endpoints;
        let alias = local.field("processorAlias", &e.processor_alias)?;
        let table = local.field("table", &e.table)?;
        let lambda = local.lambda();
        Ok(Target {
            stage: stage.to_string(),
            store: Store::new(local.dynamodb(), table, stage_ttl(stage)),
            executions: Executions::new(lambda.clone(), alias),
            starter: LambdaStarter::new(lambda, alias),
            stuck_after_s: e.stuck_after_seconds.unwrap_or(u64::MAX),
        })
    }
}

/// The standard AWS chain (profiles, environment, SSO; `AWS_ENDPOINT_URL`), with the
/// deployer's timeouts (`cloud::sdk`).
pub(crate) async fn aws_sdk() -> aws_config::SdkConfig {
    crate::cloud::sdk::standard_chain().await
}

/// What a running `deployer local` says about itself (`GET /_local/endpoints`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocalEndpoints {
    /// Its Lambda API (Invoke and the durable execution API).
    pub lambda: String,
    pub dynamodb: String,
    pub region: String,
    pub table: Option<String>,
    /// The durable function's name (`webhooks-dev-Processor`).
    pub processor_function: Option<String>,
    pub processor_alias: Option<String>,
    pub stuck_after_seconds: Option<u64>,
    /// Every durable function it runs (absent from older deployers).
    #[serde(default)]
    pub durable_functions: Vec<LocalDurableFunction>,
}

/// A durable function of a running `deployer local`.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct LocalDurableFunction {
    pub logical: String,
    pub name: String,
    /// The alias executions start through, when the template gives it one.
    pub qualifier: Option<String>,
}

/// A running `deployer local`: where it answers and where its services are.
#[derive(Debug, Clone)]
pub(crate) struct LocalCloud {
    /// `http://host:port` of the URL it was reached at.
    pub origin: String,
    pub endpoints: LocalEndpoints,
    sdk: aws_config::SdkConfig,
}

impl LocalCloud {
    /// Asks the `deployer local` at `url` (any URL of its API; its origin is used).
    pub(crate) async fn connect(url: &str) -> anyhow::Result<Self> {
        let origin = origin(url)?;
        let client = crate::http::Client::new()?;
        let (status, text) = client
            .request("GET", &format!("{origin}/_local/endpoints"), &[], vec![])
            .await
            .with_context(|| format!("no `deployer local` answers at {origin}: start it (`make local`) or pass its URL to --local"))?;
        if status != 200 {
            bail!("{origin} is not a `deployer local` (GET /_local/endpoints answered {status})");
        }
        let endpoints: LocalEndpoints = serde_json::from_str(&text)
            .with_context(|| format!("{origin}/_local/endpoints did not answer its endpoints"))?;
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new(endpoints.region.clone()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("local", "local", None, None, "local"),
                ),
            )
            .timeout_config(crate::cloud::sdk::short_calls())
            .build();
        Ok(LocalCloud {
            origin,
            endpoints,
            sdk,
        })
    }

    /// A Lambda client of its Lambda API.
    pub(crate) fn lambda(&self) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::config::Builder::from(&self.sdk)
            .endpoint_url(&self.endpoints.lambda)
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .endpoint_url(&self.endpoints.dynamodb)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// An endpoint the webhook app has (a `--app conformance` cloud has no table).
    fn field<'a>(&self, key: &str, value: &'a Option<String>) -> anyhow::Result<&'a str> {
        value.as_deref().with_context(|| {
            format!(
                "{}: this local cloud has no {key} (is it `--app conformance`?)",
                self.origin
            )
        })
    }
}

/// Days records of `stage` live (writes here renew the TTL as the functions do).
fn stage_ttl(stage: Stage) -> u32 {
    stacks::webhook::StageConfig::of(stage).ttl_days
}

/// `http://host:port` of `url`.
fn origin(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("`{url}` is not a URL (http://127.0.0.1:3000)"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    if host.is_empty() {
        bail!("`{url}` has no host");
    }
    Ok(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn the_origin_of_an_api_url() {
        assert_eq!(
            origin("http://127.0.0.1:3000/dev").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(origin("127.0.0.1:3000").is_err());
        assert!(origin("http:///dev").is_err());
    }
}
