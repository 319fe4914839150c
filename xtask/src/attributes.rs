//! The `Fn::GetAtt` attributes of a type, as cfn-lint 1.58.0 derives them
//! (`cfnlint/schema/_getatts.py`): every property path of the types it lists as such (the
//! pinned `all_properties`), otherwise the `readOnlyProperties` plus the pinned exceptions.

use std::collections::BTreeMap;

use crate::model::Attribute;
use crate::names::{self, Scope};
use crate::schema::{Node, ResourceSchema};

/// Methods a generated accessor must not take: `Handle`'s own.
const HANDLE_METHODS: &[&str] = &[
    "new",
    "reference",
    "logical_id",
    "ref_expr",
    "get_att",
    "clone",
    "fmt",
];

/// Types whose attributes cfn-lint describes by a pattern only (`Outputs\..*`).
const OUTPUTS_ONLY: &str = "AWS::CloudFormation::Stack";
const PROVISIONED_PRODUCT: &str = "AWS::ServiceCatalog::CloudFormationProvisionedProduct";

fn resolve<'s>(schema: &'s ResourceSchema, node: &'s Node) -> &'s Node {
    node.reference
        .as_deref()
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .and_then(|d| schema.definitions.get(d))
        .unwrap_or(node)
}

/// cfn-lint's walk of an "all properties" type: objects are entered, arrays of objects
/// or arrays skipped, everything else is an attribute.
fn walk(schema: &ResourceSchema, node: &Node, path: &str, out: &mut Vec<String>) {
    let kinds = node.kinds();
    if kinds.contains(&"object") {
        for (k, v) in node.properties.iter().flatten() {
            walk(schema, v, &format!("{path}.{k}"), out);
        }
    } else if kinds.contains(&"array") {
        let item = node.items.as_deref().map(Node::kinds).unwrap_or_default();
        if !item.iter().any(|k| matches!(*k, "object" | "array")) {
            out.push(path.to_owned());
        }
    } else if node.reference.is_some() {
        let target = resolve(schema, node);
        if !std::ptr::eq(target, node) {
            walk(schema, target, path, out);
        }
    } else {
        out.push(path.to_owned());
    }
}

/// The description of the property at `name` (`A.B`), through `$ref`s.
fn description(schema: &ResourceSchema, name: &str) -> Option<String> {
    let mut parts = name.split('.');
    let mut node = schema.properties.get(parts.next()?)?;
    for part in parts {
        node = resolve(schema, node).properties.as_ref()?.get(part)?;
    }
    node.description
        .clone()
        .or_else(|| resolve(schema, node).description.clone())
        .filter(|d| !d.trim().is_empty())
}

fn names(schema: &ResourceSchema, all_properties: bool, exceptions: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if all_properties {
        for (k, v) in &schema.properties {
            walk(schema, v, k, &mut out);
        }
        return out;
    }
    out.extend(exceptions.iter().cloned());
    if schema.type_name == OUTPUTS_ONLY {
        return out;
    }
    let read_only = schema
        .read_only_properties
        .iter()
        .filter(|p| schema.type_name != PROVISIONED_PRODUCT || *p != "/properties/Outputs")
        .filter_map(|p| p.strip_prefix("/properties/"))
        .filter(|p| !p.contains('*'))
        .map(|p| p.replace('/', "."));
    out.extend(read_only);
    out
}

/// The attributes of `schema`'s type, sorted by name, with accessor names.
pub fn of(schema: &ResourceSchema, all_properties: bool, exceptions: &[String]) -> Vec<Attribute> {
    let unique: BTreeMap<String, ()> = names(schema, all_properties, exceptions)
        .into_iter()
        .map(|n| (n, ()))
        .collect();
    let mut methods = Scope::new(HANDLE_METHODS);
    unique
        .into_keys()
        .map(|name| Attribute {
            method: methods.take_ident(names::ident(&name)),
            doc: description(schema, &name),
            name,
        })
        .collect()
}
