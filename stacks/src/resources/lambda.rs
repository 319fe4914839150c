//! `AWS::Lambda::Function`, `Version`, `Alias` and `Permission`.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::{Asset, Expr};

/// Lambda's `provided.al2023` runtime, the one for Rust binaries named `bootstrap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Runtime {
    #[serde(rename = "provided.al2023")]
    ProvidedAl2023,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Function code: a package built from a crate of the workspace (see [`Stack::asset`](crate::Stack::asset)).
#[derive(Clone, Debug)]
pub struct Code {
    pub(crate) asset_id: String,
    bucket: Expr,
    key: Expr,
}

impl From<&Asset> for Code {
    fn from(a: &Asset) -> Self {
        Code {
            asset_id: a.id.clone(),
            bucket: a.bucket.clone(),
            key: a.key.clone(),
        }
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props<'a> {
            s3_bucket: &'a Expr,
            s3_key: &'a Expr,
        }
        Props {
            s3_bucket: &self.bucket,
            s3_key: &self.key,
        }
        .serialize(s)
    }
}

/// `DurableConfig`: makes the function a durable function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DurableConfig {
    /// Longest time an execution may run, in seconds (1 to 31,622,400, a year).
    pub execution_timeout: u32,
    /// Days the service keeps a finished execution's state and history (1 to 90).
    pub retention_period_in_days: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// `LoggingConfig`: JSON logs into a log group of the stack's own (so that its retention is
/// set by the stack rather than left at "never expire").
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    log_format: &'static str,
    pub log_group: Expr,
    pub application_log_level: LogLevel,
    pub system_log_level: LogLevel,
}

impl LoggingConfig {
    pub fn json(log_group: Expr) -> Self {
        LoggingConfig {
            log_format: "JSON",
            log_group,
            application_log_level: LogLevel::Info,
            system_log_level: LogLevel::Warn,
        }
    }
}

/// A Lambda function running a Rust `bootstrap` binary on `provided.al2023`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    runtime: Runtime,
    handler: &'static str,
    #[serde(rename = "Architectures", serialize_with = "as_list")]
    pub architecture: Architecture,
    /// Memory in MB (128 to 10,240).
    #[serde(rename = "MemorySize")]
    pub memory_mb: u32,
    /// Timeout of one invocation in seconds (1 to 900).
    #[serde(rename = "Timeout")]
    pub timeout_s: u32,
    pub role: Expr,
    pub code: Code,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "variables"
    )]
    pub environment: BTreeMap<String, Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable_config: Option<DurableConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_config: Option<LoggingConfig>,
    /// Where Lambda sends the event of an asynchronous invocation that failed for good (for
    /// a durable function: whose execution ended FAILED, STOPPED or TIMED_OUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// X-Ray tracing of invocations; the role needs [`Grant::put_traces`](crate::Grant::put_traces)
    /// for [`TracingMode::Active`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_config: Option<TracingConfig>,
    /// Concurrent executions set aside for this function, which are also its most.
    #[serde(
        rename = "ReservedConcurrentExecutions",
        skip_serializing_if = "Option::is_none"
    )]
    pub reserved_concurrency: Option<u32>,
}

/// `TracingConfig` of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: TracingMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TracingMode {
    /// Lambda samples invocations and sends their traces to X-Ray.
    Active,
    /// Traces only requests that arrive with a sampled trace header.
    PassThrough,
}

/// `DeadLetterConfig`: an SQS queue or SNS topic for failed asynchronous events.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    pub target_arn: Expr,
}

impl Function {
    /// A function with Lambda's defaults (x86_64, 128 MB, 3 s) running `code` as `role`.
    pub fn new(code: Code, role: Expr) -> Self {
        Function {
            description: None,
            runtime: Runtime::ProvidedAl2023,
            handler: "bootstrap",
            architecture: Architecture::X86_64,
            memory_mb: 128,
            timeout_s: 3,
            role,
            code,
            environment: BTreeMap::new(),
            durable_config: None,
            logging_config: None,
            dead_letter_config: None,
            tracing_config: None,
            reserved_concurrency: None,
        }
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    pub fn architecture(mut self, a: Architecture) -> Self {
        self.architecture = a;
        self
    }

    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    pub fn timeout_s(mut self, s: u32) -> Self {
        self.timeout_s = s;
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<Expr>) -> Self {
        self.environment.insert(key.to_owned(), value.into());
        self
    }

    pub fn durable(mut self, config: DurableConfig) -> Self {
        self.durable_config = Some(config);
        self
    }

    pub fn logging(mut self, config: LoggingConfig) -> Self {
        self.logging_config = Some(config);
        self
    }

    /// Failed asynchronous events go to `target` (a queue's or topic's ARN).
    pub fn dead_letters(mut self, target: Expr) -> Self {
        self.dead_letter_config = Some(DeadLetterConfig { target_arn: target });
        self
    }

    pub fn tracing(mut self, mode: TracingMode) -> Self {
        self.tracing_config = Some(TracingConfig { mode });
        self
    }

    /// Reserves `n` concurrent executions for this function (and caps it there).
    pub fn reserved_concurrency(mut self, n: u32) -> Self {
        self.reserved_concurrency = Some(n);
        self
    }
}

fn as_list<S: Serializer>(a: &Architecture, s: S) -> Result<S::Ok, S::Error> {
    [a].serialize(s)
}

fn variables<S: Serializer>(vars: &BTreeMap<String, Expr>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Environment<'a> {
        variables: &'a BTreeMap<String, Expr>,
    }
    Environment { variables: vars }.serialize(s)
}

/// A published, immutable version of a function.
#[derive(Clone, Debug)]
pub struct Version {
    pub function_name: Expr,
    pub description: Option<String>,
    /// Publish only if the function's code has this SHA-256 (base64). Changing it publishes a
    /// new version, which is how a code change reaches the alias.
    pub code_sha256: Option<Expr>,
}

/// A named pointer to a version; durable functions are invoked through one.
#[derive(Clone, Debug)]
pub struct Alias {
    pub name: String,
    pub function_name: Expr,
    pub function_version: Expr,
    pub description: Option<String>,
}

/// A resource-based permission to invoke a function (or one of its versions or aliases).
#[derive(Clone, Debug)]
pub struct Permission {
    pub action: &'static str,
    pub function_name: Expr,
    pub principal: String,
    pub source_arn: Option<Expr>,
}

impl Permission {
    /// `lambda:InvokeFunction` on `function` for `principal` (a service), from `source_arn`.
    pub fn invoke(function: Expr, principal: &str, source_arn: Expr) -> Self {
        Permission {
            action: "lambda:InvokeFunction",
            function_name: function,
            principal: principal.to_owned(),
            source_arn: Some(source_arn),
        }
    }
}

mod lowering {
    //! The Lambda constructs as the generated types render them. `Serialize` stays on
    //! [`Function`] for its configuration fingerprint (a version's description), whose
    //! bytes must not change.

    use super::{Alias, Function, LogLevel, Permission, TracingMode, Version};
    use crate::Expr;
    use crate::cfn::Json;
    use crate::l1::aws::lambda::{alias, function as l1, permission, version};
    use crate::resources::Lower;

    fn level(l: LogLevel) -> &'static str {
        match l {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    impl Lower for Function {
        type L1 = l1::Function;
        fn lower(&self) -> l1::Function {
            let code = l1::Code::new()
                .s3_bucket(self.code.bucket.clone())
                .s3_key(self.code.key.clone());
            let mut f = l1::Function::new(code, self.role.clone())
                .runtime("provided.al2023")
                .handler("bootstrap")
                .architectures([self.architecture.as_str()])
                .memory_size(self.memory_mb)
                .timeout(self.timeout_s);
            f.description = self.description.clone().map(Expr::lit);
            if !self.environment.is_empty() {
                let vars = self
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::Str(v.clone())))
                    .collect();
                f = f.environment(l1::Environment::new().variables(vars));
            }
            if let Some(d) = &self.durable_config {
                f = f.durable_config(
                    l1::DurableConfig::new(d.execution_timeout)
                        .retention_period_in_days(d.retention_period_in_days),
                );
            }
            if let Some(l) = &self.logging_config {
                f = f.logging_config(
                    l1::LoggingConfig::new()
                        .log_format(l.log_format)
                        .log_group(l.log_group.clone())
                        .application_log_level(level(l.application_log_level))
                        .system_log_level(level(l.system_log_level)),
                );
            }
            if let Some(d) = &self.dead_letter_config {
                f = f.dead_letter_config(
                    l1::DeadLetterConfig::new().target_arn(d.target_arn.clone()),
                );
            }
            if let Some(t) = &self.tracing_config {
                let mode = match t.mode {
                    TracingMode::Active => "Active",
                    TracingMode::PassThrough => "PassThrough",
                };
                f = f.tracing_config(l1::TracingConfig::new().mode(mode));
            }
            if let Some(n) = self.reserved_concurrency {
                f = f.reserved_concurrent_executions(n);
            }
            f
        }
    }

    impl Lower for Version {
        type L1 = version::Version;
        fn lower(&self) -> version::Version {
            let mut v = version::Version::new(self.function_name.clone());
            v.description = self.description.clone().map(Expr::lit);
            v.code_sha256 = self.code_sha256.clone();
            v
        }
    }

    impl Lower for Alias {
        type L1 = alias::Alias;
        fn lower(&self) -> alias::Alias {
            let mut a = alias::Alias::new(
                self.function_name.clone(),
                self.function_version.clone(),
                self.name.clone(),
            );
            a.description = self.description.clone().map(Expr::lit);
            a
        }
    }

    impl Lower for Permission {
        type L1 = permission::Permission;
        fn lower(&self) -> permission::Permission {
            let mut p = permission::Permission::new(
                self.action,
                self.function_name.clone(),
                self.principal.clone(),
            );
            p.source_arn = self.source_arn.clone();
            p
        }
    }
}
