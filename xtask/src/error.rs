//! Why a task failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("usage: {0}\n\n{USAGE}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not the JSON expected: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}, line {line}: not a resource schema: {source}")]
    Schema {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error(
        "{path} has SHA-256 {actual}, but codegen/manifest.json records {recorded}: the pinned input was changed by hand; refresh it with `cargo xtask codegen --refresh-from <cfnlint dir>`"
    )]
    Tampered {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
    #[error("{path}: {what}")]
    Refresh { path: PathBuf, what: String },
    #[error(
        "the generated code is out of date ({} files); run `cargo xtask codegen` and commit the result:\n{}",
        .0.len(),
        .0.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
    )]
    OutOfDate(Vec<String>),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

pub const USAGE: &str = "\
cargo xtask codegen                          write stacks/src/l1 and stacks' service features
cargo xtask codegen --check                  fail when the checked-in output is out of date
cargo xtask codegen --refresh-from <dir>     pin the schemas of a cfn-lint install (its
                                             package directory, e.g.
                                             .venv/lib/python3.11/site-packages/cfnlint),
                                             then write";
