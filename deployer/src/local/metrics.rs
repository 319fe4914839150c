//! CloudWatch on one machine, as far as alarms need it: metric data points (from the local
//! services and from the functions' embedded-metric-format log lines) and the template's
//! `AWS::CloudWatch::Alarm`s evaluated over them, each state change a log line.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How an alarm aggregates a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Maximum,
}

/// An alarm of the template, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSpec {
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Statistic,
    pub threshold: f64,
    pub period: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// Alarm id -> the data points of its metric within its period, oldest first.
    windows: BTreeMap<String, VecDeque<(Instant, f64)>>,
    /// Alarm id -> in ALARM.
    alarming: BTreeMap<String, bool>,
    /// Alarm id -> how many times it went into ALARM.
    fired: BTreeMap<String, u32>,
    /// `namespace/metric` -> total of every data point.
    totals: BTreeMap<String, f64>,
}

/// The metrics and alarms of one local cloud.
#[derive(Debug)]
pub struct Metrics {
    alarms: Vec<AlarmSpec>,
    state: Mutex<State>,
    /// Every call to a local service: (service, operation) -> how many.
    calls: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// DynamoDB operation -> the capacity units its calls consumed (audited calls only).
    capacity: Mutex<BTreeMap<String, Units>>,
    /// Function -> the bytes of log lines its processes wrote (what CloudWatch Logs would
    /// ingest), newline included.
    log_bytes: Mutex<BTreeMap<String, u64>>,
    /// Function -> its invocations that answered and their billed duration.
    billed: Mutex<BTreeMap<String, Billed>>,
}

/// Invocations and their duration as Lambda bills it (each rounded up to 1 ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Billed {
    pub invocations: u64,
    pub ms: u64,
}

/// DynamoDB capacity units: what on-demand tables bill as read and write request units.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

impl AlarmSpec {
    fn watches(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &BTreeMap<String, String>,
    ) -> bool {
        self.namespace == namespace
            && self.metric == metric
            && self
                .dimensions
                .iter()
                .all(|(k, v)| dimensions.get(k) == Some(v))
    }

    /// The statistic over `window`, if it has points.
    fn value(&self, window: &VecDeque<(Instant, f64)>) -> Option<f64> {
        let values = window.iter().map(|(_, v)| *v);
        match self.statistic {
            Statistic::Sum => values.reduce(|a, b| a + b),
            Statistic::Maximum => values.reduce(f64::max),
        }
    }
}

impl Metrics {
    pub fn new(alarms: Vec<AlarmSpec>) -> Self {
        Metrics {
            alarms,
            state: Mutex::new(State::default()),
            calls: Mutex::new(BTreeMap::new()),
            capacity: Mutex::new(BTreeMap::new()),
            log_bytes: Mutex::new(BTreeMap::new()),
            billed: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds one invocation of `function` that ended (answered, timed out or crashed) after `ran`.
    pub fn billed(&self, function: &str, ran: Duration) {
        let mut billed = self.billed.lock().unwrap_or_else(|p| p.into_inner());
        let b = billed.entry(function.to_owned()).or_default();
        b.invocations += 1;
        b.ms += ran.as_micros().div_ceil(1000) as u64;
    }

    /// Adds one log line of `function` of `bytes` bytes (newline included).
    pub fn logged(&self, function: &str, bytes: usize) {
        let mut logs = self.log_bytes.lock().unwrap_or_else(|p| p.into_inner());
        *logs.entry(function.to_owned()).or_default() += bytes as u64;
    }

    /// Adds the capacity one DynamoDB call of `operation` consumed.
    pub fn consume(&self, operation: &str, units: Units) {
        let mut capacity = self.capacity.lock().unwrap_or_else(|p| p.into_inner());
        let sum = capacity.entry(operation.to_owned()).or_default();
        sum.read += units.read;
        sum.write += units.write;
    }

    /// The DynamoDB capacity consumed so far, by operation.
    pub fn capacity(&self) -> BTreeMap<String, Units> {
        self.capacity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Counts one call of `operation` to `service` (`apigateway`, `lambda`, `dynamodb`).
    pub fn count(&self, service: &'static str, operation: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry((service, operation.to_owned())).or_default() += 1;
    }

    /// The calls counted so far: service -> operation -> count.
    pub fn calls(&self) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
        for ((service, op), n) in calls.iter() {
            out.entry(service).or_default().insert(op.clone(), *n);
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one data point and evaluates the alarms that watch it (each keeps only its
    /// own period's points: a metric no alarm watches costs a total and nothing else).
    pub fn put(&self, namespace: &str, metric: &str, dimensions: &[(&str, &str)], value: f64) {
        let dimensions: BTreeMap<String, String> = dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // The log shows the points an alarm watches, but not zeros (a reconciler run that
        // found nothing): the log stays readable under load.
        let watched = self
            .alarms
            .iter()
            .any(|a| a.watches(namespace, metric, &dimensions));
        if watched && value != 0.0 {
            let shown: Vec<String> = dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!(
                "[local] metric {namespace}/{metric} {{{}}} {value}",
                shown.join(",")
            );
        }
        let now = Instant::now();
        let mut state = self.lock();
        *state
            .totals
            .entry(format!("{namespace}/{metric}"))
            .or_default() += value;
        for alarm in &self.alarms {
            if alarm.watches(namespace, metric, &dimensions) {
                state
                    .windows
                    .entry(alarm.id.clone())
                    .or_default()
                    .push_back((now, value));
                Self::evaluate_one(&mut state, alarm, now);
            }
        }
    }

    /// The data points of an embedded-metric-format log line, if `line` is one.
    pub fn put_emf(&self, line: &str) {
        let Some(doc) = line
            .trim()
            .starts_with('{')
            .then(|| serde_json::from_str::<Value>(line.trim()).ok())
            .flatten()
        else {
            return;
        };
        for directive in doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let namespace = directive["Namespace"].as_str().unwrap_or("default");
            let dims: Vec<(String, String)> = directive["Dimensions"][0]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| {
                    let name = d.as_str()?;
                    Some((name.to_owned(), doc[name].as_str()?.to_owned()))
                })
                .collect();
            let dims: Vec<(&str, &str)> =
                dims.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            for m in directive["Metrics"].as_array().into_iter().flatten() {
                let Some(name) = m["Name"].as_str() else {
                    continue;
                };
                if let Some(value) = doc[name].as_f64() {
                    self.put(namespace, name, &dims, value);
                }
            }
        }
    }

    /// Drops the points of `alarm` older than its period and logs a change of state.
    fn evaluate_one(state: &mut State, alarm: &AlarmSpec, now: Instant) {
        let window = state.windows.entry(alarm.id.clone()).or_default();
        while window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > alarm.period)
        {
            window.pop_front();
        }
        let value = alarm.value(window);
        let breaching = value.is_some_and(|v| v >= alarm.threshold);
        let was = state
            .alarming
            .insert(alarm.id.clone(), breaching)
            .unwrap_or(false);
        if breaching && !was {
            *state.fired.entry(alarm.id.clone()).or_default() += 1;
            eprintln!(
                "[local] alarm {} is ALARM: {}/{} {:?} {} >= {} (the stage's alarm topic is notified)",
                alarm.id,
                alarm.namespace,
                alarm.metric,
                alarm.statistic,
                value.unwrap_or_default(),
                alarm.threshold
            );
        } else if !breaching && was {
            eprintln!("[local] alarm {} is OK", alarm.id);
        }
    }

    /// Re-evaluates every alarm (as periods pass with no new data).
    pub fn evaluate(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        for alarm in &self.alarms {
            Self::evaluate_one(&mut state, alarm, now);
        }
    }

    /// Totals per metric and alarm states, for `/_local/stats`.
    pub fn snapshot(&self) -> Value {
        let state = self.lock();
        let alarms: serde_json::Map<String, Value> = self
            .alarms
            .iter()
            .map(|a| {
                let on = state.alarming.get(&a.id).copied().unwrap_or(false);
                let fired = state.fired.get(&a.id).copied().unwrap_or(0);
                (
                    a.id.clone(),
                    json!({"state": if on { "ALARM" } else { "OK" }, "fired": fired}),
                )
            })
            .collect();
        json!({
            "metrics": state.totals,
            "alarms": alarms,
            "calls": self.calls(),
            "capacity": {"dynamodb": self.capacity()},
            "logBytes": *self.log_bytes.lock().unwrap_or_else(|p| p.into_inner()),
            "billed": *self.billed.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuck_alarm() -> AlarmSpec {
        AlarmSpec {
            id: "StuckAlarm".into(),
            namespace: "Webhooks".into(),
            metric: "Stuck".into(),
            dimensions: BTreeMap::from([("Stage".into(), "dev".into())]),
            statistic: Statistic::Maximum,
            threshold: 1.0,
            period: Duration::from_secs(60),
        }
    }

    #[test]
    fn calls_are_counted_by_service_and_operation() {
        let m = Metrics::new(vec![]);
        m.count("dynamodb", "GetItem");
        m.count("dynamodb", "GetItem");
        m.count("lambda", "Invoke");
        assert_eq!(
            m.snapshot()["calls"],
            json!({"dynamodb": {"GetItem": 2}, "lambda": {"Invoke": 1}})
        );
    }

    #[test]
    fn an_emf_line_feeds_the_alarm_of_its_metric_and_dimensions() {
        let m = Metrics::new(vec![stuck_alarm()]);
        let line = |stage: &str, stuck: u32| {
            json!({
                "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "Webhooks",
                    "Dimensions": [["Stage"]], "Metrics": [{"Name": "Stuck", "Unit": "Count"}]}]},
                "Stage": stage, "Stuck": stuck,
            })
            .to_string()
        };
        m.put_emf(&line("dev", 0));
        assert_eq!(m.snapshot()["alarms"]["StuckAlarm"]["state"], "OK");
        m.put_emf(&line("prod", 5));
        assert_eq!(
            m.snapshot()["alarms"]["StuckAlarm"]["state"],
            "OK",
            "another stage"
        );
        m.put_emf(&line("dev", 2));
        let s = m.snapshot();
        assert_eq!(
            s["alarms"]["StuckAlarm"],
            json!({"state": "ALARM", "fired": 1})
        );
        assert_eq!(s["metrics"]["Webhooks/Stuck"], 7.0);
        m.put_emf("not json");
        m.put_emf(r#"{"level":"INFO"}"#);
    }
}
