//! The status record of one webhook, as the functions see it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::WebhookId;

/// Where a webhook is. Statuses only move forward: each has a rank, and the store refuses a
/// write that would lower it, so a replayed or retried step cannot move a record back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Received,
    Validating,
    Processing,
    Completed,
    Failed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::Validating,
        Status::Processing,
        Status::Completed,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "RECEIVED",
            Status::Validating => "VALIDATING",
            Status::Processing => "PROCESSING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
        }
    }

    /// Progress order; the two terminal statuses share the last rank, so neither replaces
    /// the other.
    pub fn rank(self) -> u8 {
        match self {
            Status::Received => 0,
            Status::Validating => 1,
            Status::Processing => 2,
            Status::Completed | Status::Failed => 3,
        }
    }

    pub fn is_terminal(self) -> bool {
        self.rank() == 3
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Whether the durable execution of a webhook has been started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// Recorded, execution not (yet) started.
    Pending,
    Started {
        execution_arn: Option<String>,
    },
    /// The last attempt to start it failed; a redelivery tries again.
    Failed {
        reason: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTimes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// Why a webhook failed. Every text in it is capped (see [`cap`]), so a failure can never
/// push a record past DynamoDB's item limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// What kind of failure: `ValidationFailed`, `TransientError` (retries exhausted),
    /// `PermanentError`, `Panic`, `ExecutionFailed`, `ExecutionTimedOut`, `ExecutionStopped`...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The step that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// How many attempts that step made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

impl Failure {
    /// A failure of `error_type` with `message`, both capped.
    pub fn new(error_type: &str, message: &str) -> Self {
        Failure {
            error_type: Some(cap(error_type, MAX_NAME_CHARS)),
            message: cap(message, MAX_TEXT_CHARS),
            reasons: Vec::new(),
            step: None,
            attempts: None,
        }
    }

    /// With `reasons`, each capped, at most [`MAX_REASONS`] of them.
    pub fn with_reasons(mut self, reasons: &[String]) -> Self {
        self.reasons = cap_list(reasons);
        self
    }

    /// Failed in `step` after `attempts` attempts.
    pub fn in_step(mut self, step: &str, attempts: u32) -> Self {
        self.step = Some(cap(step, MAX_NAME_CHARS));
        self.attempts = Some(attempts);
        self
    }
}

/// Longest text echoed into a record's result or error, in characters.
pub const MAX_TEXT_CHARS: usize = 256;
/// Longest name (error type, step) stored, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Most reasons stored with a failure.
pub const MAX_REASONS: usize = 20;
/// The mark a capped text ends with.
pub const TRUNCATED: &str = "…[truncated]";

/// `text`, cut to at most `max` characters (on a character boundary) and marked with
/// [`TRUNCATED`] when it was longer.
pub fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}{TRUNCATED}", &text[..end]),
    }
}

/// Whether [`cap`] cut `text`.
pub fn is_capped(text: &str, max: usize) -> bool {
    text.chars().nth(max).is_some()
}

/// At most [`MAX_REASONS`] reasons, each capped; a last line says how many were left out.
pub fn cap_list(reasons: &[String]) -> Vec<String> {
    let mut out: Vec<String> = reasons
        .iter()
        .take(MAX_REASONS)
        .map(|r| cap(r, MAX_TEXT_CHARS))
        .collect();
    if reasons.len() > MAX_REASONS {
        out.push(format!("and {} more", reasons.len() - MAX_REASONS));
    }
    out
}

/// DynamoDB's limit on one item, in bytes (names and values together).
pub const ITEM_LIMIT_BYTES: usize = 400 * 1024;

/// The largest a record can grow to, in bytes, for a payload and a delivery id of these
/// sizes: the fixed attributes and their names, the step times, and the largest result and
/// error the processor writes (both capped). A generous upper bound, not an estimate.
pub fn max_record_bytes(payload_bytes: usize, delivery_id_bytes: usize) -> usize {
    // Every attribute name and fixed-size value (ids, statuses, timestamps, numbers, the
    // steps map with two RFC 3339 times per step, the execution ARN), rounded up.
    const FIXED: usize = 4 * 1024;
    // A UTF-8 character takes at most 4 bytes.
    let text = MAX_TEXT_CHARS * 4 + TRUNCATED.len();
    let name = MAX_NAME_CHARS * 4 + TRUNCATED.len();
    // kind and reference, a handler's output (512 characters), the counts and flags.
    let result = 2 * text + 512 * 4 + 512;
    let error = text + 2 * name + (MAX_REASONS + 1) * text + 64;
    FIXED + payload_bytes + delivery_id_bytes + result + error
}

/// A record that could outgrow DynamoDB's item limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the record of this webhook could reach {bytes} bytes with its result and error, more than DynamoDB's item limit of {ITEM_LIMIT_BYTES} bytes; send a smaller body"
)]
pub struct TooLarge {
    pub bytes: usize,
}

/// Refuses a webhook whose record could outgrow the item limit once its result or error is
/// written: such a final write would fail permanently and leave the record stuck.
pub fn check_fits(payload_bytes: usize, delivery_id_bytes: usize) -> Result<(), TooLarge> {
    let bytes = max_record_bytes(payload_bytes, delivery_id_bytes);
    if bytes > ITEM_LIMIT_BYTES {
        Err(TooLarge { bytes })
    } else {
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: WebhookId,
    pub status: Status,
    /// The source it came in through (`default` for records older than sources).
    pub source: String,
    /// The signature scheme of that source (`github` for records older than sources).
    pub scheme: String,
    /// SHA-256 of the body (hex); absent on records older than it.
    pub body_hash: Option<String>,
    /// The provider's event type, when the request named one.
    pub event_type: Option<String>,
    /// Which processing attempt the record is on: 1, then one more per redrive. Every
    /// write of the processor and the reconciler is conditional on it.
    pub attempt: u32,
    /// When the record entered its current state (received, redriven, failed), epoch ms;
    /// absent once COMPLETED.
    pub attention_since: Option<u64>,
    pub current_step: Option<String>,
    pub steps: BTreeMap<String, StepTimes>,
    pub received_at: String,
    pub updated_at: String,
    pub expires_at: String,
    pub ttl: u64,
    pub delivery_id: String,
    /// The body exactly as received (JSON text).
    pub payload: String,
    /// The result of a completed webhook (JSON text).
    pub result: Option<String>,
    pub error: Option<Failure>,
    pub start: Start,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_marks_what_it_cuts_on_a_char_boundary() {
        assert_eq!(cap("short", 10), "short");
        assert_eq!(cap("exactly10!", 10), "exactly10!");
        assert_eq!(cap("abcdefghijk", 10), format!("abcdefghij{TRUNCATED}"));
        // Multi-byte characters are never split.
        assert_eq!(cap("ééééé", 2), format!("éé{TRUNCATED}"));
        assert!(is_capped("abc", 2) && !is_capped("ab", 2));
    }

    #[test]
    fn reasons_are_capped_in_number_and_length() {
        let many: Vec<String> = (0..30).map(|i| "x".repeat(300 + i)).collect();
        let capped = cap_list(&many);
        assert_eq!(capped.len(), MAX_REASONS + 1);
        assert!(capped[..MAX_REASONS].iter().all(|r| r.ends_with(TRUNCATED)));
        assert_eq!(capped[MAX_REASONS], "and 10 more");
    }

    #[test]
    fn the_largest_body_fits_and_a_larger_one_is_refused() {
        // The receiver's body limit with the longest delivery id fits...
        assert_eq!(check_fits(256 * 1024, 200), Ok(()));
        // ...a body near the item limit does not, and the error says by how much.
        let err = check_fits(395 * 1024, 200).unwrap_err();
        assert!(err.bytes > ITEM_LIMIT_BYTES, "{err}");
        assert!(
            err.to_string().contains("item limit of 409600 bytes"),
            "{err}"
        );
    }
}
