//! `AWS::CloudWatch::Alarm`.

use crate::Expr;
use crate::l1::aws::cloudwatch::alarm as l1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Maximum,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
}

/// What an alarm does while a period has no data points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingData {
    NotBreaching,
}

/// A metric dimension.
#[derive(Clone, Debug)]
pub struct Dimension {
    pub name: String,
    pub value: Expr,
}

/// An alarm on one metric that notifies `actions` when it fires and when it recovers.
#[derive(Clone, Debug)]
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
    pub alarm_actions: Vec<Expr>,
    pub ok_actions: Vec<Expr>,
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

impl super::Lower for Alarm {
    type L1 = l1::Alarm;
    fn lower(&self) -> l1::Alarm {
        let statistic = match self.statistic {
            Statistic::Sum => l1::Statistic::Sum,
            Statistic::Maximum => l1::Statistic::Maximum,
        };
        let Comparison::GreaterThanOrEqualToThreshold = self.comparison_operator;
        let MissingData::NotBreaching = self.treat_missing_data;
        l1::Alarm::new()
            .alarm_description(self.alarm_description.clone())
            .namespace(self.namespace.clone())
            .metric_name(self.metric_name.clone())
            .dimensions(
                self.dimensions
                    .iter()
                    .map(|d| l1::Dimension::new(d.name.clone(), d.value.clone())),
            )
            .statistic(statistic)
            .period(self.period)
            .evaluation_periods(self.evaluation_periods)
            .threshold(self.threshold)
            .comparison_operator(l1::ComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data(l1::TreatMissingData::NotBreaching)
            .alarm_actions(self.alarm_actions.iter().cloned())
            .ok_actions(self.ok_actions.iter().cloned())
    }
}
