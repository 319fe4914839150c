//! The official durable conformance requirements (PyPI
//! `aws-durable-execution-conformance-tests` 1.0.0, YAML; `make test` fetches them), every
//! suite, run against the local durable execution service: each through the handler
//! written for it in `functions/conformance` with the official Rust SDK, all at once
//! against one `deployer local --app conformance`. They are compared the way the official
//! runner compares them (`run.rs`, `matcher.rs`, `logs.rs`): the expected events by
//! `EventId` (`Execution*` events included; unlisted events ignored), the status and
//! result, the log records; `CallbackActions` are performed as callbacks start.
//!
//! Requirements that cannot pass yet are declared with their reason (`NOT_IMPLEMENTED`)
//! and not run; `CONFORMANCE_RUN_ALL=1` runs them too and reports which pass
//! (`CONFORMANCE_ONLY=3-1,5-7` runs just those). The test prints the counts per suite.

mod logs;
mod matcher;
mod requirement;
mod run;

use std::collections::BTreeMap;
use std::time::Instant;

use tests::local::LocalCloud;

use requirement::Requirement;

/// The handlers' function (the conformance stack's), invoked through its `live` alias.
const FUNCTION: &str = "conformance-local-Conformance";
/// The crate the local cloud prefixes the functions' log lines with.
const CRATE: &str = "conformance";

/// The suites and how many requirements each has.
const SUITES: &[(&str, usize)] = &[
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
const NOT_IMPLEMENTED: &[(&str, &str)] = &[
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

/// One requirement of one suite.
struct Case {
    suite: &'static str,
    id: String,
    req: Requirement,
}

/// Every requirement of every suite, in suite order, then by number.
fn cases() -> Vec<Case> {
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
enum Outcome {
    Passed,
    Failed(String),
    NotImplemented(&'static str),
}

/// Runs the cases (all at once): the declared ones only with `run_all`.
fn run_all(cloud: &LocalCloud, cases: &[Case], run_all: bool) -> Vec<Outcome> {
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
fn report(cases: &[Case], outcomes: &[Outcome]) -> Vec<String> {
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

#[test]
fn the_official_suites() {
    let mut cases = cases();
    // `CONFORMANCE_ONLY=3-1,5-7`: just those (while working on them).
    if let Ok(only) = std::env::var("CONFORMANCE_ONLY") {
        let only: Vec<&str> = only.split(',').map(str::trim).collect();
        cases.retain(|c| only.contains(&c.id.as_str()));
    }
    // target/<profile>/deps/<test binary> -> target/<profile>/conformance, which the local
    // cloud runs (whichever deployer runs it).
    let exe = std::env::current_exe().unwrap();
    let conformance = exe.parent().unwrap().with_file_name(CRATE);
    tests::assert_fresh(&conformance, &["functions/conformance"], "-p conformance");
    let cloud = LocalCloud::start(
        &["--app", "conformance", "--ephemeral", "--instances", "8"],
        None,
    );
    let started = Instant::now();
    let everything = std::env::var_os("CONFORMANCE_RUN_ALL").is_some();
    let outcomes = run_all(&cloud, &cases, everything);
    let failures = report(&cases, &outcomes);
    println!(
        "conformance: {} requirements in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{}\nlogs:\n{}",
        failures.join("\n"),
        cloud.logs()
    );
}
