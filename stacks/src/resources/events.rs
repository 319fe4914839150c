//! `AWS::Events::Rule`: a schedule that invokes a target.

use crate::Expr;
use crate::l1::aws::events::rule as l1;

/// What a rule invokes.
#[derive(Clone, Debug)]
pub struct Target {
    pub arn: Expr,
    /// The target's id within the rule.
    pub id: String,
}

/// A rule that fires on a schedule (`rate(5 minutes)`).
#[derive(Clone, Debug)]
pub struct Rule {
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

impl super::Lower for Rule {
    type L1 = l1::Rule;
    fn lower(&self) -> l1::Rule {
        let mut r = l1::Rule::new()
            .schedule_expression(self.schedule_expression.clone())
            .state(self.state)
            .targets(
                self.targets
                    .iter()
                    .map(|t| l1::Target::new(t.arn.clone(), t.id.clone())),
            );
        r.description = self.description.clone().map(Expr::lit);
        r
    }
}
