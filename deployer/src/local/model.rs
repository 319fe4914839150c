//! The synthesized template, interpreted for one machine: which tables, functions, aliases
//! and routes it declares, with every `Ref`, `Fn::GetAtt` and `Fn::Sub` resolved to local
//! values. This is the only description of the app the local cloud has.

use std::collections::BTreeMap;

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use stacks::AssetManifest;

use super::metrics::{AlarmSpec, Statistic};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";

#[derive(Clone, Debug)]
pub struct TableSpec {
    pub name: String,
    /// (attribute, type S|N|B, key type HASH|RANGE)
    pub keys: Vec<(String, String, String)>,
    pub ttl_attribute: Option<String>,
    pub indexes: Vec<IndexSpec>,
}

/// A global secondary index of a table.
#[derive(Clone, Debug)]
pub struct IndexSpec {
    pub name: String,
    /// (attribute, type S|N|B, key type HASH|RANGE)
    pub keys: Vec<(String, String, String)>,
    /// `KEYS_ONLY`, `INCLUDE` or `ALL`.
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

/// An `AWS::Events::Rule` with a `rate(...)` schedule: invoke `function` every `every`.
#[derive(Clone, Debug)]
pub struct ScheduleSpec {
    pub logical: String,
    pub arn: String,
    pub every: Duration,
    /// Logical id of the target function.
    pub function: String,
}

#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub logical: String,
    pub name: String,
    pub arn: String,
    pub crate_name: String,
    pub env: BTreeMap<String, String>,
    pub timeout_s: u64,
    pub memory_mb: u64,
    /// `ExecutionTimeout` in seconds, for durable functions.
    pub durable_timeout_s: Option<u64>,
    /// Where failed asynchronous events go (`DeadLetterConfig.TargetArn`).
    pub dead_letter: Option<String>,
    /// `ReservedConcurrentExecutions`: the most invocations it may run at once.
    pub reserved_concurrency: Option<u64>,
}

impl FunctionSpec {
    /// How many processes to run of `wanted`: never more than the function's reserved
    /// concurrency allows (one for a scheduled job with a reservation of one), at least one.
    pub fn processes(&self, wanted: usize) -> usize {
        let cap = self
            .reserved_concurrency
            .map_or(wanted, |r| usize::try_from(r).unwrap_or(usize::MAX));
        wanted.min(cap).max(1)
    }
}

/// Who may call a route: anyone, a caller with an API key of the stage's usage plan, or a
/// SigV4-signed caller (`AWS_IAM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteAuth {
    None,
    ApiKey,
    Iam,
}

#[derive(Clone, Debug)]
pub struct Route {
    pub method: String,
    /// Path segments; `{name}` segments are parameters.
    pub segments: Vec<String>,
    pub resource_path: String,
    pub function: String,
    pub auth: RouteAuth,
}

#[derive(Clone, Debug)]
pub struct ApiSpec {
    /// The REST API's name (API Gateway's metrics name it).
    pub name: String,
    pub stage: String,
    pub routes: Vec<Route>,
    /// Requests per second and burst of the stage.
    pub throttle: Option<(f64, u32)>,
    /// The logical ids of the stack's API keys (their values are local secrets).
    pub api_keys: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub tables: Vec<TableSpec>,
    pub functions: Vec<FunctionSpec>,
    /// Alias logical id -> (function logical id, alias name).
    pub aliases: BTreeMap<String, (String, String)>,
    pub api: Option<ApiSpec>,
    pub schedules: Vec<ScheduleSpec>,
    pub alarms: Vec<AlarmSpec>,
    /// Resources of types the local cloud does not emulate: (logical id, type). They exist
    /// only on AWS.
    pub not_emulated: Vec<(String, String)>,
}

/// The resource types the local cloud runs, or stands in for (IAM is recorded, not
/// enforced; KMS encryption and SNS delivery are not performed; log groups are the
/// processes' stderr; an SQS queue is a function's dead-letter target).
const EMULATED: &[&str] = &[
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::CloudWatch::Alarm",
    "AWS::DynamoDB::Table",
    "AWS::Events::Rule",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Version",
    "AWS::Logs::LogGroup",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
];

/// Metric namespaces of AWS services the local cloud produces metrics for (beside the
/// functions' own, through EMF).
const LOCAL_METRICS: &[&str] = &["AWS/Lambda", "AWS/ApiGateway"];

/// Whether the local cloud runs resource `r` of `resources`: its type is in [`EMULATED`],
/// a queue is some function's dead-letter target, an alarm watches a metric produced here.
fn emulated(resources: &serde_json::Map<String, Value>, id: &str, r: &Value) -> bool {
    let ty = r["Type"].as_str().unwrap_or_default();
    let props = &r["Properties"];
    match ty {
        "AWS::SQS::Queue" => resources.values().any(|f| {
            let target = &f["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0];
            target.as_str() == Some(id)
        }),
        "AWS::CloudWatch::Alarm" => props["Namespace"]
            .as_str()
            .is_none_or(|ns| !ns.starts_with("AWS/") || LOCAL_METRICS.contains(&ns)),
        _ => EMULATED.contains(&ty),
    }
}

/// The resources of `resources` the local cloud does not run: (logical id, type).
fn not_emulated(resources: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    resources
        .iter()
        .filter(|(id, r)| !emulated(resources, id, r))
        .map(|(id, r)| {
            let ty = r["Type"].as_str().unwrap_or("(no type)");
            (id.clone(), ty.to_owned())
        })
        .collect()
}

struct Resolver<'a> {
    stack: &'a str,
    resources: &'a serde_json::Map<String, Value>,
}

impl Resolver<'_> {
    fn kind(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    fn function_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}-{id}",
            self.stack
        )
    }

    fn props(&self, id: &str) -> &Value {
        &self.resources[id]["Properties"]
    }

    /// What `Ref` of a resource, parameter or pseudo parameter gives here.
    fn reference(&self, id: &str) -> anyhow::Result<String> {
        Ok(match id {
            "AWS::Region" => REGION.to_owned(),
            "AWS::AccountId" => ACCOUNT.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::StackName" => self.stack.to_owned(),
            _ => match self.kind(id) {
                Some("AWS::DynamoDB::Table") | Some("AWS::Lambda::Function") => {
                    format!("{}-{id}", self.stack)
                }
                Some("AWS::Lambda::Alias") => {
                    let f = self.function_of(self.props(id))?;
                    let name = self.props(id)["Name"].as_str().unwrap_or("live");
                    format!("{}:{name}", self.function_arn(&f))
                }
                Some("AWS::Lambda::Version") => {
                    let f = self.function_of(self.props(id))?;
                    format!("{}:1", self.function_arn(&f))
                }
                Some("AWS::SecretsManager::Secret") => {
                    format!(
                        "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{}-{id}",
                        self.stack
                    )
                }
                Some(_) => format!("{}-{id}", self.stack),
                // Parameters: the asset locations, meaningless here.
                None => format!("local-{id}"),
            },
        })
    }

    fn get_att(&self, id: &str, attr: &str) -> anyhow::Result<String> {
        Ok(match (self.kind(id), attr) {
            (Some("AWS::Lambda::Function"), "Arn") => self.function_arn(id),
            (Some("AWS::Lambda::Version"), "Version") => "1".to_owned(),
            (Some("AWS::DynamoDB::Table"), "Arn") => format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}-{id}",
                self.stack
            ),
            (Some("AWS::SQS::Queue"), "Arn") => {
                format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}-{id}", self.stack)
            }
            (Some("AWS::Events::Rule"), "Arn") => {
                format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{}-{id}", self.stack)
            }
            (_, "Arn") => format!("arn:aws:local:{REGION}:{ACCOUNT}:{}-{id}", self.stack),
            _ => format!("{}-{id}-{attr}", self.stack),
        })
    }

    /// The function logical id a `FunctionName` (or similar) property names.
    fn function_of(&self, props: &Value) -> anyhow::Result<String> {
        let name = &props["FunctionName"];
        name.get("Ref")
            .or_else(|| name.get("Fn::GetAtt").and_then(|a| a.get(0)))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .context("FunctionName is not a reference to a function of the stack")
    }

    fn resolve(&self, v: &Value) -> anyhow::Result<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Object(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().context("one key")?;
                match (k.as_str(), inner) {
                    ("Ref", Value::String(id)) => self.reference(id),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        let id = a.first().and_then(Value::as_str).unwrap_or_default();
                        let attr = a.get(1).and_then(Value::as_str).unwrap_or_default();
                        self.get_att(id, attr)
                    }
                    ("Fn::Sub", Value::String(text)) => self.sub(text),
                    ("Fn::Join", Value::Array(a)) if a.len() == 2 => {
                        let sep = a[0].as_str().unwrap_or_default();
                        let parts = a[1].as_array().context("Fn::Join takes a list")?;
                        Ok(parts
                            .iter()
                            .map(|p| self.resolve(p))
                            .collect::<anyhow::Result<Vec<_>>>()?
                            .join(sep))
                    }
                    _ => bail!("cannot resolve {v} locally"),
                }
            }
            _ => bail!("cannot resolve {v} locally"),
        }
    }

    fn sub(&self, text: &str) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            rest = &rest[start + 2..];
            let end = rest.find('}').context("unterminated ${ in Fn::Sub")?;
            let name = &rest[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(id, attr)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Interprets `template` (as JSON) with its asset manifest.
pub fn interpret(template: &Value, manifest: &AssetManifest) -> anyhow::Result<Model> {
    let stack = manifest.stack_name.clone();
    let resources = template["Resources"]
        .as_object()
        .context("the template has no Resources")?;
    let r = Resolver {
        stack: &stack,
        resources,
    };
    let crate_of = |logical: &str| {
        manifest
            .assets
            .iter()
            .find(|a| a.functions.iter().any(|f| f == logical))
            .map(|a| a.crate_name.clone())
    };

    let mut tables = Vec::new();
    let mut functions = Vec::new();
    let mut aliases = BTreeMap::new();
    for (id, res) in resources {
        let props = &res["Properties"];
        match res["Type"].as_str() {
            Some("AWS::DynamoDB::Table") => {
                let types: BTreeMap<&str, &str> = props["AttributeDefinitions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| {
                        Some((d["AttributeName"].as_str()?, d["AttributeType"].as_str()?))
                    })
                    .collect();
                let keys = |schema: &Value| -> Vec<(String, String, String)> {
                    schema
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|k| {
                            let name = k["AttributeName"].as_str()?;
                            Some((
                                name.to_owned(),
                                types.get(name).copied().unwrap_or("S").to_owned(),
                                k["KeyType"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                };
                let indexes = props["GlobalSecondaryIndexes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|g| IndexSpec {
                        name: g["IndexName"].as_str().unwrap_or_default().to_owned(),
                        keys: keys(&g["KeySchema"]),
                        projection: g["Projection"]["ProjectionType"]
                            .as_str()
                            .unwrap_or("ALL")
                            .to_owned(),
                        non_key_attributes: g["Projection"]["NonKeyAttributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect(),
                    })
                    .collect();
                let ttl = &props["TimeToLiveSpecification"];
                tables.push(TableSpec {
                    name: r.reference(id)?,
                    keys: keys(&props["KeySchema"]),
                    ttl_attribute: (ttl["Enabled"] == true)
                        .then(|| ttl["AttributeName"].as_str().map(str::to_owned))
                        .flatten(),
                    indexes,
                });
            }
            Some("AWS::Lambda::Function") => {
                let mut env = BTreeMap::new();
                if let Some(vars) = props["Environment"]["Variables"].as_object() {
                    for (k, v) in vars {
                        // A Secrets Manager secret does not exist here; the local cloud
                        // passes WEBHOOK_SECRET instead (see `local::run`).
                        let secret_ref = v
                            .get("Ref")
                            .and_then(Value::as_str)
                            .is_some_and(|t| r.kind(t) == Some("AWS::SecretsManager::Secret"));
                        if !secret_ref {
                            env.insert(
                                k.clone(),
                                r.resolve(v).with_context(|| format!("{id}: {k}"))?,
                            );
                        }
                    }
                }
                env.extend(logging_env(&props["LoggingConfig"]));
                functions.push(FunctionSpec {
                    logical: id.clone(),
                    name: r.reference(id)?,
                    arn: r.function_arn(id),
                    crate_name: crate_of(id)
                        .with_context(|| format!("no asset of the manifest runs function {id}"))?,
                    env,
                    timeout_s: props["Timeout"].as_u64().unwrap_or(3),
                    memory_mb: props["MemorySize"].as_u64().unwrap_or(128),
                    durable_timeout_s: props["DurableConfig"]["ExecutionTimeout"].as_u64(),
                    dead_letter: match &props["DeadLetterConfig"]["TargetArn"] {
                        Value::Null => None,
                        target => Some(r.resolve(target)?),
                    },
                    reserved_concurrency: props["ReservedConcurrentExecutions"].as_u64(),
                });
            }
            Some("AWS::Lambda::Alias") => {
                let f = r.function_of(props)?;
                let name = props["Name"].as_str().unwrap_or("live").to_owned();
                aliases.insert(id.clone(), (f, name));
            }
            _ => {}
        }
    }
    let api = interpret_api(&r)?;
    Ok(Model {
        tables,
        functions,
        aliases,
        api,
        schedules: interpret_schedules(&r)?,
        alarms: interpret_alarms(&r)?,
        not_emulated: not_emulated(resources),
    })
}

/// `rate(5 minutes)` as a duration; `None` for other expressions (cron).
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let unit_s = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * unit_s))
}

/// Every scheduled `AWS::Events::Rule` that targets a function of the stack.
fn interpret_schedules(r: &Resolver<'_>) -> anyhow::Result<Vec<ScheduleSpec>> {
    let mut out = Vec::new();
    for (id, res) in r.resources {
        if res["Type"] != "AWS::Events::Rule" {
            continue;
        }
        let props = &res["Properties"];
        let expression = props["ScheduleExpression"].as_str().unwrap_or_default();
        let every = rate(expression).with_context(|| {
            format!("{id}: only rate(...) schedules run locally, not `{expression}`")
        })?;
        for target in props["Targets"].as_array().into_iter().flatten() {
            // A function's ARN, or an alias's or version's (`Ref`): the function runs.
            let arn = &target["Arn"];
            let function = match (arn["Fn::GetAtt"][0].as_str(), arn["Ref"].as_str()) {
                (Some(f), _) if r.kind(f) == Some("AWS::Lambda::Function") => Some(f.to_owned()),
                (_, Some(q))
                    if matches!(
                        r.kind(q),
                        Some("AWS::Lambda::Alias") | Some("AWS::Lambda::Version")
                    ) =>
                {
                    r.function_of(r.props(q)).ok()
                }
                _ => None,
            }
            .with_context(|| format!("{id}: the target is not a function of the stack"))?;
            out.push(ScheduleSpec {
                logical: id.clone(),
                arn: r.get_att(id, "Arn")?,
                every,
                function,
            });
        }
    }
    Ok(out)
}

/// Every `AWS::CloudWatch::Alarm` on a single metric, dimensions resolved.
fn interpret_alarms(r: &Resolver<'_>) -> anyhow::Result<Vec<AlarmSpec>> {
    let mut out = Vec::new();
    for (id, res) in r.resources {
        if res["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let p = &res["Properties"];
        let mut dimensions = BTreeMap::new();
        for d in p["Dimensions"].as_array().into_iter().flatten() {
            let name = d["Name"].as_str().unwrap_or_default().to_owned();
            dimensions.insert(name, r.resolve(&d["Value"]).with_context(|| id.clone())?);
        }
        out.push(AlarmSpec {
            id: id.clone(),
            namespace: p["Namespace"].as_str().unwrap_or_default().to_owned(),
            metric: p["MetricName"].as_str().unwrap_or_default().to_owned(),
            dimensions,
            statistic: match p["Statistic"].as_str() {
                Some("Maximum") => Statistic::Maximum,
                _ => Statistic::Sum,
            },
            threshold: p["Threshold"].as_f64().unwrap_or(1.0),
            period: Duration::from_secs(p["Period"].as_u64().unwrap_or(300)),
        });
    }
    Ok(out)
}

fn interpret_api(r: &Resolver<'_>) -> anyhow::Result<Option<ApiSpec>> {
    let of_type = |t: &'static str| {
        r.resources
            .iter()
            .filter(move |(_, v)| v["Type"] == t)
            .map(|(k, v)| (k.as_str(), v))
    };
    let Some((_, stage)) = of_type("AWS::ApiGateway::Stage").next() else {
        return Ok(None);
    };
    let stage_props = &stage["Properties"];
    // Full path of each API resource, following ParentId up to the root.
    let path_of = |start: &str| -> anyhow::Result<Vec<String>> {
        let mut segments = Vec::new();
        let mut id = start.to_owned();
        for _ in 0..64 {
            let props = r.props(&id);
            segments.push(props["PathPart"].as_str().unwrap_or_default().to_owned());
            match props["ParentId"].get("Ref").and_then(Value::as_str) {
                Some(parent) => id = parent.to_owned(),
                None => break,
            }
        }
        segments.reverse();
        Ok(segments)
    };
    let mut routes = Vec::new();
    for (id, method) in of_type("AWS::ApiGateway::Method") {
        let props = &method["Properties"];
        let segments = match props["ResourceId"].get("Ref").and_then(Value::as_str) {
            Some(resource) => path_of(resource)?,
            None => vec![],
        };
        let uri = props["Integration"]["Uri"]["Fn::Sub"]
            .as_str()
            .with_context(|| format!("{id}: only Lambda integrations run locally"))?;
        let target = uri
            .split("${")
            .filter_map(|s| s.split('}').next())
            .find_map(|name| {
                let id = name.split('.').next()?;
                match r.kind(id)? {
                    "AWS::Lambda::Function" => Some(id.to_owned()),
                    "AWS::Lambda::Alias" | "AWS::Lambda::Version" => {
                        r.function_of(r.props(id)).ok()
                    }
                    _ => None,
                }
            })
            .with_context(|| format!("{id}: the integration names no function of the stack"))?;
        let auth = if props["AuthorizationType"] == "AWS_IAM" {
            RouteAuth::Iam
        } else if props["ApiKeyRequired"] == true {
            RouteAuth::ApiKey
        } else {
            RouteAuth::None
        };
        routes.push(Route {
            method: props["HttpMethod"].as_str().unwrap_or("ANY").to_owned(),
            resource_path: format!("/{}", segments.join("/")),
            segments,
            function: target,
            auth,
        });
    }
    let setting = &stage_props["MethodSettings"][0];
    let throttle = match (
        setting["ThrottlingRateLimit"].as_f64(),
        setting["ThrottlingBurstLimit"].as_u64(),
    ) {
        (Some(rate), Some(burst)) => Some((rate, burst as u32)),
        _ => None,
    };
    let name = match of_type("AWS::ApiGateway::RestApi").next() {
        Some((_, api)) => r.resolve(&api["Properties"]["Name"]).unwrap_or_default(),
        None => String::new(),
    };
    Ok(Some(ApiSpec {
        name,
        stage: stage_props["StageName"]
            .as_str()
            .unwrap_or("local")
            .to_owned(),
        routes,
        throttle,
        api_keys: of_type("AWS::ApiGateway::ApiKey")
            .map(|(id, _)| id.to_owned())
            .collect(),
    }))
}

/// The variables Lambda sets from a function's `LoggingConfig`: with the JSON format, the
/// format and the application's level (Lambda sets neither for the text format).
fn logging_env(config: &Value) -> Vec<(String, String)> {
    if config["LogFormat"].as_str() != Some("JSON") {
        return vec![];
    }
    let mut env = vec![("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned())];
    if let Some(level) = config["ApplicationLogLevel"].as_str() {
        env.push(("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.to_owned()));
    }
    env
}

#[cfg(test)]
mod emulation_tests {
    use super::*;

    #[test]
    fn a_function_runs_no_more_processes_than_its_reserved_concurrency() {
        let template = stacks::webhook::synth(stacks::webhook::Stage::Dev)
            .unwrap()
            .to_value()
            .unwrap();
        let reserved = |logical: &str| {
            template["Resources"][logical]["Properties"]["ReservedConcurrentExecutions"].as_u64()
        };
        let spec = |reserved_concurrency| FunctionSpec {
            logical: "F".into(),
            name: "f".into(),
            arn: "arn".into(),
            crate_name: "f".into(),
            env: BTreeMap::new(),
            timeout_s: 3,
            memory_mb: 128,
            durable_timeout_s: None,
            dead_letter: None,
            reserved_concurrency,
        };
        assert_eq!(reserved("Reconciler"), Some(1));
        assert_eq!(spec(reserved("Reconciler")).processes(4), 1);
        assert_eq!(spec(Some(20)).processes(4), 4);
        assert_eq!(spec(None).processes(4), 4);
        assert_eq!(spec(Some(0)).processes(4), 1);
    }

    #[test]
    fn the_local_cloud_runs_every_resource_of_the_webhook_and_conformance_stacks() {
        let mut templates: Vec<stacks::Template> = stacks::webhook::Stage::ALL
            .iter()
            .map(|s| stacks::webhook::synth(*s).unwrap())
            .collect();
        templates.push(stacks::conformance::synth().unwrap());
        for t in templates {
            let v = t.to_value().unwrap();
            let missing = not_emulated(v["Resources"].as_object().unwrap());
            assert!(missing.is_empty(), "{missing:?}");
        }
    }

    #[test]
    fn resources_of_other_types_are_listed_as_not_emulated() {
        let template = serde_json::json!({"Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Dead": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["Dead", "Arn"]}}}},
            "Backlog": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Namespace": "AWS/SQS"}},
            "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Namespace": "AWS/Lambda"}},
            "Stuck": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Namespace": "Webhooks"}},
            "Flow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
            "Raw": {"Type": "AWS::Future::Thing"},
        }});
        let resources = template["Resources"].as_object().unwrap();
        let ids: Vec<String> = not_emulated(resources)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["Backlog", "Flow", "Jobs", "Raw"]);
    }
}
