//! The durable service's journal: one append-only log in the data directory
//! (`executions/journal.log`, format in [`frame`]), written by one thread with group commit.
//!
//! A save hands the execution's whole new state to the writer and waits. The writer takes
//! every save waiting at that moment, writes them as one frame, syncs the file once, and
//! only then answers them all: many executions' moves cost one sync, and nothing is
//! acknowledged before it is on disk. A state is written whole, so a checkpoint batch is in
//! the log before or after all of it, never part of it.
//!
//! At start the log is read (the newest record of each execution wins), an unfinished last
//! frame is dropped (it was never acknowledged), and the log is rewritten with one record
//! per execution when anything in it is superseded. While running, the log is rewritten the
//! same way once it grows past four times what it holds live (and 64 MiB).
//!
//! Earlier deployers kept one `<id>.json` file per execution; such files are read once and
//! folded into the log.

mod frame;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use self::frame::Span;
use super::core::Execution;
use crate::local::store_sync::{StoreSync, SyncError};

const LOG: &str = "journal.log";
const TMP: &str = "journal.log.tmp";
/// A frame stops taking saves past this size (the rest wait for the next sync).
const FRAME_BYTES: usize = 1 << 20;
/// The log is rewritten once it is past this size and four times its live records.
const COMPACT_FLOOR: u64 = 64 << 20;

#[derive(Debug)]
pub struct Journal {
    /// None: nothing is persisted (`--ephemeral`).
    dir: Option<PathBuf>,
    writer: OnceLock<mpsc::Sender<Append>>,
    /// Passed before each frame: the DynamoDB writes a checkpoint follows are on disk
    /// before the checkpoint is (a step is never recorded done with its write lost).
    store: Arc<StoreSync>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot encode execution {id}: {source}")]
    Encode {
        id: String,
        source: serde_json::Error,
    },
    #[error("cannot persist execution {id}: {source}")]
    Write { id: String, source: WriteError },
    #[error("the write of execution {id} was interrupted")]
    Interrupted { id: String },
}

/// Why the journal could not make a save durable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the journal is not open")]
    NotOpen,
    #[error("the journal's writer has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] SyncError),
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    #[error("{path} was removed")]
    Removed { path: PathBuf },
    /// Nothing in the file can be trusted any more: every later save fails.
    #[error("{path} {why} ({source}); restart the local cloud")]
    Broken {
        path: PathBuf,
        why: Broken,
        source: Arc<io::Error>,
    },
}

/// What left the log untrustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A sync failed: the kernel may have dropped the pages.
    Sync,
    /// A failed write could not be cut off.
    Repair,
    /// Its compacted copy could not take its place.
    Compaction,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Broken::Sync => "failed to sync",
            Broken::Repair => "cannot be repaired after a failed write",
            Broken::Compaction => "could not be replaced by its compacted copy",
        })
    }
}

#[derive(Debug)]
struct Append {
    id: String,
    body: Vec<u8>,
    done: tokio::sync::oneshot::Sender<Result<(), WriteError>>,
}

impl Journal {
    pub fn new(dir: Option<PathBuf>, store: Arc<StoreSync>) -> Self {
        Journal {
            dir,
            writer: OnceLock::new(),
            store,
        }
    }

    /// Writes `e` and makes it durable before returning.
    pub async fn save(&self, e: &Execution) -> Result<(), JournalError> {
        if self.dir.is_none() {
            return Ok(());
        }
        let body = serde_json::to_vec(e).map_err(|source| JournalError::Encode {
            id: e.id.clone(),
            source,
        })?;
        let failed = |source: WriteError| JournalError::Write {
            id: e.id.clone(),
            source,
        };
        let writer = self
            .writer
            .get()
            .ok_or_else(|| failed(WriteError::NotOpen))?;
        // What the execution's functions wrote before this save is on disk before the save
        // is written: a crash never keeps a step's result without its writes. The barrier is
        // passed here, not in the writer, so that DynamoDB's log syncs for the next frame
        // while the writer syncs this one.
        self.store
            .barrier()
            .await
            .map_err(|e| failed(WriteError::Store(e)))?;
        let (done, answer) = tokio::sync::oneshot::channel();
        let append = Append {
            id: e.id.clone(),
            body,
            done,
        };
        writer
            .send(append)
            .map_err(|_| failed(WriteError::Stopped))?;
        answer
            .await
            .map_err(|_| JournalError::Interrupted { id: e.id.clone() })?
            .map_err(failed)
    }

    /// Opens the journal: every execution of a previous run, the log compacted, the writer
    /// started. A log damaged before its last frame, or a record that cannot be read, stops
    /// the start, with how to get past it.
    pub async fn load(&self) -> anyhow::Result<Vec<Execution>> {
        let Some(dir) = self.dir.clone() else {
            return Ok(Vec::new());
        };
        let (executions, writer) = tokio::task::spawn_blocking(move || open(&dir)).await??;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(&rx))?;
        self.writer
            .set(tx)
            .map_err(|_| anyhow::anyhow!("the journal was opened twice"))?;
        Ok(executions)
    }
}

/// Reads the log and the files of earlier deployers in `dir`, compacts, and returns the
/// executions and the writer that appends to the log.
fn open(dir: &Path) -> anyhow::Result<(Vec<Execution>, Writer)> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(LOG);
    let log = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => anyhow::bail!("cannot read the durable journal {}: {e}", path.display()),
    };
    let scanned = frame::scan(&log).map_err(|e| {
        anyhow::anyhow!(
            "the durable journal {} is damaged: {e}; {}",
            path.display(),
            quarantine(&path)
        )
    })?;
    if scanned.torn > 0 {
        eprintln!(
            "[local] journal: dropped {} bytes of a write that never finished at the end of {}",
            scanned.torn,
            path.display()
        );
    }
    let mut records: Vec<(String, Vec<u8>)> = scanned
        .latest
        .iter()
        .map(|(id, span)| (id.clone(), slice(&log, *span).to_vec()))
        .collect();
    let legacy = legacy_files(dir, &scanned.latest, &mut records)?;
    let mut executions = Vec::with_capacity(records.len());
    for (id, body) in &records {
        executions.push(serde_json::from_slice(body).map_err(|e| {
            anyhow::anyhow!(
                "the durable journal {} holds execution {id}, which is corrupt or from an older deployer ({e}); {}",
                path.display(),
                quarantine(&path)
            )
        })?);
    }
    let rewrite = !legacy.is_empty() || scanned.torn > 0 || scanned.records > records.len();
    let writer = if rewrite {
        let (len, index) = write_new_log(dir, records.into_iter().map(Ok))?;
        install(dir)?;
        for file in legacy {
            std::fs::remove_file(file)?;
        }
        Writer::new(dir, len, index)?
    } else {
        Writer::new(dir, scanned.whole, scanned.latest)?
    };
    Ok((executions, writer))
}

fn slice(log: &[u8], span: Span) -> &[u8] {
    &log[span.offset as usize..span.offset as usize + span.len as usize]
}

/// The `<id>.json` files an earlier deployer left in `dir` whose execution the log does not
/// hold, added to `records`; returns every such file (folded into the log, then removed). A
/// `.tmp` file is a write that never completed: never acknowledged, removed.
fn legacy_files(
    dir: &Path,
    logged: &HashMap<String, Span>,
    records: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("tmp") => {
                let _ = std::fs::remove_file(&path);
            }
            Some("json") => {
                let id = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                if !logged.contains_key(&id) {
                    let body = std::fs::read(&path).map_err(|e| {
                        anyhow::anyhow!(
                            "cannot read durable execution file {}: {e}; {}",
                            path.display(),
                            quarantine(&path)
                        )
                    })?;
                    records.push((id, body));
                }
                files.push(path);
            }
            _ => {}
        }
    }
    Ok(files)
}

/// How to get past a file that stops the start.
fn quarantine(path: &Path) -> String {
    let dir = path.parent().unwrap_or(path);
    format!(
        "move it out of the way to start without it (mkdir -p {q} && mv {f} {q}/), and the executions it held are lost; or start with another --data-dir",
        q = dir.join("quarantine").display(),
        f = path.display()
    )
}

/// Writes `records` as a new log beside the old one (`journal.log.tmp`, synced) and returns
/// its length and where each record lies; [`install`] then puts it in the old one's place.
fn write_new_log(
    dir: &Path,
    records: impl Iterator<Item = std::io::Result<(String, Vec<u8>)>>,
) -> std::io::Result<(u64, HashMap<String, Span>)> {
    let mut file = std::io::BufWriter::new(File::create(dir.join(TMP))?);
    let (mut len, mut index) = (0u64, HashMap::new());
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0;
    let mut records = records.peekable();
    while let Some(record) = records.next() {
        let record = record?;
        batch_bytes += record.1.len();
        batch.push(record);
        if batch_bytes >= FRAME_BYTES || records.peek().is_none() {
            let mut buf = Vec::new();
            let pairs = batch.iter().map(|(i, b)| (i.as_str(), b.as_slice()));
            index.extend(frame::encode(pairs, len, &mut buf));
            len += buf.len() as u64;
            file.write_all(&buf)?;
            (batch, batch_bytes) = (Vec::new(), 0);
        }
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((len, index))
}

/// Renames the new log over the old one and syncs the directory: a crash leaves one or the
/// other whole.
fn install(dir: &Path) -> std::io::Result<()> {
    std::fs::rename(dir.join(TMP), dir.join(LOG))?;
    File::open(dir)?.sync_all()
}

/// What a record of `id` whose body is `span` takes in the log (its id and lengths too).
fn record_bytes(id: &str, span: Span) -> u64 {
    u64::from(span.len) + id.len() as u64 + 6
}

fn live_bytes(index: &HashMap<String, Span>) -> u64 {
    index.iter().map(|(id, s)| record_bytes(id, *s)).sum()
}

/// The one thread that appends to the log.
#[derive(Debug)]
struct Writer {
    dir: PathBuf,
    /// None after the log was found removed: reopened (created) by the next append.
    file: Option<File>,
    len: u64,
    /// Where the newest record of each execution lies.
    index: HashMap<String, Span>,
    /// What the newest records take in the log (kept as they change: the writer does not
    /// walk the index per frame).
    live: u64,
    /// The log is not compacted below this size ([`COMPACT_FLOOR`]; tests lower it).
    floor: u64,
    /// Set when the log can no longer be trusted (a failed sync): every append fails.
    broken: Option<WriteError>,
}

impl Writer {
    fn new(dir: &Path, len: u64, index: HashMap<String, Span>) -> std::io::Result<Self> {
        let mut w = Writer {
            dir: dir.to_path_buf(),
            file: None,
            len,
            live: live_bytes(&index),
            floor: COMPACT_FLOOR,
            index,
            broken: None,
        };
        w.file = Some(w.open_file(!w.path().exists())?);
        Ok(w)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(LOG)
    }

    /// The log, opened for appending; with `create`, a new one (never over an existing
    /// file), synced with its directory.
    fn open_file(&self, create: bool) -> std::io::Result<File> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true);
        if !create {
            return options.open(self.path());
        }
        let file = options.create_new(true).open(self.path())?;
        file.sync_all()?;
        File::open(&self.dir)?.sync_all()?;
        Ok(file)
    }

    fn run(mut self, rx: &mpsc::Receiver<Append>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            let mut bytes = batch[0].body.len();
            while bytes < FRAME_BYTES {
                let Ok(next) = rx.try_recv() else { break };
                bytes += next.body.len();
                batch.push(next);
            }
            let result = self.append(&batch);
            for a in batch {
                let _ = a.done.send(result.clone());
            }
            self.maybe_compact();
        }
    }

    /// Writes `batch` as one frame and syncs it; on success every save in it is durable.
    fn append(&mut self, batch: &[Append]) -> Result<(), WriteError> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        if self.file.is_none() {
            let file = self.open_file(true).map_err(|e| WriteError::Create {
                path: self.path(),
                source: Arc::new(e),
            })?;
            (self.file, self.len) = (Some(file), 0);
            self.index.clear();
            self.live = 0;
        }
        let file = self.file.as_ref().ok_or(WriteError::NotOpen)?;
        let mut buf = Vec::new();
        let spans = frame::encode(
            batch.iter().map(|a| (a.id.as_str(), a.body.as_slice())),
            self.len,
            &mut buf,
        );
        let path = self.path();
        if let Err(e) = file.write_all_at(&buf, self.len) {
            // Whatever part reached the file goes, so the next frame follows a whole one.
            if let Err(t) = file.set_len(self.len) {
                self.broken = Some(WriteError::Broken {
                    path: path.clone(),
                    why: Broken::Repair,
                    source: Arc::new(t),
                });
            }
            return Err(WriteError::Write {
                path,
                source: Arc::new(e),
            });
        }
        if let Err(e) = file.sync_data() {
            // After a failed sync the kernel may have dropped the pages: nothing in the
            // file can be trusted any more.
            let broken = WriteError::Broken {
                path,
                why: Broken::Sync,
                source: Arc::new(e),
            };
            self.broken = Some(broken.clone());
            return Err(broken);
        }
        if file.metadata().map(|m| m.nlink()).unwrap_or(0) == 0 {
            // Removed while open (its directory deleted): what was written is gone.
            self.file = None;
            return Err(WriteError::Removed { path });
        }
        self.len += buf.len() as u64;
        for (id, span) in spans {
            self.live += record_bytes(&id, span);
            if let Some(old) = self.index.insert(id.clone(), span) {
                self.live -= record_bytes(&id, old);
            }
        }
        Ok(())
    }

    /// Rewrites the log when it holds mostly superseded records. Appends wait meanwhile.
    fn maybe_compact(&mut self) {
        if self.len < self.floor.max(self.live * 4) || self.broken.is_some() {
            return;
        }
        let Some(old) = self.file.as_ref() else {
            return;
        };
        let records = self.index.iter().map(|(id, span)| {
            let mut body = vec![0; span.len as usize];
            old.read_exact_at(&mut body, span.offset)?;
            Ok((id.clone(), body))
        });
        let (len, index) = match write_new_log(&self.dir, records) {
            Ok(done) => done,
            Err(e) => {
                // The old log is untouched: go on appending to it.
                eprintln!(
                    "[local] journal: cannot compact {}: {e}",
                    self.path().display()
                );
                let _ = std::fs::remove_file(self.dir.join(TMP));
                return;
            }
        };
        match install(&self.dir).and_then(|()| self.open_file(false)) {
            Ok(file) => {
                self.live = live_bytes(&index);
                (self.file, self.len, self.index) = (Some(file), len, index);
            }
            Err(e) => {
                self.broken = Some(WriteError::Broken {
                    path: self.path(),
                    why: Broken::Compaction,
                    source: Arc::new(e),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::core::NewExecution;
    use super::*;

    fn execution(id: &str, input: &str) -> Execution {
        let n = NewExecution {
            arn: format!("arn:{id}"),
            name: id.into(),
            id: id.into(),
            function: "F".into(),
            function_arn: "arn:f".into(),
            qualifier: "live".into(),
            version: "1".into(),
            input: input.into(),
            timeout_s: 60,
            async_start: true,
            token: "t".into(),
        };
        Execution::new(n, 0.0)
    }

    async fn opened(dir: &Path) -> (Journal, Vec<(String, String)>) {
        let j = Journal::new(Some(dir.to_path_buf()), StoreSync::none());
        let mut held: Vec<(String, String)> = j
            .load()
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.input))
            .collect();
        held.sort();
        (j, held)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn what_was_saved_is_loaded_newest_first_and_the_log_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let (j, held) = opened(dir.path()).await;
        assert!(held.is_empty());
        let j = std::sync::Arc::new(j);
        // Saves of many executions at once: one writer, group commit.
        let mut saves = tokio::task::JoinSet::new();
        for i in 0..20 {
            let j = j.clone();
            saves.spawn(async move { j.save(&execution(&format!("e{i}"), "1")).await });
        }
        while let Some(r) = saves.join_next().await {
            r.unwrap().unwrap();
        }
        j.save(&execution("e0", "last")).await.unwrap();
        drop(j);
        let (_j, held) = opened(dir.path()).await;
        assert_eq!(held[0], ("e0".to_string(), "last".to_string()));
        assert_eq!(held.len(), 20);
        let log = std::fs::read(dir.path().join(LOG)).unwrap();
        assert_eq!(frame::scan(&log).unwrap().records, 20, "compacted at start");
    }

    /// A save is written only once what was committed to DynamoDB before it is on disk: when
    /// DynamoDB's log cannot be synced, the save fails with that cause and the log holds
    /// nothing of it.
    #[tokio::test]
    async fn a_save_is_not_written_before_dynamodbs_log_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = crate::local::store_sync::unsyncable(dir.path());
        let j = Journal::new(Some(dir.path().join("executions")), store);
        std::fs::create_dir(dir.path().join("executions")).unwrap();
        assert!(j.load().await.unwrap().is_empty());
        let err = j.save(&execution("a", "1")).await.unwrap_err();
        assert!(
            matches!(
                &err,
                JournalError::Write {
                    source: WriteError::Store(SyncError::Sync { .. }),
                    ..
                }
            ),
            "{err:?}"
        );
        drop(j);
        let (_j, held) = opened(&dir.path().join("executions")).await;
        assert!(held.is_empty(), "{held:?}");
    }

    #[tokio::test]
    async fn an_unfinished_last_write_is_dropped_and_damage_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = opened(dir.path()).await;
        j.save(&execution("a", "1")).await.unwrap();
        j.save(&execution("b", "1")).await.unwrap();
        drop(j);
        let path = dir.path().join(LOG);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
        std::fs::write(&path, &torn).unwrap();
        let (_j, held) = opened(dir.path()).await;
        assert_eq!(held, pairs(&[("a", "1"), ("b", "1")]));
        let rewritten = frame::scan(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            (rewritten.records, rewritten.torn),
            (2, 0),
            "rewritten whole"
        );

        let mut damaged = whole.clone();
        damaged[frame::HEADER + 3] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        let err = Journal::new(Some(dir.path().to_path_buf()), StoreSync::none())
            .load()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is damaged: the frame at byte 0"), "{text}");
        assert!(text.contains("quarantine"), "{text}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "left as found");
    }

    #[test]
    fn a_log_of_mostly_superseded_records_is_compacted_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let (_, mut w) = open(dir.path()).unwrap();
        w.floor = 0;
        let save = |w: &mut Writer, id: &str, input: &str| {
            let (done, _answer) = tokio::sync::oneshot::channel();
            let body = serde_json::to_vec(&execution(id, input)).unwrap();
            let a = Append {
                id: id.into(),
                body,
                done,
            };
            w.append(std::slice::from_ref(&a)).unwrap();
            w.maybe_compact();
        };
        save(&mut w, "b", "kept");
        for n in 0..10 {
            save(&mut w, "a", &n.to_string());
        }
        let log = std::fs::read(dir.path().join(LOG)).unwrap();
        let scanned = frame::scan(&log).unwrap();
        // 11 records written; compacted, the log keeps under four times what is live.
        assert!(
            scanned.records < 11,
            "{} records: not compacted",
            scanned.records
        );
        assert!(log.len() as u64 <= 4 * w.live + 64, "{} bytes", log.len());
        assert_eq!(w.live, live_bytes(&w.index), "live bytes kept right");
        // Appends go on into the compacted log, and what it holds reads back.
        save(&mut w, "a", "last");
        drop(w);
        let (held, _) = open(dir.path()).unwrap();
        let mut held: Vec<(String, String)> = held.into_iter().map(|e| (e.id, e.input)).collect();
        held.sort();
        assert_eq!(held, pairs(&[("a", "last"), ("b", "kept")]));
    }

    #[tokio::test]
    async fn files_of_an_earlier_deployer_are_folded_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let old = serde_json::to_vec(&execution("old", "x")).unwrap();
        std::fs::write(dir.path().join("old.json"), old).unwrap();
        std::fs::write(dir.path().join("gone.json.tmp"), b"{").unwrap();
        let (_j, held) = opened(dir.path()).await;
        assert_eq!(held, pairs(&[("old", "x")]));
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec![LOG.to_string()]);
    }

    #[tokio::test]
    async fn a_log_removed_while_running_fails_saves_until_its_directory_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("executions");
        let (j, _) = opened(&journal).await;
        j.save(&execution("a", "1")).await.unwrap();
        std::fs::remove_dir_all(&journal).unwrap();
        std::fs::write(&journal, b"not a directory").unwrap();
        let err = j.save(&execution("b", "1")).await.unwrap_err();
        assert!(
            matches!(&err, JournalError::Write { source: WriteError::Removed { path }, .. } if path.starts_with(&journal)),
            "{err}"
        );
        let err = j.save(&execution("b", "1")).await.unwrap_err();
        assert!(
            matches!(&err, JournalError::Write { source: WriteError::Create { source, .. }, .. } if source.kind() == std::io::ErrorKind::NotADirectory),
            "{err}"
        );
        std::fs::remove_file(&journal).unwrap();
        std::fs::create_dir(&journal).unwrap();
        j.save(&execution("b", "2")).await.unwrap();
        drop(j);
        let (_j, held) = opened(&journal).await;
        assert_eq!(held, pairs(&[("b", "2")]));
    }
}
