//! The schema's constraints on literal values, checked at synth: `minLength`/`maxLength`,
//! `pattern`, `enum`, `minimum`/`maximum`, `minItems`/`maxItems`. An expression (a `Ref`, a
//! `GetAtt`, a parameter) is unknown at synth and passes; cfn-lint and CloudFormation see it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::{Json, Val};
use crate::Expr;

/// What the schema allows for one property. Generated code writes one per constrained
/// property; [`Rule::NONE`] allows anything.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// A pattern `regex-lite` compiles (the generator leaves out those it cannot).
    pub pattern: Option<&'static str>,
    /// The allowed values (`enum`), as JSON text for numbers; empty: any.
    pub allowed: &'static [&'static str],
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// The rule of each item of a list, or of each value of a map.
    pub items: Option<&'static Rule>,
}

impl Rule {
    pub const NONE: Rule = Rule {
        min_length: None,
        max_length: None,
        pattern: None,
        allowed: &[],
        minimum: None,
        maximum: None,
        min_items: None,
        max_items: None,
        items: None,
    };
}

/// How a literal breaks its property's [`Rule`].
#[derive(Clone, Debug, PartialEq)]
pub enum Broken {
    TooShort { min: u64, len: usize },
    TooLong { max: u64, len: usize },
    NoMatch { pattern: &'static str },
    NotAllowed { allowed: &'static [&'static str] },
    OutOfRange { min: Option<f64>, max: Option<f64> },
    TooFewItems { min: u64, len: usize },
    TooManyItems { max: u64, len: usize },
}

/// A literal value the schema does not allow: where (`Tags[0].Key`), what, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub path: String,
    pub value: String,
    pub broken: Broken,
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn range(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("{} to {}", number(lo), number(hi)),
        (Some(lo), None) => format!("at least {}", number(lo)),
        (None, Some(hi)) => format!("at most {}", number(hi)),
        (None, None) => "any".to_owned(),
    }
}

fn listing(allowed: &[&str]) -> String {
    const SHOWN: usize = 12;
    let mut text = allowed
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if allowed.len() > SHOWN {
        text.push_str(&format!(", ... ({} values)", allowed.len()));
    }
    text
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, value) = (&self.path, &self.value);
        match &self.broken {
            Broken::TooShort { min, len } => write!(
                f,
                "{path} is {value} ({len} characters), shorter than the schema's minLength {min}"
            ),
            Broken::TooLong { max, len } => write!(
                f,
                "{path} is {value} ({len} characters), longer than the schema's maxLength {max}"
            ),
            Broken::NoMatch { pattern } => write!(
                f,
                "{path} is {value}, which does not match the schema's pattern {pattern}"
            ),
            Broken::NotAllowed { allowed } => write!(
                f,
                "{path} is {value}, not one of the schema's values: {}",
                listing(allowed)
            ),
            Broken::OutOfRange { min, max } => write!(
                f,
                "{path} is {value}, outside the schema's range: {}",
                range(*min, *max)
            ),
            Broken::TooFewItems { min, len } => write!(
                f,
                "{path} has {len} items, fewer than the schema's minItems {min}"
            ),
            Broken::TooManyItems { max, len } => write!(
                f,
                "{path} has {len} items, more than the schema's maxItems {max}"
            ),
        }
    }
}

#[derive(Clone, Debug)]
enum Segment {
    Key(String),
    Index(usize),
    MapKey(String),
}

/// Walks a generated value, collecting what breaks its rules.
#[derive(Debug, Default)]
pub struct Checker {
    path: Vec<Segment>,
    found: Vec<Violation>,
}

impl Checker {
    pub fn new() -> Self {
        Checker::default()
    }

    /// Checks property `name` of the value being walked.
    pub fn field<T: Checkable + ?Sized>(&mut self, name: &str, value: &T, rule: &Rule) {
        self.path.push(Segment::Key(name.to_owned()));
        value.check(rule, self);
        self.path.pop();
    }

    fn at<T: Checkable + ?Sized>(&mut self, segment: Segment, value: &T, rule: &Rule) {
        self.path.push(segment);
        value.check(rule, self);
        self.path.pop();
    }

    fn report(&mut self, value: String, broken: Broken) {
        let mut path = String::new();
        for s in &self.path {
            match s {
                Segment::Key(k) if path.is_empty() => path.push_str(k),
                Segment::Key(k) => path.push_str(&format!(".{k}")),
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
                Segment::MapKey(k) => path.push_str(&format!("[{k:?}]")),
            }
        }
        self.found.push(Violation {
            path,
            value,
            broken,
        });
    }

    /// Everything found, in the order walked.
    pub fn finish(self) -> Vec<Violation> {
        self.found
    }
}

/// A value whose literals can be checked against a [`Rule`]: every type a generated field
/// can have.
pub trait Checkable {
    fn check(&self, rule: &Rule, k: &mut Checker);
}

thread_local! {
    /// Patterns compiled so far (a synth checks the same few many times).
    static PATTERNS: RefCell<HashMap<&'static str, Option<regex_lite::Regex>>> =
        RefCell::new(HashMap::new());
}

/// Whether `s` matches `pattern`. A pattern that does not compile (the generator leaves
/// those out) never fails a value.
fn matches(pattern: &'static str, s: &str) -> bool {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let re = cache
            .entry(pattern)
            .or_insert_with(|| regex_lite::Regex::new(pattern).ok());
        re.as_ref().is_none_or(|re| re.is_match(s))
    })
}

fn check_text(s: &str, rule: &Rule, k: &mut Checker) {
    let len = s.chars().count();
    let shown = || format!("{s:?}");
    if let Some(min) = rule.min_length.filter(|m| (len as u64) < *m) {
        k.report(shown(), Broken::TooShort { min, len });
    }
    if let Some(max) = rule.max_length.filter(|m| (len as u64) > *m) {
        k.report(shown(), Broken::TooLong { max, len });
    }
    if let Some(pattern) = rule.pattern.filter(|p| !matches(p, s)) {
        k.report(shown(), Broken::NoMatch { pattern });
    }
    if !rule.allowed.is_empty() && !rule.allowed.contains(&s) {
        k.report(
            shown(),
            Broken::NotAllowed {
                allowed: rule.allowed,
            },
        );
    }
}

fn check_number(n: f64, rule: &Rule, k: &mut Checker) {
    let below = rule.minimum.is_some_and(|m| n < m);
    let above = rule.maximum.is_some_and(|m| n > m);
    if below || above {
        let (min, max) = (rule.minimum, rule.maximum);
        k.report(number(n), Broken::OutOfRange { min, max });
    }
    let allowed = rule.allowed;
    if !allowed.is_empty() && !allowed.iter().any(|a| a.parse::<f64>().ok() == Some(n)) {
        k.report(number(n), Broken::NotAllowed { allowed });
    }
}

impl Checkable for Expr {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        if let Some(s) = self.as_lit() {
            check_text(s, rule, k);
        }
    }
}

impl Checkable for Val<i64> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        if let Val::Lit(n) = self {
            check_number(*n as f64, rule, k);
        }
    }
}

impl Checkable for Val<f64> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        if let Val::Lit(n) = self {
            check_number(*n, rule, k);
        }
    }
}

impl Checkable for Val<bool> {
    fn check(&self, _: &Rule, _: &mut Checker) {}
}

impl Checkable for Json {
    fn check(&self, _: &Rule, _: &mut Checker) {}
}

impl<T: Checkable> Checkable for Option<T> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        if let Some(v) = self {
            v.check(rule, k);
        }
    }
}

impl<T: Checkable> Checkable for Box<T> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        (**self).check(rule, k);
    }
}

impl<T: Checkable> Checkable for Vec<T> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        let len = self.len();
        if let Some(min) = rule.min_items.filter(|m| (len as u64) < *m) {
            k.report(format!("{len} items"), Broken::TooFewItems { min, len });
        }
        if let Some(max) = rule.max_items.filter(|m| (len as u64) > *m) {
            k.report(format!("{len} items"), Broken::TooManyItems { max, len });
        }
        let item = rule.items.unwrap_or(&Rule::NONE);
        for (i, v) in self.iter().enumerate() {
            k.at(Segment::Index(i), v, item);
        }
    }
}

impl<T: Checkable> Checkable for BTreeMap<String, T> {
    fn check(&self, rule: &Rule, k: &mut Checker) {
        let value = rule.items.unwrap_or(&Rule::NONE);
        for (key, v) in self {
            k.at(Segment::MapKey(key.clone()), v, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations<T: Checkable>(name: &str, v: &T, rule: &Rule) -> Vec<String> {
        let mut k = Checker::new();
        k.field(name, v, rule);
        k.finish().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn literals_are_checked_and_expressions_pass() {
        let rule = Rule {
            minimum: Some(60.0),
            maximum: Some(1_209_600.0),
            ..Rule::NONE
        };
        assert_eq!(
            violations("MessageRetentionPeriod", &Val::<i64>::Lit(30), &rule),
            ["MessageRetentionPeriod is 30, outside the schema's range: 60 to 1209600"]
        );
        assert!(violations("P", &Val::<i64>::Lit(60), &rule).is_empty());
        let param = Val::<i64>::Expr(Expr::pseudo(crate::Pseudo::AccountId));
        assert!(violations("P", &param, &rule).is_empty());
    }

    fn rule_items() -> Rule {
        static VALUE: Rule = Rule {
            pattern: Some("^[a-z]+$"),
            ..Rule::NONE
        };
        Rule {
            items: Some(&VALUE),
            ..Rule::NONE
        }
    }

    #[test]
    fn strings_lists_and_paths() {
        static ITEM: Rule = Rule {
            max_length: Some(3),
            pattern: Some("^[a-z]+$"),
            ..Rule::NONE
        };
        let rule = Rule {
            max_items: Some(2),
            items: Some(&ITEM),
            ..Rule::NONE
        };
        let v: Vec<Expr> = vec!["ab".into(), "abcd".into(), "A".into()];
        assert_eq!(
            violations("Names", &v, &rule),
            [
                "Names has 3 items, more than the schema's maxItems 2",
                "Names[1] is \"abcd\" (4 characters), longer than the schema's maxLength 3",
                "Names[2] is \"A\", which does not match the schema's pattern ^[a-z]+$",
            ]
        );
        let labels: BTreeMap<String, Expr> = [("team".to_owned(), "a b".into())].into();
        assert_eq!(
            violations("Labels", &labels, &rule_items()),
            ["Labels[\"team\"] is \"a b\", which does not match the schema's pattern ^[a-z]+$"]
        );
        let allowed = Rule {
            allowed: &["messageGroup", "queue"],
            ..Rule::NONE
        };
        assert_eq!(
            violations("Scope", &Expr::lit("group"), &allowed),
            ["Scope is \"group\", not one of the schema's values: messageGroup, queue"]
        );
    }
}
