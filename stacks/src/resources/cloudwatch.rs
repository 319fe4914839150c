//! `AWS::CloudWatch::Alarm`.

use serde::{Serialize, Serializer};

use crate::Expr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Statistic {
    Sum,
    Maximum,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
}

/// What an alarm does while a period has no data points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    NotBreaching,
}

/// A metric dimension.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: Expr,
}

/// An alarm on one metric that notifies `actions` when it fires and when it recovers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    pub statistic: Statistic,
    /// Seconds per evaluated period (10, 30 or a multiple of 60).
    pub period: u32,
    pub evaluation_periods: u32,
    pub threshold: f64,
    pub comparison_operator: Comparison,
    pub treat_missing_data: MissingData,
    #[serde(serialize_with = "list")]
    pub alarm_actions: Vec<Expr>,
    #[serde(rename = "OKActions", serialize_with = "list")]
    pub ok_actions: Vec<Expr>,
}

fn list<S: Serializer>(v: &[Expr], s: S) -> Result<S::Ok, S::Error> {
    v.serialize(s)
}

impl Alarm {
    /// Fires when `statistic` of `namespace`/`metric` reaches `threshold` in a period of
    /// `period` seconds; notifies `topic` on entering and leaving the alarm state.
    pub fn at_least(
        description: impl Into<String>,
        (namespace, metric): (&str, &str),
        dimensions: Vec<Dimension>,
        statistic: Statistic,
        threshold: f64,
        period: u32,
        topic: Expr,
    ) -> Self {
        Alarm {
            alarm_description: description.into(),
            namespace: namespace.to_owned(),
            metric_name: metric.to_owned(),
            dimensions,
            statistic,
            period,
            evaluation_periods: 1,
            threshold,
            comparison_operator: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: MissingData::NotBreaching,
            alarm_actions: vec![topic.clone()],
            ok_actions: vec![topic],
        }
    }
}
