//! Project tasks. `cargo xtask codegen` generates `stacks::l1` (a Rust type for every
//! CloudFormation resource type) from the pinned schemas in `codegen/`.

pub mod attributes;
pub mod emit;
pub mod error;
pub mod layout;
pub mod lower;
pub mod model;
pub mod names;
pub mod pinned;
pub mod refresh;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::Error;

/// What `cargo xtask` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Write the generated code.
    Codegen,
    /// Compare the generated code with what is checked in.
    Check,
    /// Pin the schemas of the cfn-lint package at this path, then write.
    Refresh(PathBuf),
}

/// Parses the arguments after `cargo xtask`.
pub fn parse(args: &[String]) -> Result<Task, Error> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => Ok(Task::Codegen),
        ["codegen", "--check"] => Ok(Task::Check),
        ["codegen", "--refresh-from", dir] => Ok(Task::Refresh(PathBuf::from(dir))),
        [] => Err(Error::Usage("no task given".to_owned())),
        other => Err(Error::Usage(format!(
            "unknown arguments `{}`",
            other.join(" ")
        ))),
    }
}

/// The workspace root (this crate's parent directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every generated file (the `stacks/src/l1` tree and `stacks/Cargo.toml`), by path
/// relative to `root`.
pub fn generate(root: &Path) -> Result<BTreeMap<String, String>, Error> {
    let input = pinned::load(root)?;
    let mut files = layout::files(&input);
    let path = root.join(layout::CARGO_TOML);
    let current = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    let services = layout::services(&input);
    let toml = layout::cargo_toml(&current, &services).ok_or_else(|| Error::Refresh {
        path: path.clone(),
        what: format!(
            "the lines `{}` and `{}` that enclose the generated features are missing",
            layout::FEATURES_BEGIN,
            layout::FEATURES_END
        ),
    })?;
    files.insert(layout::CARGO_TOML.to_owned(), toml);
    Ok(files)
}

/// Files under `stacks/src/l1` on disk, relative to `root`.
fn existing(root: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut todo = vec![root.join(layout::L1_DIR)];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(Error::io(&dir))?.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The paths whose content on disk differs from `files` (missing ones included), and the
/// generated-tree files that `files` does not have.
pub fn stale(root: &Path, files: &BTreeMap<String, String>) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = files
        .iter()
        .filter(|(path, text)| {
            std::fs::read_to_string(root.join(path)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(path, _)| path.clone())
        .collect();
    let extra = existing(root)?
        .into_iter()
        .filter(|p| !files.contains_key(p));
    out.extend(extra.map(|p| format!("{p} (not generated: remove it)")));
    Ok(out)
}

/// Writes the files that differ and removes generated-tree files no longer generated.
/// Returns how many files changed.
pub fn write(root: &Path, files: &BTreeMap<String, String>) -> Result<usize, Error> {
    let mut changed = 0;
    for (rel, text) in files {
        let path = root.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        std::fs::write(&path, text).map_err(Error::io(&path))?;
        changed += 1;
    }
    for rel in existing(root)?
        .into_iter()
        .filter(|p| !files.contains_key(p))
    {
        let path = root.join(rel);
        std::fs::remove_file(&path).map_err(Error::io(&path))?;
        changed += 1;
    }
    Ok(changed)
}

/// Runs `task` in the workspace at `root`; returns what to print.
pub fn run(task: &Task, root: &Path) -> Result<String, Error> {
    let mut report = String::new();
    if let Task::Refresh(dir) = task {
        let normalized = refresh::read(dir)?;
        let m = pinned::store(root, &normalized)?;
        report.push_str(&format!(
            "pinned cfn-lint {}: {} schemas (sha256 {}), {} GetAtt table entries\n",
            m.cfn_lint, m.schemas.entries, m.schemas.sha256, m.getatts.entries
        ));
    }
    let files = generate(root)?;
    if *task == Task::Check {
        let stale = stale(root, &files)?;
        if !stale.is_empty() {
            return Err(Error::OutOfDate(stale));
        }
        report.push_str(&format!("{} generated files are up to date\n", files.len()));
        return Ok(report);
    }
    let changed = write(root, &files)?;
    report.push_str(&format!(
        "{} generated files, {changed} written or removed\n",
        files.len()
    ));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_tasks() {
        assert_eq!(parse(&args("codegen")).unwrap(), Task::Codegen);
        assert_eq!(parse(&args("codegen --check")).unwrap(), Task::Check);
        assert_eq!(
            parse(&args("codegen --refresh-from /x/cfnlint")).unwrap(),
            Task::Refresh("/x/cfnlint".into())
        );
        assert!(matches!(
            parse(&args("codegen --chek")),
            Err(Error::Usage(_))
        ));
        assert!(matches!(parse(&[]), Err(Error::Usage(_))));
    }

    #[test]
    fn stale_lists_changed_missing_and_extra_files_and_write_fixes_them() {
        let root = tempfile::tempdir().unwrap();
        let l1 = |p: &str| format!("{}/{p}", layout::L1_DIR);
        let files: BTreeMap<String, String> = [
            (l1("mod.rs"), "pub mod a;\n".to_owned()),
            (l1("a.rs"), "// a\n".to_owned()),
        ]
        .into();
        assert_eq!(write(root.path(), &files).unwrap(), 2);
        assert!(stale(root.path(), &files).unwrap().is_empty());

        std::fs::write(root.path().join(l1("a.rs")), "// edited\n").unwrap();
        std::fs::write(root.path().join(l1("old.rs")), "// gone\n").unwrap();
        let mut more = files.clone();
        more.insert(l1("b.rs"), "// b\n".to_owned());
        assert_eq!(
            stale(root.path(), &more).unwrap(),
            [
                l1("a.rs"),
                l1("b.rs"),
                format!("{} (not generated: remove it)", l1("old.rs")),
            ]
        );
        assert_eq!(write(root.path(), &more).unwrap(), 3);
        assert!(stale(root.path(), &more).unwrap().is_empty());
    }

    #[test]
    fn an_input_changed_by_hand_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(pinned::DIR);
        std::fs::create_dir_all(&dir).unwrap();
        for f in [pinned::SCHEMAS, pinned::GETATTS, pinned::MANIFEST] {
            std::fs::copy(self::root().join(pinned::DIR).join(f), dir.join(f)).unwrap();
        }
        let getatts = dir.join(pinned::GETATTS);
        let text = std::fs::read_to_string(&getatts).unwrap();
        std::fs::write(&getatts, text.replace("AWS::SQS::Queue", "AWS::SQS::Q")).unwrap();
        let err = pinned::load(root.path()).unwrap_err();
        assert!(matches!(err, Error::Tampered { .. }), "{err}");
        assert!(err.to_string().contains("--refresh-from"), "{err}");
    }
}
