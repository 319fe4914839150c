//! `ExpectedLogs` (the official runner's `cloudwatch.py`): the execution's log records are
//! the function's JSON log lines whose `durableExecutionArn` (or `executionArn`) is the
//! execution's ARN, in the order the local cloud printed them.

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::matcher::{Placeholders, py_str};

/// One expected log entry (`LogExpectation`).
#[derive(Deserialize)]
struct Expectation {
    #[serde(rename = "match")]
    fields: Map<String, Value>,
    count: Option<usize>,
    min_count: Option<usize>,
    max_count: Option<usize>,
    #[serde(default)]
    before: Anchors,
    #[serde(default)]
    after: Anchors,
}

/// `before`/`after`: one matcher or a list of them.
#[derive(Default, Deserialize)]
#[serde(untagged)]
enum Anchors {
    #[default]
    None,
    One(Map<String, Value>),
    Many(Vec<Map<String, Value>>),
}

impl Anchors {
    fn list(&self) -> Vec<&Map<String, Value>> {
        match self {
            Anchors::None => Vec::new(),
            Anchors::One(m) => vec![m],
            Anchors::Many(ms) => ms.iter().collect(),
        }
    }
}

/// The log records of execution `arn` in `logs` (the local cloud's stderr), in order.
pub fn records(logs: &str, crate_name: &str, arn: &str) -> Vec<Map<String, Value>> {
    let prefix = format!("[{crate_name}] ");
    logs.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|line| serde_json::from_str::<Map<String, Value>>(line.trim()).ok())
        .filter(|r| {
            ["durableExecutionArn", "executionArn"]
                .iter()
                .any(|k| r.get(*k).and_then(Value::as_str) == Some(arn))
        })
        .collect()
}

/// Every way `records` miss the `expected` entries (placeholders substituted first).
pub fn validate(
    expected: &[Value],
    records: &[Map<String, Value>],
    ctx: &Placeholders,
) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, raw) in expected.iter().enumerate() {
        let entry: Expectation = match serde_json::from_value(ctx.substitute(raw)) {
            Ok(e) => e,
            Err(e) => {
                errors.push(format!("ExpectedLogs[{i}]: invalid entry: {e}"));
                continue;
            }
        };
        let label = format!(
            "ExpectedLogs[{i}] match({})",
            Value::Object(entry.fields.clone())
        );
        let own = matching(&entry.fields, records);
        errors.extend(cardinality(&entry, own.len(), &label));
        for (after, anchors) in [(true, entry.after.list()), (false, entry.before.list())] {
            for anchor in anchors {
                let found = matching(anchor, records);
                let direction = if after { "after" } else { "before" };
                let Some((&anchor_first, &anchor_last)) = found.first().zip(found.last()) else {
                    errors.push(format!(
                        "{label}: {direction} anchor matched no log records"
                    ));
                    continue;
                };
                // No own matches: the cardinality check reports it; the order is vacuous.
                let Some((&own_first, &own_last)) = own.first().zip(own.last()) else {
                    continue;
                };
                let out_of_order = if after {
                    own_first < anchor_last
                } else {
                    own_last > anchor_first
                };
                if out_of_order {
                    errors.push(format!(
                        "{label}: expected all matches {direction} the anchor"
                    ));
                }
            }
        }
    }
    errors
}

fn cardinality(entry: &Expectation, n: usize, label: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(count) = entry.count {
        if n != count {
            errors.push(format!(
                "{label}: expected exactly {count} match(es), got {n}"
            ));
        }
        return errors;
    }
    let unconstrained = entry.min_count.is_none() && entry.max_count.is_none();
    let min = if unconstrained {
        Some(1)
    } else {
        entry.min_count
    };
    if let Some(min) = min.filter(|m| n < *m) {
        errors.push(format!(
            "{label}: expected at least {min} match(es), got {n}"
        ));
    }
    if let Some(max) = entry.max_count.filter(|m| n > *m) {
        errors.push(format!(
            "{label}: expected at most {max} match(es), got {n}"
        ));
    }
    errors
}

fn matching(fields: &Map<String, Value>, records: &[Map<String, Value>]) -> Vec<usize> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            fields
                .iter()
                .all(|(k, e)| r.get(k).is_some_and(|a| value_matches(e, a)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// One field (`_value_matches`): strings exactly (trimmed) or `/regex/` searched, booleans
/// by identity, numbers by value, anything else by its text.
fn value_matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), a) => {
            let text = py_str(a);
            let text = text.trim();
            match e.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
                Some(pattern) if e.len() >= 2 => {
                    Regex::new(pattern).is_ok_and(|re| re.is_match(text))
                }
                _ => text == e.trim(),
            }
        }
        (Value::Bool(_), _) | (_, Value::Bool(_)) => expected == actual,
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => py_str(e) == py_str(a),
    }
}
