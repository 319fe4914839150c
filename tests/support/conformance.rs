//! The runner of the official durable conformance requirements (PyPI
//! `aws-durable-execution-conformance-tests` 1.0.0, YAML; `make test` fetches them), every
//! suite, against the local durable execution service: each through the handler written
//! for it in `functions/conformance` with the official Rust SDK, all at once against one
//! `deployer local --app conformance`. They are compared the way the official runner
//! compares them (`run.rs`, `matcher.rs`, `logs.rs`): the expected events by `EventId`
//! (`Execution*` events included; unlisted events ignored), the status and result, the log
//! records; `CallbackActions` are performed as callbacks start.
//!
//! Requirements that cannot pass yet are declared with their reason (`NOT_IMPLEMENTED`)
//! and not run. The integration suite (`conformance.rs`) checks that every other one
//! passes; `make bench` (group `durable`) times the whole run on release binaries.

pub mod logs;
pub mod matcher;
pub mod requirement;
pub mod run;

use std::collections::BTreeMap;

use crate::local::{LocalCloud, try_http};

use requirement::Requirement;

/// The handlers' function (the conformance stack's), invoked through its `live` alias.
pub const FUNCTION: &str = "conformance-local-Conformance";
/// The crate the local cloud prefixes the functions' log lines with.
pub const CRATE: &str = "conformance";

/// The suites and how many requirements each has.
pub const SUITES: &[(&str, usize)] = &[
    ("step", 20),
    ("wait", 5),
    ("child", 18),
    ("callback", 19),
    ("invoke", 16),
    ("wait_for_condition", 13),
    ("wait_for_callback", 15),
    ("parallel", 22),
    ("map", 20),
    ("plugin", 7),
];

/// Why a plugin requirement cannot be written: the SDK feature it needs.
macro_rules! no_plugin_api {
    ($needs:literal) => {
        concat!(
            "aws-durable-execution-sdk 0.1.0 has no plugin API; this needs ",
            $needs,
            " (the SDK's observability contract is tracing spans and DEBUG lifecycle \
             events, nothing a plugin registers)"
        )
    };
}

/// Requirements not run, and why.
pub const NOT_IMPLEMENTED: &[(&str, &str)] = &[
    (
        "10-1",
        no_plugin_api!(
            "invocation-start (first-invocation flag, execution ARN) and invocation-end \
             (execution status) hooks"
        ),
    ),
    (
        "10-2",
        no_plugin_api!("operation-start/operation-end hooks (operation id, status) by type"),
    ),
    (
        "10-3",
        no_plugin_api!(
            "attempt-start/attempt-end hooks around each step attempt (attempt number, \
             outcome, operation id)"
        ),
    ),
    (
        "10-4",
        no_plugin_api!("hooks whose errors the SDK catches and ignores"),
    ),
    (
        "10-5",
        no_plugin_api!("several plugins registered together, each given every hook"),
    ),
    (
        "10-6",
        no_plugin_api!("invocation-start's first-invocation flag, false on replays"),
    ),
    (
        "10-7",
        no_plugin_api!("an invocation-end hook given the FAILED status"),
    ),
];

pub fn requirements_dir() -> std::path::PathBuf {
    let dir = crate::workspace_root()
        .join("tests/peers/conformance/aws_durable_execution_conformance_tests/test_requirements");
    assert!(
        dir.exists(),
        "{} is missing: run `make test`, which fetches the pinned conformance requirements",
        dir.display()
    );
    dir
}

/// One requirement of one suite.
#[derive(Debug)]
pub struct Case {
    pub suite: &'static str,
    pub id: String,
    pub req: Requirement,
}

/// Every requirement of every suite, in suite order, then by number.
pub fn cases() -> Vec<Case> {
    let dir = requirements_dir();
    let mut cases = Vec::new();
    for (suite, count) in SUITES {
        let mut found: Vec<Case> = std::fs::read_dir(dir.join(suite))
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let id = path.file_stem().unwrap().to_string_lossy().into_owned();
                let req = requirement::load(&path).unwrap();
                Case { suite, id, req }
            })
            .collect();
        assert_eq!(found.len(), *count, "suite {suite}");
        found.sort_by_key(|c| number(&c.id));
        cases.extend(found);
    }
    cases
}

/// `"3-12"` as `(3, 12)`, for ordering.
fn number(id: &str) -> (u32, u32) {
    let (a, b) = id.split_once('-').unwrap_or((id, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// The outcome of one requirement.
#[derive(Debug)]
pub enum Outcome {
    Passed,
    Failed(String),
    NotImplemented(&'static str),
}

/// Runs the cases (all at once): the declared ones only with `run_all`.
pub fn run_all(cloud: &LocalCloud, cases: &[Case], run_all: bool) -> Vec<Outcome> {
    let skipped: BTreeMap<&str, &'static str> = NOT_IMPLEMENTED.iter().copied().collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|c| {
                let why = skipped.get(c.id.as_str()).copied();
                s.spawn(move || match why {
                    Some(why) if !run_all => Outcome::NotImplemented(why),
                    _ => match run::run(cloud, &c.id, &c.req) {
                        Ok(()) => Outcome::Passed,
                        Err(e) => Outcome::Failed(e),
                    },
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Prints the counts per suite and every failure; returns the failures that count (not
/// declared, not optional).
pub fn report(cases: &[Case], outcomes: &[Outcome]) -> Vec<String> {
    let declared: BTreeMap<&str, &str> = NOT_IMPLEMENTED.iter().copied().collect();
    let mut failures = Vec::new();
    // After the test harness's progress dots.
    println!();
    for (suite, _) in SUITES {
        let (mut passed, mut failed, mut declared_n) = (0, 0, 0);
        for (c, o) in cases
            .iter()
            .zip(outcomes)
            .filter(|(c, _)| c.suite == *suite)
        {
            match o {
                Outcome::Passed if declared.contains_key(c.id.as_str()) => {
                    println!("  {}: passes although declared not implemented", c.id);
                    passed += 1;
                }
                Outcome::Passed => passed += 1,
                Outcome::NotImplemented(why) => {
                    declared_n += 1;
                    println!("  not implemented {}: {why}", c.id);
                }
                Outcome::Failed(e) => {
                    failed += 1;
                    let line = format!("{} ({suite}): {e}", c.id);
                    if declared.contains_key(c.id.as_str()) || c.req.optional {
                        println!("  failed (declared or optional) {line}");
                    } else {
                        failures.push(line);
                    }
                }
            }
        }
        println!(
            "conformance {suite}: {passed} passed, {failed} failed, {declared_n} not implemented"
        );
    }
    failures
}

/// Starts `deployer local --app conformance` with `args` (`--ephemeral`, `--release`,
/// `--instances N`, ...), once the handlers' binary of this test's or bench's profile is
/// newer than its sources.
pub fn local_cloud(args: &[&str]) -> LocalCloud {
    // target/<profile>/deps/<test binary> -> target/<profile>/conformance, which the local
    // cloud runs (whichever deployer runs it).
    let exe = std::env::current_exe().unwrap();
    let handlers = exe.parent().unwrap().with_file_name(CRATE);
    crate::assert_fresh(&handlers, &["functions/conformance"], "-p conformance");
    let mut all = vec!["--app", "conformance"];
    all.extend(args);
    LocalCloud::start(&all, None)
}

/// Starts execution `name` of the handler for `requirement` (an official requirement's id,
/// or a bench workflow's) with `input`: an `Event` invoke of the function's `live` alias.
pub fn invoke(
    cloud: &LocalCloud,
    name: &str,
    requirement: &str,
    input: &serde_json::Value,
) -> Result<(), String> {
    let body = serde_json::json!({"requirement": requirement, "input": input}).to_string();
    let url = format!(
        "{}/2015-03-31/functions/{FUNCTION}/invocations?Qualifier=live",
        cloud.lambda
    );
    let headers = [
        ("X-Amz-Invocation-Type", "Event"),
        ("X-Amz-Durable-Execution-Name", name),
    ];
    let (code, text) = try_http("POST", &url, &headers, &body).map_err(|e| e.to_string())?;
    if code == 202 {
        Ok(())
    } else {
        Err(format!("invoke: {code} {text}"))
    }
}
