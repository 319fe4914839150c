//! Fault switches for tests (`deployer local --fault KIND=TARGET`), each aimed at one
//! durable execution (by name) or one status record (by key), never at "whatever runs
//! next": a test says which webhook it breaks and how.

use std::sync::atomic::{AtomicU32, Ordering};

/// One fault switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Kill the process running the body of `step` of execution `name`, when the body
    /// reports it is running (its log line); the step cannot complete before the kill.
    KillInStep { name: String, step: String },
    /// Record the START of `step` of execution `name` and never answer that checkpoint.
    HoldInStep { name: String, step: String },
    /// The body of `step` of execution `name` panics (the function reads this one itself).
    PanicInStep { name: String, step: String },
    /// Kill the process that starts execution `name` (after its record write, before the
    /// start), and start nothing.
    KillBeforeStart { name: String },
    /// Accept the asynchronous start of execution `name` and drop it, `times` times (as
    /// Lambda drops an event past its maximum age).
    DropStart { name: String, times: u32 },
    /// Answer `ThrottlingException` to the first `times` status updates of record `key`
    /// (its steps' writes, failure writes; not the receiver's insert).
    ThrottleStore { key: String, times: u32 },
    /// Answer `ValidationException` (permanent) to the first `times` status updates of
    /// record `key`.
    BreakStore { key: String, times: u32 },
}

/// `name:step`.
fn name_and_step(kind: &str, target: &str) -> Result<(String, String), String> {
    target
        .split_once(':')
        .filter(|(n, s)| !n.is_empty() && !s.is_empty())
        .map(|(n, s)| (n.to_owned(), s.to_owned()))
        .ok_or_else(|| format!("{kind} takes EXECUTION_NAME:STEP, not `{target}`"))
}

/// `target[:times]`.
fn with_times(kind: &str, target: &str, default: u32) -> Result<(String, u32), String> {
    match target.split_once(':') {
        None if !target.is_empty() => Ok((target.to_owned(), default)),
        Some((t, n)) if !t.is_empty() => n
            .parse()
            .map(|n| (t.to_owned(), n))
            .map_err(|_| format!("{kind}: `{n}` is not a number of times")),
        _ => Err(format!("{kind} takes TARGET[:TIMES], not `{target}`")),
    }
}

impl std::str::FromStr for Fault {
    type Err = String;

    /// `KIND=TARGET`, as `--fault` takes it.
    fn from_str(text: &str) -> Result<Self, String> {
        const KINDS: &str = "kill-in-step, hold-in-step, panic-in-step, kill-before-start, drop-start, throttle-store, break-store";
        let (kind, target) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KIND=TARGET; kinds: {KINDS}"))?;
        Ok(match kind {
            "kill-in-step" => {
                let (name, step) = name_and_step(kind, target)?;
                Fault::KillInStep { name, step }
            }
            "hold-in-step" => {
                let (name, step) = name_and_step(kind, target)?;
                Fault::HoldInStep { name, step }
            }
            "panic-in-step" => {
                let (name, step) = name_and_step(kind, target)?;
                Fault::PanicInStep { name, step }
            }
            "kill-before-start" if !target.is_empty() => Fault::KillBeforeStart {
                name: target.to_owned(),
            },
            "drop-start" => {
                let (name, times) = with_times(kind, target, 1)?;
                Fault::DropStart { name, times }
            }
            "throttle-store" => {
                let (key, times) = with_times(kind, target, 1)?;
                Fault::ThrottleStore { key, times }
            }
            "break-store" => {
                let (key, times) = with_times(kind, target, 1)?;
                Fault::BreakStore { key, times }
            }
            _ => return Err(format!("unknown fault `{text}`; kinds: {KINDS}")),
        })
    }
}

/// A fault and how many more times it fires.
#[derive(Debug)]
struct Armed {
    fault: Fault,
    left: AtomicU32,
}

/// The faults of one local cloud.
#[derive(Debug, Default)]
pub struct Faults(Vec<Armed>);

/// What the DynamoDB front answers instead of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFault {
    Throttle,
    Break,
}

impl Faults {
    pub fn new(faults: Vec<Fault>) -> Self {
        Faults(
            faults
                .into_iter()
                .map(|fault| {
                    let times = match &fault {
                        Fault::DropStart { times, .. }
                        | Fault::ThrottleStore { times, .. }
                        | Fault::BreakStore { times, .. } => *times,
                        _ => 1,
                    };
                    Armed {
                        fault,
                        left: AtomicU32::new(times),
                    }
                })
                .collect(),
        )
    }

    /// Fires the first armed fault `matches` picks, once; whether one fired.
    fn fire(&self, matches: impl Fn(&Fault) -> bool) -> bool {
        self.0.iter().any(|a| {
            matches(&a.fault)
                && a.left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
        })
    }

    /// Whether a kill of `step` of `name` is still to come (it may be consumed by
    /// [`Faults::kill_now`]).
    pub fn kill_pending(&self, name: &str, step: &str) -> bool {
        self.0.iter().any(|a| {
            matches!(&a.fault, Fault::KillInStep { name: n, step: s } if n == name && s == step)
                && a.left.load(Ordering::SeqCst) > 0
        })
    }

    /// Whether the body of `step` of `name` is to be killed now (once).
    pub fn kill_now(&self, name: &str, step: &str) -> bool {
        self.fire(|f| matches!(f, Fault::KillInStep { name: n, step: s } if n == name && s == step))
    }

    /// Whether the START checkpoint of `step` of `name` is to be held (once).
    pub fn hold(&self, name: &str, step: &str) -> bool {
        self.fire(|f| matches!(f, Fault::HoldInStep { name: n, step: s } if n == name && s == step))
    }

    /// Whether the process starting `name` is to be killed first (once).
    pub fn kill_before_start(&self, name: &str) -> bool {
        self.fire(|f| matches!(f, Fault::KillBeforeStart { name: n } if n == name))
    }

    /// Whether the asynchronous start of `name` is to be dropped (this time).
    pub fn drop_start(&self, name: &str) -> bool {
        self.fire(|f| matches!(f, Fault::DropStart { name: n, .. } if n == name))
    }

    /// Whether any store fault is armed (the DynamoDB front runs only then).
    pub fn touch_store(&self) -> bool {
        self.0.iter().any(|a| {
            matches!(
                a.fault,
                Fault::ThrottleStore { .. } | Fault::BreakStore { .. }
            )
        })
    }

    /// The fault to answer a status update of record `key` with, if any.
    pub fn store(&self, key: &str) -> Option<StoreFault> {
        if self.fire(|f| matches!(f, Fault::ThrottleStore { key: k, .. } if k == key)) {
            return Some(StoreFault::Throttle);
        }
        self.fire(|f| matches!(f, Fault::BreakStore { key: k, .. } if k == key))
            .then_some(StoreFault::Break)
    }

    /// What the function processes must be told (`WEBHOOK_LOCAL_FAULTS`), if anything.
    pub fn for_functions(&self) -> Option<String> {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter_map(|a| match &a.fault {
                Fault::PanicInStep { name, step } => Some(format!("panic-in-step={name}:{step}")),
                _ => None,
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_refuses_the_rest() {
        let ok = [
            (
                "kill-in-step=wh_1:process",
                Fault::KillInStep {
                    name: "wh_1".into(),
                    step: "process".into(),
                },
            ),
            (
                "drop-start=wh_1",
                Fault::DropStart {
                    name: "wh_1".into(),
                    times: 1,
                },
            ),
            (
                "drop-start=wh_1:5",
                Fault::DropStart {
                    name: "wh_1".into(),
                    times: 5,
                },
            ),
            (
                "throttle-store=wh_2:10",
                Fault::ThrottleStore {
                    key: "wh_2".into(),
                    times: 10,
                },
            ),
            (
                "kill-before-start=wh_3",
                Fault::KillBeforeStart {
                    name: "wh_3".into(),
                },
            ),
        ];
        for (text, fault) in ok {
            assert_eq!(text.parse::<Fault>(), Ok(fault), "{text}");
        }
        for bad in [
            "nope",
            "explode=x",
            "kill-in-step=wh_1",
            "drop-start=x:many",
            "kill-before-start=",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn faults_fire_as_often_as_asked_and_only_for_their_target() {
        let f = Faults::new(vec![
            "drop-start=a:2".parse().unwrap(),
            "break-store=k:1".parse().unwrap(),
            "kill-in-step=a:process".parse().unwrap(),
        ]);
        assert!(!f.drop_start("b"));
        assert!(f.drop_start("a") && f.drop_start("a") && !f.drop_start("a"));
        assert_eq!(f.store("j"), None, "another record");
        assert_eq!(f.store("k"), Some(StoreFault::Break));
        assert_eq!(f.store("k"), None, "once");
        assert!(f.kill_pending("a", "process") && !f.kill_pending("a", "validate"));
        assert!(f.kill_now("a", "process"));
        assert!(!f.kill_pending("a", "process") && !f.kill_now("a", "process"));
        assert!(f.touch_store());
        assert_eq!(f.for_functions(), None);
    }
}
