//! The webhook stack: API Gateway -> receiver -> durable processor -> DynamoDB, per stage.

use std::fmt;
use std::str::FromStr;

use webhook_contract::{DEFAULT_TTL_DAYS, DURABLE_ALIAS, env, routes, table};

use crate::api::{RestApiBuilder, StageSettings, stage_url};
use crate::resources::apigateway::{HttpMethod, IntegrationKind, RestApi};
use crate::resources::dynamodb::{Encryption, KeyAttribute, Table};
use crate::resources::iam::{Policy, PolicyDocument, Role};
use crate::resources::lambda::{
    Alias, Architecture, Code, DurableConfig, Function, LoggingConfig, Version,
};
use crate::resources::logs::LogGroup;
use crate::resources::secrets::Secret;
use crate::{Expr, Grant, Handle, Pseudo, RemovalPolicy, Stack, SynthError, Template};

/// The application name; stacks are named `<APP>-<stage>`.
pub const APP: &str = "webhooks";

/// The function crates of the workspace, by the name the asset manifest gives them.
pub mod crates {
    pub const RECEIVER: &str = "receiver";
    pub const PROCESSOR: &str = "processor";
    pub const STATUS: &str = "status";
    pub const ALL: [&str; 3] = [RECEIVER, PROCESSOR, STATUS];
}

/// A deployment stage; each is its own stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Dev,
    Staging,
    Prod,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Dev, Stage::Staging, Stage::Prod];
    pub const NAMES: [&'static str; 3] = ["dev", "staging", "prod"];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dev => "dev",
            Stage::Staging => "staging",
            Stage::Prod => "prod",
        }
    }

    /// The CloudFormation stack name of this stage: `webhooks-dev` and so on.
    pub fn stack_name(self) -> String {
        format!("{APP}-{}", self.as_str())
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{0}`; valid stages: dev, staging, prod")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

/// API Gateway throttling for a whole stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    pub rate_per_second: f64,
    pub burst: u32,
}

/// Everything that differs between stages.
#[derive(Clone, Debug, PartialEq)]
pub struct StageConfig {
    pub stage: Stage,
    pub architecture: Architecture,
    /// Memory of the receiver and status functions, MB.
    pub api_memory_mb: u32,
    pub processor_memory_mb: u32,
    pub api_timeout_s: u32,
    /// Timeout of one processor invocation; the whole execution is bounded by `durable`.
    pub processor_timeout_s: u32,
    pub log_retention_days: u32,
    /// Days a status record lives before DynamoDB TTL deletes it.
    pub ttl_days: u32,
    pub throttle: Throttle,
    pub durable: DurableConfig,
    pub point_in_time_recovery: bool,
    /// Keep the table and the secret when the stack is deleted or they are replaced.
    pub retain_data: bool,
    pub table_encryption: Encryption,
    /// `Access-Control-Allow-Origin` of the status API; `None` sends no CORS headers.
    pub cors_allow_origin: Option<String>,
}

impl StageConfig {
    pub fn of(stage: Stage) -> Self {
        let dev = StageConfig {
            stage,
            architecture: Architecture::X86_64,
            api_memory_mb: 256,
            processor_memory_mb: 256,
            api_timeout_s: 10,
            processor_timeout_s: 60,
            log_retention_days: 7,
            ttl_days: DEFAULT_TTL_DAYS,
            throttle: Throttle {
                rate_per_second: 50.0,
                burst: 100,
            },
            durable: DurableConfig {
                execution_timeout: 3600,
                retention_period_in_days: 7,
            },
            point_in_time_recovery: false,
            retain_data: false,
            table_encryption: Encryption::AwsOwned,
            cors_allow_origin: Some("*".to_owned()),
        };
        match stage {
            Stage::Dev => dev,
            Stage::Staging => StageConfig {
                api_memory_mb: 512,
                processor_memory_mb: 512,
                log_retention_days: 30,
                throttle: Throttle {
                    rate_per_second: 200.0,
                    burst: 400,
                },
                durable: DurableConfig {
                    execution_timeout: 3600,
                    retention_period_in_days: 14,
                },
                ..dev
            },
            Stage::Prod => StageConfig {
                api_memory_mb: 1024,
                processor_memory_mb: 1024,
                log_retention_days: 90,
                throttle: Throttle {
                    rate_per_second: 1000.0,
                    burst: 2000,
                },
                durable: DurableConfig {
                    execution_timeout: 3600,
                    retention_period_in_days: 30,
                },
                point_in_time_recovery: true,
                retain_data: true,
                table_encryption: Encryption::AwsManagedKms,
                cors_allow_origin: None,
                ..dev
            },
        }
    }
}

/// The stage settings `deployer deploy --set KEY=VALUE` may override.
pub const SETTINGS: [&str; 6] = [
    "api-memory-mb",
    "processor-memory-mb",
    "log-retention-days",
    "ttl-days",
    "throttle-rate",
    "throttle-burst",
];

impl StageConfig {
    /// Overrides one setting (one of [`SETTINGS`]); ranges are checked by synth.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("{key}: `{value}` is not a number"))
        }
        match key {
            "api-memory-mb" => self.api_memory_mb = number(key, value)?,
            "processor-memory-mb" => self.processor_memory_mb = number(key, value)?,
            "log-retention-days" => self.log_retention_days = number(key, value)?,
            "ttl-days" => self.ttl_days = number(key, value)?,
            "throttle-rate" => self.throttle.rate_per_second = number(key, value)?,
            "throttle-burst" => self.throttle.burst = number(key, value)?,
            _ => {
                return Err(format!(
                    "unknown setting `{key}`; the settings are {}",
                    SETTINGS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// A function with its role, its log group (with the stage's retention) and its package.
pub(crate) struct Lambda {
    pub(crate) role: Handle<Role>,
    pub(crate) function: Handle<Function>,
    pub(crate) asset: crate::Asset,
}

pub(crate) fn lambda(
    s: &mut Stack,
    id: &str,
    crate_name: &str,
    cfg: &StageConfig,
    build: impl FnOnce(Function) -> Function,
) -> Lambda {
    let logs = s.add(
        &format!("{id}Logs"),
        LogGroup::new(
            Expr::sub([
                "/aws/lambda/".into(),
                Expr::pseudo(Pseudo::StackName),
                format!("-{crate_name}").into(),
            ]),
            cfg.log_retention_days,
        ),
    );
    // Explicit names: a retained group would block re-creating the stack, so logs go with it.
    let delete = Some(RemovalPolicy::Delete);
    s.removal_policy(&logs, delete, delete);
    let role = s.add(
        &format!("{id}Role"),
        Role::for_service("lambda.amazonaws.com")
            .description(format!("Execution role of the {crate_name} function")),
    );
    s.grant(&role, Grant::write_logs(&logs));
    let asset = s.asset(id, crate_name);
    let function = Function::new(Code::from(&asset), role.arn())
        .architecture(cfg.architecture)
        .logging(LoggingConfig::json(logs.name()));
    let function = s.add(id, build(function));
    Lambda {
        role,
        function,
        asset,
    }
}

/// Makes `f` invocable as a durable function: its checkpoint permissions (in a role policy,
/// which the alias waits for), a version published when its code changes (old versions
/// kept for executions still running on them) and the alias [`DURABLE_ALIAS`].
pub(crate) fn durable_alias(s: &mut Stack, id: &str, f: &Lambda) -> Handle<Alias> {
    let durable_policy = s.add(
        &format!("{id}DurablePolicy"),
        Policy {
            policy_name: "durable-execution".to_owned(),
            policy_document: PolicyDocument::new(vec![]),
            roles: vec![f.role.name()],
        },
    );
    s.grant(&durable_policy, Grant::durable_execution(&f.function));
    let code_sha256 = s.asset_sha256(&f.asset);
    let version = s.add(
        &format!("{id}Version"),
        Version {
            function_name: f.function.name(),
            description: Some("Published when the code changes".to_owned()),
            code_sha256: Some(code_sha256),
        },
    );
    // Executions in flight stay pinned to the version they started on: keep old versions.
    s.removal_policy(&version, None, Some(RemovalPolicy::Retain));
    let alias = s.add(
        &format!("{id}Alias"),
        Alias {
            name: DURABLE_ALIAS.to_owned(),
            function_name: f.function.name(),
            function_version: version.version(),
            description: Some("The version new executions start on".to_owned()),
        },
    );
    // Nothing can start an execution before the processor may checkpoint it.
    s.depends_on(&alias, &durable_policy);

    alias
}

/// The webhook stack of one stage.
pub fn webhook_stack(cfg: &StageConfig) -> Stack {
    let stage = cfg.stage;
    let mut s = Stack::new(
        stage.stack_name(),
        format!("Webhook receiver with a durable processor ({stage})"),
    );
    let retain = cfg.retain_data.then_some(RemovalPolicy::Retain);
    let data_policy = retain.unwrap_or(RemovalPolicy::Delete);

    let secret = s.add(
        "WebhookSecret",
        Secret::generated(
            "Signing secret of incoming webhooks (HMAC-SHA256 in X-Hub-Signature-256)",
            48,
        ),
    );
    s.removal_policy(&secret, Some(data_policy), Some(data_policy));

    let table = s.add(
        "WebhookTable",
        Table::new(KeyAttribute::string(table::PARTITION_KEY))
            .ttl(table::TTL_ATTRIBUTE)
            .point_in_time_recovery(cfg.point_in_time_recovery)
            .encryption(cfg.table_encryption)
            .deletion_protection(cfg.retain_data),
    );
    s.removal_policy(&table, Some(data_policy), Some(data_policy));
    let ttl_days = cfg.ttl_days.to_string();

    // The processor: durable, reached only through its alias.
    let processor = lambda(&mut s, "Processor", crates::PROCESSOR, cfg, |f| {
        f.description("Durable processor: validate -> process -> finalize")
            .memory_mb(cfg.processor_memory_mb)
            .timeout_s(cfg.processor_timeout_s)
            .durable(cfg.durable)
            .env(env::TABLE_NAME, table.name())
            .env(env::TTL_DAYS, ttl_days.as_str())
    });
    s.grant(&processor.role, Grant::table_read_write(&table));
    let alias = durable_alias(&mut s, "Processor", &processor);

    let receiver = lambda(&mut s, "Receiver", crates::RECEIVER, cfg, |f| {
        f.description("POST /webhooks: verify, record, start the durable processor, answer 202")
            .memory_mb(cfg.api_memory_mb)
            .timeout_s(cfg.api_timeout_s)
            .env(env::TABLE_NAME, table.name())
            .env(env::TTL_DAYS, ttl_days.as_str())
            .env(env::PROCESSOR_FUNCTION, alias.arn())
            .env(env::WEBHOOK_SECRET_ARN, secret.arn())
    });
    s.grant(&receiver.role, Grant::table_read_write(&table));
    s.grant(&receiver.role, Grant::invoke(&alias));
    s.grant(&receiver.role, Grant::read_secret(&secret));

    let status = lambda(&mut s, "Status", crates::STATUS, cfg, |f| {
        let f = f
            .description("GET /webhooks/{id}: the status of one webhook")
            .memory_mb(cfg.api_memory_mb)
            .timeout_s(cfg.api_timeout_s)
            .env(env::TABLE_NAME, table.name());
        match &cfg.cors_allow_origin {
            Some(origin) => f.env(env::CORS_ALLOW_ORIGIN, origin.as_str()),
            None => f,
        }
    });
    s.grant(&status.role, Grant::table_read(&table));

    let mut api = RestApiBuilder::new(
        &mut s,
        "Api",
        RestApi::regional(
            Expr::pseudo(Pseudo::StackName),
            format!("Webhook receiver ({stage})"),
        ),
    );
    let webhooks = format!("/{}", routes::WEBHOOKS);
    let one_webhook = format!("/{}/{{{}}}", routes::WEBHOOKS, routes::ID_PARAM);
    api.route(
        &mut s,
        HttpMethod::Post,
        &webhooks,
        IntegrationKind::LambdaProxy,
        &receiver.function,
    );
    api.route(
        &mut s,
        HttpMethod::Get,
        &one_webhook,
        IntegrationKind::LambdaProxy,
        &status.function,
    );
    let access_logs = s.add(
        "ApiAccessLogs",
        LogGroup::new(
            Expr::sub([
                "/aws/apigateway/".into(),
                Expr::pseudo(Pseudo::StackName),
                "-access".into(),
            ]),
            cfg.log_retention_days,
        ),
    );
    let delete = Some(RemovalPolicy::Delete);
    s.removal_policy(&access_logs, delete, delete);
    let rest_api = api.api().clone();
    let api_stage = api.deploy(
        &mut s,
        StageSettings {
            name: stage.as_str().to_owned(),
            description: Some(format!("The {stage} stage")),
            throttle: Some((cfg.throttle.rate_per_second, cfg.throttle.burst)),
            access_logs: Some(access_logs),
            metrics: true,
        },
    );

    let base = stage_url(&rest_api, &api_stage);
    s.output("ApiUrl", "Base URL of the webhook API", base.clone());
    s.output(
        "WebhookUrl",
        "POST webhooks here",
        Expr::sub([base.clone(), webhooks.into()]),
    );
    s.output(
        "StatusUrl",
        "GET the status of webhook {id} here",
        Expr::sub([base, one_webhook.into()]),
    );
    s.output(
        "TableName",
        "DynamoDB table of webhook status records",
        table.name(),
    );
    s.output(
        "ProcessorAliasArn",
        "Qualified ARN through which durable executions are started",
        alias.arn(),
    );
    s.output(
        "WebhookSecretArn",
        "Secrets Manager secret holding the webhook signing secret",
        secret.arn(),
    );
    s
}

/// Synthesizes the webhook stack of `stage`.
pub fn synth(stage: Stage) -> Result<Template, SynthError> {
    webhook_stack(&StageConfig::of(stage)).synth()
}
