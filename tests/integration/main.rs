//! The integration suite: one binary, modules by concern. CLI tests spawn the real
//! `deployer` in a temporary directory; template checks run the real cfn-lint and checkov.

// A test reports a failure by panicking.
#![allow(clippy::unwrap_used)]

mod cfn_lint;
mod checkov;
mod claims;
mod cli;
mod conformance;
mod console;
mod deploy;
mod executions;
mod functions;
mod integrity;
mod l1_template;
mod least_privilege;
mod local;
mod providers;
mod readme;
mod reliability;
mod rotation;
mod snapshots;
mod stack_engine;
mod status_auth;
mod template;
mod validation;
mod workflows;

use std::path::Path;

use stacks::webhook::Stage;

/// Synthesizes every stage with the real CLI into `dir` and returns the template paths.
fn synth_all(dir: &Path, format: &str) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    Stage::ALL
        .iter()
        .map(|stage| {
            let run = tests::deployer(
                dir,
                &[
                    "synth",
                    "--stage",
                    stage.as_str(),
                    "--format",
                    format,
                    "--out",
                    "out",
                ],
            )
            .success();
            let line = run
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("template: "))
                .unwrap_or_else(|| panic!("no template path printed:\n{run}"));
            dir.join(line)
        })
        .collect()
}
