use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::LogicalId;

/// CloudFormation pseudo parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pseudo {
    AccountId,
    Region,
    StackName,
    StackId,
    Partition,
    UrlSuffix,
}

impl Pseudo {
    pub fn as_str(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }
}

/// A string-valued template expression: a literal or an intrinsic function.
///
/// References to resources are made only through typed handles (`table.arn()`,
/// `alias.arn()`), which exist only for resources that were added to a stack: a `Ref` to
/// an arbitrary name cannot be written. [`Expr::sub`] is the typed form of `Fn::Sub`: its
/// parts are concatenated, and it renders as one `Fn::Sub` string with `${Id}`,
/// `${Id.Attr}` and `${AWS::...}` placeholders (or as a plain string when every part is
/// literal).
///
/// ```
/// use stacks::{Expr, Pseudo};
/// let e = Expr::sub(["arn:".into(), Expr::pseudo(Pseudo::Partition), ":s3:::bucket".into()]);
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"Fn::Sub":"arn:${AWS::Partition}:s3:::bucket"}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Expr(pub(crate) Node);

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Lit(String),
    Ref(LogicalId),
    GetAtt(LogicalId, &'static str),
    Pseudo(Pseudo),
    Sub(Vec<Expr>),
    Join(String, Vec<Expr>),
}

impl Expr {
    pub fn lit(s: impl Into<String>) -> Self {
        Expr(Node::Lit(s.into()))
    }

    pub fn pseudo(p: Pseudo) -> Self {
        Expr(Node::Pseudo(p))
    }

    pub(crate) fn reference(id: &LogicalId) -> Self {
        Expr(Node::Ref(id.clone()))
    }

    pub(crate) fn get_att(id: &LogicalId, attr: &'static str) -> Self {
        Expr(Node::GetAtt(id.clone(), attr))
    }

    /// `Fn::Sub` of the concatenation of `parts`.
    pub fn sub(parts: impl IntoIterator<Item = Expr>) -> Self {
        Expr(Node::Sub(parts.into_iter().collect()))
    }

    /// `Fn::Join` of `parts` with `separator`.
    pub fn join(separator: impl Into<String>, parts: impl IntoIterator<Item = Expr>) -> Self {
        Expr(Node::Join(separator.into(), parts.into_iter().collect()))
    }

    /// `arn:${AWS::Partition}:<service>:${AWS::Region}:${AWS::AccountId}:<resource...>`.
    pub fn arn(service: &str, resource: impl IntoIterator<Item = Expr>) -> Self {
        let mut parts = vec![
            Expr::lit("arn:"),
            Expr::pseudo(Pseudo::Partition),
            Expr::lit(format!(":{service}:")),
            Expr::pseudo(Pseudo::Region),
            Expr::lit(":"),
            Expr::pseudo(Pseudo::AccountId),
            Expr::lit(":"),
        ];
        parts.extend(resource);
        Expr::sub(parts)
    }

    /// The literal value, when this expression is one.
    pub fn as_lit(&self) -> Option<&str> {
        match &self.0 {
            Node::Lit(s) => Some(s),
            Node::Sub(_) => match self.flat_parts().as_slice() {
                [] => Some(""),
                _ => None,
            },
            _ => None,
        }
    }

    /// Every `(logical id, attribute)` this expression refers to, in order.
    pub fn references(&self) -> Vec<(&LogicalId, Option<&'static str>)> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<(&'a LogicalId, Option<&'static str>)>) {
        match &self.0 {
            Node::Lit(_) | Node::Pseudo(_) => {}
            Node::Ref(id) => out.push((id, None)),
            Node::GetAtt(id, attr) => out.push((id, Some(*attr))),
            Node::Sub(parts) | Node::Join(_, parts) => {
                parts.iter().for_each(|p| p.collect_references(out))
            }
        }
    }

    /// The parts of a `Sub`, nested `Sub`s flattened and adjacent literals merged.
    pub(crate) fn flat_parts(&self) -> Vec<Expr> {
        fn push(out: &mut Vec<Expr>, e: &Expr) {
            match &e.0 {
                Node::Sub(parts) => parts.iter().for_each(|p| push(out, p)),
                Node::Lit(s) if s.is_empty() => {}
                Node::Lit(s) => match out.last_mut() {
                    Some(Expr(Node::Lit(prev))) => prev.push_str(s),
                    _ => out.push(e.clone()),
                },
                _ => out.push(e.clone()),
            }
        }
        let mut out = Vec::new();
        push(&mut out, self);
        out
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::lit(s)
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::lit(s)
    }
}

struct One<'a, V: ?Sized>(&'a str, &'a V);

impl<V: Serialize + ?Sized> Serialize for One<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Node::Lit(v) => s.serialize_str(v),
            Node::Ref(id) => One("Ref", id.as_str()).serialize(s),
            Node::Pseudo(p) => One("Ref", p.as_str()).serialize(s),
            Node::GetAtt(id, attr) => One("Fn::GetAtt", &[id.as_str(), attr]).serialize(s),
            Node::Join(sep, parts) => {
                One("Fn::Join", &(sep.as_str(), parts.as_slice())).serialize(s)
            }
            Node::Sub(_) => {
                let parts = self.flat_parts();
                match parts.as_slice() {
                    [] => s.serialize_str(""),
                    [one] => one.serialize(s),
                    parts => match sub_text(parts) {
                        Some(text) => One("Fn::Sub", &text).serialize(s),
                        // A Join has no placeholder form inside Fn::Sub.
                        None => One("Fn::Join", &("", parts)).serialize(s),
                    },
                }
            }
        }
    }
}

fn sub_text(parts: &[Expr]) -> Option<String> {
    let mut text = String::new();
    for part in parts {
        match &part.0 {
            // `${` in literal text must be written `${!` inside Fn::Sub.
            Node::Lit(v) => text.push_str(&v.replace("${", "${!")),
            Node::Ref(id) => text.push_str(&format!("${{{id}}}")),
            Node::GetAtt(id, attr) => text.push_str(&format!("${{{id}.{attr}}}")),
            Node::Pseudo(p) => text.push_str(&format!("${{{}}}", p.as_str())),
            Node::Join(..) | Node::Sub(_) => return None,
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(e: &Expr) -> String {
        serde_json::to_string(e).unwrap()
    }

    fn id(s: &str) -> LogicalId {
        LogicalId::new(s).unwrap()
    }

    #[test]
    fn renders_intrinsics() {
        assert_eq!(json(&Expr::lit("x")), r#""x""#);
        assert_eq!(json(&Expr::reference(&id("T"))), r#"{"Ref":"T"}"#);
        assert_eq!(
            json(&Expr::pseudo(Pseudo::Region)),
            r#"{"Ref":"AWS::Region"}"#
        );
        assert_eq!(
            json(&Expr::get_att(&id("T"), "Arn")),
            r#"{"Fn::GetAtt":["T","Arn"]}"#
        );
        assert_eq!(
            json(&Expr::join(
                ",",
                [Expr::lit("a"), Expr::reference(&id("B"))]
            )),
            r#"{"Fn::Join":[",",["a",{"Ref":"B"}]]}"#
        );
    }

    #[test]
    fn sub_collapses_and_escapes() {
        assert_eq!(json(&Expr::sub(["a".into(), "b".into()])), r#""ab""#);
        assert_eq!(
            json(&Expr::sub([Expr::reference(&id("T"))])),
            r#"{"Ref":"T"}"#
        );
        assert_eq!(
            json(&Expr::sub([
                Expr::get_att(&id("T"), "Arn"),
                "/index/*${x}".into(),
                Expr::pseudo(Pseudo::Region)
            ])),
            r#"{"Fn::Sub":"${T.Arn}/index/*${!x}${AWS::Region}"}"#
        );
    }

    #[test]
    fn sub_with_a_join_falls_back_to_join() {
        let e = Expr::sub([
            Expr::reference(&id("A")),
            Expr::join(",", ["x".into(), "y".into()]),
        ]);
        assert_eq!(
            json(&e),
            r#"{"Fn::Join":["",[{"Ref":"A"},{"Fn::Join":[",",["x","y"]]}]]}"#
        );
    }

    #[test]
    fn references_are_collected_in_order() {
        let e = Expr::sub([Expr::reference(&id("A")), Expr::get_att(&id("B"), "Arn")]);
        let refs: Vec<_> = e
            .references()
            .into_iter()
            .map(|(i, a)| (i.as_str(), a))
            .collect();
        assert_eq!(refs, [("A", None), ("B", Some("Arn"))]);
    }
}
