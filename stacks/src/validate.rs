//! Synth-time checks. Each problem says what is wrong and what to change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::cfn::AnyResource;
use crate::checkov::Skip;
use crate::expr::Node;
use crate::resources::apigateway::IntegrationKind;
use crate::resources::apigateway::Method;
use crate::resources::dynamodb::Table;
use crate::resources::iam::Statement;
use crate::resources::iam::{Policy, Role};
use crate::resources::kms::Key;
use crate::resources::lambda::{Alias, Function, Permission, Version};
use crate::resources::logs::LogGroup;
use crate::resources::logs::RETENTION_DAYS;
use crate::stack::Stack;
use crate::{Expr, IdError, LogicalId};

/// One thing wrong with a stack.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    InvalidLogicalId(IdError),
    #[error(
        "stack name `{0}` is invalid: it must start with a letter and contain only letters, digits and hyphens, at most 128 characters"
    )]
    InvalidStackName(String),
    #[error(
        "logical id `{id}` is used twice ({first}, then {second}); logical ids must be unique within a stack: rename one of them"
    )]
    DuplicateLogicalId {
        id: LogicalId,
        first: String,
        second: String,
    },
    #[error(
        "`{from}` refers to `{to}`, which is not in stack `{stack}`: add it to this stack, or refer to a resource of this stack"
    )]
    DanglingReference {
        stack: String,
        from: LogicalId,
        to: String,
    },
    #[error(
        "dependency cycle between {}: CloudFormation cannot create them; break the cycle (a role's statement about the function that uses the role belongs in an AWS::IAM::Policy)",
        list(.0)
    )]
    DependencyCycle(Vec<LogicalId>),
    #[error(
        "{site} invokes durable function `{function}` through its unqualified ARN; durable functions must be invoked through a version or alias: use the alias's `arn()` instead"
    )]
    UnqualifiedDurableInvoke { site: String, function: LogicalId },
    #[error(
        "durable function `{0}` has no alias; durable functions must be invoked through a qualified ARN: add an AWS::Lambda::Version and an AWS::Lambda::Alias of it"
    )]
    DurableWithoutAlias(LogicalId),
    #[error(
        "version `{version}` of durable function `{function}` is not retained on replacement; executions run on the version they started on, and a new version replaces this one at each code change: set its UpdateReplacePolicy to Retain (`Stack::removal_policy(&version, None, Some(RemovalPolicy::Retain))`)"
    )]
    DurableVersionNotRetained {
        version: LogicalId,
        function: LogicalId,
    },
    #[error(
        "method `{method}` integrates synchronously (Lambda proxy) with durable function `{function}`; API Gateway waits at most 29 s, a durable execution runs up to its ExecutionTimeout: start it asynchronously from a receiver function, or use IntegrationKind::LambdaEvent"
    )]
    SyncIntegrationToDurable {
        method: LogicalId,
        function: LogicalId,
    },
    #[error(
        "table `{0}` has no TTL; every table of this project expires its items: set `Table::ttl(\"<attribute>\")`"
    )]
    TableWithoutTtl(LogicalId),
    #[error(
        "`{resource}`: {property} is {value}{unit}, outside {min}..={max}{unit}; set a value in that range"
    )]
    OutOfRange {
        resource: LogicalId,
        property: &'static str,
        value: u64,
        min: u64,
        max: u64,
        unit: &'static str,
    },
    #[error(
        "`{resource}`: RetentionInDays is {value}, which CloudWatch Logs does not accept; use one of {}",
        RETENTION_DAYS.map(|d| d.to_string()).join(", ")
    )]
    InvalidLogRetention { resource: LogicalId, value: u32 },
    #[error(
        "setting `{setting}` is {value}: it must be {expected}; change it (`--set {setting}=...`, or `StageConfig`)"
    )]
    InvalidSetting {
        setting: &'static str,
        value: String,
        expected: String,
    },
    #[error(
        "`{resource}` skips checkov check {check} {why}: a skip says, on one line, why the check does not apply to the resource, once"
    )]
    InvalidSkip {
        resource: LogicalId,
        check: &'static str,
        why: &'static str,
    },
    #[error(
        "`{resource}` ({type_name}): {violation}; set a value the schema allows (or an expression, which synth leaves to CloudFormation)"
    )]
    Schema {
        resource: LogicalId,
        type_name: String,
        violation: crate::cfn::Violation,
    },
    #[error("`{resource}`: a property override cannot be applied: {error}")]
    Override {
        resource: LogicalId,
        error: crate::OverrideError,
    },
    #[error("asset `{0}` is defined twice: give each asset its own id")]
    DuplicateAsset(String),
    #[error("asset `{0}` is the code of no function: remove it, or use it in `Function::new`")]
    UnusedAsset(String),
    #[error(
        "asset `{asset}` is the code of functions of different architectures ({}): make one asset per architecture",
        list(.functions)
    )]
    AssetArchitectureConflict {
        asset: String,
        functions: Vec<LogicalId>,
    },
}

fn list(ids: &[LogicalId]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Synth refused a stack; every problem found is listed.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthError {
    pub stack: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "stack `{}` has {n} problem{}:",
            self.stack,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SynthError {}

impl Problem {
    /// The property path a value problem is about (as a schema violation names it).
    fn property(&self) -> Option<&str> {
        match self {
            Problem::OutOfRange { property, .. } => Some(property),
            Problem::InvalidLogRetention { .. } => Some("RetentionInDays"),
            _ => None,
        }
    }
}

pub(crate) fn validate(stack: &Stack) -> Vec<Problem> {
    let mut out = stack.problems.clone();
    if !valid_stack_name(&stack.name) {
        out.push(Problem::InvalidStackName(stack.name.clone()));
    }
    check_references(stack, &mut out);
    check_values(stack, &mut out);
    check_durable(stack, &mut out);
    check_assets(stack, &mut out);
    out
}

fn valid_stack_name(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The logical ids a rendered value refers to: `Ref`, `Fn::GetAtt` and `Fn::Sub` placeholders.
fn referenced_ids(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("Ref", Value::String(id)) => {
                        out.insert(id.clone());
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(Value::String(id)) = parts.first() {
                            out.insert(id.clone());
                        }
                    }
                    ("Fn::Sub", Value::String(text)) => sub_placeholders(text, out),
                    _ => referenced_ids(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_ids(v, out)),
        _ => {}
    }
}

fn sub_placeholders(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') {
            let id = name.split('.').next().unwrap_or(name);
            out.insert(id.to_owned());
        }
        rest = &rest[end + 1..];
    }
}

fn check_references(stack: &Stack, out: &mut Vec<Problem>) {
    let mut graph: BTreeMap<&LogicalId, BTreeSet<&LogicalId>> = BTreeMap::new();
    let dangling = |from: &LogicalId, to: &str, out: &mut Vec<Problem>| {
        out.push(Problem::DanglingReference {
            stack: stack.name.clone(),
            from: from.clone(),
            to: to.to_owned(),
        })
    };
    let sources = stack
        .entries
        .iter()
        .map(|(id, e)| {
            let rendered = e.properties().map_err(|error| Problem::Override {
                resource: id.clone(),
                error,
            });
            let value = match rendered {
                Ok(r) => serde_json::to_value(&r).map_err(|_| ()),
                Err(problem) => {
                    out.push(problem);
                    Err(())
                }
            };
            (id, value, Some(&e.depends_on))
        })
        .chain(
            stack
                .outputs
                .iter()
                .map(|(id, o)| (id, serde_json::to_value(&o.value).map_err(|_| ()), None)),
        )
        .collect::<Vec<_>>();
    for (from, value, depends_on) in sources {
        let mut refs = BTreeSet::new();
        if let Ok(value) = value {
            referenced_ids(&value, &mut refs);
        }
        refs.extend(depends_on.into_iter().flatten().map(|d| d.to_string()));
        for to in refs {
            if to.starts_with("AWS::") {
                continue;
            }
            match stack.entries.get_key_value(to.as_str()) {
                Some((target, _)) if depends_on.is_some() => {
                    graph.entry(from).or_default().insert(target);
                }
                Some(_) => {}
                None if stack.parameters.contains_key(to.as_str()) => {}
                None => dangling(from, &to, out),
            }
        }
    }
    for cycle in cycles(&graph) {
        out.push(Problem::DependencyCycle(cycle));
    }
}

/// Strongly connected components with more than one member, or a self-reference (Tarjan).
fn cycles(graph: &BTreeMap<&LogicalId, BTreeSet<&LogicalId>>) -> Vec<Vec<LogicalId>> {
    struct State<'a, 'g> {
        graph: &'g BTreeMap<&'a LogicalId, BTreeSet<&'a LogicalId>>,
        index: BTreeMap<&'a LogicalId, usize>,
        low: BTreeMap<&'a LogicalId, usize>,
        stack: Vec<&'a LogicalId>,
        on_stack: BTreeSet<&'a LogicalId>,
        found: Vec<Vec<LogicalId>>,
    }
    fn visit<'a>(s: &mut State<'a, '_>, v: &'a LogicalId) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let next: Vec<&LogicalId> = s.graph.get(v).into_iter().flatten().copied().collect();
        for w in next {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            let self_loop = s.graph.get(v).is_some_and(|e| e.contains(v));
            if component.len() > 1 || self_loop {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

fn range(
    out: &mut Vec<Problem>,
    resource: &LogicalId,
    property: &'static str,
    value: u32,
    (min, max): (u64, u64),
    unit: &'static str,
) {
    let value = u64::from(value);
    if !(min..=max).contains(&value) {
        out.push(Problem::OutOfRange {
            resource: resource.clone(),
            property,
            value,
            min,
            max,
            unit,
        });
    }
}

/// Every skip has a one-line reason; no check is skipped twice on one resource.
fn check_skips(id: &LogicalId, skips: &[Skip], out: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    for skip in skips {
        let why = if skip.comment.trim().is_empty() {
            Some("without a reason")
        } else if skip.comment.contains(['\n', '\r']) {
            Some("with a reason of several lines")
        } else if !seen.insert(skip.id) {
            Some("twice")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(Problem::InvalidSkip {
                resource: id.clone(),
                check: skip.id.id(),
                why,
            });
        }
    }
}

fn check_values(stack: &Stack, out: &mut Vec<Problem>) {
    for (id, e) in &stack.entries {
        check_skips(id, &e.skips, out);
        let mut own = Vec::new();
        check_construct(id, &e.resource, &mut own);
        // A property the construct's own rule reported is not reported again by the schema.
        let covered: BTreeSet<&str> = own.iter().filter_map(Problem::property).collect();
        let schema: Vec<Problem> = e
            .resource
            .violations()
            .into_iter()
            .filter(|v| !covered.contains(v.path.as_str()))
            .map(|violation| Problem::Schema {
                resource: id.clone(),
                type_name: e.resource.type_name().to_owned(),
                violation,
            })
            .collect();
        out.extend(own);
        out.extend(schema);
    }
}

/// The ranges and rules of the hand-written constructs.
fn check_construct(id: &LogicalId, r: &AnyResource, out: &mut Vec<Problem>) {
    if let Some(f) = r.downcast_ref::<Function>() {
        range(out, id, "MemorySize", f.memory_mb, (128, 10_240), " MB");
        range(out, id, "Timeout", f.timeout_s, (1, 900), " s");
        if let Some(d) = &f.durable_config {
            range(
                out,
                id,
                "DurableConfig.ExecutionTimeout",
                d.execution_timeout,
                (1, 31_622_400),
                " s",
            );
            range(
                out,
                id,
                "DurableConfig.RetentionPeriodInDays",
                d.retention_period_in_days,
                (1, 90),
                " days",
            );
        }
    } else if let Some(g) = r.downcast_ref::<LogGroup>() {
        if !RETENTION_DAYS.contains(&g.retention_in_days) {
            out.push(Problem::InvalidLogRetention {
                resource: id.clone(),
                value: g.retention_in_days,
            });
        }
    } else if let Some(t) = r.downcast_ref::<Table>() {
        if t.ttl_attribute.is_none() {
            out.push(Problem::TableWithoutTtl(id.clone()));
        }
    } else if let Some(k) = r.downcast_ref::<Key>() {
        range(
            out,
            id,
            "PendingWindowInDays",
            k.pending_window_in_days,
            (7, 30),
            " days",
        );
    }
}

/// The durable function an expression invokes without a qualifier, if any: a `Ref` (name)
/// or `Arn` of a durable function that is not followed by `:<qualifier>`.
fn unqualified_durable(expr: &Expr, durable: &BTreeSet<&LogicalId>) -> Option<LogicalId> {
    let first_unqualified = |parts: &[Expr], qualified_by_next: &dyn Fn(Option<&Expr>) -> bool| {
        parts.iter().enumerate().find_map(|(i, part)| {
            if qualified_by_next(parts.get(i + 1)) {
                None
            } else {
                unqualified_durable(part, durable)
            }
        })
    };
    match &expr.0 {
        Node::Ref(id) | Node::GetAtt(id, "Arn") if durable.contains(id) => Some(id.clone()),
        Node::Sub(_) => first_unqualified(
            &expr.flat_parts(),
            &|next| matches!(next.map(|e| &e.0), Some(Node::Lit(s)) if s.starts_with(':')),
        ),
        Node::Join(sep, parts) => first_unqualified(parts, &|next| sep == ":" && next.is_some()),
        _ => None,
    }
}

fn invokes(statement: &Statement) -> bool {
    statement.action.iter().any(|a| {
        matches!(
            a.as_str(),
            "*" | "lambda:*" | "lambda:Invoke*" | "lambda:InvokeFunction" | "lambda:InvokeAsync"
        )
    })
}

fn check_durable(stack: &Stack, out: &mut Vec<Problem>) {
    let durable: BTreeSet<&LogicalId> = stack
        .entries
        .iter()
        .filter(|(_, e)| {
            e.resource
                .downcast_ref::<Function>()
                .is_some_and(|f| f.durable_config.is_some())
        })
        .map(|(id, _)| id)
        .collect();
    if durable.is_empty() {
        return;
    }
    let direct = |e: &Expr| -> Option<LogicalId> {
        e.references()
            .into_iter()
            .map(|(id, _)| id)
            .find(|id| durable.contains(id))
            .cloned()
    };
    // Aliases and versions of durable functions, mapped to the function.
    let mut qualifiers: BTreeMap<&LogicalId, LogicalId> = BTreeMap::new();
    for (id, e) in &stack.entries {
        let of = match (
            e.resource.downcast_ref::<Alias>(),
            e.resource.downcast_ref::<Version>(),
        ) {
            (Some(a), _) => direct(&a.function_name),
            (_, Some(v)) => direct(&v.function_name),
            _ => None,
        };
        if let Some(f) = of {
            let retained = e.update_replace_policy == Some(crate::RemovalPolicy::Retain);
            if e.resource.downcast_ref::<Version>().is_some() && !retained {
                out.push(Problem::DurableVersionNotRetained {
                    version: id.clone(),
                    function: f.clone(),
                });
            }
            qualifiers.insert(id, f);
        }
    }
    for f in &durable {
        let has_alias = stack.entries.iter().any(|(id, e)| {
            e.resource.downcast_ref::<Alias>().is_some() && qualifiers.get(id) == Some(*f)
        });
        if !has_alias {
            out.push(Problem::DurableWithoutAlias((*f).clone()));
        }
    }

    for (id, e) in &stack.entries {
        invocation_sites(id, &e.resource, &durable, &qualifiers, out);
    }
}

/// The IAM statements of a role or role policy.
fn statements(r: &AnyResource) -> Vec<Statement> {
    if let Some(role) = r.downcast_ref::<Role>() {
        return role
            .policies
            .iter()
            .flat_map(|p| p.policy_document.statement.clone())
            .collect();
    }
    r.downcast_ref::<Policy>()
        .map(|p| p.policy_document.statement.clone())
        .unwrap_or_default()
}

/// Where resource `id` invokes a function: each must name a durable function through a
/// qualifier, and no API method may wait synchronously for one.
fn invocation_sites(
    id: &LogicalId,
    r: &AnyResource,
    durable: &BTreeSet<&LogicalId>,
    qualifiers: &BTreeMap<&LogicalId, LogicalId>,
    out: &mut Vec<Problem>,
) {
    let mut site = |site: String, e: &Expr| {
        if let Some(function) = unqualified_durable(e, durable) {
            out.push(Problem::UnqualifiedDurableInvoke { site, function });
        }
    };
    if let Some(p) = r.downcast_ref::<Permission>() {
        site(format!("permission `{id}`"), &p.function_name);
    } else if let Some(f) = r.downcast_ref::<Function>() {
        for (key, value) in &f.environment {
            site(
                format!("function `{id}` (environment variable {key})"),
                value,
            );
        }
    } else if let Some(m) = r.downcast_ref::<Method>() {
        site(format!("method `{id}`"), &m.integration.function);
        if m.integration.kind == IntegrationKind::LambdaProxy {
            let target = m
                .integration
                .function
                .references()
                .into_iter()
                .find_map(|(r, _)| {
                    durable
                        .get(r)
                        .map(|f| (*f).clone())
                        .or_else(|| qualifiers.get(r).cloned())
                });
            if let Some(function) = target {
                out.push(Problem::SyncIntegrationToDurable {
                    method: id.clone(),
                    function,
                });
            }
        }
    } else {
        for st in statements(r).iter().filter(|s| invokes(s)) {
            for res in &st.resource {
                site(format!("an IAM statement of `{id}`"), res);
            }
        }
    }
}

fn check_assets(stack: &Stack, out: &mut Vec<Problem>) {
    for id in stack.assets.keys() {
        let users = stack.functions_using(id);
        if users.is_empty() {
            out.push(Problem::UnusedAsset(id.clone()));
        }
        let archs: BTreeSet<_> = users.iter().map(|(_, a)| *a).collect();
        if archs.len() > 1 {
            out.push(Problem::AssetArchitectureConflict {
                asset: id.clone(),
                functions: users.into_iter().map(|(f, _)| f.clone()).collect(),
            });
        }
    }
}
