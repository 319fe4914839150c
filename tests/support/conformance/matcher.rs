//! The official runner's comparisons (`history.py`, `variables.py`), in Rust: placeholders
//! bound across a requirement, and expected events matched to actual ones by `EventId`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// `${NAME}` inside a string (only bound names are substituted).
static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").unwrap());
/// A whole string that is a placeholder: `${...}`.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\$\{(.+)\}$").unwrap());
/// A whole string that is a pattern: `${/regex/}`.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\$\{/(.+)/\}$").unwrap());

/// The placeholder bindings of one requirement: its `Variables` first, then what the
/// history matcher binds (`${ID1}`, ...).
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    bound: BTreeMap<String, Value>,
}

impl Placeholders {
    /// Binds the requirement's `Variables`: `${GEN_STR:n}` is n random lowercase letters and
    /// digits, anything else is bound as its text.
    pub fn with_variables(variables: &BTreeMap<String, Value>) -> Self {
        let generator = Regex::new(r"^\$\{GEN_STR:(\d+)\}$").unwrap();
        let bound = variables
            .iter()
            .map(|(name, value)| {
                let text = py_str(value);
                let generated = generator
                    .captures(&text)
                    .and_then(|c| c[1].parse::<usize>().ok())
                    .map(random_text);
                (name.clone(), Value::String(generated.unwrap_or(text)))
            })
            .collect();
        Placeholders { bound }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.bound.get(name)
    }

    /// `data` with every bound `${NAME}` in its strings replaced by the bound value's text.
    pub fn substitute(&self, data: &Value) -> Value {
        match data {
            Value::String(s) => Value::String(self.substitute_str(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.substitute(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn substitute_str(&self, text: &str) -> String {
        REFERENCE
            .replace_all(text, |c: &regex::Captures<'_>| {
                match self.bound.get(&c[1]) {
                    Some(v) => py_str(v),
                    None => c[0].to_owned(),
                }
            })
            .into_owned()
    }
}

/// `n` pseudo-random lowercase letters and digits.
fn random_text(n: usize) -> String {
    use std::hash::BuildHasher;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let seed = std::collections::hash_map::RandomState::new();
    (0..n)
        .map(|i| {
            let r = usize::try_from(seed.hash_one(i) % ALPHABET.len() as u64).unwrap_or(0);
            ALPHABET[r] as char
        })
        .collect()
}

/// Python's `str()` of a JSON value, as the official runner formats values for patterns.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

/// Python's `==` between JSON values (numbers compare by value: `2 == 2.0`).
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| py_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| py_eq(xv, yv)))
        }
        (x, y) => x == y,
    }
}

/// Matches `expected` events to `actual` ones by `EventId` (`EventHistoryMatcher.match`):
/// every expected event must find its actual event and match it; actual events that no
/// expected event names are ignored. Binds placeholders into `ctx`; returns every mismatch.
pub fn match_history(expected: &[Value], actual: &[Value], ctx: &mut Placeholders) -> Vec<String> {
    let by_id: BTreeMap<i64, &Value> = actual
        .iter()
        .filter_map(|e| Some((e["EventId"].as_i64()?, e)))
        .collect();
    let mut errors = Vec::new();
    for e in expected {
        let Some(id) = e["EventId"].as_i64() else {
            errors.push(format!("expected event missing EventId: {e}"));
            continue;
        };
        match by_id.get(&id) {
            None => errors.push(format!("no actual event found for EventId={id}")),
            Some(a) => match_value(e, a, &format!("Event[EventId={id}]"), ctx, &mut errors),
        }
    }
    errors
}

/// One value (`_match_value`): `{}` and `'*'` match anything, `${NAME}` binds or must equal
/// its binding, `${/re/}` searches the actual's text, objects match on the expected keys
/// (each must be present), lists element-wise with equal lengths, anything else must equal
/// (strings after substituting bound placeholders).
pub fn match_value(
    expected: &Value,
    actual: &Value,
    path: &str,
    ctx: &mut Placeholders,
    errors: &mut Vec<String>,
) {
    match expected {
        Value::Object(e) if e.is_empty() => {}
        Value::String(s) if s == "*" => {}
        Value::String(s) if PATTERN.is_match(s) => {
            let pattern = &PATTERN.captures(s).unwrap()[1];
            match Regex::new(pattern) {
                Ok(re) if re.is_match(&py_str(actual)) => {}
                Ok(_) => errors.push(format!(
                    "{path}: value {actual} does not match regex pattern {pattern:?}"
                )),
                Err(err) => errors.push(format!("{path}: bad pattern {pattern:?}: {err}")),
            }
        }
        Value::String(s) if PLACEHOLDER.is_match(s) => {
            let name = PLACEHOLDER.captures(s).unwrap()[1].to_owned();
            match ctx.bound.get(&name) {
                Some(v) if py_eq(v, actual) => {}
                Some(v) => errors.push(format!(
                    "{path}: placeholder ${{{name}}} was previously bound to {v}, but got {actual}"
                )),
                None => {
                    ctx.bound.insert(name, actual.clone());
                }
            }
        }
        _ => match_structure(expected, actual, path, ctx, errors),
    }
}

fn match_structure(
    expected: &Value,
    actual: &Value,
    path: &str,
    ctx: &mut Placeholders,
    errors: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                match a.get(key) {
                    None => errors.push(format!("{path}.{key}: key missing in actual event")),
                    Some(av) => match_value(ev, av, &format!("{path}.{key}"), ctx, errors),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!(
                    "{path}: list length mismatch (expected {}, got {})",
                    e.len(),
                    a.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                match_value(ev, av, &format!("{path}[{i}]"), ctx, errors);
            }
        }
        (Value::String(s), a) => {
            let resolved = Value::String(ctx.substitute_str(s));
            if !py_eq(&resolved, a) {
                errors.push(format!("{path}: expected {resolved}, got {a}"));
            }
        }
        (e, a) => {
            if !py_eq(e, a) {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
    }
}

/// Whether a callback action's `CallbackName` (placeholders substituted) names callback
/// `name` (`find_matching_action`): `*`, the same name, or a `${/re/}` found in it.
pub fn name_matches(wanted: &str, name: &str) -> bool {
    if wanted == "*" || wanted == name {
        return true;
    }
    PATTERN
        .captures(wanted)
        .and_then(|c| Regex::new(&c[1]).ok())
        .is_some_and(|re| re.is_match(name))
}

/// Python's `json.dumps` (the official runner's callback payloads): `", "` and `": "`
/// separators, non-ASCII escaped.
pub fn py_json_dumps(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(py_json_dumps).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", ascii_json_string(k), py_json_dumps(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::String(s) => ascii_json_string(s),
        other => other.to_string(),
    }
}

fn ascii_json_string(s: &str) -> String {
    let mut out = String::new();
    for c in Value::String(s.to_owned()).to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}
