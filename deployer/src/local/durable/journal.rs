//! The durable service's journal: one file per execution in the data directory, replaced
//! atomically (a temporary file, fsynced, renamed, the directory fsynced). A checkpoint
//! batch is applied to a copy of the execution and the copy is written whole, so the file
//! holds the state before the batch or after all of it, never part of it.

use std::path::{Path, PathBuf};

use super::core::Execution;

pub struct Journal {
    /// None: nothing is persisted (`--ephemeral`).
    dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot encode execution {id}: {source}")]
    Encode {
        id: String,
        source: serde_json::Error,
    },
    #[error("cannot persist execution {id}: {source}")]
    Write { id: String, source: std::io::Error },
    #[error("the write of execution {id} was interrupted")]
    Interrupted { id: String },
}

impl Journal {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Journal { dir }
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{id}.json")))
    }

    /// Writes `e` and makes it durable before returning.
    pub async fn save(&self, e: &Execution) -> Result<(), JournalError> {
        let Some(path) = self.path(&e.id) else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(e).map_err(|source| JournalError::Encode {
            id: e.id.clone(),
            source,
        })?;
        let dir = self.dir.clone();
        let id = e.id.clone();
        tokio::task::spawn_blocking(move || write_durably(&path, &bytes, dir.as_deref()))
            .await
            .map_err(|_| JournalError::Interrupted { id: id.clone() })?
            .map_err(|source| JournalError::Write { id, source })
    }

    /// Every execution of a previous run. A write that never completed (a `.tmp` file) was
    /// never acknowledged and is removed; a file that cannot be read stops the start, with
    /// how to get past it.
    pub async fn load(&self) -> anyhow::Result<Vec<Execution>> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        tokio::fs::create_dir_all(dir).await?;
        let mut out = Vec::new();
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                let _ = tokio::fs::remove_file(&path).await;
                continue;
            }
            if path.extension().is_some_and(|e| e == "json") {
                out.push(read_execution(&path).await?);
            }
        }
        Ok(out)
    }
}

/// Writes `bytes` to `path` through a temporary file, syncing the file and then the
/// directory, so that after a crash the file holds either the old or the new content.
fn write_durably(path: &Path, bytes: &[u8], dir: Option<&Path>) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = dir {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The execution in `path`, or an error that says how to get past a broken file.
async fn read_execution(path: &Path) -> anyhow::Result<Execution> {
    let quarantine = || {
        let dir = path.parent().unwrap_or(path);
        format!(
            "move it out of the way to start without it (mkdir -p {q} && mv {f} {q}/), and the execution it held is lost; or start with another --data-dir",
            q = dir.join("quarantine").display(),
            f = path.display()
        )
    };
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot read durable execution file {}: {e}; {}",
            path.display(),
            quarantine()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "durable execution file {} is corrupt or from an older deployer ({e}); {}",
            path.display(),
            quarantine()
        )
    })
}
