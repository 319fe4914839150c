//! `deployer webhooks redrive`: a FAILED webhook gets a new attempt, under its own
//! execution name, by a conditional write that only succeeds from FAILED on the attempt
//! that failed, and only when that attempt's execution is no longer running.

use std::io::{IsTerminal, Write};

use serde::Serialize;
use webhook_core::Status;
use webhook_core::WebhookId;
use webhook_core::executions::State;
use webhook_core::record::Start;
use webhook_core::starter::Starter;
use webhook_core::store::{RestartFrom, Restarted};
use webhook_core::time::Instant;

use super::target::Target;

/// What happened to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Redrive {
    /// A new attempt was started.
    Redriven {
        id: String,
        attempt: u32,
    },
    /// Left alone: not FAILED, or its attempt is still running.
    Skipped {
        id: String,
        reason: String,
    },
    Error {
        id: String,
        error: String,
    },
}

/// Every outcome, and the counts.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub redriven: usize,
    pub skipped: usize,
    pub errors: usize,
    pub webhooks: Vec<Redrive>,
}

impl Summary {
    fn add(&mut self, r: Redrive) {
        match &r {
            Redrive::Redriven { .. } => self.redriven += 1,
            Redrive::Skipped { .. } => self.skipped += 1,
            Redrive::Error { .. } => self.errors += 1,
        }
        self.webhooks.push(r);
    }
}

fn skipped(id: &WebhookId, reason: impl Into<String>) -> Redrive {
    Redrive::Skipped {
        id: id.to_string(),
        reason: reason.into(),
    }
}

/// Redrives one webhook.
pub async fn one(t: &Target, raw: &str) -> Redrive {
    let id = match WebhookId::parse(raw) {
        Ok(id) => id,
        Err(e) => {
            return Redrive::Error {
                id: raw.to_owned(),
                error: e.to_string(),
            };
        }
    };
    match attempt(t, &id).await {
        Ok(r) => r,
        Err(e) => Redrive::Error {
            id: id.to_string(),
            error: format!("{e:#}"),
        },
    }
}

async fn attempt(t: &Target, id: &WebhookId) -> anyhow::Result<Redrive> {
    let Some(record) = t.store.get(id).await? else {
        return Ok(skipped(id, "no such webhook"));
    };
    if record.status != Status::Failed {
        let why = if record.status.is_terminal() {
            format!("it is {}, not FAILED", record.status.as_str())
        } else {
            format!(
                "active: it is {} on attempt {}",
                record.status.as_str(),
                record.attempt
            )
        };
        return Ok(skipped(id, why));
    }
    if let Some(e) = t.executions.of(id, record.attempt).await?
        && e.state == State::Running
    {
        return Ok(skipped(
            id,
            format!("active: execution {} is still RUNNING", e.name),
        ));
    }
    let next = match t
        .store
        .new_attempt(id, record.attempt, RestartFrom::Failed, Instant::now())
        .await?
    {
        Restarted::Attempt(n) => n,
        Restarted::Refused(now) => {
            return Ok(skipped(
                id,
                format!(
                    "it changed meanwhile: {} on attempt {}",
                    now.status.as_str(),
                    now.attempt
                ),
            ));
        }
    };
    let started = t.starter.start(id, next).await?;
    let start = Start::Started {
        execution_arn: started.execution_arn,
    };
    t.store
        .record_start(id, next, &start, Instant::now())
        .await?;
    Ok(Redrive::Redriven {
        id: id.to_string(),
        attempt: next,
    })
}

/// Progress on stderr: a bar on a terminal, a line per webhook otherwise.
pub struct Progress {
    total: usize,
    done: usize,
    live: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress {
            total,
            done: 0,
            live: std::io::stderr().is_terminal(),
        }
    }

    pub fn step(&mut self, r: &Redrive, s: &Summary) {
        self.done += 1;
        let mut err = std::io::stderr().lock();
        if self.live {
            let width = 30;
            let filled = width * self.done / self.total.max(1);
            let _ = write!(
                err,
                "\r[{}{}] {}/{} redriven {} skipped {} errors {}",
                "#".repeat(filled),
                "-".repeat(width - filled),
                self.done,
                self.total,
                s.redriven,
                s.skipped,
                s.errors
            );
            if self.done == self.total {
                let _ = writeln!(err);
            }
        } else {
            let line = match r {
                Redrive::Redriven { id, attempt } => format!("redriven {id} (attempt {attempt})"),
                Redrive::Skipped { id, reason } => format!("skipped {id}: {reason}"),
                Redrive::Error { id, error } => format!("error {id}: {error}"),
            };
            let _ = writeln!(err, "[{}/{}] {line}", self.done, self.total);
        }
    }
}

/// Redrives each of `ids` in turn, with progress.
pub async fn many(t: &Target, ids: &[String]) -> Summary {
    let mut summary = Summary::default();
    let mut progress = Progress::new(ids.len());
    for raw in ids {
        let r = one(t, raw).await;
        summary.add(r.clone());
        progress.step(&r, &summary);
    }
    summary
}
