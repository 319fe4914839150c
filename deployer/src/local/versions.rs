//! Function versions, as `AWS::Lambda::Version` publishes them: at start-up each function's
//! binary is published as a new version when its code changed since the last one (kept in
//! the data directory, so versions survive restarts), and the template's aliases route to
//! the newest. A qualifier names `$LATEST`, a published version or an alias; anything else
//! is Lambda's `ResourceNotFoundException`. An older version runs on processes of its own,
//! started the first time something invokes it (a durable execution started on it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::lambda::{Function, Hooks};
use super::model::FunctionSpec;

/// One published version of a function.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub number: u32,
    /// The snapshot of the code this version runs.
    pub binary: PathBuf,
    pub sha256: String,
}

/// What starting processes for another version of a function takes.
pub struct Recipe {
    pub spec: FunctionSpec,
    pub env: BTreeMap<String, String>,
    pub hooks: Hooks,
}

/// The versions of every function, and the processes of each version that runs.
pub struct Versions {
    /// Grows at run time when `local --watch` publishes new code.
    published: std::sync::Mutex<BTreeMap<String, Vec<Published>>>,
    /// (function logical id, alias name).
    aliases: Vec<(String, String)>,
    latest: BTreeMap<String, Arc<Function>>,
    recipes: BTreeMap<String, Recipe>,
    older: Mutex<BTreeMap<(String, u32), Arc<Function>>>,
}

/// Publishes `binary` as the next version of `function` under `dir` unless the newest
/// version there has the same code: every version, oldest first.
pub fn publish(dir: &Path, function: &str, binary: &Path) -> anyhow::Result<Vec<Published>> {
    let dir = dir.join(function);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut versions = published(&dir)?;
    // Read once: hashed, and written as the snapshot when the code is new.
    let bytes =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if versions.last().is_none_or(|v| v.sha256 != sha256) {
        let number = versions.last().map_or(1, |v| v.number + 1);
        let snapshot = dir.join(number.to_string());
        let tmp = dir.join(format!("{number}.tmp"));
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::metadata(binary))
            .and_then(|m| std::fs::set_permissions(&tmp, m.permissions()))
            .and_then(|()| std::fs::write(dir.join(format!("{number}.sha256")), &sha256))
            .and_then(|()| std::fs::rename(&tmp, &snapshot))
            .with_context(|| {
                format!(
                    "cannot publish {} as {}",
                    binary.display(),
                    snapshot.display()
                )
            })?;
        versions.push(Published {
            number,
            binary: snapshot,
            sha256,
        });
    }
    Ok(versions)
}

/// The versions published under `dir` (files named by their number), oldest first.
fn published(dir: &Path) -> anyhow::Result<Vec<Published>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let Some(number) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Written before the snapshot: a snapshot without it was never published.
        let Ok(sha256) = std::fs::read_to_string(dir.join(format!("{number}.sha256"))) else {
            continue;
        };
        out.push(Published {
            number,
            binary: path,
            sha256,
        });
    }
    out.sort_by_key(|v| v.number);
    Ok(out)
}

impl Versions {
    pub fn new(aliases: Vec<(String, String)>) -> Self {
        Versions {
            published: std::sync::Mutex::new(BTreeMap::new()),
            aliases,
            latest: BTreeMap::new(),
            recipes: BTreeMap::new(),
            older: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds a function: its versions (oldest first), the processes of the newest, and how
    /// to start processes for an older one.
    pub fn add(&mut self, versions: Vec<Published>, latest: Arc<Function>, recipe: Recipe) {
        let logical = recipe.spec.logical.clone();
        self.published_mut().insert(logical.clone(), versions);
        self.latest.insert(logical.clone(), latest);
        self.recipes.insert(logical, recipe);
    }

    /// The processes of the newest version of every function, by logical id.
    pub fn functions(&self) -> BTreeMap<String, Arc<Function>> {
        self.latest.clone()
    }

    fn published_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Published>>> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn newest(&self, function: &str) -> Option<u32> {
        self.published_mut().get(function)?.last().map(|v| v.number)
    }

    /// Publishes `binary` as the next version of `function` (snapshots under `dir`) when its
    /// code changed, and runs it on the newest version's processes (executions started on
    /// an older version go on there, on processes of their own). The new version's
    /// number, or `None` when the code is the same.
    pub async fn reload(
        &self,
        dir: &Path,
        function: &str,
        binary: &Path,
    ) -> anyhow::Result<Option<u32>> {
        let before = self.newest(function);
        let versions = publish(dir, function, binary)?;
        let Some(newest) = versions.last().cloned() else {
            return Ok(None);
        };
        if Some(newest.number) == before {
            return Ok(None);
        }
        self.published_mut().insert(function.to_owned(), versions);
        if let Some(f) = self.latest.get(function) {
            f.replace_code(newest.binary.clone()).await;
        }
        Ok(Some(newest.number))
    }

    /// The version `qualifier` names for `function`: `$LATEST`, a published number, or the
    /// version an alias routes to (the newest). None: Lambda has no such qualifier.
    pub fn version_of(&self, function: &str, qualifier: &str) -> Option<String> {
        if qualifier == "$LATEST" {
            return Some(qualifier.to_owned());
        }
        if let Ok(n) = qualifier.parse::<u32>() {
            let known = self
                .published_mut()
                .get(function)?
                .iter()
                .any(|v| v.number == n);
            return known.then(|| n.to_string());
        }
        self.aliases
            .iter()
            .any(|(f, a)| f == function && a == qualifier)
            .then(|| self.newest(function).map(|n| n.to_string()))
            .flatten()
    }

    /// The processes that run `version` of `function`, started for an older version the
    /// first time it is asked for.
    pub async fn pool(&self, function: &str, version: &str) -> anyhow::Result<Arc<Function>> {
        let latest = self
            .latest
            .get(function)
            .with_context(|| format!("no function {function}"))?;
        let number = match version.parse::<u32>() {
            Ok(n) if Some(n) != self.newest(function) => n,
            _ => return Ok(latest.clone()),
        };
        let mut older = self.older.lock().await;
        if let Some(f) = older.get(&(function.to_owned(), number)) {
            return Ok(f.clone());
        }
        let published = self
            .published_mut()
            .get(function)
            .and_then(|vs| vs.iter().find(|v| v.number == number).cloned())
            .with_context(|| format!("{function} has no version {number}"))?;
        let recipe = &self.recipes[function];
        eprintln!(
            "[local] starting {} version {number} (an execution started on it)",
            recipe.spec.crate_name
        );
        let f = Function::new(
            recipe.spec.clone(),
            published.binary.clone(),
            recipe.env.clone(),
            recipe.hooks.clone(),
        );
        f.start(1).await?;
        older.insert((function.to_owned(), number), f.clone());
        Ok(f)
    }

    /// Every process of every version that runs, with its function's crate.
    pub async fn older_pools(&self) -> Vec<Arc<Function>> {
        self.older.lock().await.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_changes_publish_versions_and_unchanged_code_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"one").unwrap();
        let store = dir.path().join("versions");
        let v = publish(&store, "F", &bin).unwrap();
        assert_eq!(v.iter().map(|v| v.number).collect::<Vec<_>>(), [1]);
        assert_eq!(publish(&store, "F", &bin).unwrap().len(), 1, "same code");
        std::fs::write(&bin, b"two").unwrap();
        let v = publish(&store, "F", &bin).unwrap();
        assert_eq!(v.iter().map(|v| v.number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(std::fs::read(&v[0].binary).unwrap(), b"one", "a snapshot");
        assert_eq!(std::fs::read(&v[1].binary).unwrap(), b"two");
    }
}
