//! From a resource schema to the [`model`](crate::model): every property and definition
//! becomes a field type, a struct or an enum, with its constraints.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Allowed, Enum, Field, Resource, Rule, Struct, Ty};
use crate::names::{self, RESERVED_TYPES, Scope};
use crate::schema::{Additional, Literal, Node, ResourceSchema};

/// A lowered schema node: its type, constraints, and the description of the definition it
/// came from (for fields that have none of their own).
#[derive(Clone, Debug)]
struct Shape {
    ty: Ty,
    rule: Rule,
    doc: Option<String>,
}

impl Shape {
    fn of(ty: Ty) -> Self {
        Shape {
            ty,
            rule: Rule::default(),
            doc: None,
        }
    }
}

#[derive(Clone, Debug)]
enum Def {
    /// Being lowered: a struct's name is known before its fields.
    Busy(Option<String>),
    Done(Shape),
}

struct Lowering<'s> {
    schema: &'s ResourceSchema,
    types: Scope,
    structs: Vec<Struct>,
    enums: Vec<Enum>,
    defs: BTreeMap<String, Def>,
}

/// Properties of an object node, with what its `allOf`, `oneOf` and `anyOf` add.
struct Members<'s> {
    properties: BTreeMap<String, &'s Node>,
    required: Vec<String>,
}

/// Whether `pattern` can be checked at synth (stacks checks with regex-lite).
pub fn usable_pattern(pattern: &str) -> bool {
    regex_lite::Regex::new(pattern).is_ok()
}

/// The resource's module: its struct, definitions, enums and attributes.
pub fn resource(schema: &ResourceSchema, all_properties: bool, exceptions: &[String]) -> Resource {
    let short = schema.type_name.rsplit("::").next().unwrap_or_default();
    let mut l = Lowering {
        schema,
        types: Scope::new(RESERVED_TYPES),
        structs: Vec::new(),
        enums: Vec::new(),
        defs: BTreeMap::new(),
    };
    let name = l.types.take(&[names::camel(short)]);
    let read_only: BTreeSet<&str> = schema
        .read_only_properties
        .iter()
        .filter_map(|p| p.strip_prefix("/properties/"))
        .filter(|p| !p.contains('/'))
        .collect();
    let properties = schema
        .properties
        .iter()
        .filter(|(k, _)| !read_only.contains(k.as_str()))
        .map(|(k, v)| (k.clone(), v))
        .collect();
    let members = Members {
        properties,
        required: schema.required.clone(),
    };
    l.structs.push(placeholder(&name));
    let fields = l.fields(&members, &name);
    l.structs[0] = Struct {
        name,
        doc: schema.description.clone(),
        fields,
    };
    box_recursion(&mut l.structs);
    Resource {
        type_name: schema.type_name.clone(),
        module: names::module(short),
        structs: l.structs,
        enums: l.enums,
        attributes: crate::attributes::of(schema, all_properties, exceptions),
        primary_identifier: schema
            .primary_identifier
            .iter()
            .map(|p| p.trim_start_matches("/properties/").to_owned())
            .collect(),
    }
}

fn placeholder(name: &str) -> Struct {
    Struct {
        name: name.to_owned(),
        doc: None,
        fields: Vec::new(),
    }
}

impl<'s> Lowering<'s> {
    fn fields(&mut self, members: &Members<'s>, owner: &str) -> Vec<Field> {
        let mut idents = Scope::new(&["new"]);
        let mut out = Vec::new();
        for (json, node) in &members.properties {
            let shape = self.node(node, &names::camel(json), owner);
            out.push(Field {
                json: json.clone(),
                rust: idents.take_ident(names::ident(json)),
                doc: node.description.clone().or(shape.doc),
                ty: shape.ty,
                required: members.required.contains(json),
                boxed: false,
                rule: shape.rule,
            });
        }
        out
    }

    fn node(&mut self, node: &'s Node, hint: &str, owner: &str) -> Shape {
        if let Some(r) = &node.reference {
            let mut shape = self.reference(r, owner);
            constrain(&mut shape.rule, node);
            return shape;
        }
        // A string "the same as a JSON document" (`format: json`, such as a managed
        // policy's document): CloudFormation takes the document itself.
        if node.format.as_deref() == Some("json") && node.kinds().iter().all(|k| *k == "string") {
            return Shape::of(Ty::Json);
        }
        match node.kinds().as_slice() {
            [] => self.untyped(node, hint, owner),
            [one] => self.typed(one, node, hint, owner),
            many if many.iter().any(|k| matches!(*k, "object" | "array")) => Shape::of(Ty::Json),
            // Several scalar types (`[integer, string]`): a string, checked by no rule.
            _ => Shape::of(Ty::Expr),
        }
    }

    fn typed(&mut self, kind: &str, node: &'s Node, hint: &str, owner: &str) -> Shape {
        let (ty, rule) = match kind {
            "string" => (Ty::Expr, self.string_rule(node, hint, owner)),
            "integer" => (Ty::Int, number_rule(node)),
            "number" => (Ty::Num, number_rule(node)),
            "boolean" => (Ty::Bool, Rule::default()),
            "array" => return self.array(node, hint, owner),
            "object" => return self.object(node, hint, owner),
            _ => (Ty::Json, Rule::default()),
        };
        Shape {
            ty,
            rule,
            doc: None,
        }
    }

    fn untyped(&mut self, node: &'s Node, hint: &str, owner: &str) -> Shape {
        let texts = node
            .allowed
            .as_ref()
            .is_some_and(|vs| vs.iter().all(|v| matches!(v, Literal::Text(_))));
        if node.properties.is_some() || node.all_of.is_some() {
            self.object(node, hint, owner)
        } else if node.items.is_some() {
            self.array(node, hint, owner)
        } else if node.alternatives().next().is_some() {
            self.composite(node, hint, owner)
        } else if texts || node.pattern.is_some() || node.max_length.is_some() {
            let rule = self.string_rule(node, hint, owner);
            Shape {
                ty: Ty::Expr,
                rule,
                doc: None,
            }
        } else {
            Shape::of(Ty::Json)
        }
    }

    fn array(&mut self, node: &'s Node, hint: &str, owner: &str) -> Shape {
        let item = match &node.items {
            Some(items) => self.node(items, &format!("{hint}Item"), owner),
            None => Shape::of(Ty::Json),
        };
        Shape {
            ty: Ty::List(Box::new(item.ty)),
            rule: Rule {
                min_items: node.min_items,
                max_items: node.max_items,
                items: (!item.rule.is_empty()).then(|| Box::new(item.rule)),
                ..Rule::default()
            },
            doc: None,
        }
    }

    fn object(&mut self, node: &'s Node, hint: &str, owner: &str) -> Shape {
        let members = self.members(node);
        if !members.properties.is_empty() {
            let name = self.struct_named(&[hint.to_owned(), format!("{owner}{hint}")]);
            let name = self.fill(&name, node.description.clone(), &members);
            return Shape::of(Ty::Struct(name));
        }
        let value = node
            .pattern_properties
            .as_ref()
            .and_then(|p| p.values().next())
            .or(match &node.additional_properties {
                Some(Additional::Schema(n)) => Some(n.as_ref()),
                _ => None,
            });
        match value {
            Some(value) => {
                let v = self.node(value, &format!("{hint}Value"), owner);
                Shape {
                    ty: Ty::Map(Box::new(v.ty)),
                    rule: Rule {
                        items: (!v.rule.is_empty()).then(|| Box::new(v.rule)),
                        ..Rule::default()
                    },
                    doc: None,
                }
            }
            None => Shape::of(Ty::Json),
        }
    }

    /// `oneOf`/`anyOf` without a type: one struct when every alternative is an object, a
    /// string when every one is a string, a document otherwise.
    fn composite(&mut self, node: &'s Node, hint: &str, owner: &str) -> Shape {
        // A typed value or the same as a JSON document (DynamoDB's `KeySchema`): typed.
        let typed: Vec<&'s Node> = node
            .alternatives()
            .filter(|a| a.format.as_deref() != Some("json"))
            .collect();
        if let [one] = typed.as_slice()
            && node.alternatives().count() > 1
        {
            let mut shape = self.node(one, hint, owner);
            constrain(&mut shape.rule, node);
            return shape;
        }
        let alternatives: Vec<&'s Node> = node.alternatives().map(|a| self.resolve(a)).collect();
        let object = |a: &&Node| a.properties.is_some();
        let text = |a: &&Node| {
            a.kinds() == ["string"]
                || (a.kinds().is_empty()
                    && a.properties.is_none()
                    && a.items.is_none()
                    && a.reference.is_none()
                    && a.alternatives().next().is_none())
        };
        if alternatives.iter().all(object) {
            let name = self.struct_named(&[hint.to_owned(), format!("{owner}{hint}")]);
            let mut members = self.members(node);
            members.required.clear();
            let name = self.fill(&name, node.description.clone(), &members);
            Shape::of(Ty::Struct(name))
        } else if alternatives.iter().all(text) {
            Shape::of(Ty::Expr)
        } else {
            Shape::of(Ty::Json)
        }
    }

    /// The node a local `$ref` names (one level), or `node`.
    fn resolve(&self, node: &'s Node) -> &'s Node {
        let schema = self.schema;
        match node.reference.as_deref() {
            Some(r) => r
                .strip_prefix("#/definitions/")
                .and_then(|d| schema.definitions.get(d))
                .or_else(|| {
                    r.strip_prefix("#/properties/")
                        .and_then(|p| schema.properties.get(p))
                })
                .unwrap_or(node),
            None => node,
        }
    }

    fn members(&self, node: &'s Node) -> Members<'s> {
        let mut properties: BTreeMap<String, &'s Node> = BTreeMap::new();
        let mut required = node.required.clone().unwrap_or_default();
        let add = |n: &'s Node, properties: &mut BTreeMap<String, &'s Node>| {
            for (k, v) in n.properties.iter().flatten() {
                properties.entry(k.clone()).or_insert(v);
            }
        };
        add(node, &mut properties);
        for member in node.all_of.iter().flatten().map(|m| self.resolve(m)) {
            add(member, &mut properties);
            required.extend(member.required.iter().flatten().cloned());
        }
        for alternative in node.alternatives().map(|a| self.resolve(a)) {
            add(alternative, &mut properties);
        }
        required.retain(|r| properties.contains_key(r));
        required.sort();
        required.dedup();
        Members {
            properties,
            required,
        }
    }

    fn struct_named(&mut self, candidates: &[String]) -> String {
        let name = self.types.take(candidates);
        self.structs.push(placeholder(&name));
        name
    }

    /// Lowers the fields of struct `name`. An inline object the same as a struct already
    /// made (the same fields, types, rules) is that struct: `name` is dropped and the
    /// other's returned.
    fn fill(&mut self, name: &str, doc: Option<String>, members: &Members<'s>) -> String {
        let fields = self.fields(members, name);
        let same = |a: &[Field], b: &[Field]| {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    (&x.json, &x.ty, x.required, &x.rule) == (&y.json, &y.ty, y.required, &y.rule)
                })
        };
        let inline = !self
            .defs
            .values()
            .any(|d| matches!(d, Def::Busy(Some(n)) if n == name));
        let twin = self
            .structs
            .iter()
            .find(|s| s.name != name && !s.fields.is_empty() && same(&s.fields, &fields));
        if let Some(twin) = twin.filter(|_| inline) {
            let twin = twin.name.clone();
            self.structs.retain(|s| s.name != name);
            return twin;
        }
        if let Some(s) = self.structs.iter_mut().find(|s| s.name == name) {
            s.doc = doc;
            s.fields = fields;
        }
        name.to_owned()
    }

    fn reference(&mut self, r: &str, owner: &str) -> Shape {
        if let Some(def) = r.strip_prefix("#/definitions/") {
            return self.definition(def);
        }
        let schema = self.schema;
        match r
            .strip_prefix("#/properties/")
            .and_then(|p| schema.properties.get_key_value(p))
        {
            Some((p, node)) => self.node(node, &names::camel(p), owner),
            None => Shape::of(Ty::Json),
        }
    }

    fn definition(&mut self, name: &str) -> Shape {
        match self.defs.get(name) {
            Some(Def::Done(shape)) => return shape.clone(),
            Some(Def::Busy(Some(s))) => return Shape::of(Ty::Struct(s.clone())),
            Some(Def::Busy(None)) => return Shape::of(Ty::Json),
            None => {}
        }
        let schema = self.schema;
        let Some(node) = schema.definitions.get(name) else {
            return Shape::of(Ty::Json);
        };
        let camel = names::camel(name);
        let object = node.reference.is_none()
            && matches!(node.kinds().as_slice(), [] | ["object"])
            && !self.members(node).properties.is_empty();
        let mut shape = if object {
            let s = self.struct_named(&[camel.clone(), format!("{camel}Definition")]);
            self.defs
                .insert(name.to_owned(), Def::Busy(Some(s.clone())));
            let members = self.members(node);
            let s = self.fill(&s, node.description.clone(), &members);
            Shape::of(Ty::Struct(s))
        } else {
            self.defs.insert(name.to_owned(), Def::Busy(None));
            self.node(node, &camel, "")
        };
        shape.doc = node.description.clone();
        self.defs.insert(name.to_owned(), Def::Done(shape.clone()));
        shape
    }

    fn string_rule(&mut self, node: &Node, hint: &str, owner: &str) -> Rule {
        Rule {
            min_length: node.min_length,
            max_length: node.max_length,
            pattern: node.pattern.clone().filter(|p| usable_pattern(p)),
            allowed: self.allowed(node, hint, owner),
            ..Rule::default()
        }
    }

    /// An enum of the string values `node` allows (numbers: their text).
    fn allowed(&mut self, node: &Node, hint: &str, owner: &str) -> Allowed {
        let Some(values) = node.allowed.as_ref().filter(|v| !v.is_empty()) else {
            return Allowed::Any;
        };
        let mut texts: Vec<String> = Vec::new();
        for v in values {
            let Literal::Text(t) = v else {
                return Allowed::Values(numbers(values));
            };
            if !texts.contains(t) {
                texts.push(t.clone());
            }
        }
        let name = self
            .types
            .take(&[hint.to_owned(), format!("{owner}{hint}")]);
        // `VALUES` is the enum's list of values.
        let mut variants = Scope::new(&["Self", "VALUES"]);
        let variants = texts
            .into_iter()
            .map(|t| (variants.take(&[names::camel(&t)]), t))
            .collect();
        self.enums.push(Enum {
            name: name.clone(),
            of: hint.to_owned(),
            variants,
        });
        Allowed::Enum(name)
    }
}

fn numbers(values: &[Literal]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| match v {
            Literal::Int(n) => Some(n.to_string()),
            Literal::Float(n) => Some(n.to_string()),
            Literal::Text(t) => Some(t.clone()),
            Literal::Bool(_) => None,
        })
        .collect()
}

/// Adds the constraints written beside a `$ref` (or around `oneOf`) to `rule`.
fn constrain(rule: &mut Rule, node: &Node) {
    rule.min_items = node.min_items.or(rule.min_items);
    rule.max_items = node.max_items.or(rule.max_items);
    rule.min_length = node.min_length.or(rule.min_length);
    rule.max_length = node.max_length.or(rule.max_length);
    rule.minimum = node.minimum.or(rule.minimum);
    rule.maximum = node.maximum.or(rule.maximum);
}

fn number_rule(node: &Node) -> Rule {
    Rule {
        minimum: node.minimum,
        maximum: node.maximum,
        allowed: match &node.allowed {
            Some(values) if !values.is_empty() => Allowed::Values(numbers(values)),
            _ => Allowed::Any,
        },
        ..Rule::default()
    }
}

/// Boxes every field whose struct contains, directly, the struct that holds the field.
fn box_recursion(structs: &mut [Struct]) {
    let edges: BTreeMap<String, Vec<String>> = structs
        .iter()
        .map(|s| {
            let direct = s.fields.iter().filter_map(|f| match &f.ty {
                Ty::Struct(t) => Some(t.clone()),
                _ => None,
            });
            (s.name.clone(), direct.collect())
        })
        .collect();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.extend(edges.get(&n).into_iter().flatten().cloned());
            }
        }
        false
    };
    for s in structs.iter_mut() {
        for f in &mut s.fields {
            if let Ty::Struct(t) = &f.ty {
                f.boxed = reaches(t, &s.name);
            }
        }
    }
}
