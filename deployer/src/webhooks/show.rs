//! `deployer webhooks show ID`: the record and each attempt's execution with its history.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use webhook_core::WebhookId;
use webhook_core::executions::{Event, Execution};
use webhook_core::record::{Failure, Record};
use webhook_core::starter::execution_name;

use super::target::Target;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub id: String,
    pub status: String,
    pub attempt: u32,
    pub current_step: Option<String>,
    pub delivery_id: String,
    pub received_at: String,
    pub updated_at: String,
    pub expires_at: String,
    pub result: Option<Value>,
    pub error: Option<Failure>,
    /// The payload exactly as received.
    pub payload: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i32,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub at_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub attempt: u32,
    pub execution_name: String,
    pub execution_arn: Option<String>,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, STOPPED; `None` when it never started.
    pub execution_status: Option<String>,
    pub error: Option<String>,
    pub history: Vec<EventView>,
}

#[derive(Debug, Serialize)]
pub struct Shown {
    pub record: RecordView,
    pub attempts: Vec<AttemptView>,
}

fn record_view(r: &Record) -> RecordView {
    RecordView {
        id: r.id.to_string(),
        status: r.status.as_str().to_owned(),
        attempt: r.attempt,
        current_step: r.current_step.clone(),
        delivery_id: r.delivery_id.clone(),
        received_at: r.received_at.clone(),
        updated_at: r.updated_at.clone(),
        expires_at: r.expires_at.clone(),
        result: r
            .result
            .as_ref()
            .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone()))),
        error: r.error.clone(),
        payload: r.payload.clone(),
    }
}

fn attempt_view(
    attempt: u32,
    name: String,
    e: Option<&Execution>,
    history: Vec<Event>,
) -> AttemptView {
    AttemptView {
        attempt,
        execution_name: name,
        execution_arn: e.map(|e| e.arn.clone()),
        execution_status: e.map(|e| e.state.as_str().to_owned()),
        error: e
            .and_then(|e| e.error.as_ref())
            .map(|(t, m)| format!("{t}: {m}")),
        history: history
            .into_iter()
            .map(|ev| EventView {
                id: ev.id,
                kind: ev.kind,
                name: ev.name,
                at_ms: ev.at_ms,
            })
            .collect(),
    }
}

/// The record of `id` and every attempt's execution.
pub async fn show(t: &Target, raw: &str) -> anyhow::Result<Shown> {
    let id = WebhookId::parse(raw)?;
    let record = t
        .store
        .get(&id)
        .await?
        .with_context(|| format!("no webhook {id} in stage {}", t.stage))?;
    let mut attempts = Vec::new();
    for attempt in 1..=record.attempt {
        let name = execution_name(&id, attempt);
        let execution = t.executions.named(&name).await?;
        let history = match &execution {
            Some(e) => t.executions.history(&e.arn).await?,
            None => Vec::new(),
        };
        attempts.push(attempt_view(attempt, name, execution.as_ref(), history));
    }
    Ok(Shown {
        record: record_view(&record),
        attempts,
    })
}

/// `shown` for a terminal.
pub fn text(shown: &Shown) -> String {
    let r = &shown.record;
    let mut out = format!(
        "id:        {}\nstatus:    {} (attempt {})\nstep:      {}\ndelivery:  {}\nreceived:  {}\nupdated:   {}\nexpires:   {}\n",
        r.id,
        r.status,
        r.attempt,
        r.current_step.as_deref().unwrap_or("-"),
        r.delivery_id,
        r.received_at,
        r.updated_at,
        r.expires_at
    );
    if let Some(e) = &r.error {
        out.push_str(&format!(
            "error:     {}: {}{}\n",
            e.error_type.as_deref().unwrap_or("Failed"),
            e.message,
            match (&e.step, e.attempts) {
                (Some(s), Some(a)) =>
                    format!(" (step {s}, {a} attempt{})", if a == 1 { "" } else { "s" }),
                _ => String::new(),
            }
        ));
        for reason in &e.reasons {
            out.push_str(&format!("           - {reason}\n"));
        }
    }
    if let Some(v) = &r.result {
        out.push_str(&format!("result:    {v}\n"));
    }
    out.push_str(&format!("payload:   {}\n", r.payload));
    for a in &shown.attempts {
        out.push_str(&format!(
            "attempt {}: execution {} {}\n",
            a.attempt,
            a.execution_name,
            a.execution_status.as_deref().unwrap_or("never started")
        ));
        if let Some(e) = &a.error {
            out.push_str(&format!("  error: {e}\n"));
        }
        for ev in &a.history {
            out.push_str(&format!(
                "  {:>3} {}{}\n",
                ev.id,
                ev.kind,
                ev.name
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}
