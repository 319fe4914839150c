//! The webhook stack: API Gateway -> receiver -> durable processor -> DynamoDB, per stage.

use std::fmt;
use std::str::FromStr;

use webhook_contract::{DEFAULT_TTL_DAYS, DURABLE_ALIAS, env, metrics, routes, sources, table};

use crate::api::{MethodAuth, RestApiBuilder, StageSettings, stage_url};
use crate::checkov::Check;
use crate::grant::dynamodb::{GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::resources::apigateway::{HttpMethod, IntegrationKind, RestApi};
use crate::resources::cloudwatch::{Alarm, Dimension, Statistic};
use crate::resources::dynamodb::{Encryption, GlobalIndex, KeyAttribute, Projection, Table};
use crate::resources::events::{Rule, Target};
use crate::resources::iam::{
    Effect, ManagedPolicy, Policy, PolicyDocument, Principal, Role, Statement,
};
use crate::resources::kms::Key;
use crate::resources::lambda::{
    Alias, Architecture, Code, DurableConfig, Function, LoggingConfig, Permission, TracingMode,
    Version,
};
use crate::resources::logs::LogGroup;
use crate::resources::secrets::Secret;
use crate::resources::sns::{Subscription, Topic};
use crate::resources::sqs::{Queue, QueueEncryption};
use crate::validate::Problem;
use crate::{Expr, Grant, Handle, Pseudo, RemovalPolicy, Stack, SynthError, Template};

/// The application name; stacks are named `<APP>-<stage>`.
pub const APP: &str = "webhooks";

/// The function crates of the workspace, by the name the asset manifest gives them.
pub mod crates {
    pub const RECEIVER: &str = "receiver";
    pub const PROCESSOR: &str = "processor";
    pub const STATUS: &str = "status";
    pub const RECONCILER: &str = "reconciler";
    pub const ALL: [&str; 4] = [RECEIVER, PROCESSOR, STATUS, RECONCILER];
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

/// Reserved concurrent executions per function (`ReservedConcurrentExecutions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concurrency {
    pub receiver: u32,
    pub processor: u32,
    pub status: u32,
    /// One: reconciler runs never overlap (a run that finds one busy waits for it).
    pub reconciler: u32,
}

impl Concurrency {
    pub fn total(&self) -> u32 {
        self.receiver + self.processor + self.status + self.reconciler
    }
}

/// Most concurrency the functions of a stage may reserve together: Lambda keeps 100 of an
/// account's executions unreserved, and the default account quota is 1,000.
pub const MAX_RESERVED_CONCURRENCY: u32 = 900;

/// A webhook source: its route (`POST /webhooks/<name>`), its signature scheme (one of
/// [`sources::SCHEMES`]) and, in the stack, its own generated secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    pub name: String,
    pub scheme: String,
}

impl SourceConfig {
    pub fn new(name: &str, scheme: &str) -> Self {
        SourceConfig {
            name: name.to_owned(),
            scheme: scheme.to_owned(),
        }
    }

    /// The logical id of its secret: `WebhookSecret` for `default` (as before sources),
    /// `Source<Name>Secret` otherwise.
    pub fn secret_id(&self) -> String {
        if self.name == sources::DEFAULT {
            return "WebhookSecret".to_owned();
        }
        let pascal: String = self
            .name
            .split('-')
            .map(|part| {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        format!("Source{pascal}Secret")
    }
}

/// Who may read a webhook's status (`GET /webhooks/{id}`): anyone who knows its id, a
/// caller with the stage's API key (`x-api-key`), or an IAM principal allowed
/// `execute-api:Invoke` on it (SigV4). The ids cannot be guessed (they are keyed), but prod
/// keeps the route private all the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAuth {
    None,
    ApiKey,
    Iam,
}

impl StatusAuth {
    pub const ALL: [StatusAuth; 3] = [StatusAuth::None, StatusAuth::ApiKey, StatusAuth::Iam];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusAuth::None => "none",
            StatusAuth::ApiKey => "api-key",
            StatusAuth::Iam => "iam",
        }
    }
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
    /// The table's key when the stage has no customer-managed key (`customer_key`).
    pub table_encryption: Encryption,
    /// A customer-managed KMS key of the stage's own (rotated yearly, kept like the data)
    /// encrypts its log groups, alarm topic, dead-letter queue, secrets and table.
    pub customer_key: bool,
    /// Reserved concurrency of each function: what it may always run, and its most.
    pub concurrency: Concurrency,
    /// `Access-Control-Allow-Origin` of the status API; `None` sends no CORS headers.
    pub cors_allow_origin: Option<String>,
    /// Minutes between reconciler runs (EventBridge's smallest rate is one minute).
    pub reconcile_minutes: u32,
    /// Seconds a record may wait for its execution before the reconciler starts it.
    pub reconcile_grace_s: u32,
    /// Most records one reconciler run examines.
    pub reconcile_batch: u32,
    /// Days after a failure during which a webhook can still be redriven: its record must
    /// outlive the durable execution's retention by that much.
    pub redrive_window_days: u32,
    /// Where alarm notifications are mailed (an SNS email subscription), if anywhere.
    pub alarm_email: Option<String>,
    /// The webhook sources, `default` (GitHub's scheme, `POST /webhooks`) first.
    pub sources: Vec<SourceConfig>,
    /// Who may read a webhook's status.
    pub status_auth: StatusAuth,
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
            customer_key: false,
            concurrency: Concurrency {
                receiver: 20,
                processor: 20,
                status: 5,
                reconciler: 1,
            },
            cors_allow_origin: Some("*".to_owned()),
            reconcile_minutes: 5,
            reconcile_grace_s: 60,
            reconcile_batch: 1000,
            redrive_window_days: 7,
            alarm_email: None,
            sources: vec![SourceConfig::new(sources::DEFAULT, "github")],
            status_auth: StatusAuth::None,
        };
        match stage {
            // One source per scheme, named after it, to try each locally.
            Stage::Dev => StageConfig {
                sources: std::iter::once(SourceConfig::new(sources::DEFAULT, "github"))
                    .chain(sources::SCHEMES.iter().map(|s| SourceConfig::new(s, s)))
                    .collect(),
                ..dev
            },
            Stage::Staging => StageConfig {
                api_memory_mb: 512,
                processor_memory_mb: 512,
                log_retention_days: 30,
                ttl_days: 21,
                throttle: Throttle {
                    rate_per_second: 200.0,
                    burst: 400,
                },
                durable: DurableConfig {
                    execution_timeout: 3600,
                    retention_period_in_days: 14,
                },
                concurrency: Concurrency {
                    receiver: 50,
                    processor: 50,
                    status: 10,
                    reconciler: 1,
                },
                status_auth: StatusAuth::Iam,
                ..dev
            },
            Stage::Prod => StageConfig {
                api_memory_mb: 1024,
                // The processor waits on its ten network calls (about 3 ms of CPU per
                // execution) and answers no one: memory buys it little but a larger bill
                // per millisecond. The receiver keeps 1 GB: its CPU share is the 202's
                // latency.
                processor_memory_mb: 512,
                log_retention_days: 90,
                ttl_days: 37,
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
                customer_key: true,
                concurrency: Concurrency {
                    receiver: 200,
                    processor: 200,
                    status: 50,
                    reconciler: 1,
                },
                cors_allow_origin: None,
                status_auth: StatusAuth::Iam,
                ..dev
            },
        }
    }
}

/// The stage settings `deployer deploy --set KEY=VALUE` (and `deployer local --set`) may
/// override.
pub const SETTINGS: [&str; 21] = [
    "api-memory-mb",
    "processor-memory-mb",
    "log-retention-days",
    "ttl-days",
    "throttle-rate",
    "throttle-burst",
    "execution-timeout-s",
    "retention-days",
    "reconcile-minutes",
    "reconcile-grace-s",
    "reconcile-batch",
    "redrive-window-days",
    "alarm-email",
    "processor-timeout-s",
    "sources",
    "receiver-concurrency",
    "processor-concurrency",
    "status-concurrency",
    "reconciler-concurrency",
    "customer-key",
    "status-auth",
];

impl StageConfig {
    /// Overrides one setting (one of [`SETTINGS`]); ranges are checked by synth
    /// ([`StageConfig::problems`]).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("{key}: `{value}` is not a number"))
        }
        match key {
            "api-memory-mb" => self.api_memory_mb = number(key, value)?,
            "processor-memory-mb" => self.processor_memory_mb = number(key, value)?,
            "processor-timeout-s" => self.processor_timeout_s = number(key, value)?,
            "log-retention-days" => self.log_retention_days = number(key, value)?,
            "ttl-days" => self.ttl_days = number(key, value)?,
            "throttle-rate" => self.throttle.rate_per_second = number(key, value)?,
            "throttle-burst" => self.throttle.burst = number(key, value)?,
            "execution-timeout-s" => self.durable.execution_timeout = number(key, value)?,
            "retention-days" => self.durable.retention_period_in_days = number(key, value)?,
            "reconcile-minutes" => self.reconcile_minutes = number(key, value)?,
            "reconcile-grace-s" => self.reconcile_grace_s = number(key, value)?,
            "reconcile-batch" => self.reconcile_batch = number(key, value)?,
            "redrive-window-days" => self.redrive_window_days = number(key, value)?,
            "receiver-concurrency" => self.concurrency.receiver = number(key, value)?,
            "processor-concurrency" => self.concurrency.processor = number(key, value)?,
            "status-concurrency" => self.concurrency.status = number(key, value)?,
            "reconciler-concurrency" => self.concurrency.reconciler = number(key, value)?,
            "customer-key" => {
                self.customer_key = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("{key}: `{value}` is not true or false")),
                }
            }
            "alarm-email" => {
                self.alarm_email = (!value.is_empty()).then(|| value.to_owned());
            }
            "status-auth" => {
                self.status_auth = StatusAuth::ALL
                    .into_iter()
                    .find(|a| a.as_str() == value)
                    .ok_or_else(|| format!("{key}: `{value}` is not none, api-key or iam"))?;
            }
            // `name:scheme,...` (a bare scheme names its source after itself), besides
            // `default`.
            "sources" => {
                let mut list = vec![SourceConfig::new(sources::DEFAULT, "github")];
                for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    let (name, scheme) = item.split_once(':').unwrap_or((item, item));
                    list.push(SourceConfig::new(name, scheme));
                }
                self.sources = list;
            }
            _ => {
                return Err(format!(
                    "unknown setting `{key}`; the settings are {}",
                    SETTINGS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Each source needs a valid, unique name and a known scheme; `default` must be there.
    fn source_problems(&self, bad: &mut impl FnMut(&'static str, String, String)) {
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.sources {
            let valid = (1..=32).contains(&s.name.len())
                && s.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid || !seen.insert(s.name.as_str()) {
                bad(
                    "sources",
                    s.name.clone(),
                    "a unique source name of 1 to 32 lowercase letters, digits and hyphens".into(),
                );
            }
            if !sources::SCHEMES.contains(&s.scheme.as_str()) {
                bad(
                    "sources",
                    format!("{}:{}", s.name, s.scheme),
                    format!("a scheme among {}", sources::SCHEMES.join(", ")),
                );
            }
        }
        if !seen.contains(sources::DEFAULT) {
            bad(
                "sources",
                "(no default)".into(),
                "a list with the `default` source (POST /webhooks)".into(),
            );
        }
    }

    /// Each function reserves 1..=1000 executions, all of them together at most
    /// [`MAX_RESERVED_CONCURRENCY`].
    fn concurrency_problems(&self, bad: &mut impl FnMut(&'static str, String, String)) {
        let c = &self.concurrency;
        let each = [
            ("receiver-concurrency", c.receiver),
            ("processor-concurrency", c.processor),
            ("status-concurrency", c.status),
            ("reconciler-concurrency", c.reconciler),
        ];
        let mut in_range = true;
        for (setting, n) in each {
            if !(1..=1000).contains(&n) {
                in_range = false;
                bad(setting, n.to_string(), "1..=1000 executions".into());
            }
        }
        if in_range && c.total() > MAX_RESERVED_CONCURRENCY {
            bad(
                "receiver-concurrency",
                format!(
                    "{} (with processor {}, status {}, reconciler {}: {} in all)",
                    c.receiver,
                    c.processor,
                    c.status,
                    c.reconciler,
                    c.total()
                ),
                format!(
                    "lower, or another function's: the four reserve at most {MAX_RESERVED_CONCURRENCY} executions together (Lambda keeps 100 of the account's default 1,000 unreserved)"
                ),
            );
        }
    }

    /// Seconds after which a webhook that is still not terminal is stuck: its execution
    /// may run `ExecutionTimeout`, the reconciler then needs up to two runs (one to see it
    /// ended, one more if a run was busy) after its grace.
    pub fn stuck_after_s(&self) -> u64 {
        u64::from(self.durable.execution_timeout)
            + 2 * 60 * u64::from(self.reconcile_minutes)
            + u64::from(self.reconcile_grace_s)
    }

    /// Every setting out of its range, each naming the range. Resource properties (memory,
    /// timeouts, `DurableConfig`, log retention) are checked on the resources themselves.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |setting: &'static str, value: String, expected: String| {
            out.push(Problem::InvalidSetting {
                setting,
                value,
                expected,
            })
        };
        let range = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
        if !range(self.ttl_days, 1, 3650) {
            bad(
                "ttl-days",
                self.ttl_days.to_string(),
                "1..=3650 days".into(),
            );
        } else {
            let needed = self.durable.retention_period_in_days + self.redrive_window_days;
            if self.ttl_days < needed {
                bad(
                    "ttl-days",
                    self.ttl_days.to_string(),
                    format!(
                        "at least {needed} days: records must outlive the durable retention ({} days) plus the redrive window ({} days), or a redelivery after the record expired finds the old execution",
                        self.durable.retention_period_in_days, self.redrive_window_days
                    ),
                );
            }
        }
        let rate = self.throttle.rate_per_second;
        if !(rate.is_finite() && rate > 0.0 && rate <= 10_000.0) {
            bad(
                "throttle-rate",
                rate.to_string(),
                "a number of requests per second in (0, 10000]".into(),
            );
        }
        let burst = self.throttle.burst;
        if !range(burst, 1, 5000) {
            bad(
                "throttle-burst",
                burst.to_string(),
                "1..=5000 requests".into(),
            );
        } else if f64::from(burst) < rate {
            bad(
                "throttle-burst",
                burst.to_string(),
                format!(
                    "at least the rate ({rate}): a burst smaller than the rate refuses requests the rate allows"
                ),
            );
        }
        if !range(self.reconcile_minutes, 1, 60) {
            bad(
                "reconcile-minutes",
                self.reconcile_minutes.to_string(),
                "1..=60 minutes".into(),
            );
        }
        if !range(self.reconcile_grace_s, 1, 3600) {
            bad(
                "reconcile-grace-s",
                self.reconcile_grace_s.to_string(),
                "1..=3600 seconds".into(),
            );
        }
        if !range(self.reconcile_batch, 1, 100_000) {
            bad(
                "reconcile-batch",
                self.reconcile_batch.to_string(),
                "1..=100000 records".into(),
            );
        }
        if !range(self.redrive_window_days, 1, 365) {
            bad(
                "redrive-window-days",
                self.redrive_window_days.to_string(),
                "1..=365 days".into(),
            );
        }
        self.source_problems(&mut bad);
        self.concurrency_problems(&mut bad);
        if let Some(email) = &self.alarm_email {
            let ok = email.len() <= 254
                && !email.chars().any(char::is_whitespace)
                && email
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
            if !ok {
                bad(
                    "alarm-email",
                    email.clone(),
                    "an email address (name@example.com)".into(),
                );
            }
        }
        out
    }
}

/// A function with its role, its log group (with the stage's retention) and its package.
pub(crate) struct Lambda {
    pub(crate) role: Handle<Role>,
    pub(crate) function: Handle<Function>,
    pub(crate) asset: crate::Asset,
}

/// Why checkov's checks that do not apply to this stack are skipped (README, "checkov",
/// lists each).
mod skip {
    pub const VPC: &str = "reaches only AWS APIs (DynamoDB, Lambda, Secrets Manager, SQS) over TLS with IAM: no private network to join";
    pub const ENVIRONMENT: &str = "the environment holds names, ARNs and settings, no secrets (signing keys come from Secrets Manager); Lambda encrypts it at rest";
    pub const SYNC_DLQ: &str = "invoked synchronously by API Gateway: a dead-letter queue only receives failed asynchronous events";
    pub const SCHEDULE_DLQ: &str =
        "its scheduled event carries no data: the next run redoes what a failed run left";
    pub const LOGS_KMS: &str = "encrypted by CloudWatch Logs' own keys; the stage's customer-managed key (customer-key) is on in prod";
    pub const TOPIC_KMS: &str = "CloudWatch alarms cannot publish to a topic under the AWS managed key aws/sns; the stage's customer-managed key (customer-key) is on in prod";
    pub const QUEUE_KMS: &str = "encrypted at rest with SQS-managed keys (SSE-SQS); the stage's customer-managed key (customer-key) is on in prod";
    pub const SECRET_KMS: &str = "encrypted with the AWS managed key aws/secretsmanager; the stage's customer-managed key (customer-key) is on in prod";
    pub const TABLE_OWNED_KEY: &str = "encrypted with a key DynamoDB owns; the stage's customer-managed key (customer-key) is on in prod";
    pub const TABLE_MANAGED_KEY: &str = "encrypted with the AWS managed key aws/dynamodb; the stage's customer-managed key (customer-key) is on in prod";
    pub const PITR: &str = "this stage keeps no data (records expire, the table goes with the stack); point-in-time recovery is on in prod";
    pub const CACHING: &str = "nothing to cache: POSTs are deliveries, and GET answers a status that changes while it is processed";
    pub const WEBHOOK_ROUTE: &str = "public webhook endpoint: providers cannot sign in to API Gateway; the receiver authenticates every delivery by its HMAC signature";
    pub const OPEN_STATUS: &str = "the status route is public in this stage; webhook ids are keyed hashes that cannot be guessed from delivery ids";
}

pub(crate) fn lambda(
    s: &mut Stack,
    id: &str,
    crate_name: &str,
    cfg: &StageConfig,
    key: Option<&Handle<Key>>,
    build: impl FnOnce(Function) -> Function,
) -> Lambda {
    let logs = s.add(
        &format!("{id}Logs"),
        log_group(
            Expr::sub([
                "/aws/lambda/".into(),
                Expr::pseudo(Pseudo::StackName),
                format!("-{crate_name}").into(),
            ]),
            cfg,
            key,
        ),
    );
    if key.is_none() {
        s.skip_check(&logs, Check::LogGroupKms, skip::LOGS_KMS);
    }
    // Explicit names: a retained group would block re-creating the stack, so logs go with it.
    let delete = Some(RemovalPolicy::Delete);
    s.removal_policy(&logs, delete, delete);
    let role = s.add(
        &format!("{id}Role"),
        Role::for_service("lambda.amazonaws.com")
            .description(format!("Execution role of the {crate_name} function")),
    );
    s.grant(&role, Grant::write_logs(&logs));
    s.grant(&role, Grant::put_traces());
    let asset = s.asset(id, crate_name);
    let function = Function::new(Code::from(&asset), role.arn())
        .architecture(cfg.architecture)
        .logging(LoggingConfig::json(logs.name()))
        .tracing(TracingMode::Active);
    let function = s.add(id, build(function));
    s.skip_check(&function, Check::LambdaInVpc, skip::VPC);
    if s.get(&function).is_some_and(|f| !f.environment.is_empty()) {
        s.skip_check(&function, Check::LambdaEnvironmentKms, skip::ENVIRONMENT);
    }
    Lambda {
        role,
        function,
        asset,
    }
}

/// A log group with the stage's retention, encrypted with `key` if there is one.
fn log_group(name: Expr, cfg: &StageConfig, key: Option<&Handle<Key>>) -> LogGroup {
    let group = LogGroup::new(name, cfg.log_retention_days);
    match key {
        Some(key) => group.kms_key(key.arn()),
        None => group,
    }
}

/// The stage's customer-managed key, kept as long as the data it encrypts.
fn stage_key(s: &mut Stack, cfg: &StageConfig) -> Handle<Key> {
    let key = s.add(
        "StageKey",
        Key::rotated(
            format!(
                "Encrypts the logs, alarms, dead letters, secrets and table of webhooks {}",
                cfg.stage
            ),
            stage_key_policy(),
        ),
    );
    // Retained data stays readable only as long as its key exists.
    let policy = cfg.retain_data.then_some(RemovalPolicy::Retain);
    let policy = policy.unwrap_or(RemovalPolicy::Delete);
    s.removal_policy(&key, Some(policy), Some(policy));
    key
}

/// The account administers the key (and grants its use through IAM, as for any key);
/// CloudWatch Logs may use it for this stack's log groups only; CloudWatch may use it to
/// publish alarms to the encrypted topic.
fn stage_key_policy() -> PolicyDocument {
    let partition = || Expr::pseudo(Pseudo::Partition);
    let region = || Expr::pseudo(Pseudo::Region);
    let account_id = || Expr::pseudo(Pseudo::AccountId);
    let allow = |sid: &str, principal: Principal, actions: &[&str]| Statement {
        sid: Some(sid.to_owned()),
        effect: Effect::Allow,
        principal: Some(principal),
        action: actions.iter().map(|a| (*a).to_owned()).collect(),
        resource: vec!["*".into()],
        condition: None,
    };
    let account = allow(
        "AccountAdministersAndGrantsThroughIam",
        Principal::Aws(vec![Expr::sub([
            "arn:".into(),
            partition(),
            ":iam::".into(),
            account_id(),
            ":root".into(),
        ])]),
        &["kms:*"],
    );
    let mut logs = allow(
        "CloudWatchLogsOfThisStack",
        Principal::Service(vec![Expr::sub([
            "logs.".into(),
            region(),
            ".amazonaws.com".into(),
        ])]),
        &[
            "kms:Decrypt*",
            "kms:Describe*",
            "kms:Encrypt*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ],
    );
    logs.condition = Some(
        [(
            "ArnLike".to_owned(),
            [(
                "kms:EncryptionContext:aws:logs:arn".to_owned(),
                Expr::sub([
                    "arn:".into(),
                    partition(),
                    ":logs:".into(),
                    region(),
                    ":".into(),
                    account_id(),
                    ":log-group:/aws/*/".into(),
                    Expr::pseudo(Pseudo::StackName),
                    "-*".into(),
                ]),
            )]
            .into(),
        )]
        .into(),
    );
    let alarms = allow(
        "CloudWatchAlarmsPublishToTheTopic",
        Principal::Service(vec!["cloudwatch.amazonaws.com".into()]),
        &["kms:Decrypt", "kms:GenerateDataKey*"],
    );
    PolicyDocument::new(vec![account, logs, alarms])
}

/// Makes `f` invocable as a durable function: its checkpoint permissions (in a role policy,
/// which the alias waits for), a pinned version ([`pinned_alias`]; old versions kept for
/// executions still running on them) and the alias [`DURABLE_ALIAS`].
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
    let (version, alias) = pinned_alias(
        s,
        id,
        f,
        DURABLE_ALIAS,
        "The version new executions start on",
    );
    // Executions in flight stay pinned to the version they started on: keep old versions.
    s.removal_policy(&version, None, Some(RemovalPolicy::Retain));
    // Nothing can start an execution before the processor may checkpoint it.
    s.depends_on(&alias, &durable_policy);

    alias
}

/// The alias API Gateway and EventBridge invoke the other functions through.
pub const LIVE_ALIAS: &str = "live";

/// A version of `f` that CloudFormation publishes only if the function's code has the SHA-256
/// of its package (template parameter `<id>CodeSha256`, which the deployer fills), and alias
/// `name` on it. A new version is published when the code changes (the SHA-256) or the
/// function's versioned configuration does ([`configuration_fingerprint`], in the version's
/// description); the alias then moves to it.
pub(crate) fn pinned_alias(
    s: &mut Stack,
    id: &str,
    f: &Lambda,
    name: &str,
    alias_description: &str,
) -> (Handle<Version>, Handle<Alias>) {
    let code_sha256 = s.asset_sha256(&f.asset);
    let fingerprint = s
        .get(&f.function)
        .map(configuration_fingerprint)
        .unwrap_or_default();
    let version = s.add(
        &format!("{id}Version"),
        Version {
            function_name: f.function.name(),
            description: Some(format!(
                "Published when the code or the configuration changes (configuration {fingerprint})"
            )),
            code_sha256: Some(code_sha256),
        },
    );
    let alias = s.add(
        &format!("{id}Alias"),
        Alias {
            name: name.to_owned(),
            function_name: f.function.name(),
            function_version: version.version(),
            description: Some(alias_description.to_owned()),
        },
    );
    (version, alias)
}

/// The first 16 hex digits of the SHA-256 of `f`'s properties that a Lambda version
/// snapshots: all of them but reserved concurrency (a setting of the function, not of a
/// version). A version's description must change exactly when these do: CloudFormation
/// replaces a version whose description changed, and Lambda refuses to publish a function
/// that did not change since its last version.
pub fn configuration_fingerprint(f: &Function) -> String {
    use sha2::{Digest, Sha256};
    let mut versioned = f.clone();
    versioned.reserved_concurrency = None;
    // Serializing a function cannot fail (string keys, no floats).
    let bytes = serde_json::to_vec(&versioned).unwrap_or_default();
    hex_prefix(&Sha256::digest(bytes))
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The webhook stack of one stage.
pub fn webhook_stack(cfg: &StageConfig) -> Stack {
    let stage = cfg.stage;
    let mut s = Stack::new(
        stage.stack_name(),
        format!("Webhook receiver with a durable processor ({stage})"),
    );
    s.problems.extend(cfg.problems());
    let key = cfg.customer_key.then(|| stage_key(&mut s, cfg));
    let key = key.as_ref();
    let Data {
        secrets,
        id_key,
        table,
        dead_letters,
    } = data(&mut s, cfg, key);
    let ttl_days = cfg.ttl_days.to_string();

    // The processor: durable, reached only through its alias.
    let processor = lambda(&mut s, "Processor", crates::PROCESSOR, cfg, key, |f| {
        f.description("Durable processor: validate -> process -> finalize")
            .memory_mb(cfg.processor_memory_mb)
            .timeout_s(cfg.processor_timeout_s)
            .reserved_concurrency(cfg.concurrency.processor)
            .durable(cfg.durable)
            .dead_letters(dead_letters.arn())
            .env(env::TABLE_NAME, table.name())
            .env(env::TTL_DAYS, ttl_days.as_str())
    });
    s.grant(
        &processor.role,
        Grant::items(&table, &[GET_ITEM, UPDATE_ITEM]),
    );
    s.grant(&processor.role, Grant::send_messages(&dead_letters));
    if let Some(key) = key {
        // Sends to the queue and reads and writes the table, both under the key.
        s.grant(&processor.role, Grant::encrypt(key));
    }
    let alias = durable_alias(&mut s, "Processor", &processor);

    let receiver = lambda(&mut s, "Receiver", crates::RECEIVER, cfg, key, |f| {
        f.description("POST /webhooks: verify, record, start the durable processor, answer 202")
            .memory_mb(cfg.api_memory_mb)
            .timeout_s(cfg.api_timeout_s)
            .reserved_concurrency(cfg.concurrency.receiver)
            .env(env::TABLE_NAME, table.name())
            .env(env::TTL_DAYS, ttl_days.as_str())
            .env(env::PROCESSOR_FUNCTION, alias.arn())
            .env(env::SOURCES, sources_json(&secrets))
            .env(env::ID_KEY_ARN, id_key.arn())
            .env(env::STAGE, stage.as_str())
    });
    s.grant(
        &receiver.role,
        Grant::items(&table, &[GET_ITEM, PUT_ITEM, UPDATE_ITEM]),
    );
    s.grant(&receiver.role, Grant::invoke(&alias));
    for (_, secret) in &secrets {
        s.grant(&receiver.role, Grant::read_secret(secret));
    }
    s.grant(&receiver.role, Grant::read_secret(&id_key));
    s.skip_check(
        &receiver.function,
        Check::LambdaDeadLetterQueue,
        skip::SYNC_DLQ,
    );

    let status = lambda(&mut s, "Status", crates::STATUS, cfg, key, |f| {
        let f = f
            .description("GET /webhooks/{id}: the status of one webhook")
            .memory_mb(cfg.api_memory_mb)
            .timeout_s(cfg.api_timeout_s)
            .reserved_concurrency(cfg.concurrency.status)
            .env(env::TABLE_NAME, table.name());
        match &cfg.cors_allow_origin {
            Some(origin) => f.env(env::CORS_ALLOW_ORIGIN, origin.as_str()),
            None => f,
        }
    });
    s.grant(&status.role, Grant::items(&table, &[GET_ITEM]));
    s.skip_check(
        &status.function,
        Check::LambdaDeadLetterQueue,
        skip::SYNC_DLQ,
    );
    if let Some(key) = key {
        // Secrets and table items under the key.
        s.grant(&receiver.role, Grant::decrypt(key));
        s.grant(&status.role, Grant::decrypt(key));
    }

    reconciler(&mut s, cfg, &table, &processor, &alias, key);
    // API Gateway invokes pinned versions of the receiver and status, through their aliases.
    let (_, receiver_alias) = pinned_alias(
        &mut s,
        "Receiver",
        &receiver,
        LIVE_ALIAS,
        "The version API Gateway invokes",
    );
    let (_, status_alias) = pinned_alias(
        &mut s,
        "Status",
        &status,
        LIVE_ALIAS,
        "The version API Gateway invokes",
    );
    let (rest_api, api_stage) = api(&mut s, cfg, &receiver_alias, &status_alias, key);
    status_access(&mut s, cfg, &rest_api, &api_stage);
    let topic = alarms(&mut s, cfg, &processor.function, key);

    let webhooks = format!("/{}", routes::WEBHOOKS);
    let one_webhook = format!("/{}/{{{}}}", routes::WEBHOOKS, routes::KEY_PARAM);
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
        "Secrets Manager secret holding the default source's signing secret",
        secrets[0].1.arn(),
    );
    s.output(
        "AlarmTopicArn",
        "SNS topic the stage's alarms notify",
        topic.arn(),
    );
    s.output(
        "DeadLetterQueueArn",
        "SQS queue of the events of executions that ended FAILED, STOPPED or TIMED_OUT",
        dead_letters.arn(),
    );
    s.output(
        "StuckAfterSeconds",
        "Seconds after which a webhook that is not COMPLETED or FAILED is stuck",
        cfg.stuck_after_s().to_string().into(),
    );
    s
}

/// What the stage keeps: one generated secret per source and the id key, the status table
/// and the processor's dead-letter queue; `Retain` where the stage retains data, under
/// `key` if the stage has one.
struct Data {
    secrets: Vec<(SourceConfig, Handle<Secret>)>,
    id_key: Handle<Secret>,
    table: Handle<Table>,
    dead_letters: Handle<Queue>,
}

fn data(s: &mut Stack, cfg: &StageConfig, key: Option<&Handle<Key>>) -> Data {
    let retain = cfg.retain_data.then_some(RemovalPolicy::Retain);
    let data_policy = retain.unwrap_or(RemovalPolicy::Delete);

    // One generated signing secret per source (48 letters and digits: also a valid base64
    // key for Standard Webhooks), and the key webhook ids are derived with.
    let secrets: Vec<(SourceConfig, Handle<Secret>)> = cfg
        .sources
        .iter()
        .map(|src| {
            let secret = add_secret(
                s,
                &src.secret_id(),
                format!(
                    "Signing secret of webhook source `{}` ({})",
                    src.name, src.scheme
                ),
                key,
            );
            s.removal_policy(&secret, Some(data_policy), Some(data_policy));
            (src.clone(), secret)
        })
        .collect();
    let id_key = add_secret(
        s,
        "WebhookIdKey",
        "Key webhook ids are derived with (ids cannot be guessed from delivery ids)".into(),
        key,
    );
    s.removal_policy(&id_key, Some(data_policy), Some(data_policy));

    let table = s.add("WebhookTable", status_table(cfg, key));
    s.removal_policy(&table, Some(data_policy), Some(data_policy));
    let table_key = match s.get(&table).map(|t| &t.encryption) {
        Some(Encryption::AwsOwned) => Some(skip::TABLE_OWNED_KEY),
        Some(Encryption::AwsManagedKms) => Some(skip::TABLE_MANAGED_KEY),
        Some(Encryption::CustomerManaged(_)) | None => None,
    };
    if let Some(reason) = table_key {
        s.skip_check(&table, Check::DynamoDbCustomerKey, reason);
    }
    if !cfg.point_in_time_recovery {
        s.skip_check(&table, Check::DynamoDbPointInTimeRecovery, skip::PITR);
    }
    // Events of asynchronous starts whose execution ended FAILED, STOPPED or TIMED_OUT
    // (durable functions take a dead-letter queue, not on-failure destinations).
    let dead_letters = s.add(
        "ProcessorDeadLetters",
        Queue::dead_letters().encryption(match key {
            Some(key) => QueueEncryption::Kms(key.arn()),
            None => QueueEncryption::SqsManaged,
        }),
    );
    s.removal_policy(&dead_letters, Some(data_policy), Some(data_policy));
    if key.is_none() {
        s.skip_check(&dead_letters, Check::SqsQueueKms, skip::QUEUE_KMS);
    }
    Data {
        secrets,
        id_key,
        table,
        dead_letters,
    }
}

/// `WEBHOOK_SOURCES`: every source's scheme and secret ARN, as JSON.
fn sources_json(secrets: &[(SourceConfig, Handle<Secret>)]) -> Expr {
    let mut parts: Vec<Expr> = vec!["{".into()];
    for (i, (src, secret)) in secrets.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        parts.push(
            format!(
                r#"{sep}"{}":{{"scheme":"{}","secret":""#,
                src.name, src.scheme
            )
            .into(),
        );
        parts.push(secret.arn());
        parts.push(r#""}"#.into());
    }
    parts.push("}".into());
    Expr::sub(parts)
}

/// A generated secret of 48 letters and digits (also a valid base64 key for Standard
/// Webhooks), encrypted with `key` if there is one.
fn add_secret(
    s: &mut Stack,
    id: &str,
    description: String,
    key: Option<&Handle<Key>>,
) -> Handle<Secret> {
    let secret = Secret::generated(description, 48);
    match key {
        Some(key) => s.add(id, secret.kms_key(key.arn())),
        None => {
            let secret = s.add(id, secret);
            s.skip_check(&secret, Check::SecretCustomerKey, skip::SECRET_KMS);
            secret
        }
    }
}

/// The status table: key `id`, TTL, and the sparse `attention` index of records that are
/// not terminal or FAILED (the reconciler and `deployer webhooks` read it, never scan).
fn status_table(cfg: &StageConfig, key: Option<&Handle<Key>>) -> Table {
    Table::new(KeyAttribute::string(table::PARTITION_KEY))
        .ttl(table::TTL_ATTRIBUTE)
        .global_index(GlobalIndex {
            name: table::ATTENTION_INDEX.to_owned(),
            partition_key: KeyAttribute::string(table::ATTENTION),
            sort_key: Some(KeyAttribute::number(table::ATTENTION_SINCE)),
            projection: Projection::Include(
                table::ATTENTION_PROJECTION
                    .iter()
                    .map(|a| (*a).to_owned())
                    .collect(),
            ),
        })
        .point_in_time_recovery(cfg.point_in_time_recovery)
        .encryption(match key {
            Some(key) => Encryption::CustomerManaged(key.arn()),
            None => cfg.table_encryption.clone(),
        })
        .deletion_protection(cfg.retain_data)
}

/// The reconciler, run by an EventBridge schedule: it reads the attention index, the
/// processor's executions, starts what never started and records FAILED what ended so.
fn reconciler(
    s: &mut Stack,
    cfg: &StageConfig,
    table: &Handle<Table>,
    processor: &Lambda,
    alias: &Handle<Alias>,
    key: Option<&Handle<Key>>,
) {
    let ttl_days = cfg.ttl_days.to_string();
    let reconciler = lambda(s, "Reconciler", crates::RECONCILER, cfg, key, |f| {
        f.description("Every few minutes: start, fail or report webhooks left non-terminal")
            .memory_mb(cfg.api_memory_mb)
            .timeout_s(300)
            .reserved_concurrency(cfg.concurrency.reconciler)
            .env(env::TABLE_NAME, table.name())
            .env(env::TTL_DAYS, ttl_days.as_str())
            .env(env::PROCESSOR_FUNCTION, alias.arn())
            .env(env::STAGE, cfg.stage.as_str())
            .env(
                env::RECONCILE_GRACE_S,
                cfg.reconcile_grace_s.to_string().as_str(),
            )
            .env(env::STUCK_AFTER_S, cfg.stuck_after_s().to_string().as_str())
            .env(
                env::RECONCILE_BATCH,
                cfg.reconcile_batch.to_string().as_str(),
            )
    });
    s.grant(&reconciler.role, Grant::items(table, &[UPDATE_ITEM]));
    s.grant(
        &reconciler.role,
        Grant::query_index(table, table::ATTENTION_INDEX),
    );
    s.grant(&reconciler.role, Grant::invoke(alias));
    s.grant(
        &reconciler.role,
        Grant::read_durable_executions(&processor.function),
    );
    if let Some(key) = key {
        s.grant(&reconciler.role, Grant::decrypt(key));
    }
    s.skip_check(
        &reconciler.function,
        Check::LambdaDeadLetterQueue,
        skip::SCHEDULE_DLQ,
    );
    // The schedule runs a pinned version of the reconciler, through its alias.
    let (_, live) = pinned_alias(
        s,
        "Reconciler",
        &reconciler,
        LIVE_ALIAS,
        "The version the schedule runs",
    );
    let schedule = s.add(
        "ReconcileSchedule",
        Rule::every_minutes(
            cfg.reconcile_minutes,
            "Runs the reconciler",
            Target {
                arn: live.arn(),
                id: "reconciler".to_owned(),
            },
        ),
    );
    s.add(
        "ReconcileSchedulePermission",
        Permission::invoke(live.arn(), "events.amazonaws.com", schedule.arn()),
    );
}

/// The REST API: `POST /webhooks` -> receiver, `GET /webhooks/{id}` -> status, with the
/// stage's throttling and access logs.
/// What a reader of the status route needs: with `api-key`, a key and the usage plan that
/// admits it to the stage (its id an output: `aws apigateway get-api-key --include-value`);
/// with `iam`, a managed policy to attach to the readers' roles (its ARN an output).
fn status_access(
    s: &mut Stack,
    cfg: &StageConfig,
    api: &Handle<RestApi>,
    stage: &Handle<crate::resources::apigateway::ApiStage>,
) {
    use crate::resources::apigateway::{
        ApiKey, PlanThrottle, UsagePlan, UsagePlanKey, UsagePlanStage,
    };
    s.output(
        "StatusAuth",
        "Who may read a webhook's status: none, api-key or iam",
        cfg.status_auth.as_str().into(),
    );
    match cfg.status_auth {
        StatusAuth::None => {}
        StatusAuth::ApiKey => {
            let key = s.add(
                "StatusApiKey",
                ApiKey {
                    enabled: true,
                    description: Some(format!("Reads webhook statuses of {}", cfg.stage)),
                },
            );
            let plan = s.add(
                "StatusUsagePlan",
                UsagePlan {
                    api_stages: vec![UsagePlanStage {
                        api_id: api.api_id(),
                        stage: stage.name(),
                    }],
                    description: Some("The status route's readers".to_owned()),
                    throttle: Some(PlanThrottle {
                        burst_limit: cfg.throttle.burst,
                        rate_limit: cfg.throttle.rate_per_second,
                    }),
                },
            );
            s.add(
                "StatusUsagePlanKey",
                UsagePlanKey {
                    key_id: key.key_id(),
                    key_type: "API_KEY",
                    usage_plan_id: plan.plan_id(),
                },
            );
            s.output(
                "StatusApiKeyId",
                "API key of the status route (its value: aws apigateway get-api-key --api-key <id> --include-value)",
                key.key_id(),
            );
        }
        StatusAuth::Iam => {
            let route = Expr::arn(
                "execute-api",
                [
                    api.api_id(),
                    "/".into(),
                    stage.name(),
                    format!("/GET/{}/*", routes::WEBHOOKS).into(),
                ],
            );
            let policy = s.add(
                "StatusReaderPolicy",
                ManagedPolicy {
                    description: Some(format!(
                        "Reads webhook statuses of {} (GET /webhooks/{{id}})",
                        cfg.stage
                    )),
                    policy_document: PolicyDocument::new(vec![Statement {
                        sid: Some("ReadWebhookStatus".to_owned()),
                        effect: Effect::Allow,
                        principal: None,
                        action: vec!["execute-api:Invoke".to_owned()],
                        resource: vec![route],
                        condition: None,
                    }]),
                },
            );
            s.output(
                "StatusReaderPolicyArn",
                "Managed policy to attach to the roles that read webhook statuses",
                policy.arn(),
            );
        }
    }
}

fn api(
    s: &mut Stack,
    cfg: &StageConfig,
    receiver: &Handle<Alias>,
    status: &Handle<Alias>,
    key: Option<&Handle<Key>>,
) -> (
    Handle<RestApi>,
    Handle<crate::resources::apigateway::ApiStage>,
) {
    let stage = cfg.stage;
    let mut api = RestApiBuilder::new(
        s,
        "Api",
        RestApi::regional(
            Expr::pseudo(Pseudo::StackName),
            format!("Webhook receiver ({stage})"),
        ),
    );
    let webhooks = format!("/{}", routes::WEBHOOKS);
    // One resource for `GET /webhooks/{key}` (a webhook id) and `POST /webhooks/{key}` (a
    // source): API Gateway takes one parameter name per path level.
    let keyed = format!("/{}/{{{}}}", routes::WEBHOOKS, routes::KEY_PARAM);
    let post = api.route(
        s,
        HttpMethod::Post,
        &webhooks,
        IntegrationKind::LambdaProxy,
        receiver,
    );
    let post_keyed = api.route(
        s,
        HttpMethod::Post,
        &keyed,
        IntegrationKind::LambdaProxy,
        receiver,
    );
    let get = api.route_with(
        s,
        HttpMethod::Get,
        &keyed,
        IntegrationKind::LambdaProxy,
        status,
        match cfg.status_auth {
            StatusAuth::None => MethodAuth::Open,
            StatusAuth::ApiKey => MethodAuth::ApiKey,
            StatusAuth::Iam => MethodAuth::Iam,
        },
    );
    for method in [&post, &post_keyed] {
        s.skip_check(method, Check::ApiMethodAuthorization, skip::WEBHOOK_ROUTE);
    }
    if s.get(&get).is_some_and(|m| m.is_open()) {
        s.skip_check(&get, Check::ApiMethodAuthorization, skip::OPEN_STATUS);
    }
    let access_logs = s.add(
        "ApiAccessLogs",
        log_group(
            Expr::sub([
                "/aws/apigateway/".into(),
                Expr::pseudo(Pseudo::StackName),
                "-access".into(),
            ]),
            cfg,
            key,
        ),
    );
    if key.is_none() {
        s.skip_check(&access_logs, Check::LogGroupKms, skip::LOGS_KMS);
    }
    let delete = Some(RemovalPolicy::Delete);
    s.removal_policy(&access_logs, delete, delete);
    let rest_api = api.api().clone();
    let api_stage = api.deploy(
        s,
        StageSettings {
            name: stage.as_str().to_owned(),
            description: Some(format!("The {stage} stage")),
            throttle: Some((cfg.throttle.rate_per_second, cfg.throttle.burst)),
            access_logs: Some(access_logs),
            metrics: true,
            tracing: true,
        },
    );
    s.skip_check(&api_stage, Check::ApiStageCaching, skip::CACHING);
    (rest_api, api_stage)
}

/// The stage's alarm topic (with an email subscription when the stage sets one) and the
/// alarms that say a webhook may not have been processed.
fn alarms(
    s: &mut Stack,
    cfg: &StageConfig,
    processor: &Handle<Function>,
    key: Option<&Handle<Key>>,
) -> Handle<Topic> {
    let stage = cfg.stage.as_str();
    let topic = s.add(
        "AlarmTopic",
        Topic {
            display_name: Some(format!("webhooks {stage} alarms")),
            kms_master_key_id: key.map(|k| k.arn()),
        },
    );
    if key.is_none() {
        s.skip_check(&topic, Check::SnsTopicKms, skip::TOPIC_KMS);
    }
    if let Some(email) = &cfg.alarm_email {
        s.add(
            "AlarmEmail",
            Subscription::email(topic.arn(), email.as_str()),
        );
    }
    let dim = |name: &str, value: Expr| Dimension {
        name: name.to_owned(),
        value,
    };
    let function = || vec![dim("FunctionName", processor.name())];
    let five_minutes = 300;
    let lambda_alarms = [
        (
            "ProcessorFailedAlarm",
            "DurableExecutionFailed",
            "A durable execution of the processor failed: its webhook is FAILED (see `deployer webhooks list --status failed`)",
        ),
        (
            "ProcessorTimedOutAlarm",
            "DurableExecutionTimedOut",
            "A durable execution of the processor ran past its ExecutionTimeout",
        ),
        (
            "ProcessorEventsDroppedAlarm",
            "AsyncEventsDropped",
            "Lambda dropped an asynchronous start of the processor (the reconciler starts it again)",
        ),
    ];
    for (id, metric, description) in lambda_alarms {
        s.add(
            id,
            Alarm::at_least(
                description,
                ("AWS/Lambda", metric),
                function(),
                Statistic::Sum,
                1.0,
                five_minutes,
                topic.arn(),
            ),
        );
    }
    s.add(
        "Api5xxAlarm",
        Alarm::at_least(
            "The webhook API answered with server errors (5XX)",
            ("AWS/ApiGateway", "5XXError"),
            vec![
                dim("ApiName", Expr::pseudo(Pseudo::StackName)),
                dim("Stage", stage.into()),
            ],
            Statistic::Sum,
            1.0,
            five_minutes,
            topic.arn(),
        ),
    );
    s.add(
        "StuckAlarm",
        Alarm::at_least(
            "The reconciler found webhooks that are not COMPLETED or FAILED past the bound (`deployer webhooks list --status stuck`)",
            (metrics::NAMESPACE, metrics::STUCK),
            vec![dim(metrics::STAGE_DIMENSION, stage.into())],
            Statistic::Maximum,
            1.0,
            60 * cfg.reconcile_minutes,
            topic.arn(),
        ),
    );
    topic
}

/// The webhook stack of `stage`, before synth: add to it, override its properties (find
/// its resources with [`Stack::find`](crate::Stack::find)), then synth.
pub fn stack(stage: Stage) -> crate::Stack {
    webhook_stack(&StageConfig::of(stage))
}

/// Synthesizes the webhook stack of `stage`.
pub fn synth(stage: Stage) -> Result<Template, SynthError> {
    webhook_stack(&StageConfig::of(stage)).synth()
}
