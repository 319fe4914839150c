//! The official durable conformance requirements (PyPI
//! `aws-durable-execution-conformance-tests` 1.0.0, YAML; `make test` fetches them), every
//! suite, run against the local durable execution service: each through the handler
//! written for it in `functions/conformance` with the official Rust SDK, all at once
//! against one `deployer local --app conformance`. The runner is the support library's
//! (`tests::conformance`, which `make bench` also times): it compares them the way the
//! official runner does (the expected events by `EventId`, `Execution*` events included,
//! unlisted events ignored; the status and result; the log records) and performs the
//! `CallbackActions` as callbacks start.
//!
//! Requirements that cannot pass yet are declared with their reason (`NOT_IMPLEMENTED`)
//! and not run; `CONFORMANCE_RUN_ALL=1` runs them too and reports which pass
//! (`CONFORMANCE_ONLY=3-1,5-7` runs just those). The test prints the counts per suite.

mod logs;
mod matcher;

use std::time::Instant;

use tests::conformance;

#[test]
fn the_official_suites() {
    let mut cases = conformance::cases();
    // `CONFORMANCE_ONLY=3-1,5-7`: just those (while working on them).
    if let Ok(only) = std::env::var("CONFORMANCE_ONLY") {
        let only: Vec<&str> = only.split(',').map(str::trim).collect();
        cases.retain(|c| only.contains(&c.id.as_str()));
    }
    let cloud = conformance::local_cloud(&[
        "--ephemeral",
        "--instances",
        "8",
        "--durable-instances",
        "8",
    ]);
    let started = Instant::now();
    let everything = std::env::var_os("CONFORMANCE_RUN_ALL").is_some();
    let outcomes = conformance::run_all(&cloud, &cases, everything);
    let failures = conformance::report(&cases, &outcomes);
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
