//! Group sync of DynamoDB's write-ahead log, for a local cloud with a data directory.
//!
//! dynoxide keeps the tables in SQLite in WAL mode. At SQLite's default (`synchronous=FULL`)
//! every commit syncs the log: 4 syncs per webhook, one at a time, each while dynoxide
//! holds its one connection. The local cloud runs SQLite at `synchronous=NORMAL` instead (a
//! commit is written to the log, safe against a killed process, and synced at the next
//! checkpoint), and syncs the log itself before anything is acknowledged that depends on
//! a write: API Gateway's answers and the durable journal's frames wait on a [`StoreSync`]
//! barrier. A barrier syncs every write committed before it began; the barriers waiting at
//! one moment share one `fdatasync`. So what was synced per commit is synced per batch,
//! and nothing is acknowledged before it is on disk, as before.
//!
//! A client that calls the DynamoDB endpoint itself is answered at the commit (its write
//! survives a killed `deployer local`, and is synced by the next barrier, at the latest a
//! checkpoint of SQLite's).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;

/// A barrier that could not be passed: nothing behind it can be acknowledged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    #[error("cannot sync DynamoDB's log {path}: {source}; restart the local cloud")]
    Sync {
        path: String,
        source: Arc<io::Error>,
    },
    #[error("DynamoDB's log syncer has stopped")]
    Stopped,
}

type Waiter = oneshot::Sender<Result<(), SyncError>>;

/// Syncs the log of a file-backed store; in memory every barrier passes at once.
#[derive(Debug)]
pub struct StoreSync {
    waiters: Option<mpsc::Sender<Waiter>>,
}

impl StoreSync {
    /// A store without a file (`--ephemeral`): nothing to sync.
    pub fn none() -> Arc<Self> {
        Arc::new(StoreSync { waiters: None })
    }

    /// Starts the thread that syncs `wal` (SQLite's `-wal` file) for the barriers.
    pub fn start(wal: PathBuf) -> io::Result<Arc<Self>> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("dynamodb-sync".into())
            .spawn(move || serve(&wal, &rx))?;
        Ok(Arc::new(StoreSync { waiters: Some(tx) }))
    }

    fn enqueue(&self) -> Option<oneshot::Receiver<Result<(), SyncError>>> {
        let waiters = self.waiters.as_ref()?;
        let (done, answer) = oneshot::channel();
        // A send that fails drops `done`: the answer then reads as `Stopped`.
        let _ = waiters.send(done);
        Some(answer)
    }

    /// Returns once every write committed before the call is on disk.
    pub async fn barrier(&self) -> Result<(), SyncError> {
        match self.enqueue() {
            None => Ok(()),
            Some(answer) => answer.await.unwrap_or(Err(SyncError::Stopped)),
        }
    }
}

/// Takes every barrier waiting, syncs once, answers them all; after a failed sync every
/// barrier fails (the kernel may have dropped the pages it could not write).
fn serve(wal: &Path, rx: &mpsc::Receiver<Waiter>) {
    let mut broken: Option<SyncError> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let result = match &broken {
            Some(e) => Err(e.clone()),
            None => sync(wal).map_err(|e| SyncError::Sync {
                path: wal.display().to_string(),
                source: Arc::new(e),
            }),
        };
        if let Err(e) = &result {
            broken = Some(e.clone());
        }
        for waiter in batch {
            let _ = waiter.send(result.clone());
        }
    }
}

/// `fdatasync` of the log (through a descriptor of its own: a sync covers the file, not
/// the descriptor). No log yet means nothing written yet.
fn sync(wal: &Path) -> io::Result<()> {
    match File::open(wal) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// For tests: a syncer whose every sync fails (its log's path runs through a regular file,
/// which it returns, under `dir`).
#[cfg(test)]
pub(crate) fn unsyncable(dir: &Path) -> (Arc<StoreSync>, PathBuf) {
    let file = dir.join("file");
    std::fs::write(&file, b"").expect("write a file");
    let sync = StoreSync::start(file.join("db-wal")).expect("start the syncer");
    (sync, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn barriers_pass_in_memory_and_on_a_log_not_yet_written() {
        StoreSync::none().barrier().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sync = StoreSync::start(dir.path().join("db-wal")).unwrap();
        sync.barrier().await.unwrap();
        std::fs::write(dir.path().join("db-wal"), b"frames").unwrap();
        sync.barrier().await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_sync_fails_every_later_barrier_with_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let (sync, file) = unsyncable(dir.path());
        let first = sync.barrier().await.unwrap_err();
        assert!(
            matches!(&first, SyncError::Sync { source, .. } if source.kind() == io::ErrorKind::NotADirectory)
        );
        assert!(
            first.to_string().contains("restart the local cloud"),
            "{first}"
        );
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        let later = sync.barrier().await;
        assert!(matches!(later, Err(SyncError::Sync { .. })), "{later:?}");
    }
}
