//! The official durable conformance requirements (PyPI
//! `aws-durable-execution-conformance-tests` 1.0.0, YAML; `make test` fetches them) of the
//! `step` and `wait` suites, run against the local durable execution service: each through
//! the handler written for it in `functions/conformance` with the official Rust SDK. The
//! result and the expected execution history must match, with `'*'` as a wildcard and
//! `${ID}` placeholders bound consistently. Requirements without a handler yet are declared
//! with their reason, and the test prints the counts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::local::{LocalCloud, http, path_segment};

const FUNCTION: &str = "conformance-local-Conformance";

/// Requirements not run yet, and why.
const NOT_IMPLEMENTED: &[(&str, &str)] = &[];

fn requirements_dir() -> std::path::PathBuf {
    let dir = tests::workspace_root()
        .join("tests/peers/conformance/aws_durable_execution_conformance_tests/test_requirements");
    assert!(
        dir.exists(),
        "{} is missing: run `make test`, which fetches the pinned conformance requirements",
        dir.display()
    );
    dir
}

/// Whether `actual` matches `expected`: every expected key is present and equal, `'*'`
/// matches anything, `${NAME}` binds NAME to the first value it meets and must see the same
/// value (and no other placeholder's value) afterwards.
fn matches(
    expected: &Value,
    actual: &Value,
    bound: &mut BTreeMap<String, Value>,
    path: &str,
) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), _) if s == "*" => Ok(()),
        // `${/regex/}`: the value (its text; whole numbers without a fraction) must match.
        (Value::String(s), a) if s.starts_with("${/") && s.ends_with("/}") && s.len() > 4 => {
            let pattern = &s[3..s.len() - 2];
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("{path}: bad pattern {pattern}: {e}"))?;
            let text = match a {
                Value::String(t) => t.clone(),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                    _ => n.to_string(),
                },
                other => other.to_string(),
            };
            if re.is_match(&text) {
                Ok(())
            } else {
                Err(format!("{path}: {text} does not match /{pattern}/"))
            }
        }
        (Value::String(s), a) if s.starts_with("${") && s.ends_with('}') => {
            let name = s[2..s.len() - 1].to_owned();
            match bound.get(&name) {
                Some(v) if v == a => Ok(()),
                Some(v) => Err(format!("{path}: {s} was {v}, now {a}")),
                None => {
                    if bound.values().any(|v| v == a) {
                        return Err(format!(
                            "{path}: {s} takes a value already bound to another placeholder: {a}"
                        ));
                    }
                    bound.insert(name, a.clone());
                    Ok(())
                }
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .ok_or_else(|| format!("{path}.{k}: missing in {actual}"))?;
                matches(ev, av, bound, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) => {
            if e.as_f64() == a.as_f64() {
                Ok(())
            } else {
                Err(format!("{path}: expected {e}, got {a}"))
            }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

fn get(cloud: &LocalCloud, path: &str) -> Value {
    let (code, body) = http("GET", &format!("{}{path}", cloud.lambda), &[], "");
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Replaces `${NAME}` of the requirement's `Variables` (`${GEN_STR:n}`: n random letters)
/// in every string of the requirement, so that Input and ExpectedResult agree.
fn bind_variables(req: &Value) -> Value {
    let Some(vars) = req.get("Variables").and_then(Value::as_object) else {
        return req.clone();
    };
    let mut values = BTreeMap::new();
    for (name, spec) in vars {
        let spec = spec.as_str().unwrap_or_default();
        let n: usize = spec
            .strip_prefix("${GEN_STR:")
            .and_then(|r| r.strip_suffix('}'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(8);
        let seed = std::collections::hash_map::RandomState::new();
        let text: String = (0..n)
            .map(|i| {
                use std::hash::BuildHasher;
                let r = seed.hash_one(i);
                (b'a' + (r % 26) as u8) as char
            })
            .collect();
        values.insert(format!("${{{name}}}"), text);
    }
    fn walk(v: &Value, values: &BTreeMap<String, String>) -> Value {
        match v {
            Value::String(s) => {
                let mut s = s.clone();
                for (k, val) in values {
                    s = s.replace(k, val);
                }
                Value::String(s)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, values)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), walk(x, values)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let mut out = req.clone();
    for key in ["Input", "ExpectedResult"] {
        if let Some(v) = req.get(key) {
            out[key] = walk(v, &values);
        }
    }
    out
}

/// Runs one requirement; Err says what did not match.
fn run(cloud: &LocalCloud, id: &str, req: &Value) -> Result<(), String> {
    let req = &bind_variables(req);
    let name = format!("req-{id}");
    let body = json!({"requirement": id, "input": req["Input"]}).to_string();
    let (code, text) = http(
        "POST",
        &format!(
            "{}/2015-03-31/functions/{FUNCTION}/invocations?Qualifier=live",
            cloud.lambda
        ),
        &[
            ("X-Amz-Invocation-Type", "Event"),
            ("X-Amz-Durable-Execution-Name", &name),
        ],
        &body,
    );
    if code != 202 {
        return Err(format!("invoke: {code} {text}"));
    }
    let list = get(
        cloud,
        &format!("/2025-12-01/functions/{FUNCTION}/durable-executions?DurableExecutionName={name}"),
    );
    let arn = list["DurableExecutions"][0]["DurableExecutionArn"]
        .as_str()
        .ok_or("no execution")?
        .to_owned();
    let expected_events = req["ExpectedExecutionHistory"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let asynchronous = req["AsyncInvoke"] == true;
    // 1-13 waits out the SDK's default retry delays for real: up to 15 s.
    let deadline = Instant::now() + Duration::from_secs(45);
    let (execution, events) = loop {
        let execution = get(
            cloud,
            &format!("/2025-12-01/durable-executions/{}", path_segment(&arn)),
        );
        let events = get(
            cloud,
            &format!(
                "/2025-12-01/durable-executions/{}/history",
                path_segment(&arn)
            ),
        )["Events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let done = if asynchronous {
            // The execution stays suspended: check once the expected events happened.
            events.iter().filter(|e| is_operation_event(e)).count() >= expected_events.len()
        } else {
            execution["Status"] != "RUNNING"
        };
        if done {
            break (execution, events);
        }
        if Instant::now() > deadline {
            return Err(format!("still {} after 45 s", execution["Status"]));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Some(want) = req.get("ExpectedResult").filter(|v| !v.is_null()) {
        if execution["Status"] != want["ExecutionStatus"] {
            return Err(format!(
                "status {} (want {}): {execution}",
                execution["Status"], want["ExecutionStatus"]
            ));
        }
        // A requirement without `Result` does not constrain it.
        if let (Some(expected), "SUCCEEDED") = (
            want.get("Result"),
            want["ExecutionStatus"].as_str().unwrap_or_default(),
        ) {
            let got: Value = execution["Result"].as_str().map_or(Value::Null, |r| {
                serde_json::from_str(r).unwrap_or(Value::Null)
            });
            let mut bound = BTreeMap::new();
            matches(expected, &got, &mut bound, "Result")?;
        }
    }
    let actual: Vec<&Value> = events.iter().filter(|e| is_operation_event(e)).collect();
    if actual.len() != expected_events.len() {
        return Err(format!(
            "{} events, want {}: {}",
            actual.len(),
            expected_events.len(),
            serde_json::to_string(&actual).unwrap()
        ));
    }
    let mut bound = BTreeMap::new();
    for (i, (e, a)) in expected_events.iter().zip(&actual).enumerate() {
        matches(e, a, &mut bound, &format!("event {}", i + 1))?;
    }
    Ok(())
}

/// The events the requirements list: all but the execution's own start and end.
fn is_operation_event(e: &Value) -> bool {
    !e["EventType"]
        .as_str()
        .is_some_and(|t| t.starts_with("Execution"))
}

#[test]
fn the_step_and_wait_suites() {
    let dir = requirements_dir();
    let cloud = LocalCloud::start(
        &["--app", "conformance", "--ephemeral", "--instances", "4"],
        None,
    );
    let mut cases = Vec::new();
    for suite in ["step", "wait"] {
        for entry in std::fs::read_dir(dir.join(suite)).unwrap() {
            let path = entry.unwrap().path();
            let id = path.file_stem().unwrap().to_string_lossy().into_owned();
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            cases.push((id, serde_json::to_value(yaml).unwrap()));
        }
    }
    assert_eq!(
        cases.len(),
        25,
        "the step and wait suites have 20 and 5 requirements"
    );
    let skipped: BTreeMap<&str, &str> = NOT_IMPLEMENTED.iter().copied().collect();
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .filter(|(id, _)| !skipped.contains_key(id.as_str()))
            .map(|(id, req)| {
                let cloud = &cloud;
                s.spawn(move || (id.clone(), run(cloud, id, req)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("{id}: {e}")))
        .collect();
    let passed = results.len() - failed.len();
    println!(
        "conformance (step, wait): {passed} passed, {} failed, {} not implemented",
        failed.len(),
        skipped.len()
    );
    for (id, why) in NOT_IMPLEMENTED {
        println!("  not implemented {id}: {why}");
    }
    assert!(
        failed.is_empty(),
        "{}\nlogs:\n{}",
        failed.join("\n"),
        cloud.logs()
    );
    assert!(passed >= 25, "{passed} passed");
}

#[test]
fn the_history_comparison_can_fail() {
    let mut b = BTreeMap::new();
    assert!(
        matches(
            &json!({"Duration": 2}),
            &json!({"Duration": 2.0, "More": 1}),
            &mut b,
            ""
        )
        .is_ok()
    );
    assert!(matches(&json!({"Duration": 2}), &json!({"Duration": 3}), &mut b, "").is_err());
    assert!(matches(&json!({"Name": "x"}), &json!({}), &mut b, "").is_err());
    assert!(matches(&json!("*"), &json!({"anything": []}), &mut b, "").is_ok());
    let mut b = BTreeMap::new();
    assert!(matches(&json!("${ID1}"), &json!("a"), &mut b, "").is_ok());
    assert!(matches(&json!("${ID1}"), &json!("a"), &mut b, "").is_ok());
    assert!(matches(&json!("${ID1}"), &json!("b"), &mut b, "").is_err());
    assert!(
        matches(&json!("${ID2}"), &json!("a"), &mut b, "").is_err(),
        "two names, one value"
    );
    // Patterns check, they do not bind: two equal delays both match.
    let mut b = BTreeMap::new();
    assert!(matches(&json!("${/^[0-5]$/}"), &json!(3.0), &mut b, "").is_ok());
    assert!(matches(&json!("${/^([0-9]|10)$/}"), &json!(3), &mut b, "").is_ok());
    assert!(matches(&json!("${/^([0-9]|10)$/}"), &json!(11), &mut b, "").is_err());
    assert!(
        matches(
            &json!("${/.*TransientError$/}"),
            &json!("x.TransientError"),
            &mut b,
            ""
        )
        .is_ok()
    );
    assert!(b.is_empty());
}
