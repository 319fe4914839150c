//! The console's pages, rendered on the server (maud escapes every value it inserts).

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use webhook_core::executions::Execution;
use webhook_core::record::Record;

use super::timeline::{Outcome, Row, Segment, Span, Timeline};
use super::{Actions, PREFIX, enc, pretty};
use crate::executions::view::{Detail, Summary};
use crate::webhooks::list::{self, Row as ListRow};

/// What every page shows around its content.
#[derive(Debug)]
pub struct Chrome<'a> {
    pub place: String,
    pub has_webhooks: bool,
    pub actions: Actions,
    /// Sources a test webhook can be sent to (the local cloud only).
    pub sources: Vec<&'a str>,
    /// What the last action did.
    pub done: Option<&'a str>,
}

/// The webhooks page's rows and the filter that chose them.
#[derive(Debug)]
pub struct ListView<'a> {
    pub rows: &'a [ListRow],
    pub status: &'a str,
    pub source: &'a str,
    pub q: &'a str,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub sources: &'a [String],
}

/// One processing attempt of a webhook and its execution.
#[derive(Debug)]
pub struct Attempt {
    pub attempt: u32,
    pub name: String,
    pub execution: Option<Execution>,
    pub timeline: Option<Timeline>,
}

const STATUSES: [&str; 6] = [
    "received",
    "validating",
    "processing",
    "completed",
    "failed",
    "stuck",
];

fn layout(c: &Chrome, title: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { (title) " · console" }
                link rel="stylesheet" href={ (PREFIX) "/assets/console.css" };
                script src={ (PREFIX) "/assets/console.js" } defer {}
            }
            body {
                header {
                    nav aria-label="Console" {
                        @if c.has_webhooks { a href={ (PREFIX) "/webhooks" } { "Webhooks" } }
                        a href={ (PREFIX) "/executions" } { "Executions" }
                    }
                    p.place { (c.place) }
                    @if !c.sources.is_empty() {
                        form.send method="post" action={ (PREFIX) "/send" } {
                            label { "Send a test webhook to "
                                select name="source" {
                                    @for s in &c.sources { option value=(s) { (s) } }
                                }
                            }
                            button type="submit" { "Send" }
                        }
                    }
                }
                @if let Some(done) = c.done { p.done role="status" { (done) } }
                main { h1 { (title) } (content) }
            }
        }
    }
    .into_string()
}

pub fn error(c: &Chrome, status: StatusCode, message: &str) -> String {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    layout(c, &title, html! { p.error role="alert" { (message) } })
}

/// `850 ms`, `1.2 s`, `3 min 5 s`.
pub fn duration(ms: i64) -> String {
    match ms {
        ..1000 => format!("{} ms", ms.max(0)),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn status_badge(status: &str, stuck: bool) -> Markup {
    html! {
        span.badge data-status=(status.to_ascii_lowercase()) {
            (status)
            @if stuck { " " span.stuck title="not COMPLETED or FAILED past the stage's bound" { "stuck" } }
        }
    }
}

fn confirm(actions: Actions, question: &str) -> Option<String> {
    (actions == Actions::Confirm).then(|| question.to_owned())
}

pub fn webhooks(c: &Chrome, v: &ListView) -> String {
    let content = html! {
        form.filter method="get" action={ (PREFIX) "/webhooks" } role="search" {
            label { "Status "
                select name="status" {
                    option value="" selected[v.status.is_empty()] { "any" }
                    @for s in STATUSES { option value=(s) selected[v.status == s] { (s) } }
                }
            }
            label { "Source "
                select name="source" {
                    option value="" selected[v.source.is_empty()] { "any" }
                    @for s in v.sources { option value=(s) selected[v.source == s] { (s) } }
                }
            }
            label { "Id or delivery id " input type="search" name="q" value=(v.q); }
            button type="submit" { "Filter" }
        }
        p.count { (v.total) " webhook" @if v.total != 1 { "s" } }
        @if v.rows.is_empty() {
            p.empty { "No webhook matches." }
        } @else {
            div.scroll {
                table.webhooks {
                    thead { tr {
                        th scope="col" { "Id" } th scope="col" { "Status" } th scope="col" { "Source" }
                        th scope="col" { "Attempt" } th scope="col" { "Step" }
                        th scope="col" { "Received" } th scope="col" { "Updated" } th scope="col" { "Age" }
                    } }
                    tbody {
                        @for r in v.rows {
                            tr data-id=(r.id) data-status=(r.status.as_str().to_ascii_lowercase()) {
                                td { a href={ (PREFIX) "/webhooks/" (r.id) } { (r.id) } br; small { (r.delivery_id) } }
                                td { (status_badge(r.status.as_str(), r.stuck)) }
                                td { (r.source) }
                                td { (r.attempt) }
                                td { (r.current_step.as_deref().unwrap_or("-")) }
                                td { time datetime=(r.received_at) { (r.received_at) } }
                                td { time datetime=(r.updated_at) { (r.updated_at) } }
                                td { (list::short_age(r.age_s)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(v))
    };
    layout(c, "Webhooks", content)
}

fn pager(v: &ListView) -> Markup {
    let link = |page: usize| {
        format!(
            "{PREFIX}/webhooks?status={}&source={}&q={}&page={page}",
            enc(v.status),
            enc(v.source),
            enc(v.q)
        )
    };
    html! {
        @if v.pages > 1 {
            nav.pager aria-label="Pages" {
                @if v.page > 0 { a rel="prev" href=(link(v.page - 1)) { "Newer" } }
                span { "Page " (v.page + 1) " of " (v.pages) }
                @if v.page + 1 < v.pages { a rel="next" href=(link(v.page + 1)) { "Older" } }
            }
        }
    }
}

pub fn webhook(c: &Chrome, r: &Record, attempts: &[Attempt]) -> String {
    let id = r.id.to_string();
    let content = html! {
        dl.record {
            dt { "Status" } dd { (status_badge(r.status.as_str(), false)) }
            dt { "Source" } dd { (r.source) " (" (r.scheme) ")" }
            dt { "Delivery id" } dd { code { (r.delivery_id) } }
            @if let Some(t) = &r.event_type { dt { "Event type" } dd { (t) } }
            dt { "Attempt" } dd { (r.attempt) }
            dt { "Step" } dd { (r.current_step.as_deref().unwrap_or("-")) }
            dt { "Received" } dd { time datetime=(r.received_at) { (r.received_at) } }
            dt { "Updated" } dd { time datetime=(r.updated_at) { (r.updated_at) } }
            dt { "Expires" } dd { time datetime=(r.expires_at) { (r.expires_at) } }
            @if let Some(e) = &r.error { dt { "Error" } dd.error {
                @if let Some(t) = &e.error_type { (t) ": " }
                (e.message)
                @if let Some(step) = &e.step { " (step " (step) ")" }
            } }
            @if let Some(res) = &r.result { dt { "Result" } dd { code { (res) } } }
        }
        @if r.status.as_str() == "FAILED" && c.actions != Actions::Off {
            form.action method="post" action={ (PREFIX) "/webhooks/" (id) "/redrive" }
                data-confirm=[confirm(c.actions, &format!("Redrive {id} as attempt {}?", r.attempt + 1))] {
                button type="submit" { "Redrive" }
            }
        }
        section aria-labelledby="payload" {
            h2 id="payload" { "Payload" }
            pre.payload data-format="pretty" { (pretty::json(&r.payload)) }
            details { summary { "Exactly as received" } pre.payload data-format="raw" { (r.payload) } }
        }
        @for a in attempts.iter().rev() {
            section.attempt aria-labelledby={ "attempt-" (a.attempt) } {
                h2 id={ "attempt-" (a.attempt) } { "Attempt " (a.attempt) }
                @match &a.execution {
                    Some(e) => {
                        p { "Execution "
                            a href={ (PREFIX) "/execution?arn=" (enc(&e.arn)) } { (e.name) }
                            " " (status_badge(e.state.as_str(), false))
                            @if let Some((t, m)) = &e.error { " " span.error { (t) ": " (m) } }
                        }
                        @if let Some(t) = &a.timeline { (timeline(t, &e.arn, c.actions)) }
                    }
                    None => p.empty { "Execution " code { (a.name) } " never started." },
                }
            }
        }
    };
    layout(c, &format!("Webhook {id}"), content)
}

pub fn executions(c: &Chrome, listed: &[(String, Vec<Summary>)], status: &str) -> String {
    const STATUSES: [&str; 5] = ["running", "succeeded", "failed", "timed_out", "stopped"];
    let content = html! {
        form.filter method="get" action={ (PREFIX) "/executions" } {
            label { "Status "
                select name="status" {
                    option value="" selected[status.is_empty()] { "any" }
                    @for s in STATUSES { option value=(s) selected[status == s] { (s) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @for (function, found) in listed {
            section aria-label=(function) {
                h2 { (function) }
                @if found.is_empty() { p.empty { "No execution." } } @else {
                    div.scroll { table.executions {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Started" } th scope="col" { "Ended" } } }
                        tbody { @for e in found {
                            tr data-status=(e.status.to_ascii_lowercase()) {
                                td { a href={ (PREFIX) "/execution?arn=" (enc(&e.arn)) } { (e.name) } }
                                td { (status_badge(&e.status, false)) }
                                td { time datetime=(e.started) { (e.started) } }
                                td { @if let Some(t) = &e.ended { time datetime=(t) { (t) } } @else { "-" } }
                            }
                        } }
                    } }
                }
            }
        }
    };
    layout(c, "Executions", content)
}

pub fn execution(c: &Chrome, d: &Detail, t: &Timeline) -> String {
    let content = html! {
        dl.record {
            dt { "Status" } dd { (status_badge(&d.status, false)) }
            dt { "Started" } dd { time datetime=(d.started) { (d.started) } }
            @if let Some(e) = &d.ended { dt { "Ended" } dd { time datetime=(e) { (e) } } }
            dt { "Function" } dd { code { (d.function_arn) } }
            dt { "ARN" } dd { code { (d.arn) } }
            @if let Some(i) = &d.input { dt { "Input" } dd { pre { (pretty::json(i)) } } }
            @if let Some(r) = &d.result { dt { "Result" } dd { pre { (pretty::json(r)) } } }
            @if let Some(e) = &d.error { dt { "Error" } dd.error { (e.line()) } }
        }
        @if d.status == "RUNNING" && c.actions != Actions::Off {
            form.action method="post" action={ (PREFIX) "/stop" }
                data-confirm=[confirm(c.actions, &format!("Stop {}?", d.name))] {
                input type="hidden" name="arn" value=(d.arn);
                button type="submit" { "Stop execution" }
            }
        }
        (timeline(t, &d.arn, c.actions))
    };
    layout(c, &format!("Execution {}", d.name), content)
}

/// The timeline of the execution `arn`; refreshed by the page's script while it runs.
pub fn timeline(t: &Timeline, arn: &str, actions: Actions) -> Markup {
    let total = t.end_ms - t.start_ms;
    html! {
        div.timeline data-running=(t.running) data-src={ (PREFIX) "/timeline?arn=" (enc(arn)) } {
            p.axis aria-hidden="true" { span { "0" } span { (duration(total)) @if t.running { " (running)" } } }
            @if t.rows.is_empty() { p.empty { "No operation yet." } }
            ol.rows aria-label="Operations on a time axis" {
                @for row in &t.rows { (timeline_row(t, row)) }
            }
            @if let Some(e) = &t.error { p.error role="alert" { "Execution failed: " (e) } }
            @for row in t.rows.iter().filter(|r| r.outcome == Outcome::Running && r.callback_id.is_some()) {
                @if actions != Actions::Off { (callback_form(row, arn, actions)) }
            }
        }
    }
}

fn timeline_row(t: &Timeline, row: &Row) -> Markup {
    let took = row.end_ms().map(|e| duration(e - row.start_ms()));
    html! {
        li.row data-kind=(row.kind.to_ascii_lowercase()) data-outcome=(row.outcome.as_str()) data-attempts=(row.attempts()) {
            span.label {
                (row.label) " " small { (row.kind) }
                @if row.outcome == Outcome::Failed { " " span.mark role="img" aria-label="failed" { "✕" } }
            }
            span.track {
                @for (i, s) in row.segments.iter().enumerate() {
                    @let left = t.percent(s.start_ms);
                    @let right = t.percent(s.end_ms.unwrap_or(t.end_ms));
                    span class=(segment_class(s))
                        style=(format!("left:{left:.2}%;width:{:.2}%", (right - left).max(0.4)))
                        tabindex="0" role="img" aria-label=(segment_label(row, i))
                        title=(segment_label(row, i)) {}
                }
            }
            span.took { @if let Some(t) = took { (t) } @else { "running" } }
            @if let Some(e) = &row.error { span.row-error { (e) } }
        }
    }
}

/// `seg run failed`, `seg delay`, `seg wait running`: what the stylesheet draws.
fn segment_class(s: &Segment) -> String {
    match s.span {
        Span::Run => format!("seg run {}", s.outcome.as_str()),
        Span::RetryDelay => "seg delay".to_owned(),
        Span::Wait => format!("seg wait {}", s.outcome.as_str()),
    }
}

/// What a screen reader says of a segment: `process, attempt 1: failed after 1.2 s (Boom: flaky)`.
fn segment_label(row: &Row, i: usize) -> String {
    let s = &row.segments[i];
    let what = match (s.span, s.attempt) {
        (Span::Run, Some(n)) => format!("{}, attempt {n}", row.label),
        (Span::Run, None) => format!("{} ({})", row.label, row.kind),
        (Span::RetryDelay, _) => format!("{}, delay before a retry", row.label),
        (Span::Wait, _) => format!("{}, wait", row.label),
    };
    let how = match s.end_ms {
        Some(end) if s.span == Span::RetryDelay => duration(end - s.start_ms),
        Some(end) => format!(
            "{} after {}",
            s.outcome.as_str(),
            duration(end - s.start_ms)
        ),
        None => "running".to_owned(),
    };
    match &s.error {
        Some(e) => format!("{what}: {how} ({e})"),
        None => format!("{what}: {how}"),
    }
}

fn callback_form(row: &Row, arn: &str, actions: Actions) -> Markup {
    let id = row.callback_id.as_deref().unwrap_or_default();
    html! {
        form.callback method="post" action={ (PREFIX) "/callback" }
            data-confirm=[confirm(actions, &format!("Answer callback {}?", row.label))] {
            input type="hidden" name="arn" value=(arn);
            input type="hidden" name="callback_id" value=(id);
            fieldset {
                legend { "Callback " (row.label) " waits for an answer" }
                label { "Result or error (JSON for a result) " textarea name="payload" rows="2" {} }
                button type="submit" name="outcome" value="succeed" { "Succeed" }
                button type="submit" name="outcome" value="fail" { "Fail" }
            }
        }
    }
}
