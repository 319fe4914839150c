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

/// Why a webhook failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: WebhookId,
    pub status: Status,
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
