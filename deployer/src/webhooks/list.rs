//! `deployer webhooks list`: webhooks by status, from the attention index (non-terminal and
//! failed webhooks) or, for completed ones and a list of everything, a scan.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use webhook_core::store::Attention;
use webhook_core::{Record, Status};

use super::target::Target;

/// What `--status` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Filter {
    Received,
    Validating,
    Processing,
    Completed,
    Failed,
    /// Not COMPLETED or FAILED past the stage's bound.
    Stuck,
}

/// One line of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub id: String,
    pub status: Status,
    pub source: String,
    pub delivery_id: String,
    pub attempt: u32,
    pub current_step: Option<String>,
    pub received_at: String,
    pub updated_at: String,
    /// Seconds in the current state (since received, redriven or failed; for completed
    /// webhooks, since the last write).
    pub age_s: u64,
    pub stuck: bool,
}

pub fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX)
}

fn rfc3339_ms(text: &str) -> u64 {
    humantime::parse_rfc3339(text)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

impl Row {
    fn of_record(r: &Record, now: u64, stuck_after_s: u64) -> Self {
        let since = r
            .attention_since
            .unwrap_or_else(|| rfc3339_ms(&r.updated_at));
        let age_s = now.saturating_sub(since) / 1000;
        Row {
            id: r.id.to_string(),
            status: r.status,
            source: r.source.clone(),
            delivery_id: r.delivery_id.clone(),
            attempt: r.attempt,
            current_step: r.current_step.clone(),
            received_at: r.received_at.clone(),
            updated_at: r.updated_at.clone(),
            age_s,
            stuck: !r.status.is_terminal() && age_s >= stuck_after_s,
        }
    }
}

/// The webhooks `filter` selects that entered their state within `since` (everything
/// without it), newest first, at most `limit`.
pub async fn rows(
    t: &Target,
    filter: Option<Filter>,
    since: Option<Duration>,
    limit: usize,
) -> anyhow::Result<Vec<Row>> {
    let now = now_ms();
    let after = since.map_or(0, |d| {
        now.saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    });
    let mut rows = match filter {
        Some(Filter::Completed) | None => scan(t, after, now).await?,
        Some(Filter::Failed) => indexed(t, Attention::Failed, after, now).await?,
        Some(Filter::Stuck) => {
            let bound = now.saturating_sub(t.stuck_after_s.saturating_mul(1000));
            indexed(t, Attention::Open, after, bound.saturating_add(1)).await?
        }
        Some(_) => indexed(t, Attention::Open, after, now + 1).await?,
    };
    let wanted = |r: &Row| match filter {
        None => true,
        Some(Filter::Received) => r.status == Status::Received,
        Some(Filter::Validating) => r.status == Status::Validating,
        Some(Filter::Processing) => r.status == Status::Processing,
        Some(Filter::Completed) => r.status == Status::Completed,
        Some(Filter::Failed) => r.status == Status::Failed,
        Some(Filter::Stuck) => r.stuck,
    };
    rows.retain(wanted);
    rows.sort_by(|a, b| a.age_s.cmp(&b.age_s).then_with(|| a.id.cmp(&b.id)));
    rows.truncate(limit);
    Ok(rows)
}

/// Every record of `state` in the index that entered it in `[after, before)`: the index
/// names them (it projects only what steps do not change), a batch read per page fetches
/// their status and step.
async fn indexed(
    t: &Target,
    state: Attention,
    after: u64,
    before: u64,
) -> anyhow::Result<Vec<Row>> {
    let now = now_ms();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = t
            .store
            .attention(state, after, before, 1000, cursor.as_deref())
            .await?;
        let ids: Vec<_> = page.entries.iter().map(|e| e.id.clone()).collect();
        // A record that expired since the index named it is gone: nothing to list.
        let records = t.store.get_many(&ids).await?;
        out.extend(
            records
                .iter()
                .map(|r| Row::of_record(r, now, t.stuck_after_s)),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Every record (a scan: completed webhooks are in no index), entered or last written
/// at or after `after`.
async fn scan(t: &Target, after: u64, now: u64) -> anyhow::Result<Vec<Row>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (records, next) = t.store.scan(1000, cursor.as_deref()).await?;
        out.extend(
            records
                .iter()
                .map(|r| Row::of_record(r, now, t.stuck_after_s))
                .filter(|row| now.saturating_sub(row.age_s * 1000) >= after),
        );
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(out),
        }
    }
}

/// `3m`, `2h`, `5d`: short ages for a table.
pub fn short_age(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// The rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<35}  {:<10}  {:>7}  {:<8}  {:<24}  {:>5}\n",
        "ID", "STATUS", "ATTEMPT", "STEP", "RECEIVED", "AGE"
    );
    for r in rows {
        let status = if r.stuck {
            format!("{}*", r.status.as_str())
        } else {
            r.status.as_str().to_owned()
        };
        out.push_str(&format!(
            "{:<35}  {:<10}  {:>7}  {:<8}  {:<24}  {:>5}\n",
            r.id,
            status,
            r.attempt,
            r.current_step.as_deref().unwrap_or("-"),
            r.received_at,
            short_age(r.age_s)
        ));
    }
    if rows.iter().any(|r| r.stuck) {
        out.push_str("* stuck: not COMPLETED or FAILED past the stage's bound\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_short() {
        assert_eq!(short_age(5), "5s");
        assert_eq!(short_age(125), "2m");
        assert_eq!(short_age(7300), "2h");
        assert_eq!(short_age(200_000), "2d");
    }
}
