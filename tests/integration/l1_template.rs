//! Generated L1 resources (`stacks::l1`) beside hand-written ones: a stack with generated
//! SQS queues and a CloudWatch alarm, referring to each other and to a hand-written topic
//! through handles, synthesizes to a template the pinned cfn-lint accepts (informational
//! findings included).

use std::path::Path;

use serde_json::Value;
use stacks::cfn::Json;
use stacks::l1::aws::cloudwatch::alarm::{Alarm, ComparisonOperator, Dimension, Statistic};
use stacks::l1::aws::sqs::Queue;
use stacks::resources::sns::Topic;
use stacks::{Format, RemovalPolicy, Stack};

/// An alarm when 100 messages or more wait in the queue named `queue_name` (5 minutes).
fn backlog(queue_name: stacks::Expr) -> Alarm {
    Alarm::new()
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions([Dimension::new("QueueName", queue_name)])
        .statistic(Statistic::Maximum)
        .period(300)
        .evaluation_periods(1)
        .threshold(100)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
}

fn stack() -> Stack {
    let mut stack = Stack::new("l1-demo", "Generated L1 resources beside hand-written ones");
    let topic = stack.add("Alerts", Topic::default());
    let dead = stack.add(
        "DeadLetters",
        Queue::new()
            .message_retention_period(1_209_600)
            .sqs_managed_sse_enabled(true),
    );
    let jobs = stack.add(
        "Jobs",
        Queue::new()
            .message_retention_period(345_600)
            .visibility_timeout(120)
            .sqs_managed_sse_enabled(true)
            .redrive_policy(Json::object([
                ("deadLetterTargetArn", dead.arn().into()),
                ("maxReceiveCount", 5.into()),
            ])),
    );
    stack.add(
        "JobsBacklog",
        backlog(jobs.queue_name())
            .alarm_description("Jobs are waiting")
            .alarm_actions([topic.arn()]),
    );
    // Messages are data: say what happens to them (cfn-lint's I3011).
    let delete = Some(RemovalPolicy::Delete);
    stack.removal_policy(&dead, delete, delete);
    stack.removal_policy(&jobs, delete, delete);
    stack
}

fn cfn_lint(files: &[&Path]) -> Vec<Value> {
    let cfn_lint = tests::venv_tool("cfn-lint", "CFN_LINT");
    let mut args = vec!["--format", "json", "--include-checks", "I", "--"];
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let run = tests::run(&cfn_lint, &args);
    let findings: Vec<Value> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("cfn-lint did not print JSON ({e}):\n{run}"));
    assert_eq!(run.code == Some(0), findings.is_empty(), "{run}");
    findings
}

#[test]
fn a_template_with_generated_resources_passes_cfn_lint() {
    let template = stack().synth().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("l1.yaml");
    let json = dir.path().join("l1.json");
    std::fs::write(&yaml, template.render(Format::Yaml).unwrap()).unwrap();
    std::fs::write(&json, template.render(Format::Json).unwrap()).unwrap();
    let findings = cfn_lint(&[&yaml, &json]);
    assert!(findings.is_empty(), "cfn-lint found: {findings:#?}");
}

#[test]
fn cfn_lint_sees_what_synth_cannot_check() {
    // The lint is not vacuous: the same template with a value outside the schema's range.
    let mut t = stack().synth().unwrap().to_value().unwrap();
    t["Resources"]["Jobs"]["Properties"]["VisibilityTimeout"] = 50_000.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, serde_json::to_string_pretty(&t).unwrap()).unwrap();
    let findings = cfn_lint(&[&path]);
    let rules: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["Rule"]["Id"].as_str())
        .collect();
    assert_eq!(rules, ["E3034"], "{findings:#?}");
}

/// README's example: a queue and an alarm on its backlog added to the webhook stack in a
/// few typed lines; the template passes cfn-lint (no finding about either, informational
/// ones included).
#[test]
fn the_readme_example_extends_the_webhook_stack_cfn_lint_clean() {
    let mut s = stacks::webhook::stack(stacks::webhook::Stage::Dev);
    let jobs = s.add(
        "Jobs",
        Queue::new()
            .message_retention_period(4 * 86_400)
            .visibility_timeout(120)
            .sqs_managed_sse_enabled(true),
    );
    s.removal_policy(
        &jobs,
        Some(RemovalPolicy::Delete),
        Some(RemovalPolicy::Delete),
    );
    s.add("JobsBacklog", backlog(jobs.queue_name()));
    let template = s.synth().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("webhooks-dev.yaml");
    std::fs::write(&yaml, template.render(Format::Yaml).unwrap()).unwrap();
    let about_them: Vec<Value> = cfn_lint(&[&yaml])
        .into_iter()
        .filter(|f| {
            let path = f["Location"]["Path"].to_string();
            path.contains("\"Jobs\"") || path.contains("\"JobsBacklog\"")
        })
        .collect();
    assert!(about_them.is_empty(), "cfn-lint found: {about_them:#?}");
    let value = template.to_value().unwrap();
    assert_eq!(
        value["Resources"]["JobsBacklog"]["Properties"]["Dimensions"][0]["Value"],
        serde_json::json!({"Fn::GetAtt": ["Jobs", "QueueName"]})
    );
}
