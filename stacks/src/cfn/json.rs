//! `Json`: a JSON document whose strings are expressions, and `ToJson`, how every generated
//! value becomes one (keys in the order the schema lists them).

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Val;
use crate::Expr;

/// A JSON value whose strings are [`Expr`]s: the free-form properties of a schema (policy
/// documents, `type: [object, string]` properties, untyped ones) and the rendered properties
/// of every generated resource. Objects keep their keys in insertion order.
///
/// ```
/// use stacks::cfn::Json;
/// let doc = Json::object([
///     ("Version", "2012-10-17".into()),
///     ("Statement", Json::Array(vec![])),
/// ]);
/// assert_eq!(serde_json::to_string(&doc).unwrap(), r#"{"Version":"2012-10-17","Statement":[]}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Expr),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An object with `entries`, in that order.
    pub fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, Json)>) -> Self {
        Json::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Any `Serialize` value as a document, keys in the order it writes them (through a
    /// YAML document, which keeps them): the hand-written documents (policies) of the
    /// constructs, on their way into a generated type.
    pub fn of<T: serde::Serialize>(value: &T) -> Json {
        serde_yaml::to_value(value).map_or(Json::Null, |v| Json::from_yaml(&v))
    }

    fn from_yaml(v: &serde_yaml::Value) -> Json {
        use serde_yaml::Value as Y;
        match v {
            Y::Null => Json::Null,
            Y::Bool(b) => Json::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Json::Int(i),
                None => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Y::String(s) => Json::Str(Expr::lit(s.clone())),
            Y::Sequence(items) => Json::Array(items.iter().map(Json::from_yaml).collect()),
            Y::Mapping(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().unwrap_or_default().to_owned(),
                            Json::from_yaml(v),
                        )
                    })
                    .collect(),
            ),
            Y::Tagged(t) => Json::from_yaml(&t.value),
        }
    }

    /// The value at `key`, when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<Expr> for Json {
    fn from(e: Expr) -> Self {
        Json::Str(e)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Str(Expr::lit(s))
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Str(Expr::lit(s))
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Self {
        Json::Int(n)
    }
}

impl From<i32> for Json {
    fn from(n: i32) -> Self {
        Json::Int(n.into())
    }
}

impl From<f64> for Json {
    fn from(n: f64) -> Self {
        Json::Float(n)
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

/// A literal document (`serde_json::json!`): its strings become literal expressions.
impl From<serde_json::Value> for Json {
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as V;
        match v {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(b),
            V::Number(n) => match n.as_i64() {
                Some(i) => Json::Int(i),
                None => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            V::String(s) => Json::Str(Expr::lit(s)),
            V::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            V::Object(map) => Json::object(map.into_iter().map(|(k, v)| (k, Json::from(v)))),
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Int(n) => s.serialize_i64(*n),
            Json::Float(n) => s.serialize_f64(*n),
            Json::Str(e) => e.serialize(s),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                items.iter().try_for_each(|i| seq.serialize_element(i))?;
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                entries
                    .iter()
                    .try_for_each(|(k, v)| map.serialize_entry(k, v))?;
                map.end()
            }
        }
    }
}

/// A value of a generated type, rendered as it goes into a template.
pub trait ToJson {
    fn to_json(&self) -> Json;
}

impl ToJson for Json {
    fn to_json(&self) -> Json {
        self.clone()
    }
}

impl ToJson for Expr {
    fn to_json(&self) -> Json {
        Json::Str(self.clone())
    }
}

impl ToJson for Val<i64> {
    fn to_json(&self) -> Json {
        match self {
            Val::Lit(n) => Json::Int(*n),
            Val::Expr(e) => e.to_json(),
        }
    }
}

impl ToJson for Val<f64> {
    fn to_json(&self) -> Json {
        match self {
            Val::Lit(n) => Json::Float(*n),
            Val::Expr(e) => e.to_json(),
        }
    }
}

impl ToJson for Val<bool> {
    fn to_json(&self) -> Json {
        match self {
            Val::Lit(b) => Json::Bool(*b),
            Val::Expr(e) => e.to_json(),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Json {
        Json::Array(self.iter().map(ToJson::to_json).collect())
    }
}

impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn to_json(&self) -> Json {
        Json::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}

impl<T: ToJson> ToJson for Box<T> {
    fn to_json(&self) -> Json {
        (**self).to_json()
    }
}

/// The properties of a generated struct, added in the schema's order; absent ones are left
/// out.
#[derive(Debug, Default)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    pub fn new() -> Self {
        Object(Vec::new())
    }

    /// Adds a required property.
    pub fn set<T: ToJson>(&mut self, key: &str, value: &T) {
        self.0.push((key.to_owned(), value.to_json()));
    }

    /// Adds an optional property when it is set.
    pub fn opt<T: ToJson>(&mut self, key: &str, value: &Option<T>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }
}

impl From<Object> for Json {
    fn from(o: Object) -> Self {
        Json::Object(o.0)
    }
}
