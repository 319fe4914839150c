//! Faults the local cloud's tests inject inside a function (everything else is injected from
//! outside, by the local cloud itself). Read once from `WEBHOOK_LOCAL_FAULTS`, which only
//! `deployer local --fault` sets; no template ever sets it, so in AWS this is inert.
//!
//! The value is a comma-separated list of `<kind>=<execution name>:<step>`; the one kind a
//! function has to cooperate with is `panic-in-step`: the processor's step body panics.

use webhook_contract::env;

/// A fault inside a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The body of `step` of execution `name` panics (every attempt).
    PanicInStep { name: String, step: String },
}

/// The faults of this process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults(Vec<Fault>);

impl Faults {
    /// The faults `WEBHOOK_LOCAL_FAULTS` asks for; kinds that other parts of the local cloud
    /// inject are ignored here.
    pub fn from_env() -> Self {
        std::env::var(env::LOCAL_FAULTS)
            .map(|v| Faults::parse(&v))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> Self {
        Faults(
            text.split(',')
                .filter_map(|entry| {
                    let (kind, target) = entry.trim().split_once('=')?;
                    let (name, step) = target.split_once(':')?;
                    match kind {
                        "panic-in-step" => Some(Fault::PanicInStep {
                            name: name.to_owned(),
                            step: step.to_owned(),
                        }),
                        _ => None,
                    }
                })
                .collect(),
        )
    }

    /// Whether the body of `step` of execution `name` must panic.
    pub fn panics(&self, name: &str, step: &str) -> bool {
        self.0.iter().any(|f| match f {
            Fault::PanicInStep { name: n, step: s } => n == name && s == step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_panics_where_asked() {
        let f = Faults::parse("kill-in-step=a:process, panic-in-step=wh_1:process,junk");
        assert!(f.panics("wh_1", "process"));
        assert!(!f.panics("wh_1", "validate"));
        assert!(!f.panics("a", "process"));
        assert_eq!(Faults::parse(""), Faults::default());
    }
}
