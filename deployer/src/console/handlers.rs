//! The console's routes: each reads through the CLI's code, renders a page, or acts and
//! sends the browser back where it was with what happened (`?done=`).

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use webhook_core::WebhookId;
use webhook_core::starter::execution_name;

use super::pages::{self, Attempt, Chrome, ListView};
use super::{Actions, Console, PREFIX, enc, timeline};
use crate::executions::ops::{self, Answer};
use crate::webhooks::list::{self, Filter};
use crate::webhooks::redrive::{self, Redrive};

type Shared = State<Arc<Console>>;

/// Webhooks a page lists.
const PAGE: usize = 50;

fn now_ms() -> i64 {
    i64::try_from(list::now_ms()).unwrap_or(i64::MAX)
}

fn chrome<'a>(c: &'a Console, done: Option<&'a str>) -> Chrome<'a> {
    Chrome {
        place: c.place(),
        has_webhooks: c.webhooks.is_some(),
        actions: c.actions,
        sources: c
            .sender
            .as_ref()
            .map(|s| s.sources.iter().map(|s| s.name.as_str()).collect())
            .unwrap_or_default(),
        done,
    }
}

fn failure(c: &Console, status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(pages::error(&chrome(c, None), status, message)),
    )
        .into_response()
}

/// `?done=` back to `to` (a path under the console).
fn back(to: &str, done: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{PREFIX}{to}{sep}done={}", enc(done))).into_response()
}

pub async fn home(State(c): Shared) -> Redirect {
    let to = if c.webhooks.is_some() {
        "webhooks"
    } else {
        "executions"
    };
    Redirect::to(&format!("{PREFIX}/{to}"))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: usize,
    pub done: Option<String>,
}

pub async fn webhooks(State(c): Shared, Query(q): Query<ListQuery>) -> Response {
    let Some(t) = &c.webhooks else {
        return no_table(&c);
    };
    let filter = match q.status.as_str() {
        "" => None,
        s => match <Filter as clap::ValueEnum>::from_str(s, true) {
            Ok(f) => Some(f),
            Err(_) => {
                let m = format!(
                    "unknown status `{s}`: received, validating, processing, completed, failed or stuck"
                );
                return failure(&c, StatusCode::BAD_REQUEST, &m);
            }
        },
    };
    let mut rows = match list::rows(t, filter, None, usize::MAX).await {
        Ok(rows) => rows,
        Err(e) => return failure(&c, StatusCode::BAD_GATEWAY, &format!("{e:#}")),
    };
    let sources: Vec<String> = {
        let mut s: Vec<String> = rows.iter().map(|r| r.source.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    let search = q.q.trim();
    rows.retain(|r| {
        (q.source.is_empty() || r.source == q.source)
            && (search.is_empty() || r.id.contains(search) || r.delivery_id.contains(search))
    });
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = q.page.min(pages - 1);
    let shown: Vec<_> = rows.into_iter().skip(page * PAGE).take(PAGE).collect();
    let view = ListView {
        rows: &shown,
        status: &q.status,
        source: &q.source,
        q: search,
        page,
        pages,
        total,
        sources: &sources,
    };
    Html(pages::webhooks(&chrome(&c, q.done.as_deref()), &view)).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

pub async fn webhook(State(c): Shared, Path(raw): Path<String>, Query(d): Query<Done>) -> Response {
    let Some(t) = &c.webhooks else {
        return no_table(&c);
    };
    let id = match WebhookId::parse(&raw) {
        Ok(id) => id,
        Err(e) => return failure(&c, StatusCode::BAD_REQUEST, &format!("{e}")),
    };
    let record = match t.store.get(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return failure(&c, StatusCode::NOT_FOUND, &format!("no webhook {id}")),
        Err(e) => return failure(&c, StatusCode::BAD_GATEWAY, &format!("{e:#}")),
    };
    let mut attempts = Vec::new();
    for n in 1..=record.attempt {
        let name = execution_name(&id, n);
        let found = match t.executions.named(&name).await {
            Ok(found) => found,
            Err(e) => return failure(&c, StatusCode::BAD_GATEWAY, &format!("{e:#}")),
        };
        let timeline = match &found {
            Some(e) => match ops::history(&c.lambda, &e.arn).await {
                Ok(events) => Some(timeline::of(&events, now_ms())),
                Err(e) => return failure(&c, StatusCode::BAD_GATEWAY, &format!("{e:#}")),
            },
            None => None,
        };
        attempts.push(Attempt {
            attempt: n,
            name,
            execution: found,
            timeline,
        });
    }
    Html(pages::webhook(
        &chrome(&c, d.done.as_deref()),
        &record,
        &attempts,
    ))
    .into_response()
}

pub async fn redrive(State(c): Shared, Path(raw): Path<String>) -> Response {
    if c.actions == Actions::Off {
        return read_only(&c);
    }
    let Some(t) = &c.webhooks else {
        return no_table(&c);
    };
    let done = match redrive::one(t, &raw).await {
        Redrive::Redriven { id, attempt } => format!("{id} redriven: attempt {attempt} started"),
        Redrive::Skipped { id, reason } => format!("{id} not redriven: {reason}"),
        Redrive::Error { id, error } => format!("{id} could not be redriven: {error}"),
    };
    back(&format!("/webhooks/{}", enc(&raw)), &done)
}

fn no_table(c: &Console) -> Response {
    failure(c, StatusCode::NOT_FOUND, "this stage has no webhooks table")
}

fn read_only(c: &Console) -> Response {
    failure(
        c,
        StatusCode::FORBIDDEN,
        "this console is read-only: start it with --allow-actions to act on the stage",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ExecutionsQuery {
    #[serde(default)]
    pub status: String,
}

pub async fn executions(State(c): Shared, Query(q): Query<ExecutionsQuery>) -> Response {
    use aws_sdk_lambda::types::ExecutionStatus;
    let upper = q.status.to_ascii_uppercase();
    let statuses = match upper.as_str() {
        "" => Vec::new(),
        s if ExecutionStatus::values().contains(&s) => vec![ExecutionStatus::from(s)],
        _ => {
            let m = format!(
                "unknown status `{}`: running, succeeded, failed, timed_out or stopped",
                q.status
            );
            return failure(&c, StatusCode::BAD_REQUEST, &m);
        }
    };
    let filter = ops::ListFilter {
        statuses,
        limit: 200,
        ..ops::ListFilter::default()
    };
    let mut listed = Vec::new();
    for f in &c.functions {
        match ops::list(&c.lambda, f, &filter).await {
            Ok(found) => listed.push((f.to_string(), found)),
            Err(e) => return failure(&c, StatusCode::BAD_GATEWAY, &format!("{e:#}")),
        }
    }
    Html(pages::executions(&chrome(&c, None), &listed, &q.status)).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct ArnQuery {
    #[serde(default)]
    pub arn: String,
    pub done: Option<String>,
}

pub async fn execution(State(c): Shared, Query(q): Query<ArnQuery>) -> Response {
    let detail = match ops::get(&c.lambda, &q.arn).await {
        Ok(d) => d,
        Err(e) => return exec_failure(&c, &e),
    };
    let events = match ops::history(&c.lambda, &q.arn).await {
        Ok(events) => events,
        Err(e) => return exec_failure(&c, &e),
    };
    let t = timeline::of(&events, now_ms());
    Html(pages::execution(
        &chrome(&c, q.done.as_deref()),
        &detail,
        &t,
    ))
    .into_response()
}

fn exec_failure(c: &Console, e: &crate::executions::ExecError) -> Response {
    let status = if e.is_not_found() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_GATEWAY
    };
    failure(c, status, &format!("{e:#}"))
}

/// A timeline alone, for the page's refresh while the execution runs.
pub async fn timeline(State(c): Shared, Query(q): Query<ArnQuery>) -> Response {
    match ops::history(&c.lambda, &q.arn).await {
        Ok(events) => {
            let t = timeline::of(&events, now_ms());
            Html(pages::timeline(&t, &q.arn, c.actions).into_string()).into_response()
        }
        Err(e) => exec_failure(&c, &e),
    }
}

#[derive(Debug, Deserialize)]
pub struct StopForm {
    pub arn: String,
}

pub async fn stop(State(c): Shared, Form(f): Form<StopForm>) -> Response {
    if c.actions == Actions::Off {
        return read_only(&c);
    }
    let done = match ops::stop(&c.lambda, &f.arn, None).await {
        Ok(s) => format!("{} stopped at {}", s.name, s.stopped),
        Err(e) => format!("not stopped: {e}"),
    };
    back(&format!("/execution?arn={}", enc(&f.arn)), &done)
}

#[derive(Debug, Deserialize)]
pub struct CallbackForm {
    pub arn: String,
    pub callback_id: String,
    /// `succeed` or `fail`.
    pub outcome: String,
    #[serde(default)]
    pub payload: String,
}

pub async fn callback(State(c): Shared, Form(f): Form<CallbackForm>) -> Response {
    if c.actions == Actions::Off {
        return read_only(&c);
    }
    let to = format!("/execution?arn={}", enc(&f.arn));
    let payload = f.payload.trim();
    let answer = match f.outcome.as_str() {
        "succeed" if payload.is_empty() => Answer::Succeed(None),
        "succeed" => match serde_json::from_str::<serde_json::Value>(payload) {
            Ok(_) => Answer::Succeed(Some(payload.to_owned())),
            Err(e) => return back(&to, &format!("not sent: the result is not JSON ({e})")),
        },
        "fail" => Answer::Fail(
            aws_sdk_lambda::types::ErrorObject::builder()
                .error_type("ConsoleFailure")
                .error_message(if payload.is_empty() {
                    "failed from the console"
                } else {
                    payload
                })
                .build(),
        ),
        other => {
            let m = format!("unknown outcome `{other}`: succeed or fail");
            return failure(&c, StatusCode::BAD_REQUEST, &m);
        }
    };
    let done = match ops::answer(&c.lambda, &f.callback_id, answer).await {
        Ok(a) => format!("callback {} answered: {}", a.callback_id, a.action),
        Err(e) => format!("not answered: {e}"),
    };
    back(&to, &done)
}

#[derive(Debug, Deserialize)]
pub struct SendForm {
    pub source: String,
}

pub async fn send(State(c): Shared, Form(f): Form<SendForm>) -> Response {
    let Some(sender) = &c.sender else {
        return failure(
            &c,
            StatusCode::NOT_FOUND,
            "test webhooks are sent to the local cloud only",
        );
    };
    let Some(source) = sender.sources.iter().find(|s| s.name == f.source) else {
        return failure(
            &c,
            StatusCode::BAD_REQUEST,
            &format!("no source `{}`", f.source),
        );
    };
    match sender.send(source).await {
        Ok(sent) => match &sent.id {
            Some(id) => back(&format!("/webhooks/{id}"), &sent.line()),
            None => back("/webhooks", &sent.line()),
        },
        Err(e) => back("/webhooks", &format!("not sent: {e:#}")),
    }
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (
            include_str!("assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_str!("assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
