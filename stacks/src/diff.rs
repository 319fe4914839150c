//! The diff of two templates, without a change set: which resources are added, removed or
//! modified, which property changes replace their resource (from the schemas'
//! `createOnlyProperties`, see [`cfn::replacement`](crate::cfn::replacement)), and which of
//! those lose data (stateful resources). Pure: the deployer reads the deployed template and
//! its parameter values, and decides with this what `deploy` may do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A template as the diff reads it: its resources (free-form properties, as deployed).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TemplateResources {
    #[serde(rename = "Resources", default)]
    pub resources: BTreeMap<String, ResourceDoc>,
    /// Every other section (Parameters, Outputs, Conditions, ...), as written.
    #[serde(flatten)]
    pub sections: BTreeMap<String, Value>,
}

/// One resource of a template.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ResourceDoc {
    #[serde(rename = "Type")]
    pub resource_type: String,
    #[serde(rename = "Properties", default)]
    pub properties: Value,
    #[serde(rename = "DeletionPolicy", default)]
    pub deletion_policy: Option<String>,
    /// Every other attribute (DependsOn, UpdateReplacePolicy, Metadata, Condition, ...).
    #[serde(flatten)]
    pub attributes: BTreeMap<String, Value>,
}

impl TemplateResources {
    /// Parses a template (JSON or YAML).
    pub fn parse(text: &str) -> Result<Self, serde_yaml::Error> {
        serde_yaml::from_str(text)
    }

    /// [`Self::resolve_parameters`], by value.
    pub fn resolved(mut self, values: &BTreeMap<String, String>) -> Self {
        self.resolve_parameters(values);
        self
    }

    /// Replaces each `{"Ref": P}` of a parameter in `values` by its value, so that a
    /// changed parameter value shows as a changed property.
    pub fn resolve_parameters(&mut self, values: &BTreeMap<String, String>) {
        for r in self.resources.values_mut() {
            resolve(&mut r.properties, values);
        }
    }
}

fn resolve(v: &mut Value, values: &BTreeMap<String, String>) {
    let param = match v {
        Value::Object(m) if m.len() == 1 => m
            .get("Ref")
            .and_then(Value::as_str)
            .and_then(|p| values.get(p)),
        _ => None,
    };
    if let Some(value) = param {
        *v = Value::String(value.clone());
        return;
    }
    match v {
        Value::Object(m) => m.values_mut().for_each(|x| resolve(x, values)),
        Value::Array(items) => items.iter_mut().for_each(|x| resolve(x, values)),
        _ => {}
    }
}

/// What happens to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Add,
    Remove,
    Modify,
}

/// Whether a change replaces its resource (CloudFormation's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Replacement {
    False,
    /// The schema says it depends on the change.
    Conditional,
    True,
}

/// One property that differs (a path below `Properties`, `/`-separated).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    pub replacement: Replacement,
}

/// One resource that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub action: Action,
    pub logical_id: String,
    pub resource_type: String,
    /// For a modification: the strongest replacement of its property changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
    /// The resource holds data (a table, a bucket, a secret, a key, ...).
    pub stateful: bool,
    /// Its data would be lost: a stateful resource replaced (or possibly replaced), or
    /// removed without `DeletionPolicy: Retain`.
    pub loses_data: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyChange>,
}

/// Resource types that hold data a replacement or removal loses.
pub fn stateful(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::DynamoDB::Table"
            | "AWS::DynamoDB::GlobalTable"
            | "AWS::S3::Bucket"
            | "AWS::SecretsManager::Secret"
            | "AWS::KMS::Key"
            | "AWS::SQS::Queue"
            | "AWS::Logs::LogGroup"
            | "AWS::RDS::DBInstance"
            | "AWS::RDS::DBCluster"
            | "AWS::EFS::FileSystem"
            | "AWS::Kinesis::Stream"
            | "AWS::Cognito::UserPool"
            | "AWS::ElastiCache::ReplicationGroup"
            | "AWS::OpenSearchService::Domain"
    )
}

/// The resources of `new` that differ from `old`, by logical id.
pub fn diff(old: &TemplateResources, new: &TemplateResources) -> Vec<ResourceChange> {
    let mut ids: Vec<&String> = old.resources.keys().chain(new.resources.keys()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| match (old.resources.get(id), new.resources.get(id)) {
            (None, Some(n)) => Some(whole(Action::Add, id, n)),
            (Some(o), None) => Some(whole(Action::Remove, id, o)),
            (Some(o), Some(n)) => modified(id, o, n),
            (None, None) => None,
        })
        .collect()
}

fn whole(action: Action, id: &str, r: &ResourceDoc) -> ResourceChange {
    let is_stateful = stateful(&r.resource_type);
    ResourceChange {
        action,
        logical_id: id.to_owned(),
        resource_type: r.resource_type.clone(),
        replacement: None,
        stateful: is_stateful,
        loses_data: action == Action::Remove
            && is_stateful
            && r.deletion_policy.as_deref() != Some("Retain"),
        properties: Vec::new(),
    }
}

fn modified(id: &str, old: &ResourceDoc, new: &ResourceDoc) -> Option<ResourceChange> {
    let is_stateful = stateful(&new.resource_type);
    let mut properties = Vec::new();
    if old.resource_type != new.resource_type {
        properties.push(PropertyChange {
            path: "(Type)".to_owned(),
            before: Some(Value::String(old.resource_type.clone())),
            after: Some(Value::String(new.resource_type.clone())),
            replacement: Replacement::True,
        });
    } else {
        let mut paths = Vec::new();
        changed_paths(&old.properties, &new.properties, String::new(), &mut paths);
        properties = paths
            .into_iter()
            .map(|(path, before, after)| PropertyChange {
                replacement: replaces(&new.resource_type, &path),
                path,
                before,
                after,
            })
            .collect();
    }
    let replacement = properties.iter().map(|p| p.replacement).max()?;
    Some(ResourceChange {
        action: Action::Modify,
        logical_id: id.to_owned(),
        resource_type: new.resource_type.clone(),
        replacement: Some(replacement),
        stateful: is_stateful,
        loses_data: is_stateful && replacement != Replacement::False,
        properties,
    })
}

type Changed = (String, Option<Value>, Option<Value>);

/// The paths where `old` and `new` differ: into objects key by key; a list or a scalar
/// that differs is one change.
fn changed_paths(old: &Value, new: &Value, at: String, out: &mut Vec<Changed>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = format!("{at}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => changed_paths(x, y, path, out),
                    (x, y) => out.push((path, x.cloned(), y.cloned())),
                }
            }
        }
        (Value::Null, _) | (_, Value::Null) if at.is_empty() => {
            let empty = Value::Object(serde_json::Map::new());
            let (a, b) = (
                if old.is_null() { &empty } else { old },
                if new.is_null() { &empty } else { new },
            );
            changed_paths(a, b, at, out);
        }
        _ => out.push((at, Some(old.clone()), Some(new.clone()))),
    }
}

/// Whether a change at `path` (`/A/B`) replaces a resource of `resource_type`.
fn replaces(resource_type: &str, path: &str) -> Replacement {
    let Some(rules) = crate::cfn::replacement(resource_type) else {
        return Replacement::False;
    };
    let hit = |pointers: &[&str]| {
        pointers.iter().any(|p| {
            let p = p.strip_prefix("/properties").unwrap_or(p);
            covers(p, path) || covers(path, p)
        })
    };
    if hit(rules.create_only) {
        Replacement::True
    } else if hit(rules.conditional) {
        Replacement::Conditional
    } else {
        Replacement::False
    }
}

/// `outer` is `inner` or one of its ancestors (`/A` covers `/A/B`, not `/AB`); a `*` in a
/// schema pointer matches any list index.
fn covers(outer: &str, inner: &str) -> bool {
    let (o, i): (Vec<&str>, Vec<&str>) = (outer.split('/').collect(), inner.split('/').collect());
    o.len() <= i.len()
        && o.iter()
            .zip(&i)
            .all(|(a, b)| a == b || *a == "*" || *b == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(yaml: &str) -> TemplateResources {
        TemplateResources::parse(yaml).unwrap()
    }

    const TABLE: &str = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n      BillingMode: PAY_PER_REQUEST\n";

    #[test]
    fn a_key_change_replaces_a_table_and_loses_its_data() {
        let new = TABLE.replace("AttributeName: pk", "AttributeName: id");
        let changes = diff(&template(TABLE), &template(&new));
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(
            (c.action, c.replacement),
            (Action::Modify, Some(Replacement::Conditional))
        );
        assert!(c.stateful && c.loses_data);
        assert_eq!(c.properties[0].path, "/KeySchema");
    }

    #[test]
    fn a_billing_change_does_not_replace_a_table() {
        let new = TABLE.replace("PAY_PER_REQUEST", "PROVISIONED");
        let c = &diff(&template(TABLE), &template(&new))[0];
        assert_eq!(c.replacement, Some(Replacement::False));
        assert!(!c.loses_data);
    }

    #[test]
    fn a_function_rename_replaces_it_a_memory_change_does_not() {
        let old = template(
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties: {FunctionName: a, MemorySize: 128}\n",
        );
        let renamed = template(
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties: {FunctionName: b, MemorySize: 128}\n",
        );
        let bigger = template(
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties: {FunctionName: a, MemorySize: 256}\n",
        );
        let c = &diff(&old, &renamed)[0];
        assert_eq!(c.replacement, Some(Replacement::True));
        assert!(!c.loses_data, "a function holds no data");
        let c = &diff(&old, &bigger)[0];
        assert_eq!(c.replacement, Some(Replacement::False));
        assert_eq!(c.properties[0].path, "/MemorySize");
        assert_eq!(c.properties[0].after, Some(serde_json::json!(256)));
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn removing_a_table_loses_data_unless_retained() {
        let empty = template("Resources: {}\n");
        let c = &diff(&template(TABLE), &empty)[0];
        assert_eq!(c.action, Action::Remove);
        assert!(c.loses_data);
        let retained = TABLE.replace(
            "    Properties:",
            "    DeletionPolicy: Retain\n    Properties:",
        );
        assert!(!diff(&template(&retained), &empty)[0].loses_data);
        assert_eq!(diff(&empty, &template(TABLE))[0].action, Action::Add);
    }

    #[test]
    fn a_changed_parameter_value_shows_where_it_is_used() {
        let text = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties: {Code: {S3Key: {Ref: Key}}}\n";
        let (mut old, mut new) = (template(text), template(text));
        old.resolve_parameters(&BTreeMap::from([("Key".into(), "v1.zip".into())]));
        new.resolve_parameters(&BTreeMap::from([("Key".into(), "v2.zip".into())]));
        let c = &diff(&old, &new)[0];
        assert_eq!(c.properties[0].path, "/Code/S3Key");
        assert_eq!(c.replacement, Some(Replacement::False));
    }

    #[test]
    fn pointers_cover_their_descendants_only() {
        assert!(covers("/A", "/A/B"));
        assert!(!covers("/A", "/AB"));
        assert!(covers("/A/*/B", "/A/0/B"));
        assert!(!covers("/A/B", "/A"));
    }
}
