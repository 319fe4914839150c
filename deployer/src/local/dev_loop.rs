//! `deployer local --watch`: the dev loop. The function crates' sources are polled; a change
//! rebuilds them (cargo only recompiles what changed), and each function whose binary
//! changed is published as a new version and its processes restarted on it (idle ones at
//! once, busy ones after their invocation). Executions started on an older version go on
//! there. With `--no-build`, only the binaries are watched (a build made elsewhere).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::versions::Versions;

/// What the watcher needs.
pub struct Watch {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    /// (function logical id, crate).
    pub functions: Vec<(String, String)>,
    pub versions_dir: PathBuf,
    /// Rebuild on source changes (not with `--no-build`).
    pub build: bool,
    pub release: bool,
}

const EVERY: Duration = Duration::from_millis(500);

/// What a file tree looks like: how many source files, their total size, the newest mtime.
type Fingerprint = (usize, u64, Option<SystemTime>);

fn fingerprint(dir: &Path, out: &mut Fingerprint) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                fingerprint(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            out.0 += 1;
            out.1 += meta.len();
            out.2 = out.2.max(meta.modified().ok());
        }
    }
}

fn sources(root: &Path) -> Fingerprint {
    let mut fp = (0, 0, None);
    fingerprint(&root.join("functions"), &mut fp);
    fp
}

/// A binary's size and mtime (what a rebuild changes).
fn signature(bin: &Path) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(bin).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// Starts the watcher; it ends with the local cloud.
pub fn start(w: Watch, fleet: Arc<Versions>, mut stop: watch::Receiver<bool>) {
    eprintln!(
        "[local] watching {}: a change {} and restarts the functions whose code changed",
        if w.build {
            "the function sources"
        } else {
            "the function binaries"
        },
        if w.build {
            "rebuilds them"
        } else {
            "publishes a version"
        }
    );
    tokio::spawn(async move {
        let mut seen_sources = sources(&w.root);
        let mut seen: Vec<_> = w
            .functions
            .iter()
            .map(|(_, c)| signature(&w.bin_dir.join(c)))
            .collect();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stop.changed() => return,
            }
            if w.build {
                let now = sources(&w.root);
                if now != seen_sources {
                    seen_sources = now;
                    rebuild(&w).await;
                }
            }
            for (i, (logical, crate_name)) in w.functions.iter().enumerate() {
                let bin = w.bin_dir.join(crate_name);
                let now = signature(&bin);
                if now == seen[i] || now.is_none() {
                    continue;
                }
                seen[i] = now;
                match fleet.reload(&w.versions_dir, logical, &bin).await {
                    Ok(Some(n)) => eprintln!(
                        "[local] {crate_name}: new code, version {n}: its processes restart on it; executions started on an older version finish there"
                    ),
                    Ok(None) => {}
                    Err(e) => eprintln!("[local] {crate_name}: cannot load the new code: {e:#}"),
                }
            }
        }
    });
}

/// Rebuilds every function crate (cargo recompiles only what changed); a failed build
/// leaves the running code as it is.
async fn rebuild(w: &Watch) {
    let crates: Vec<String> = w.functions.iter().map(|(_, c)| c.clone()).collect();
    let (root, release) = (w.root.clone(), w.release);
    let built = tokio::task::spawn_blocking(move || super::build(&root, &crates, release)).await;
    match built {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("[local] {e:#}; the functions keep running their last code"),
        Err(e) => eprintln!(
            "[local] the build did not finish ({e}); the functions keep running their last code"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_or_a_new_source_file_changes_the_fingerprint_and_a_target_dir_does_not() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("functions/status/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "fn a() {}").unwrap();
        let first = sources(root.path());
        assert_eq!(first.0, 1);
        std::fs::write(src.join("lib.rs"), "fn ab() {}").unwrap();
        assert_ne!(sources(root.path()), first, "an edit");
        let edited = sources(root.path());
        std::fs::write(src.join("new.rs"), "").unwrap();
        assert_ne!(sources(root.path()), edited, "a new file");
        let with_new = sources(root.path());
        let target = root.path().join("functions/status/target");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("junk.rs"), "x").unwrap();
        std::fs::write(src.join("notes.txt"), "x").unwrap();
        assert_eq!(sources(root.path()), with_new, "not sources");
    }
}
