//! `AWS::Events::Rule`: a schedule that invokes a target.

use serde::Serialize;

use crate::Expr;

/// What a rule invokes.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub arn: Expr,
    /// The target's id within the rule.
    pub id: String,
}

/// A rule that fires on a schedule (`rate(5 minutes)`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub schedule_expression: String,
    state: &'static str,
    pub targets: Vec<Target>,
}

impl Rule {
    /// An enabled rule that invokes `target` every `minutes` minutes (EventBridge's
    /// smallest rate is one minute).
    pub fn every_minutes(minutes: u32, description: impl Into<String>, target: Target) -> Self {
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        Rule {
            description: Some(description.into()),
            schedule_expression: format!("rate({minutes} {unit})"),
            state: "ENABLED",
            targets: vec![target],
        }
    }
}
