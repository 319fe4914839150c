//! Per-resource stack events, as they happen: one plain line per event (with the
//! resource's duration when it ends), plus a live line of what is in progress on a terminal.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use aws_sdk_cloudformation::types::StackEvent;

use super::{Cloud, sdk_error};

/// One printed event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the resource's matching `*_IN_PROGRESS` event.
    pub seconds: Option<f64>,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<32} {:<28} {:<20}",
            self.logical_id, self.resource_type, self.status
        )?;
        if let Some(s) = self.seconds {
            write!(f, " {s:>6.1}s")?;
        }
        if let Some(r) = &self.reason
            && !r.is_empty()
        {
            write!(f, "  {r}")?;
        }
        Ok(())
    }
}

/// The events of one stack operation.
#[derive(Debug)]
pub struct EventStream {
    stack: String,
    seen: HashSet<String>,
    started: BTreeMap<String, f64>,
    live: bool,
    began: Instant,
    /// Every event of the operation, oldest first.
    pub trail: Vec<Event>,
}

fn failed(status: &str) -> bool {
    status.ends_with("_FAILED")
}

impl EventStream {
    /// Starts watching `stack` (a name or, to follow a deletion to its end, the stack id):
    /// events that exist now are not part of the operation.
    pub async fn new(cloud: &Cloud, stack: &str, live: bool) -> anyhow::Result<Self> {
        let mut s = EventStream {
            stack: stack.to_owned(),
            seen: HashSet::new(),
            started: BTreeMap::new(),
            live,
            began: Instant::now(),
            trail: vec![],
        };
        for e in s.page(cloud).await? {
            if let Some(id) = e.event_id() {
                s.seen.insert(id.to_owned());
            }
        }
        Ok(s)
    }

    async fn page(&self, cloud: &Cloud) -> anyhow::Result<Vec<StackEvent>> {
        let out = cloud
            .cfn
            .describe_stack_events()
            .stack_name(&self.stack)
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.stack_events().to_vec()),
            // A stack that does not exist (yet) has no events.
            Err(e) if sdk_error_text(&e).contains("does not exist") => Ok(vec![]),
            Err(e) => Err(sdk_error(e)).context("cannot read the stack's events"),
        }
    }

    /// Fetches and prints the new events.
    pub async fn poll(&mut self, cloud: &Cloud) -> anyhow::Result<()> {
        let mut fresh: Vec<StackEvent> = self
            .page(cloud)
            .await?
            .into_iter()
            .filter(|e| e.event_id().is_some_and(|id| !self.seen.contains(id)))
            .collect();
        fresh.reverse();
        let mut err = std::io::stderr().lock();
        if self.live {
            // Clear the live line before printing events above it.
            let _ = write!(err, "\r\x1b[2K");
        }
        for e in fresh {
            if let Some(id) = e.event_id() {
                self.seen.insert(id.to_owned());
            }
            let logical = e.logical_resource_id().unwrap_or("?").to_owned();
            let status = e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            let at = e.timestamp().map(|t| t.as_secs_f64()).unwrap_or_default();
            let seconds = if status.ends_with("_IN_PROGRESS") {
                self.started.insert(logical.clone(), at);
                None
            } else {
                self.started.remove(&logical).map(|t0| (at - t0).max(0.0))
            };
            let event = Event {
                logical_id: logical,
                resource_type: e.resource_type().unwrap_or("?").to_owned(),
                status,
                reason: e.resource_status_reason().map(str::to_owned),
                seconds,
            };
            let _ = writeln!(err, "  {event}");
            self.trail.push(event);
        }
        if self.live {
            let running: Vec<&str> = self
                .started
                .keys()
                .filter(|k| **k != self.stack)
                .map(String::as_str)
                .collect();
            let _ = write!(
                err,
                "  ... {}s, {} in progress: {}",
                self.began.elapsed().as_secs(),
                running.len(),
                running.join(", ")
            );
        }
        let _ = err.flush();
        Ok(())
    }

    /// Ends the live line.
    pub fn finish(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }

    /// The first resource that failed, with its reason: the cause of a failed operation
    /// (later failures are usually consequences, such as "Resource creation cancelled").
    pub fn first_failure(&self) -> Option<&Event> {
        self.trail
            .iter()
            .find(|e| failed(&e.status) && e.logical_id != self.stack)
            .or_else(|| self.trail.iter().find(|e| failed(&e.status)))
    }
}

/// The text of an SDK error, for matching on a service message.
pub fn sdk_error_text<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> String
where
    E: std::error::Error + aws_sdk_cloudformation::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(e) => e.message().unwrap_or_default().to_owned(),
        None => format!(
            "{}",
            aws_sdk_cloudformation::error::DisplayErrorContext(err)
        ),
    }
}
