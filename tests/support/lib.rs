//! Support for the integration suite and the benchmarks: where the real binaries and peers
//! are, and how to run them.

// Test support reports a broken setting by panicking, like a test.
#![allow(clippy::unwrap_used)]

pub mod browser;
pub mod chaos;
pub mod conformance;
pub mod cost;
pub mod dex;
pub mod dynamodb;
pub mod functions;
pub mod local;
pub mod ministack;
pub mod peer;
pub mod providers;
pub mod recorder;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// The key webhook ids are derived with in the tests (the local clouds they start get it as
/// `WEBHOOK_ID_KEY`), so a test can know a delivery's id.
pub const ID_KEY: &str = "tests-id-key";

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The target directory this test or bench was built in (`target/`, or
/// `$CARGO_TARGET_DIR`): where what a run leaves for review goes.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test binary> -> target
    exe.ancestors()
        .nth(3)
        .map_or_else(|| workspace_root().join("target"), Path::to_path_buf)
}

/// The `deployer` binary of the profile this test or bench was built with
/// (`target/<profile>/deployer`), or `$DEPLOYER_BIN`. `make test` and `make bench` build it
/// first; a binary older than the sources it is built from is refused, so a test never
/// runs yesterday's CLI.
pub fn deployer_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("DEPLOYER_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test binary> -> target/<profile>/deployer
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .join("deployer");
    assert_fresh(
        &bin,
        &[
            "deployer",
            "stacks",
            "functions/webhook-contract",
            "functions/webhook-core",
        ],
        "-p deployer",
    );
    bin
}

/// Panics unless `bin` exists and is newer than every source under `dirs`.
pub fn assert_fresh(bin: &Path, dirs: &[&str], build_args: &str) {
    let built = modified(bin).unwrap_or_else(|| {
        panic!(
            "{} does not exist: build it with `cargo build {build_args}`; `make test` does",
            bin.display()
        )
    });
    let root = workspace_root();
    let newest_source = dirs.iter().filter_map(|dir| newest(&root.join(dir))).max();
    if let Some(source) = newest_source
        && source > built
    {
        panic!(
            "{} is older than its sources: rebuild it with `cargo build {build_args}`; `make test` does",
            bin.display()
        );
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest(&path)
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            modified(&path)
        } else {
            None
        };
        latest = latest.max(time);
    }
    latest
}

/// The finished run of a command.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the command exited 0.
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "command failed:\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the real `deployer` with `args` in directory `cwd`.
pub fn deployer(cwd: &Path, args: &[&str]) -> Run {
    let output = Command::new(deployer_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("deployer starts");
    Run::from_output(output)
}

/// A Python tool that `make test` installs into the project venv (`.venv/bin/<name>`), or
/// `$<ENV_VAR>`. A missing peer is a failure, never a skip.
pub fn venv_tool(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    let path = workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{name} is not installed at {}: run `make test`, which installs the pinned Python tools \
         of tests/requirements.txt into .venv (or set {env_var})",
        path.display()
    );
    path
}

/// A program from the machine's packages on the PATH (`make test` installs it); its
/// absence fails the test with how to install it.
pub fn require_tool(name: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("{name} is not installed: {install} (`make test` does)"))
}

/// Runs `program` with `args`.
pub fn run(program: &Path, args: &[&str]) -> Run {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    Run::from_output(output)
}
