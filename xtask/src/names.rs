//! Rust names from schema names: snake_case fields and methods, CamelCase types and
//! variants, keywords escaped, collisions resolved deterministically.

use std::collections::BTreeSet;

/// Keywords a raw identifier (`r#type`) can stand for.
const RAW_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const PLAIN_KEYWORDS: &[&str] = &["crate", "self", "super", "Self", "_"];

/// Type names the generated code uses unqualified (or that would shadow the prelude).
pub const RESERVED_TYPES: &[&str] = &[
    "Self",
    "Option",
    "Some",
    "None",
    "Vec",
    "Box",
    "String",
    "Result",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Into",
    "From",
    "Iterator",
    "IntoIterator",
    "Send",
    "Sync",
    "Sized",
    "Drop",
    "Fn",
    "ToString",
    "ToOwned",
    "Ord",
    "PartialOrd",
    "AsRef",
    "Expr",
    "BTreeMap",
];

/// The words of `name`: split at non-alphanumerics, before an upper-case letter that
/// follows a lower-case letter or a digit, and before the last capital of an acronym
/// followed by lower case (`SSEType` -> `SSE`, `Type`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            out.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_ascii_uppercase()
            && match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
        if boundary && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        word.push(c);
    }
    out.extend((!word.is_empty()).then_some(word));
    out
}

/// `snake_case` of `name`; empty when it has no letters or digits.
pub fn snake(name: &str) -> String {
    let joined = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    match joined.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("n{joined}"),
        _ => joined,
    }
}

/// A field, method or parameter name: `snake_case`, keywords made raw (`r#type`) or
/// suffixed (`self_`).
pub fn ident(name: &str) -> String {
    let s = snake(name);
    let s = if s.is_empty() { "value".to_owned() } else { s };
    if RAW_KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else if PLAIN_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// A module (file) name: `snake_case`, keywords suffixed (`type_`).
pub fn module(name: &str) -> String {
    let s = snake(name);
    if RAW_KEYWORDS.contains(&s.as_str()) || PLAIN_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// `CamelCase` of `name`: each word with its first letter upper-cased, the rest kept
/// (`provided.al2023` -> `ProvidedAl2023`, `VPC` -> `VPC`). Prefixed with `V` when it would
/// start with a digit; `Empty` for a name without letters or digits.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    match out.chars().next() {
        None => "Empty".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("V{out}"),
        Some(_) => out,
    }
}

/// Names given out within one scope, each once.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    pub fn new(reserved: &[&str]) -> Self {
        Scope {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The first of `candidates` not taken, else the last one numbered (`Name2`, ...).
    pub fn take(&mut self, candidates: &[String]) -> String {
        let free = candidates
            .iter()
            .find(|c| !self.taken.contains(*c))
            .cloned();
        let name = free.unwrap_or_else(|| {
            let base = candidates.last().cloned().unwrap_or_default();
            (2..)
                .map(|n| format!("{base}{n}"))
                .find(|c| !self.taken.contains(c))
                .unwrap_or(base)
        });
        self.taken.insert(name.clone());
        name
    }

    /// A snake_case name, `_2`, `_3` ... on a collision.
    pub fn take_ident(&mut self, name: String) -> String {
        if self.taken.insert(name.clone()) {
            return name;
        }
        let free = (2..)
            .map(|n| format!("{}_{n}", name.trim_start_matches("r#")))
            .find(|c| !self.taken.contains(c))
            .unwrap_or(name);
        self.taken.insert(free.clone());
        free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case() {
        assert_eq!(snake("KmsMasterKeyId"), "kms_master_key_id");
        assert_eq!(snake("SSEType"), "sse_type");
        assert_eq!(snake("S3Bucket"), "s3_bucket");
        assert_eq!(snake("deadLetterTargetArn"), "dead_letter_target_arn");
        assert_eq!(snake("VPC"), "vpc");
        assert_eq!(snake("DBCluster"), "db_cluster");
        assert_eq!(
            snake("SnapStartResponse.ApplyOn"),
            "snap_start_response_apply_on"
        );
        assert_eq!(ident("Type"), "r#type");
        assert_eq!(ident("Self"), "self_");
        assert_eq!(module("Match"), "match_");
    }

    #[test]
    fn camel_case() {
        assert_eq!(camel("provided.al2023"), "ProvidedAl2023");
        assert_eq!(camel("messageGroup"), "MessageGroup");
        assert_eq!(camel("x86_64"), "X8664");
        assert_eq!(camel("1day"), "V1day");
        assert_eq!(camel("*"), "Empty");
    }

    #[test]
    fn scopes_resolve_collisions() {
        let mut s = Scope::new(&["Option"]);
        assert_eq!(
            s.take(&["Option".into(), "QueueOption".into()]),
            "QueueOption"
        );
        assert_eq!(s.take(&["Tag".into()]), "Tag");
        assert_eq!(s.take(&["Tag".into()]), "Tag2");
        let mut f = Scope::default();
        assert_eq!(f.take_ident("name".into()), "name");
        assert_eq!(f.take_ident("name".into()), "name_2");
    }
}
