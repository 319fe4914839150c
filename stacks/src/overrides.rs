//! Property overrides, the escape hatch for a property no typed model sets (CDK's
//! `addPropertyOverride` / `addPropertyDeletionOverride`): a dotted path into a resource's
//! rendered `Properties`, and the value to put there, or none to delete it. Pure: applied
//! to the rendered document at synth.

use serde_yaml::{Mapping, Value};

/// One override of a resource's properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Dotted path below `Properties`, such as `LoggingConfig.LogFormat` or `Tags.0.Value`
    /// (a number indexes a list).
    pub path: String,
    /// The value to set; `None` deletes the property.
    pub value: Option<Value>,
}

/// Why an override cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error(
        "path `{0}` is empty or has an empty segment: write segments separated by dots, such as `LoggingConfig.LogFormat`"
    )]
    BadPath(String),
    #[error("`{at}` is {kind}, not an object or list: the override of `{path}` cannot go below it")]
    NotAContainer {
        path: String,
        at: String,
        kind: &'static str,
    },
    #[error("`{at}` is a list of {len}: segment `{segment}` of `{path}` is not an index into it")]
    BadIndex {
        path: String,
        at: String,
        segment: String,
        len: usize,
    },
    #[error(
        "`{0}` is not set, so there is nothing to delete: check the path against the synthesized template"
    )]
    NothingToDelete(String),
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "an object",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Applies `overrides` in order to `properties` (a resource's rendered `Properties`; null
/// when it has none).
pub fn apply(properties: &mut Value, overrides: &[Override]) -> Result<(), OverrideError> {
    overrides.iter().try_for_each(|o| apply_one(properties, o))
}

fn apply_one(root: &mut Value, o: &Override) -> Result<(), OverrideError> {
    let segments: Vec<&str> = o.path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(OverrideError::BadPath(o.path.clone()));
    }
    let (last, parents) = segments
        .split_last()
        .expect("split yields one segment at least");
    if root.is_null() {
        *root = Value::Mapping(Mapping::new());
    }
    let mut node = root;
    for (i, segment) in parents.iter().enumerate() {
        let at = || segments[..=i].join(".");
        node = child(node, segment, o, &segments[..i].join("."))?;
        if node.is_null() && o.value.is_some() {
            *node = Value::Mapping(Mapping::new());
        } else if node.is_null() {
            return Err(OverrideError::NothingToDelete(at()));
        }
    }
    let at = parents.join(".");
    match (node, &o.value) {
        (Value::Mapping(m), Some(v)) => {
            m.insert(Value::String((*last).to_owned()), v.clone());
            Ok(())
        }
        (Value::Mapping(m), None) => m
            .remove(*last)
            .map(drop)
            .ok_or_else(|| OverrideError::NothingToDelete(o.path.clone())),
        (Value::Sequence(items), value) => {
            let len = items.len();
            let i = index(last, len).ok_or_else(|| OverrideError::BadIndex {
                path: o.path.clone(),
                at,
                segment: (*last).to_owned(),
                len,
            })?;
            match value {
                Some(v) => items[i] = v.clone(),
                None => {
                    items.remove(i);
                }
            }
            Ok(())
        }
        (other, _) => Err(OverrideError::NotAContainer {
            path: o.path.clone(),
            at,
            kind: kind(other),
        }),
    }
}

fn index(segment: &str, len: usize) -> Option<usize> {
    segment.parse::<usize>().ok().filter(|i| *i < len)
}

/// The child `segment` of `node` (created empty in an object when setting).
fn child<'v>(
    node: &'v mut Value,
    segment: &str,
    o: &Override,
    at: &str,
) -> Result<&'v mut Value, OverrideError> {
    match node {
        Value::Mapping(m) => {
            let key = Value::String(segment.to_owned());
            if !m.contains_key(&key) {
                m.insert(key.clone(), Value::Null);
            }
            Ok(m.get_mut(&key).expect("inserted above"))
        }
        Value::Sequence(items) => {
            let len = items.len();
            match index(segment, len) {
                Some(i) => Ok(&mut items[i]),
                None => Err(OverrideError::BadIndex {
                    path: o.path.clone(),
                    at: at.to_owned(),
                    segment: segment.to_owned(),
                    len,
                }),
            }
        }
        other => Err(OverrideError::NotAContainer {
            path: o.path.clone(),
            at: at.to_owned(),
            kind: kind(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn set(path: &str, yaml: &str) -> Override {
        Override {
            path: path.into(),
            value: Some(doc(yaml)),
        }
    }

    fn delete(path: &str) -> Override {
        Override {
            path: path.into(),
            value: None,
        }
    }

    #[test]
    fn sets_nested_values_creating_objects_and_keeps_the_order() {
        let mut p = doc("B: 1\nA: {X: 1}\nTags: [{Key: k, Value: v}]\n");
        apply(
            &mut p,
            &[
                set("A.Y", "2"),
                set("C.D.E", "deep"),
                set("Tags.0.Value", "w"),
                set("B", "[1, 2]"),
            ],
        )
        .unwrap();
        assert_eq!(
            serde_yaml::to_string(&p).unwrap(),
            "B:\n- 1\n- 2\nA:\n  X: 1\n  Y: 2\nTags:\n- Key: k\n  Value: w\nC:\n  D:\n    E: deep\n"
        );
    }

    #[test]
    fn deletes_and_refuses_to_delete_what_is_not_there() {
        let mut p = doc("A: {X: 1, Y: 2}\nL: [a, b]\n");
        apply(&mut p, &[delete("A.X"), delete("L.0")]).unwrap();
        assert_eq!(p, doc("A: {Y: 2}\nL: [b]\n"));
        assert_eq!(
            apply(&mut p, &[delete("A.Nope")]),
            Err(OverrideError::NothingToDelete("A.Nope".into()))
        );
        assert_eq!(
            apply(&mut p, &[delete("Missing.Deep")]),
            Err(OverrideError::NothingToDelete("Missing".into()))
        );
    }

    #[test]
    fn bad_paths_are_errors_that_say_where() {
        let mut p = doc("S: text\nL: [a]\n");
        let err = apply(&mut p, &[set("S.X", "1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`S` is a string, not an object or list: the override of `S.X` cannot go below it"
        );
        let err = apply(&mut p, &[set("L.3", "1")]).unwrap_err();
        assert!(
            matches!(err, OverrideError::BadIndex { len: 1, .. }),
            "{err}"
        );
        assert_eq!(
            apply(&mut p, &[set("A..B", "1")]),
            Err(OverrideError::BadPath("A..B".into()))
        );
        assert_eq!(
            apply(&mut p, &[set("", "1")]),
            Err(OverrideError::BadPath("".into()))
        );
    }

    #[test]
    fn a_resource_without_properties_gets_them() {
        let mut p = Value::Null;
        apply(&mut p, &[set("Name", "x")]).unwrap();
        assert_eq!(p, doc("Name: x\n"));
    }
}
