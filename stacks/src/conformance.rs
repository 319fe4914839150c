//! A one-function stack for testing durable execution services: the `conformance` crate's
//! handlers (one per requirement of the official conformance suites) behind a `live`
//! alias. The local cloud runs it with `deployer local --app conformance`.

use crate::resources::lambda::DurableConfig;
use crate::webhook::{Stage, StageConfig, durable_alias, lambda};
use crate::{Stack, SynthError, Template};

/// The function crate of the stack.
pub const CRATE: &str = "conformance";

pub fn stack() -> Stack {
    let cfg = StageConfig::of(Stage::Dev);
    let mut s = Stack::new(
        "conformance-local",
        "Durable handlers of the official conformance requirements",
    );
    let f = lambda(&mut s, "Conformance", CRATE, &cfg, None, |f| {
        f.description("One handler per conformance requirement")
            .memory_mb(256)
            .timeout_s(30)
            .durable(DurableConfig {
                execution_timeout: 86_400,
                retention_period_in_days: 1,
            })
    });
    durable_alias(&mut s, "Conformance", &f);
    s
}

pub fn synth() -> Result<Template, SynthError> {
    stack().synth()
}
