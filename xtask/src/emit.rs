//! The Rust text of one resource type's module. The generated tree is not run through
//! rustfmt (`#[rustfmt::skip]` on `stacks::l1`): the text is written here in its final form.

use std::fmt::Write as _;

use crate::model::{Allowed, Enum, Field, Resource, Rule, Struct, Ty};

/// `/// ...` lines of a schema description: lines trimmed (no indented code blocks, so no
/// doctests), code fences defused, blank runs collapsed.
pub fn doc(out: &mut String, indent: &str, text: Option<&str>) {
    let Some(text) = text else { return };
    let mut text = text.replace('\r', "");
    while text.contains("```") {
        text = text.replace("```", "``");
    }
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if !(line.is_empty() && lines.last().is_none_or(|l| l.is_empty())) {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for line in lines {
        let sep = if line.is_empty() { "" } else { " " };
        let _ = writeln!(out, "{indent}///{sep}{line}");
    }
}

pub fn rust_type(ty: &Ty) -> String {
    match ty {
        Ty::Expr => "Expr".to_owned(),
        Ty::Int => "c::Val<i64>".to_owned(),
        Ty::Num => "c::Val<f64>".to_owned(),
        Ty::Bool => "c::Val<bool>".to_owned(),
        Ty::Json => "c::Json".to_owned(),
        Ty::Struct(name) => name.clone(),
        Ty::List(t) => format!("Vec<{}>", rust_type(t)),
        Ty::Map(t) => format!("BTreeMap<String, {}>", rust_type(t)),
    }
}

fn field_type(f: &Field) -> String {
    let t = rust_type(&f.ty);
    let t = if f.boxed { format!("Box<{t}>") } else { t };
    if f.required {
        t
    } else {
        format!("Option<{t}>")
    }
}

/// What a setter or constructor takes for a field of `ty`, and how it becomes the field's
/// value (`{v}` stands for the argument).
fn argument(ty: &Ty, boxed: bool) -> (String, String) {
    let into = |t: &Ty| format!("impl Into<{}>", rust_type(t));
    match ty {
        Ty::Expr | Ty::Int | Ty::Num | Ty::Bool | Ty::Json => (into(ty), "{v}.into()".to_owned()),
        Ty::Struct(name) if boxed => (name.clone(), "Box::new({v})".to_owned()),
        Ty::Struct(name) => (name.clone(), "{v}".to_owned()),
        Ty::List(item) => match item.as_ref() {
            Ty::Expr | Ty::Int | Ty::Num | Ty::Bool | Ty::Json => (
                format!("impl IntoIterator<Item = {}>", into(item)),
                "{v}.into_iter().map(Into::into).collect()".to_owned(),
            ),
            Ty::Struct(name) => (
                format!("impl IntoIterator<Item = {name}>"),
                "{v}.into_iter().collect()".to_owned(),
            ),
            _ => (rust_type(ty), "{v}".to_owned()),
        },
        Ty::Map(_) => (rust_type(ty), "{v}".to_owned()),
    }
}

fn float(n: f64) -> String {
    format!("{n:?}")
}

/// `&c::Rule { ... }` for a non-empty rule, `&c::Rule::NONE` otherwise.
pub fn rule(r: &Rule) -> String {
    if r.is_empty() {
        return "&c::Rule::NONE".to_owned();
    }
    let mut parts = Vec::new();
    let mut opt = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}: Some({v})"));
        }
    };
    opt("min_length", r.min_length.map(|n| n.to_string()));
    opt("max_length", r.max_length.map(|n| n.to_string()));
    opt("pattern", r.pattern.as_ref().map(|p| format!("{p:?}")));
    match &r.allowed {
        Allowed::Any => {}
        Allowed::Enum(name) => parts.push(format!("allowed: {name}::VALUES")),
        Allowed::Values(vs) => parts.push(format!("allowed: &{vs:?}")),
    }
    let mut opt = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}: Some({v})"));
        }
    };
    opt("minimum", r.minimum.map(float));
    opt("maximum", r.maximum.map(float));
    opt("min_items", r.min_items.map(|n| n.to_string()));
    opt("max_items", r.max_items.map(|n| n.to_string()));
    opt("items", r.items.as_deref().map(rule));
    if parts.len() < 9 {
        parts.push("..c::Rule::NONE".to_owned());
    }
    format!("&c::Rule {{ {} }}", parts.join(", "))
}

/// The enum of a field's values (or of its items' values).
fn enum_of(rule: &Rule) -> Option<&str> {
    match (&rule.allowed, &rule.items) {
        (Allowed::Enum(name), _) => Some(name),
        (_, Some(items)) => enum_of(items),
        _ => None,
    }
}

fn struct_def(out: &mut String, s: &Struct) {
    doc(out, "", s.doc.as_deref());
    let default = if s.fields.iter().any(|f| f.required) {
        ""
    } else {
        "Default, "
    };
    let _ = writeln!(out, "#[derive(Clone, Debug, {default}PartialEq)]");
    let _ = writeln!(out, "pub struct {} {{", s.name);
    for f in &s.fields {
        doc(out, "    ", f.doc.as_deref());
        if let Some(e) = enum_of(&f.rule) {
            let sep = if f.doc.is_some() { "    ///\n" } else { "" };
            let _ = writeln!(out, "{sep}    /// Values: [`{e}`].");
        }
        let _ = writeln!(out, "    pub {}: {},", f.rust, field_type(f));
    }
    out.push_str("}\n");
}

fn constructor(out: &mut String, s: &Struct) {
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.required).collect();
    if required.is_empty() {
        let _ = writeln!(out, "    /// `{}` with no property set.", s.name);
        out.push_str("    pub fn new() -> Self {\n        <Self as Default>::default()\n    }\n");
        return;
    }
    let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.json)).collect();
    let _ = writeln!(
        out,
        "    /// `{}` with its required properties: {}.",
        s.name,
        names.join(", ")
    );
    let params: Vec<String> = required
        .iter()
        .map(|f| format!("{}: {}", f.rust, argument(&f.ty, f.boxed).0))
        .collect();
    let _ = writeln!(out, "    pub fn new({}) -> Self {{", params.join(", "));
    out.push_str("        Self {\n");
    for f in &s.fields {
        let conv = argument(&f.ty, f.boxed).1;
        if !f.required {
            let _ = writeln!(out, "            {}: None,", f.rust);
        } else if conv == "{v}" {
            let _ = writeln!(out, "            {},", f.rust);
        } else {
            let _ = writeln!(
                out,
                "            {}: {},",
                f.rust,
                conv.replace("{v}", &f.rust)
            );
        }
    }
    out.push_str("        }\n    }\n");
}

fn setters(out: &mut String, s: &Struct) {
    for f in s.fields.iter().filter(|f| !f.required) {
        let (arg, conv) = argument(&f.ty, f.boxed);
        let _ = writeln!(out, "    /// Sets `{}`.", f.json);
        let _ = writeln!(
            out,
            "    pub fn {}(mut self, v: {arg}) -> Self {{ self.{} = Some({}); self }}",
            f.rust,
            f.rust,
            conv.replace("{v}", "v")
        );
    }
}

fn to_json(out: &mut String, s: &Struct) {
    let _ = writeln!(out, "impl c::ToJson for {} {{", s.name);
    out.push_str("    fn to_json(&self) -> c::Json {\n");
    if s.fields.is_empty() {
        out.push_str("        c::Object::new().into()\n    }\n}\n");
        return;
    }
    out.push_str("        let mut o = c::Object::new();\n");
    for f in &s.fields {
        let method = if f.required { "set" } else { "opt" };
        let _ = writeln!(out, "        o.{method}({:?}, &self.{});", f.json, f.rust);
    }
    out.push_str("        o.into()\n    }\n}\n");
}

fn checkable(out: &mut String, s: &Struct) {
    let checked: Vec<&Field> = s
        .fields
        .iter()
        .filter(|f| !f.rule.is_empty() || f.ty.has_struct())
        .collect();
    let _ = writeln!(out, "impl c::Checkable for {} {{", s.name);
    if checked.is_empty() {
        out.push_str("    fn check(&self, _: &c::Rule, _: &mut c::Checker) {}\n}\n");
        return;
    }
    out.push_str("    fn check(&self, _: &c::Rule, k: &mut c::Checker) {\n");
    for f in checked {
        let _ = writeln!(
            out,
            "        k.field({:?}, &self.{}, {});",
            f.json,
            f.rust,
            rule(&f.rule)
        );
    }
    out.push_str("    }\n}\n");
}

/// A struct with its constructor, setters, rendering and checks.
pub fn structure(out: &mut String, s: &Struct) {
    struct_def(out, s);
    out.push('\n');
    let _ = writeln!(out, "impl {} {{", s.name);
    constructor(out, s);
    setters(out, s);
    out.push_str("}\n\n");
    to_json(out, s);
    out.push('\n');
    checkable(out, s);
}

pub fn enumeration(out: &mut String, e: &Enum) {
    let _ = writeln!(out, "/// The values `{}` allows.", e.of);
    out.push_str("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]\n");
    let _ = writeln!(out, "pub enum {} {{", e.name);
    for (variant, value) in &e.variants {
        let _ = writeln!(out, "    /// `{}`", value.replace('`', "'"));
        let _ = writeln!(out, "    {variant},");
    }
    out.push_str("}\n\n");
    let values: Vec<&String> = e.variants.iter().map(|(_, v)| v).collect();
    let _ = writeln!(out, "impl {} {{", e.name);
    out.push_str("    /// Every value, in the schema's order.\n");
    let _ = writeln!(
        out,
        "    pub const VALUES: &'static [&'static str] = &{values:?};"
    );
    out.push_str("\n    pub fn as_str(self) -> &'static str {\n");
    out.push_str("        Self::VALUES[self as usize]\n    }\n}\n\n");
    let _ = writeln!(out, "impl From<{}> for Expr {{", e.name);
    let _ = writeln!(out, "    fn from(v: {}) -> Self {{", e.name);
    out.push_str("        Expr::lit(v.as_str())\n    }\n}\n");
}

fn handle(out: &mut String, r: &Resource, name: &str) {
    let _ = writeln!(out, "impl crate::Handle<{name}> {{");
    let ids: Vec<String> = r
        .primary_identifier
        .iter()
        .map(|p| format!("`{p}`"))
        .collect();
    let _ = writeln!(
        out,
        "    /// `Ref` of the resource: its primary identifier ({}).",
        ids.join(" `|` ")
    );
    out.push_str("    pub fn reference(&self) -> Expr { Expr::reference(self.logical_id()) }\n");
    let fields: Vec<&str> = r.structs.first().map_or(vec![], |s| {
        s.fields.iter().map(|f| f.json.as_str()).collect()
    });
    for a in &r.attributes {
        if fields.contains(&a.name.as_str()) {
            let _ = writeln!(
                out,
                "    /// `Fn::GetAtt` `{}`: the property's value.",
                a.name
            );
        } else {
            let _ = writeln!(out, "    /// `Fn::GetAtt` `{}`.", a.name);
            if a.doc.is_some() {
                out.push_str("    ///\n");
            }
            doc(out, "    ", a.doc.as_deref());
        }
        let _ = writeln!(
            out,
            "    pub fn {}(&self) -> Expr {{ Expr::get_att(self.logical_id(), {:?}) }}",
            a.method, a.name
        );
    }
    out.push_str("}\n");
}

/// The whole module of resource type `r`.
pub fn module(r: &Resource, header: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "//! `{}`.\n//!\n//! {header}\n", r.type_name);
    let map = r
        .structs
        .iter()
        .flat_map(|s| &s.fields)
        .any(|f| f.ty.has_map());
    if map {
        out.push_str("use std::collections::BTreeMap;\n\n");
    }
    out.push_str("use crate::Expr;\nuse crate::cfn as c;\n");
    let Some(resource) = r.structs.first() else {
        return out;
    };
    for s in &r.structs {
        out.push('\n');
        structure(&mut out, s);
        if s.name == resource.name {
            let _ = writeln!(out, "\nimpl c::CfnResource for {} {{", s.name);
            let _ = writeln!(
                out,
                "    const TYPE_NAME: &'static str = {:?};\n}}\n",
                r.type_name
            );
            handle(&mut out, r, &s.name);
        }
    }
    for e in &r.enums {
        out.push('\n');
        enumeration(&mut out, e);
    }
    out
}
