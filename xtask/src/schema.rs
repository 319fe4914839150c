//! The parts of a CloudFormation resource provider schema the generator reads, typed.
//! Everything else in a schema (handlers, tagging, ...) is ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One resource type's schema (`cfnlint/data/schemas/resources/*.json`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSchema {
    pub type_name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Node>,
    #[serde(default)]
    pub definitions: BTreeMap<String, Node>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub read_only_properties: Vec<String>,
    #[serde(default)]
    pub create_only_properties: Vec<String>,
    #[serde(default)]
    pub conditional_create_only_properties: Vec<String>,
    #[serde(default)]
    pub primary_identifier: Vec<String>,
}

/// `type`: one JSON type or a list of them.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Kinds {
    One(String),
    Many(Vec<String>),
}

/// An `enum` value.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Literal {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// `additionalProperties`: allowed or not, or the schema of the extra values (a map).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Additional {
    Allowed(bool),
    Schema(Box<Node>),
}

/// A JSON schema node, the keywords the generator uses.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(rename = "type")]
    pub kinds: Option<Kinds>,
    pub description: Option<String>,
    #[serde(rename = "$ref")]
    pub reference: Option<String>,
    pub properties: Option<BTreeMap<String, Node>>,
    pub required: Option<Vec<String>>,
    pub items: Option<Box<Node>>,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<Literal>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub additional_properties: Option<Additional>,
    pub pattern_properties: Option<BTreeMap<String, Node>>,
    pub one_of: Option<Vec<Node>>,
    pub any_of: Option<Vec<Node>>,
    pub all_of: Option<Vec<Node>>,
    /// cfn-lint's `format`: `json` marks the alternative "the same as a JSON document".
    pub format: Option<String>,
}

impl Node {
    /// The JSON types this node may have, `null` left out.
    pub fn kinds(&self) -> Vec<&str> {
        let all: Vec<&str> = match &self.kinds {
            None => vec![],
            Some(Kinds::One(k)) => vec![k.as_str()],
            Some(Kinds::Many(ks)) => ks.iter().map(String::as_str).collect(),
        };
        all.into_iter().filter(|k| *k != "null").collect()
    }

    /// The alternatives of `oneOf` and `anyOf`.
    pub fn alternatives(&self) -> impl Iterator<Item = &Node> {
        let one = self.one_of.iter().flatten();
        one.chain(self.any_of.iter().flatten())
    }
}

/// cfn-lint's GetAtt tables (`cfnlint/schema/_getatts.py`): the types whose every property
/// is an attribute, and the attributes some types have beyond their `readOnlyProperties`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
pub struct GetAttTables {
    pub all_properties: Vec<String>,
    pub exceptions: BTreeMap<String, Vec<String>>,
}
