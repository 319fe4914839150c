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
    /// The stack's own status, by its newest event of this operation.
    stack_status: Option<String>,
    /// Every event of the operation, oldest first.
    pub trail: Vec<Event>,
}

fn failed(status: &str) -> bool {
    status.ends_with("_FAILED")
}

/// One page of a stack's events, newest first, and the token of the next (older) page.
pub type Page = (Vec<StackEvent>, Option<String>);

/// The events of a stack that are not in `seen`, oldest first. CloudFormation lists events
/// newest first, a page at a time: pages are read until one holds an event already seen
/// (everything older was seen too) or there is no next page. An event listed twice (an
/// emulator's offset paging shifts when an event arrives between two pages) is taken once.
pub async fn unseen<F, Fut>(seen: &HashSet<String>, mut page: F) -> anyhow::Result<Vec<StackEvent>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Page>>,
{
    let mut fresh: Vec<StackEvent> = vec![];
    let mut taken: HashSet<String> = HashSet::new();
    let mut tokens: HashSet<String> = HashSet::new();
    let mut token = None;
    loop {
        let (events, next) = page(token).await?;
        let mut reached_seen = false;
        for e in events {
            let Some(id) = e.event_id() else { continue };
            if seen.contains(id) {
                reached_seen = true;
            } else if taken.insert(id.to_owned()) {
                fresh.push(e);
            }
        }
        match next {
            // A token handed out twice would page forever.
            Some(t) if !reached_seen && tokens.insert(t.clone()) => token = Some(t),
            _ => break,
        }
    }
    fresh.reverse();
    Ok(fresh)
}

impl EventStream {
    /// Starts watching `stack` (a name or, to follow a deletion to its end, the stack id):
    /// events that exist now are not part of the operation. The newest page is enough to
    /// mark where the operation starts: [`unseen`] stops at the first event it holds.
    pub async fn new(cloud: &Cloud, stack: &str, live: bool) -> anyhow::Result<Self> {
        let mut s = EventStream {
            stack: stack.to_owned(),
            seen: HashSet::new(),
            started: BTreeMap::new(),
            live,
            began: Instant::now(),
            stack_status: None,
            trail: vec![],
        };
        let (newest, _) = s.page(cloud, None).await?;
        for e in newest {
            if let Some(id) = e.event_id() {
                s.seen.insert(id.to_owned());
            }
        }
        Ok(s)
    }

    async fn page(&self, cloud: &Cloud, token: Option<String>) -> anyhow::Result<Page> {
        let out = cloud
            .cfn
            .describe_stack_events()
            .stack_name(&self.stack)
            .set_next_token(token)
            .send()
            .await;
        match out {
            Ok(o) => Ok((o.stack_events().to_vec(), o.next_token().map(str::to_owned))),
            // A stack that does not exist (yet) has no events.
            Err(e) if sdk_error_text(&e).contains("does not exist") => Ok((vec![], None)),
            Err(e) => Err(sdk_error(e)).context("cannot read the stack's events"),
        }
    }

    /// Fetches (every page of what is new) and prints the new events.
    pub async fn poll(&mut self, cloud: &Cloud) -> anyhow::Result<()> {
        let fresh = unseen(&self.seen, |token| self.page(cloud, token)).await?;
        let mut err = std::io::stderr().lock();
        if self.live {
            // Clear the live line before printing events above it.
            let _ = write!(err, "\r\x1b[2K");
        }
        for e in fresh {
            if let Some(id) = e.event_id() {
                self.seen.insert(id.to_owned());
            }
            let event = self.record(&e);
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

    /// The printed form of `e`, with the resource's duration when it ends; notes the
    /// stack's own status.
    fn record(&mut self, e: &StackEvent) -> Event {
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
        if of_the_stack(e) {
            self.stack_status = Some(status.clone());
        }
        Event {
            logical_id: logical,
            resource_type: e.resource_type().unwrap_or("?").to_owned(),
            status,
            reason: e.resource_status_reason().map(str::to_owned),
            seconds,
        }
    }

    /// Whether the events show the operation: an event of the stack itself arrived since
    /// the stream started.
    pub fn stack_seen(&self) -> bool {
        self.stack_status.is_some()
    }

    /// Whether the events show the operation's end: the stack's own newest event of this
    /// operation is not `*_IN_PROGRESS`.
    pub fn stack_ended(&self) -> bool {
        self.stack_status
            .as_deref()
            .is_some_and(|s| !s.ends_with("_IN_PROGRESS"))
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

/// Whether `e` is an event of the stack itself (not of one of its resources).
fn of_the_stack(e: &StackEvent) -> bool {
    e.resource_type() == Some("AWS::CloudFormation::Stack")
        && e.logical_resource_id().is_some()
        && e.logical_resource_id() == e.stack_name()
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceStatus;

    fn event(id: usize) -> StackEvent {
        StackEvent::builder()
            .event_id(format!("e{id}"))
            .stack_id("arn:stack/s/1")
            .stack_name("s")
            .logical_resource_id(format!("R{id}"))
            .resource_type("AWS::SQS::Queue")
            .resource_status(ResourceStatus::CreateComplete)
            .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(
                id as i64,
            ))
            .build()
    }

    /// An in-process fake of DescribeStackEvents over `count` events (ids 0..count, the
    /// newest last), newest first, `size` per page, with offset tokens as ministack's.
    /// ministack pages too (at 100, `tests/integration/stack_engine.rs` reads its pages);
    /// this fake pins the loop's edge cases: the stop at a seen event, repeats, a bad token.
    fn pages(
        count: usize,
        size: usize,
        calls: &std::cell::Cell<usize>,
    ) -> impl FnMut(Option<String>) -> std::future::Ready<anyhow::Result<Page>> + '_ {
        move |token| {
            calls.set(calls.get() + 1);
            let start: usize = token.map_or(0, |t| t.parse().unwrap_or(0));
            let newest_first: Vec<StackEvent> = (0..count).rev().map(event).collect();
            let end = (start + size).min(count);
            let next = (end < count).then(|| end.to_string());
            std::future::ready(Ok((newest_first[start..end].to_vec(), next)))
        }
    }

    fn ids(events: &[StackEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| e.event_id().unwrap_or_default().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn every_page_is_read_when_nothing_was_seen() {
        let calls = std::cell::Cell::new(0);
        let fresh = unseen(&HashSet::new(), pages(250, 100, &calls))
            .await
            .unwrap();
        assert_eq!(calls.get(), 3);
        assert_eq!(fresh.len(), 250);
        // Oldest first.
        assert_eq!(ids(&fresh)[0], "e0");
        assert_eq!(ids(&fresh)[249], "e249");
    }

    #[tokio::test]
    async fn pages_stop_at_the_first_event_already_seen() {
        // 30 events existed before the operation (e0..e29); 150 came since, over 2 pages.
        let seen: HashSet<String> = (0..30).map(|i| format!("e{i}")).collect();
        let calls = std::cell::Cell::new(0);
        let fresh = unseen(&seen, pages(180, 100, &calls)).await.unwrap();
        assert_eq!(calls.get(), 2, "the page holding e29 is the last one read");
        assert_eq!(fresh.len(), 150);
        assert_eq!(ids(&fresh)[0], "e30");
    }

    #[tokio::test]
    async fn an_event_listed_twice_is_taken_once_and_a_repeated_token_ends_the_loop() {
        let mut served = 0;
        let fake = |_token: Option<String>| {
            served += 1;
            // Every page answers the same two events and the same token.
            std::future::ready(Ok::<Page, anyhow::Error>((
                vec![event(2), event(1)],
                Some("again".to_owned()),
            )))
        };
        let fresh = unseen(&HashSet::new(), fake).await.unwrap();
        assert_eq!(ids(&fresh), ["e1", "e2"]);
        assert_eq!(served, 2);
    }

    #[test]
    fn the_stack_s_own_events_tell_the_end() {
        let own = |status: ResourceStatus| {
            StackEvent::builder()
                .event_id(status.as_str())
                .stack_name("s")
                .logical_resource_id("s")
                .resource_type("AWS::CloudFormation::Stack")
                .resource_status(status)
                .build()
        };
        let mut stream = EventStream {
            stack: "s".to_owned(),
            seen: HashSet::new(),
            started: BTreeMap::new(),
            live: false,
            began: Instant::now(),
            stack_status: None,
            trail: vec![],
        };
        stream.record(&own(ResourceStatus::UpdateInProgress));
        stream.record(&event(1));
        assert!(!stream.stack_ended());
        stream.record(&own(ResourceStatus::UpdateComplete));
        assert!(stream.stack_ended());
        assert!(!of_the_stack(&event(1)));
    }
}
