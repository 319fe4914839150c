use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::cfn::{AnyResource, ResourceType};
use crate::checkov::{Check, Metadata, Skip, Skips};
use crate::overrides::{self, Override, OverrideError};
use crate::resources::apigateway::{ApiResource, ApiStage, Deployment, RestApi};
use crate::resources::dynamodb::Table;
use crate::resources::events::Rule;
use crate::resources::iam::{InlinePolicy, Policy, PolicyDocument, Role, Statement};
use crate::resources::kms::Key;
use crate::resources::lambda::{Alias, Architecture, Function, Version};
use crate::resources::logs::LogGroup;
use crate::resources::s3::Bucket;
use crate::resources::secrets::Secret;
use crate::resources::sns::Topic;
use crate::resources::sqs::Queue;
use crate::validate::{self, Problem, SynthError};
use crate::{Expr, Grant, LogicalId};

/// A typed reference to a resource or parameter that was added to a [`Stack`].
///
/// Handles are the only way to refer to a resource (`table.arn()`, `alias.arn()`), and only
/// [`Stack::add`] makes them, so a reference always names something that was added.
pub struct Handle<R> {
    id: LogicalId,
    _kind: PhantomData<fn() -> R>,
}

impl<R> Handle<R> {
    fn new(id: LogicalId) -> Self {
        Handle {
            id,
            _kind: PhantomData,
        }
    }

    pub fn logical_id(&self) -> &LogicalId {
        &self.id
    }

    fn ref_expr(&self) -> Expr {
        Expr::reference(&self.id)
    }

    fn get_att(&self, attr: &'static str) -> Expr {
        Expr::get_att(&self.id, attr)
    }
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle::new(self.id.clone())
    }
}

impl<R> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.id)
    }
}

impl Handle<Role> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Function> {
    /// The unqualified function ARN. Durable functions must not be invoked through it: use
    /// an alias's [`arn`](Handle::<Alias>::arn).
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Version> {
    /// The qualified ARN of this version.
    pub fn arn(&self) -> Expr {
        self.ref_expr()
    }
    /// The version number.
    pub fn version(&self) -> Expr {
        self.get_att("Version")
    }
}

impl Handle<Alias> {
    /// The qualified ARN of this alias (`...:function:NAME:ALIAS`).
    pub fn arn(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<LogGroup> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Table> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Bucket> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Rule> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
}

impl Handle<Topic> {
    /// `Ref` of a topic is its ARN.
    pub fn arn(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Queue> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
    pub fn name(&self) -> Expr {
        self.get_att("QueueName")
    }
}

impl Handle<Secret> {
    pub fn arn(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Key> {
    pub fn arn(&self) -> Expr {
        self.get_att("Arn")
    }
}

impl Handle<RestApi> {
    pub fn api_id(&self) -> Expr {
        self.ref_expr()
    }
    pub fn root_resource_id(&self) -> Expr {
        self.get_att("RootResourceId")
    }
}

impl Handle<ApiResource> {
    pub fn resource_id(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Deployment> {
    pub fn deployment_id(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<ApiStage> {
    pub fn name(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<crate::resources::apigateway::ApiKey> {
    pub fn key_id(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<crate::resources::iam::ManagedPolicy> {
    pub fn arn(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<crate::resources::apigateway::UsagePlan> {
    pub fn plan_id(&self) -> Expr {
        self.ref_expr()
    }
}

impl Handle<Parameter> {
    pub fn value(&self) -> Expr {
        self.ref_expr()
    }
}

/// Something that can be invoked: a function, or one of its versions or aliases.
pub trait Invocable {
    fn invoke_arn(&self) -> Expr;
    fn logical_id(&self) -> &LogicalId;
}

macro_rules! invocable {
    ($($t:ty),*) => {$(
        impl Invocable for Handle<$t> {
            fn invoke_arn(&self) -> Expr {
                self.arn()
            }
            fn logical_id(&self) -> &LogicalId {
                &self.id
            }
        }
    )*};
}
invocable!(Function, Version, Alias);

/// A resource that holds IAM statements, so that [`Stack::grant`] can add to it.
pub trait PolicyHolder: ResourceType {
    #[doc(hidden)]
    fn statements_mut(&mut self) -> &mut Vec<Statement>;
}

/// Name of the inline policy that [`Stack::grant`] writes into a role.
pub const GRANTS_POLICY: &str = "grants";

impl PolicyHolder for Role {
    fn statements_mut(&mut self) -> &mut Vec<Statement> {
        let at = match self
            .policies
            .iter()
            .position(|p| p.policy_name == GRANTS_POLICY)
        {
            Some(at) => at,
            None => {
                self.policies.push(InlinePolicy {
                    policy_name: GRANTS_POLICY.to_owned(),
                    policy_document: PolicyDocument::new(vec![]),
                });
                self.policies.len() - 1
            }
        };
        &mut self.policies[at].policy_document.statement
    }
}

impl PolicyHolder for Policy {
    fn statements_mut(&mut self) -> &mut Vec<Statement> {
        &mut self.policy_document.statement
    }
}

/// What CloudFormation does with a resource's physical resource when the resource is
/// deleted from the stack, or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RemovalPolicy {
    Delete,
    Retain,
    Snapshot,
}

/// A template parameter (always of type `String` here).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    kind: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

impl Parameter {
    pub fn string(description: impl Into<String>) -> Self {
        Parameter {
            kind: "String",
            description: description.into(),
            allowed_pattern: None,
            constraint_description: None,
        }
    }

    pub fn pattern(mut self, pattern: &str, explained: &str) -> Self {
        self.allowed_pattern = Some(pattern.to_owned());
        self.constraint_description = Some(explained.to_owned());
        self
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

/// A function package built from a crate of the workspace; its S3 location comes in through
/// template parameters that the deployer fills.
#[derive(Clone, Debug)]
pub struct Asset {
    pub(crate) id: String,
    pub(crate) bucket: Expr,
    pub(crate) key: Expr,
}

#[derive(Clone, Debug)]
pub(crate) struct AssetRecord {
    pub(crate) crate_name: String,
    pub(crate) key_parameter: LogicalId,
    pub(crate) sha256_parameter: Option<LogicalId>,
}

/// Template parameter naming the S3 bucket that holds every function package.
pub const ASSET_BUCKET_PARAMETER: &str = "AssetBucket";

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) resource: AnyResource,
    pub(crate) depends_on: BTreeSet<LogicalId>,
    pub(crate) deletion_policy: Option<RemovalPolicy>,
    pub(crate) update_replace_policy: Option<RemovalPolicy>,
    /// Checkov checks that do not apply to this resource, with why.
    pub(crate) skips: Vec<Skip>,
    /// Property overrides, applied in order to the rendered properties.
    pub(crate) overrides: Vec<Override>,
}

impl Entry {
    /// The `Properties` as the template holds them: the resource's, with the overrides.
    pub(crate) fn properties(&self) -> Result<Rendered, OverrideError> {
        if self.overrides.is_empty() {
            return Ok(Rendered::Plain(self.resource.clone()));
        }
        let mut doc = serde_yaml::to_value(&self.resource).unwrap_or(serde_yaml::Value::Null);
        overrides::apply(&mut doc, &self.overrides)?;
        Ok(Rendered::Overridden(doc))
    }
}

/// A resource's rendered `Properties`.
#[derive(Clone, Debug)]
pub(crate) enum Rendered {
    Plain(AnyResource),
    /// Through a YAML document, which keeps the keys in order.
    Overridden(serde_yaml::Value),
}

impl Serialize for Rendered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Rendered::Plain(r) => r.serialize(s),
            Rendered::Overridden(v) => v.serialize(s),
        }
    }
}

/// A CloudFormation stack under construction. Mistakes found while building (invalid or
/// duplicate ids) are kept and reported by [`Stack::synth`] together with everything else,
/// so that one synth shows every problem.
#[derive(Clone, Debug)]
pub struct Stack {
    pub(crate) name: String,
    description: String,
    pub(crate) parameters: BTreeMap<LogicalId, Parameter>,
    pub(crate) entries: BTreeMap<LogicalId, Entry>,
    pub(crate) outputs: BTreeMap<LogicalId, Output>,
    pub(crate) assets: BTreeMap<String, AssetRecord>,
    pub(crate) problems: Vec<Problem>,
}

impl Stack {
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Stack {
            name: name.into(),
            description: description.into(),
            parameters: BTreeMap::new(),
            entries: BTreeMap::new(),
            outputs: BTreeMap::new(),
            assets: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn checked_id(&mut self, id: &str) -> LogicalId {
        LogicalId::new(id).unwrap_or_else(|e| {
            self.problems.push(Problem::InvalidLogicalId(e));
            LogicalId::unchecked(id.to_owned())
        })
    }

    fn type_of(&self, id: &LogicalId) -> Option<String> {
        if self.parameters.contains_key(id) {
            return Some("parameter".to_owned());
        }
        self.entries
            .get(id)
            .map(|e| e.resource.type_name().to_owned())
    }

    /// Adds `resource` as `id`. A second resource with the same id is not added; synth
    /// reports it.
    pub fn add<R: ResourceType>(&mut self, id: &str, resource: R) -> Handle<R> {
        let id = self.checked_id(id);
        if let Some(first) = self.type_of(&id) {
            self.problems.push(Problem::DuplicateLogicalId {
                id: id.clone(),
                first,
                second: resource.type_name().to_owned(),
            });
        } else {
            self.entries.insert(
                id.clone(),
                Entry {
                    resource: AnyResource::new(resource),
                    depends_on: BTreeSet::new(),
                    deletion_policy: None,
                    update_replace_policy: None,
                    skips: Vec::new(),
                    overrides: Vec::new(),
                },
            );
        }
        Handle::new(id)
    }

    /// The handle of resource `id`, when the stack holds one of type `R` under that id: how
    /// code that did not add a resource (a stack built by a library) refers to it.
    pub fn find<R: ResourceType>(&self, id: &str) -> Option<Handle<R>> {
        let (id, e) = self.entries.get_key_value(id)?;
        e.resource.downcast_ref::<R>()?;
        Some(Handle::new(id.clone()))
    }

    /// The resource `handle` names, as added (and granted to) so far.
    pub fn get<R: ResourceType>(&self, handle: &Handle<R>) -> Option<&R> {
        self.entries
            .get(&handle.id)
            .and_then(|e| e.resource.downcast_ref())
    }

    /// Skips checkov's `check` on `resource` (its `Metadata.checkov.skip`), because of
    /// `reason`: one line that says why the check does not apply. Synth refuses an empty or
    /// multi-line reason and a check skipped twice.
    pub fn skip_check<R>(&mut self, resource: &Handle<R>, check: Check, reason: &str) {
        if let Some(e) = self.entries.get_mut(&resource.id) {
            e.skips.push(Skip {
                id: check,
                comment: reason.to_owned(),
            });
        }
    }

    /// Sets the property at `path` (dotted, below `Properties`; a number indexes a list)
    /// of `resource` to `value`, whatever its typed model rendered: the escape hatch for a
    /// property no typed model sets (CDK's `addPropertyOverride`). Objects on the way are
    /// created; a path that cannot be followed is reported by synth.
    ///
    /// ```
    /// use stacks::cfn::Json;
    /// use stacks::l1::aws::sqs::Queue;
    /// use stacks::Stack;
    ///
    /// let mut stack = Stack::new("demo", "a stack");
    /// let queue = stack.add("Jobs", Queue::new().visibility_timeout(30));
    /// stack.override_property(&queue, "RedriveAllowPolicy.redrivePermission", "denyAll");
    /// stack.delete_property(&queue, "VisibilityTimeout");
    /// let template = stack.synth().unwrap().to_value().unwrap();
    /// let props = &template["Resources"]["Jobs"]["Properties"];
    /// assert_eq!(props["RedriveAllowPolicy"]["redrivePermission"], "denyAll");
    /// assert!(props.get("VisibilityTimeout").is_none());
    /// ```
    pub fn override_property<R>(
        &mut self,
        resource: &Handle<R>,
        path: &str,
        value: impl Into<crate::cfn::Json>,
    ) {
        let value = serde_yaml::to_value(value.into()).unwrap_or(serde_yaml::Value::Null);
        self.push_override(resource, path, Some(value));
    }

    /// Deletes the property at `path` of `resource` (CDK's `addPropertyDeletionOverride`);
    /// synth reports a path that is not set.
    pub fn delete_property<R>(&mut self, resource: &Handle<R>, path: &str) {
        self.push_override(resource, path, None);
    }

    fn push_override<R>(
        &mut self,
        resource: &Handle<R>,
        path: &str,
        value: Option<serde_yaml::Value>,
    ) {
        if let Some(e) = self.entries.get_mut(&resource.id) {
            e.overrides.push(Override {
                path: path.to_owned(),
                value,
            });
        }
    }

    pub fn parameter(&mut self, id: &str, parameter: Parameter) -> Handle<Parameter> {
        let id = self.checked_id(id);
        if let Some(first) = self.type_of(&id) {
            self.problems.push(Problem::DuplicateLogicalId {
                id: id.clone(),
                first,
                second: "parameter".to_owned(),
            });
        } else {
            self.parameters.insert(id.clone(), parameter);
        }
        Handle::new(id)
    }

    pub fn output(&mut self, id: &str, description: impl Into<String>, value: Expr) {
        let id = self.checked_id(id);
        let output = Output {
            description: description.into(),
            value,
        };
        if self.outputs.insert(id.clone(), output).is_some() {
            self.problems.push(Problem::DuplicateLogicalId {
                id,
                first: "output".to_owned(),
                second: "output".to_owned(),
            });
        }
    }

    /// Makes `who` wait for `on`, beyond what its references already imply.
    pub fn depends_on<A, B>(&mut self, who: &Handle<A>, on: &Handle<B>) {
        if let Some(e) = self.entries.get_mut(&who.id) {
            e.depends_on.insert(on.id.clone());
        }
    }

    /// Sets `DeletionPolicy` and `UpdateReplacePolicy`.
    pub fn removal_policy<R>(
        &mut self,
        resource: &Handle<R>,
        deletion: Option<RemovalPolicy>,
        update_replace: Option<RemovalPolicy>,
    ) {
        if let Some(e) = self.entries.get_mut(&resource.id) {
            e.deletion_policy = deletion;
            e.update_replace_policy = update_replace;
        }
    }

    /// Adds `grant`'s statement to a role (inline policy [`GRANTS_POLICY`]) or to a role policy.
    pub fn grant<H: PolicyHolder>(&mut self, holder: &Handle<H>, grant: Grant) {
        let Some(target) = self
            .entries
            .get_mut(&holder.id)
            .and_then(|e| e.resource.downcast_mut::<H>())
        else {
            return;
        };
        let statements = target.statements_mut();
        let mut sid = grant.sid.clone();
        let mut n = 1;
        while statements
            .iter()
            .any(|s| s.sid.as_deref() == Some(sid.as_str()))
        {
            n += 1;
            sid = format!("{}{n}", grant.sid);
        }
        statements.push(grant.into_statement(sid));
    }

    /// The package of workspace crate `crate_name`, with template parameters
    /// [`ASSET_BUCKET_PARAMETER`] and `<id>CodeKey` for its S3 location.
    pub fn asset(&mut self, id: &str, crate_name: &str) -> Asset {
        let bucket = Expr::reference(&LogicalId::unchecked(ASSET_BUCKET_PARAMETER.to_owned()));
        let key_id = format!("{id}CodeKey");
        if self.assets.contains_key(id) {
            self.problems.push(Problem::DuplicateAsset(id.to_owned()));
            return Asset {
                id: id.to_owned(),
                bucket,
                key: Expr::reference(&LogicalId::unchecked(key_id)),
            };
        }
        if !self.parameters.contains_key(ASSET_BUCKET_PARAMETER) {
            self.parameter(
                ASSET_BUCKET_PARAMETER,
                Parameter::string(
                    "S3 bucket holding the function packages (deployer bootstrap creates it)",
                ),
            );
        }
        let key = self.parameter(
            &key_id,
            Parameter::string(format!("S3 key of the package of crate `{crate_name}`")),
        );
        self.assets.insert(
            id.to_owned(),
            AssetRecord {
                crate_name: crate_name.to_owned(),
                key_parameter: key.id.clone(),
                sha256_parameter: None,
            },
        );
        Asset {
            id: id.to_owned(),
            bucket,
            key: key.value(),
        }
    }

    /// The SHA-256 of `asset`'s package (base64, as Lambda reports it), through template
    /// parameter `<id>CodeSha256`. A version that names it is published anew when the code
    /// changes.
    pub fn asset_sha256(&mut self, asset: &Asset) -> Expr {
        let id = format!("{}CodeSha256", asset.id);
        let handle = match self
            .assets
            .get(&asset.id)
            .and_then(|a| a.sha256_parameter.clone())
        {
            Some(existing) => Handle::new(existing),
            None => {
                let h = self.parameter(
                    &id,
                    Parameter::string(format!(
                        "SHA-256 (base64) of the package of asset `{}`",
                        asset.id
                    ))
                    .pattern(
                        "^[A-Za-z0-9+/]{43}=$",
                        "a base64 SHA-256 digest (44 characters)",
                    ),
                );
                if let Some(record) = self.assets.get_mut(&asset.id) {
                    record.sha256_parameter = Some(h.id.clone());
                }
                h
            }
        };
        handle.value()
    }

    /// Validates the stack and renders it. Every problem found is reported, not just the first.
    pub fn synth(&self) -> Result<Template, SynthError> {
        let problems = validate::validate(self);
        if !problems.is_empty() {
            return Err(SynthError {
                stack: self.name.clone(),
                problems,
            });
        }
        let resources = self
            .entries
            .iter()
            .map(|(id, e)| {
                let doc = ResourceDoc {
                    kind: e.resource.type_name().to_owned(),
                    metadata: (!e.skips.is_empty()).then(|| Metadata {
                        checkov: Skips {
                            skip: e.skips.clone(),
                        },
                    }),
                    depends_on: e.depends_on.iter().cloned().collect(),
                    deletion_policy: e.deletion_policy,
                    update_replace_policy: e.update_replace_policy,
                    properties: e.properties().map_err(|error| SynthError {
                        stack: self.name.clone(),
                        problems: vec![Problem::Override {
                            resource: id.clone(),
                            error,
                        }],
                    })?,
                };
                Ok((id.clone(), doc))
            })
            .collect::<Result<_, SynthError>>()?;
        Ok(Template {
            doc: TemplateDoc {
                format_version: "2010-09-09",
                description: self.description.clone(),
                parameters: self.parameters.clone(),
                resources,
                outputs: self.outputs.clone(),
            },
            manifest: self.manifest(),
        })
    }

    fn manifest(&self) -> AssetManifest {
        let assets = self
            .assets
            .iter()
            .map(|(id, a)| {
                let functions = self.functions_using(id);
                AssetEntry {
                    id: id.clone(),
                    crate_name: a.crate_name.clone(),
                    packaging: "bootstrap-zip".to_owned(),
                    architecture: functions
                        .first()
                        .map(|(_, arch)| *arch)
                        .unwrap_or(Architecture::X86_64),
                    key_parameter: a.key_parameter.to_string(),
                    sha256_parameter: a.sha256_parameter.as_ref().map(|p| p.to_string()),
                    functions: functions.into_iter().map(|(f, _)| f.to_string()).collect(),
                }
            })
            .collect();
        AssetManifest {
            version: AssetManifest::VERSION,
            stack_name: self.name.clone(),
            bucket_parameter: ASSET_BUCKET_PARAMETER.to_owned(),
            assets,
        }
    }

    /// Functions whose code is asset `asset_id`, with their architectures.
    pub(crate) fn functions_using(&self, asset_id: &str) -> Vec<(&LogicalId, Architecture)> {
        self.entries
            .iter()
            .filter_map(|(id, e)| {
                let f = e.resource.downcast_ref::<Function>()?;
                (f.code.asset_id == asset_id).then_some((id, f.architecture))
            })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceDoc {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<LogicalId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_policy: Option<RemovalPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_replace_policy: Option<RemovalPolicy>,
    properties: Rendered,
}

#[derive(Clone, Debug, Serialize)]
struct TemplateDoc {
    #[serde(rename = "AWSTemplateFormatVersion")]
    format_version: &'static str,
    #[serde(rename = "Description")]
    description: String,
    #[serde(rename = "Parameters", skip_serializing_if = "BTreeMap::is_empty")]
    parameters: BTreeMap<LogicalId, Parameter>,
    #[serde(rename = "Resources")]
    resources: BTreeMap<LogicalId, ResourceDoc>,
    #[serde(rename = "Outputs", skip_serializing_if = "BTreeMap::is_empty")]
    outputs: BTreeMap<LogicalId, Output>,
}

/// Template text formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

/// A template could not be turned into text.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering the template as YAML failed")]
    Yaml(#[from] serde_yaml::Error),
    #[error("rendering the template as JSON failed")]
    Json(#[from] serde_json::Error),
}

/// A synthesized, valid template and the manifest of the packages it needs.
#[derive(Clone, Debug)]
pub struct Template {
    doc: TemplateDoc,
    manifest: AssetManifest,
}

impl Template {
    pub fn render(&self, format: Format) -> Result<String, RenderError> {
        Ok(match format {
            Format::Yaml => serde_yaml::to_string(&self.doc)?,
            Format::Json => serde_json::to_string_pretty(&self.doc)? + "\n",
        })
    }

    /// The template as a JSON value, for inspection.
    pub fn to_value(&self) -> Result<serde_json::Value, RenderError> {
        Ok(serde_json::to_value(&self.doc)?)
    }

    pub fn manifest(&self) -> &AssetManifest {
        &self.manifest
    }
}

/// Which workspace crate each code asset of a template is built from, and which template
/// parameters carry its location. Written next to the template by `deployer synth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetManifest {
    pub version: u32,
    pub stack_name: String,
    pub bucket_parameter: String,
    pub assets: Vec<AssetEntry>,
}

impl AssetManifest {
    pub const VERSION: u32 = 1;

    pub fn to_json(&self) -> Result<String, RenderError> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetEntry {
    pub id: String,
    /// The workspace crate whose binary becomes the package's `bootstrap`.
    pub crate_name: String,
    /// Always `bootstrap-zip`: a zip holding one executable named `bootstrap`.
    pub packaging: String,
    pub architecture: Architecture,
    pub key_parameter: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256_parameter: Option<String>,
    /// Logical ids of the functions that run this package.
    pub functions: Vec<String>,
}
