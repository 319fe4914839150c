//! Every synth-time validation, triggered through the public `stacks` API, with the message
//! the user sees. Data-driven through `check`: a stack in, the synth result out.

use expect_test::{Expect, expect};
use stacks::resources::apigateway::{HttpMethod, IntegrationKind, RestApi};
use stacks::resources::dynamodb::{KeyAttribute, Table};
use stacks::resources::iam::{Policy, PolicyDocument, Role};
use stacks::resources::lambda::{
    Alias, Architecture, Code, DurableConfig, Function, Permission, Version,
};
use stacks::resources::logs::LogGroup;
use stacks::webhook::{Stage, StageConfig, webhook_stack};
use stacks::{
    Asset, Grant, Handle, Invocable, RemovalPolicy, RestApiBuilder, Stack, StageSettings,
};

/// A small valid stack with a durable function behind an alias.
struct Mini {
    s: Stack,
    role: Handle<Role>,
    asset: Asset,
    processor: Handle<Function>,
    alias: Handle<Alias>,
    table: Handle<Table>,
}

fn mini() -> Mini {
    let mut s = Stack::new("mini", "validation tests");
    let table = s.add("Table", Table::new(KeyAttribute::string("id")).ttl("ttl"));
    let role = s.add("Role", Role::for_service("lambda.amazonaws.com"));
    let asset = s.asset("Processor", "processor");
    let processor = s.add(
        "Processor",
        Function::new(Code::from(&asset), role.arn()).durable(DurableConfig {
            execution_timeout: 60,
            retention_period_in_days: 1,
        }),
    );
    let policy = s.add(
        "DurablePolicy",
        Policy {
            policy_name: "durable".to_owned(),
            policy_document: PolicyDocument::new(vec![]),
            roles: vec![role.name()],
        },
    );
    s.grant(&policy, Grant::durable_execution(&processor));
    let version = s.add(
        "Version",
        Version {
            function_name: processor.name(),
            description: None,
            code_sha256: None,
        },
    );
    s.removal_policy(&version, None, Some(RemovalPolicy::Retain));
    let alias = s.add(
        "Alias",
        Alias {
            name: "live".to_owned(),
            function_name: processor.name(),
            function_version: version.version(),
            description: None,
        },
    );
    Mini {
        s,
        role,
        asset,
        processor,
        alias,
        table,
    }
}

/// A plain (not durable) function in `m`, with its own asset.
fn plain(m: &mut Mini, id: &str) -> Function {
    let asset = m.s.asset(id, "receiver");
    Function::new(Code::from(&asset), m.role.arn())
}

fn check(stack: &Stack, expect: Expect) {
    let actual = match stack.synth() {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    expect.assert_eq(&actual);
}

#[test]
fn the_mini_stack_is_valid() {
    check(&mini().s, expect!["ok"]);
}

#[test]
fn dangling_reference() {
    let mut m = mini();
    let mut other = Stack::new("other", "");
    let foreign = other.add(
        "ForeignTable",
        Table::new(KeyAttribute::string("id")).ttl("ttl"),
    );
    m.s.grant(&m.role, Grant::table_read(&foreign));
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 1 problem:
          - `Role` refers to `ForeignTable`, which is not in stack `mini`: add it to this stack, or refer to a resource of this stack"#]],
    );
}

#[test]
fn duplicate_logical_ids() {
    let mut m = mini();
    m.s.add("Table", LogGroup::new("g".into(), 7));
    m.s.asset("Processor", "processor");
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 2 problems:
          - logical id `Table` is used twice (AWS::DynamoDB::Table, then AWS::Logs::LogGroup); logical ids must be unique within a stack: rename one of them
          - asset `Processor` is defined twice: give each asset its own id"#]],
    );
}

#[test]
fn invalid_logical_id_and_stack_name() {
    let mut s = Stack::new("1st_stack", "");
    s.add(
        "my-table",
        Table::new(KeyAttribute::string("id")).ttl("ttl"),
    );
    check(
        &s,
        expect![[r#"
        stack `1st_stack` has 2 problems:
          - logical id `my-table` contains '-'; CloudFormation allows only ASCII letters and digits (A-Z, a-z, 0-9)
          - stack name `1st_stack` is invalid: it must start with a letter and contain only letters, digits and hyphens, at most 128 characters"#]],
    );
}

/// Invokes `target` the three ways a stack can: a resource permission, an environment
/// variable of another function, and an IAM statement of another role.
fn invoke_everywhere(m: &mut Mini, target: &impl Invocable) {
    m.s.add(
        "Permission",
        Permission::invoke(
            target.invoke_arn(),
            "events.amazonaws.com",
            "arn:aws:events:::rule/x".into(),
        ),
    );
    let caller = plain(m, "Caller").env("TARGET", target.invoke_arn());
    m.s.add("Caller", caller);
    let caller_role =
        m.s.add("CallerRole", Role::for_service("lambda.amazonaws.com"));
    m.s.grant(&caller_role, Grant::invoke(target));
}

#[test]
fn durable_function_invoked_through_its_unqualified_arn() {
    let mut m = mini();
    let processor = m.processor.clone();
    invoke_everywhere(&mut m, &processor);
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 3 problems:
          - function `Caller` (environment variable TARGET) invokes durable function `Processor` through its unqualified ARN; durable functions must be invoked through a version or alias: use the alias's `arn()` instead
          - an IAM statement of `CallerRole` invokes durable function `Processor` through its unqualified ARN; durable functions must be invoked through a version or alias: use the alias's `arn()` instead
          - permission `Permission` invokes durable function `Processor` through its unqualified ARN; durable functions must be invoked through a version or alias: use the alias's `arn()` instead"#]],
    );
}

#[test]
fn invoking_through_the_alias_is_fine() {
    let mut m = mini();
    let alias = m.alias.clone();
    invoke_everywhere(&mut m, &alias);
    check(&m.s, expect!["ok"]);
}

/// The mini stack with `POST /jobs` integrated with the durable alias as `kind`.
fn jobs_route_to_alias(kind: IntegrationKind) -> (Mini, RestApiBuilder) {
    let mut m = mini();
    let mut api = RestApiBuilder::new(&mut m.s, "Api", RestApi::regional("api".into(), "test"));
    api.route(&mut m.s, HttpMethod::Post, "/jobs", kind, &m.alias);
    (m, api)
}

#[test]
fn synchronous_api_integration_to_a_durable_function() {
    let (m, _) = jobs_route_to_alias(IntegrationKind::LambdaProxy);
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 1 problem:
          - method `ApiPostJobsMethod` integrates synchronously (Lambda proxy) with durable function `Processor`; API Gateway waits at most 29 s, a durable execution runs up to its ExecutionTimeout: start it asynchronously from a receiver function, or use IntegrationKind::LambdaEvent"#]],
    );
}

#[test]
fn asynchronous_api_integration_to_a_durable_alias_is_fine() {
    let (mut m, api) = jobs_route_to_alias(IntegrationKind::LambdaEvent);
    api.deploy(&mut m.s, stage_settings());
    check(&m.s, expect!["ok"]);
}

fn stage_settings() -> StageSettings {
    StageSettings {
        name: "test".to_owned(),
        description: None,
        throttle: None,
        access_logs: None,
        metrics: false,
        tracing: false,
    }
}

#[test]
fn durable_function_without_an_alias() {
    let mut s = Stack::new("noalias", "");
    let role = s.add("Role", Role::for_service("lambda.amazonaws.com"));
    let asset = s.asset("Fn", "processor");
    s.add(
        "Fn",
        Function::new(Code::from(&asset), role.arn()).durable(DurableConfig {
            execution_timeout: 60,
            retention_period_in_days: 1,
        }),
    );
    check(
        &s,
        expect![[r#"
        stack `noalias` has 1 problem:
          - durable function `Fn` has no alias; durable functions must be invoked through a qualified ARN: add an AWS::Lambda::Version and an AWS::Lambda::Alias of it"#]],
    );
}

/// A new version replaces the last at each code change; executions run on the version they
/// started on, so a durable function's versions must outlive their replacement.
#[test]
fn durable_version_not_retained() {
    let mut m = mini();
    let alias = m.alias.clone();
    invoke_everywhere(&mut m, &alias);
    let processor = m.processor.clone();
    let v = m.s.add(
        "Second",
        Version {
            function_name: processor.name(),
            description: None,
            code_sha256: None,
        },
    );
    m.s.removal_policy(&v, Some(RemovalPolicy::Retain), None);
    check(
        &m.s,
        expect![[r#"
            stack `mini` has 1 problem:
              - version `Second` of durable function `Processor` is not retained on replacement; executions run on the version they started on, and a new version replaces this one at each code change: set its UpdateReplacePolicy to Retain (`Stack::removal_policy(&version, None, Some(RemovalPolicy::Retain))`)"#]],
    );
}

#[test]
fn table_without_ttl() {
    let mut m = mini();
    m.s.add("Plain", Table::new(KeyAttribute::string("pk")));
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 1 problem:
          - table `Plain` has no TTL; every table of this project expires its items: set `Table::ttl("<attribute>")`"#]],
    );
}

#[test]
fn out_of_range_values() {
    let mut s = Stack::new("ranges", "");
    let role = s.add("Role", Role::for_service("lambda.amazonaws.com"));
    for (id, memory, timeout, execution, retention) in [
        ("Low", 127, 0, 0, 0),
        ("High", 10_241, 901, 31_622_401, 91),
        ("Edges", 10_240, 900, 31_622_400, 90),
    ] {
        let asset = s.asset(id, "processor");
        let f = s.add(
            id,
            Function::new(Code::from(&asset), role.arn())
                .memory_mb(memory)
                .timeout_s(timeout)
                .durable(DurableConfig {
                    execution_timeout: execution,
                    retention_period_in_days: retention,
                }),
        );
        let v = s.add(
            &format!("{id}Version"),
            Version {
                function_name: f.name(),
                description: None,
                code_sha256: None,
            },
        );
        s.removal_policy(&v, None, Some(RemovalPolicy::Retain));
        s.add(
            &format!("{id}Alias"),
            Alias {
                name: "live".to_owned(),
                function_name: f.name(),
                function_version: v.version(),
                description: None,
            },
        );
    }
    s.add("Logs", LogGroup::new("g".into(), 8));
    check(
        &s,
        expect![[r#"
        stack `ranges` has 9 problems:
          - `High`: MemorySize is 10241 MB, outside 128..=10240 MB; set a value in that range
          - `High`: Timeout is 901 s, outside 1..=900 s; set a value in that range
          - `High`: DurableConfig.ExecutionTimeout is 31622401 s, outside 1..=31622400 s; set a value in that range
          - `High`: DurableConfig.RetentionPeriodInDays is 91 days, outside 1..=90 days; set a value in that range
          - `Logs`: RetentionInDays is 8, which CloudWatch Logs does not accept; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
          - `Low`: MemorySize is 127 MB, outside 128..=10240 MB; set a value in that range
          - `Low`: Timeout is 0 s, outside 1..=900 s; set a value in that range
          - `Low`: DurableConfig.ExecutionTimeout is 0 s, outside 1..=31622400 s; set a value in that range
          - `Low`: DurableConfig.RetentionPeriodInDays is 0 days, outside 1..=90 days; set a value in that range"#]],
    );
}

#[test]
fn dependency_cycle() {
    let mut m = mini();
    // The durable grant in the function's own role: Role -> Processor -> Role.
    m.s.grant(&m.role, Grant::durable_execution(&m.processor));
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 1 problem:
          - dependency cycle between `Processor`, `Role`: CloudFormation cannot create them; break the cycle (a role's statement about the function that uses the role belongs in an AWS::IAM::Policy)"#]],
    );
}

#[test]
fn unused_asset_and_mixed_architectures() {
    let mut m = mini();
    m.s.asset("Orphan", "status");
    let arm = Function::new(Code::from(&m.asset), m.role.arn()).architecture(Architecture::Arm64);
    m.s.add("ArmTwin", arm);
    check(
        &m.s,
        expect![[r#"
        stack `mini` has 2 problems:
          - asset `Orphan` is the code of no function: remove it, or use it in `Function::new`
          - asset `Processor` is the code of functions of different architectures (`ArmTwin`, `Processor`): make one asset per architecture"#]],
    );
}

#[test]
fn a_route_change_redeploys_the_api() {
    let deployment = |paths: &[&str]| {
        let mut m = mini();
        let mut api = RestApiBuilder::new(&mut m.s, "Api", RestApi::regional("api".into(), "test"));
        for p in paths {
            api.route(
                &mut m.s,
                HttpMethod::Post,
                p,
                IntegrationKind::LambdaEvent,
                &m.alias,
            );
        }
        api.deploy(&mut m.s, stage_settings());
        let t = m.s.synth().unwrap().to_value().unwrap();
        t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, r)| r["Type"] == "AWS::ApiGateway::Deployment")
            .map(|(id, r)| (id.clone(), r["DependsOn"].clone()))
            .unwrap()
    };
    let (one, _) = deployment(&["/a"]);
    let (same, _) = deployment(&["/a"]);
    let (two, depends) = deployment(&["/a", "/b/{id}"]);
    assert_eq!(one, same);
    assert_ne!(one, two);
    assert_eq!(
        depends,
        serde_json::json!(["ApiPostAMethod", "ApiPostBIdMethod"])
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut m = mini();
    m.s.add("Plain", Table::new(KeyAttribute::string("pk")));
    m.s.add("Table", Table::new(KeyAttribute::string("pk")).ttl("ttl"));
    let caller =
        m.s.add("CallerRole", Role::for_service("lambda.amazonaws.com"));
    m.s.grant(&caller, Grant::invoke(&m.processor));
    m.s.grant(&caller, Grant::table_read_write(&m.table));
    let err = m.s.synth().unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
}

/// The problems synth reports for a stage with `settings` overridden.
fn setting_problems(stage: Stage, settings: &[(&str, &str)]) -> Vec<String> {
    let mut cfg = StageConfig::of(stage);
    for (k, v) in settings {
        cfg.set(k, v).unwrap();
    }
    match webhook_stack(&cfg).synth() {
        Ok(_) => vec![],
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_setting_is_range_checked_with_its_range() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("ttl-days", "0")],
            "setting `ttl-days` is 0: it must be 1..=3650 days",
        ),
        (
            &[("throttle-rate", "0")],
            "setting `throttle-rate` is 0: it must be a number of requests per second in (0, 10000]",
        ),
        (
            &[("throttle-rate", "inf")],
            "setting `throttle-rate` is inf",
        ),
        (
            &[("throttle-rate", "NaN")],
            "setting `throttle-rate` is NaN",
        ),
        (
            &[("throttle-burst", "0")],
            "setting `throttle-burst` is 0: it must be 1..=5000 requests",
        ),
        (
            &[("throttle-burst", "10")],
            "setting `throttle-burst` is 10: it must be at least the rate (50)",
        ),
        (
            &[("reconcile-minutes", "0")],
            "setting `reconcile-minutes` is 0: it must be 1..=60 minutes",
        ),
        (
            &[("reconcile-grace-s", "0")],
            "setting `reconcile-grace-s` is 0",
        ),
        (
            &[("reconcile-batch", "0")],
            "setting `reconcile-batch` is 0",
        ),
        (
            &[("redrive-window-days", "400")],
            "setting `redrive-window-days` is 400: it must be 1..=365 days",
        ),
        (
            &[("alarm-email", "not an address")],
            "setting `alarm-email` is not an address: it must be an email address",
        ),
        (
            &[("receiver-concurrency", "0")],
            "setting `receiver-concurrency` is 0: it must be 1..=1000 executions",
        ),
        (
            &[("reconciler-concurrency", "1001")],
            "setting `reconciler-concurrency` is 1001: it must be 1..=1000 executions",
        ),
        (
            &[
                ("receiver-concurrency", "500"),
                ("processor-concurrency", "400"),
            ],
            "setting `receiver-concurrency` is 500 (with processor 400, status 5, reconciler 1: 906 in all): it must be lower, or another function's: the four reserve at most 900 executions together",
        ),
        (&[("execution-timeout-s", "0")], "ExecutionTimeout is 0"),
        (&[("retention-days", "91")], "RetentionPeriodInDays is 91"),
    ];
    for (settings, expected) in cases {
        let problems = setting_problems(Stage::Dev, settings);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{settings:?}: {problems:#?}"
        );
    }
    // The record must outlive the durable retention plus the redrive window (prod: 30 + 7).
    let problems = setting_problems(Stage::Prod, &[("ttl-days", "30")]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("at least 37 days"), "{problems:#?}");
    assert!(setting_problems(Stage::Prod, &[("ttl-days", "37")]).is_empty());
    assert!(setting_problems(Stage::Dev, &[("alarm-email", "ops@example.com")]).is_empty());
    // Every stage as defined passes.
    for stage in Stage::ALL {
        assert!(setting_problems(stage, &[]).is_empty(), "{stage}");
    }
}

#[test]
fn a_checkov_skip_says_why_on_one_line_once() {
    use stacks::checkov::Check;
    use stacks::resources::sns::Topic;
    let mut s = Stack::new("skips", "");
    let topic = s.add("Topic", Topic::default());
    s.skip_check(&topic, Check::SnsTopicKms, " ");
    let other = s.add("Other", Topic::default());
    s.skip_check(&other, Check::SnsTopicKms, "first line\nsecond line");
    let twice = s.add("Twice", Topic::default());
    s.skip_check(&twice, Check::SnsTopicKms, "a reason");
    s.skip_check(&twice, Check::SnsTopicKms, "another reason");
    check(
        &s,
        expect![[r#"
            stack `skips` has 3 problems:
              - `Other` skips checkov check CKV_AWS_26 with a reason of several lines: a skip says, on one line, why the check does not apply to the resource, once
              - `Topic` skips checkov check CKV_AWS_26 without a reason: a skip says, on one line, why the check does not apply to the resource, once
              - `Twice` skips checkov check CKV_AWS_26 twice: a skip says, on one line, why the check does not apply to the resource, once"#]],
    );
    let mut s = Stack::new("skips", "");
    let topic = s.add("Topic", Topic::default());
    s.skip_check(&topic, Check::SnsTopicKms, "a reason");
    let t = s.synth().unwrap().to_value().unwrap();
    assert_eq!(
        t["Resources"]["Topic"]["Metadata"],
        serde_json::json!({"checkov": {"skip": [{"id": "CKV_AWS_26", "comment": "a reason"}]}})
    );
}
