//! A stack for testing durable execution services: the `conformance` crate's handlers (one
//! per requirement of the official conformance suites) behind a `live` alias, and the two
//! durable functions the `invoke` suite calls (the same binary as an echo and as a failing
//! target). The local cloud runs it with `deployer local --app conformance`.

use crate::checkov::Check;
use crate::resources::iam::Role;
use crate::resources::lambda::{Alias, Code, DurableConfig, Function, LoggingConfig, TracingMode};
use crate::resources::logs::LogGroup;
use crate::webhook::{Lambda, Stage, StageConfig, durable_alias, lambda};
use crate::{Expr, Grant, Handle, Pseudo, RemovalPolicy, Stack, SynthError, Template};

/// The function crate of the stack.
pub const CRATE: &str = "conformance";

/// What the binary is (`functions/conformance`, `main.rs`): unset, the handlers; `echo` or
/// `fail`, an invoke target.
pub const TARGET_ENV: &str = "CONFORMANCE_TARGET";
/// The echo target's alias ARN, for the handlers (`functions/conformance`, `invoke.rs`).
pub const ECHO_ENV: &str = "CONFORMANCE_ECHO_FUNCTION";
/// The failing target's alias ARN, for the handlers.
pub const FAIL_ENV: &str = "CONFORMANCE_FAIL_FUNCTION";

const ENVIRONMENT_SKIP: &str =
    "the environment holds the target kind and the targets' ARNs, no secrets";
const VPC_SKIP: &str = "reaches only the Lambda API: no private network to join";
const LOGS_KMS_SKIP: &str = "test stack: logs hold test payloads only";

pub fn stack() -> Stack {
    let cfg = StageConfig::of(Stage::Dev);
    let mut s = Stack::new(
        "conformance-local",
        "Durable handlers of the official conformance requirements",
    );
    let echo = target(&mut s, "ConformanceEcho", "echo", &cfg);
    let fail = target(&mut s, "ConformanceFail", "fail", &cfg);
    let f = lambda(&mut s, "Conformance", CRATE, &cfg, None, |f| {
        durable(f.description("One handler per conformance requirement"))
            .env(ECHO_ENV, echo.arn())
            .env(FAIL_ENV, fail.arn())
    });
    s.grant(&f.role, Grant::invoke(&echo));
    s.grant(&f.role, Grant::invoke(&fail));
    durable_alias(&mut s, "Conformance", &f);
    s
}

/// The durable settings every function of the stack has.
fn durable(f: Function) -> Function {
    f.memory_mb(256).timeout_s(30).durable(DurableConfig {
        execution_timeout: 86_400,
        retention_period_in_days: 1,
    })
}

/// The `conformance` binary as the invoke target `kind`, durable, behind the `live` alias.
/// Its own log group (`<stack>-<id>`): the targets share the crate, not the logs.
fn target(s: &mut Stack, id: &str, kind: &str, cfg: &StageConfig) -> Handle<Alias> {
    let logs = s.add(
        &format!("{id}Logs"),
        LogGroup::new(
            Expr::sub([
                "/aws/lambda/".into(),
                Expr::pseudo(Pseudo::StackName),
                format!("-{id}").into(),
            ]),
            cfg.log_retention_days,
        ),
    );
    s.skip_check(&logs, Check::LogGroupKms, LOGS_KMS_SKIP);
    let delete = Some(RemovalPolicy::Delete);
    s.removal_policy(&logs, delete, delete);
    let role = s.add(
        &format!("{id}Role"),
        Role::for_service("lambda.amazonaws.com")
            .description(format!("Execution role of the {kind} invoke target")),
    );
    s.grant(&role, Grant::write_logs(&logs));
    s.grant(&role, Grant::put_traces());
    let asset = s.asset(id, CRATE);
    let function = Function::new(Code::from(&asset), role.arn())
        .architecture(cfg.architecture)
        .logging(LoggingConfig::json(logs.name()))
        .tracing(TracingMode::Active)
        .description(format!("The {kind} target of the invoke suite"))
        .env(TARGET_ENV, kind);
    let function = s.add(id, durable(function));
    s.skip_check(&function, Check::LambdaInVpc, VPC_SKIP);
    s.skip_check(&function, Check::LambdaEnvironmentKms, ENVIRONMENT_SKIP);
    let f = Lambda {
        role,
        function,
        asset,
    };
    durable_alias(s, id, &f)
}

pub fn synth() -> Result<Template, SynthError> {
    stack().synth()
}
