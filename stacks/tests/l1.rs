//! Generated L1 types (`stacks::l1`) in a stack: added beside hand-written resources,
//! referred to through their handles, rendered in the schema's order, and checked at synth
//! against the schema's constraints.

use stacks::cfn::{Json, Violation};
use stacks::l1::aws::cloudwatch::alarm::{self, ComparisonOperator, Statistic, TreatMissingData};
use stacks::l1::aws::sqs::Queue;
use stacks::resources::sns::Topic;
use stacks::{Expr, Format, Parameter, Problem, Stack};

/// A stack with a hand-written topic, two generated queues (one the other's dead-letter
/// queue) and a generated alarm on the first queue's depth that notifies the topic.
fn stack() -> Stack {
    let mut stack = Stack::new("l1-demo", "Generated L1 resources beside hand-written ones");
    let topic = stack.add("Alerts", Topic::default());
    let dead = stack.add(
        "DeadLetters",
        Queue::new()
            .message_retention_period(1_209_600)
            .sqs_managed_sse_enabled(true),
    );
    let redrive = Json::object([
        ("deadLetterTargetArn", dead.arn().into()),
        ("maxReceiveCount", 5.into()),
    ]);
    let jobs = stack.add(
        "Jobs",
        Queue::new()
            .visibility_timeout(120)
            .redrive_policy(redrive)
            .sqs_managed_sse_enabled(true),
    );
    stack.add(
        "JobsBacklog",
        alarm::Alarm::new()
            .alarm_description("Jobs are waiting")
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .dimensions([alarm::Dimension::new("QueueName", jobs.queue_name())])
            .statistic(Statistic::Maximum)
            .period(300)
            .evaluation_periods(1)
            .threshold(100)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data(TreatMissingData::NotBreaching)
            .alarm_actions([topic.arn()])
            .ok_actions([topic.arn()]),
    );
    stack
}

#[test]
fn generated_resources_render_in_schema_order_with_references_through_handles() {
    let template = stack().synth().unwrap();
    let t = template.to_value().unwrap();
    let jobs = &t["Resources"]["Jobs"];
    assert_eq!(jobs["Type"], "AWS::SQS::Queue");
    assert_eq!(
        jobs["Properties"]["RedrivePolicy"],
        serde_json::json!({
            "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
            "maxReceiveCount": 5
        })
    );
    let alarm = &t["Resources"]["JobsBacklog"]["Properties"];
    assert_eq!(
        alarm["Dimensions"],
        serde_json::json!([{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Jobs", "QueueName"]}}])
    );
    assert_eq!(
        alarm["AlarmActions"],
        serde_json::json!([{"Ref": "Alerts"}])
    );
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(alarm["Threshold"], 100.0);

    // Keys in the schema's order (cfn-lint's schemas list them alphabetically), numbers as
    // numbers, booleans as booleans.
    let yaml = template.render(Format::Yaml).unwrap();
    let jobs_yaml = yaml.split("  Jobs:\n").nth(1).unwrap();
    let expected = "    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n        deadLetterTargetArn:\n          Fn::GetAtt:\n          - DeadLetters\n          - Arn\n        maxReceiveCount: 5\n      SqsManagedSseEnabled: true\n      VisibilityTimeout: 120\n";
    assert!(jobs_yaml.starts_with(expected), "{jobs_yaml}");
}

#[test]
fn a_generated_resource_is_read_back_through_its_handle() {
    let mut stack = Stack::new("l1-demo", "read back");
    let q = stack.add("Q", Queue::new().delay_seconds(5));
    let got = stack.get(&q).unwrap();
    assert_eq!(
        got.delay_seconds.as_ref().and_then(|v| v.as_lit()),
        Some(&5)
    );
}

#[test]
fn a_literal_outside_the_schema_fails_synth_naming_resource_and_property() {
    let mut stack = stack();
    stack.add(
        "TooShort",
        Queue::new()
            .message_retention_period(30)
            .deduplication_scope("everything")
            .tags([stacks::l1::aws::sqs::queue::Tag::new("", "v")]),
    );
    let err = stack.synth().unwrap_err();
    let messages: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "`TooShort` (AWS::SQS::Queue): MessageRetentionPeriod is 30, outside the schema's range: 60 to 1209600; set a value the schema allows (or an expression, which synth leaves to CloudFormation)",
            "`TooShort` (AWS::SQS::Queue): Tags[0].Key is \"\" (0 characters), shorter than the schema's minLength 1; set a value the schema allows (or an expression, which synth leaves to CloudFormation)",
        ]
    );
    assert!(matches!(
        &err.problems[0],
        Problem::Schema { resource, type_name, violation: Violation { path, .. } }
            if resource.as_str() == "TooShort" && type_name == "AWS::SQS::Queue" && path == "MessageRetentionPeriod"
    ));
}

#[test]
fn an_enum_constraint_and_an_expression_that_synth_cannot_check() {
    let mut stack = Stack::new("l1-demo", "enums");
    let retention = stack.parameter("Retention", Parameter::string("seconds"));
    stack.add(
        "FromParameter",
        Queue::new().message_retention_period(retention.value()),
    );
    stack.add(
        "BadOperator",
        alarm::Alarm::new().comparison_operator("Bigger"),
    );
    let err = stack.synth().unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    let text = err.problems[0].to_string();
    assert!(
        text.starts_with("`BadOperator` (AWS::CloudWatch::Alarm): ComparisonOperator is \"Bigger\", not one of the schema's values: GreaterThanOrEqualToThreshold, GreaterThanThreshold"),
        "{text}"
    );
}

#[test]
fn a_reference_to_a_resource_of_another_stack_is_dangling() {
    let mut other = Stack::new("other", "x");
    let foreign = other.add("Foreign", Queue::new());
    let mut stack = Stack::new("l1-demo", "dangling");
    stack.add(
        "Jobs",
        Queue::new().redrive_policy(Json::object([(
            "deadLetterTargetArn",
            foreign.arn().into(),
        )])),
    );
    let err = stack.synth().unwrap_err();
    assert!(
        matches!(&err.problems[..], [Problem::DanglingReference { to, .. }] if to == "Foreign"),
        "{err}"
    );
}

#[test]
fn enums_convert_to_expressions() {
    assert_eq!(
        Expr::from(ComparisonOperator::LessThanThreshold).as_lit(),
        Some("LessThanThreshold")
    );
    assert!(ComparisonOperator::VALUES.contains(&"GreaterThanOrEqualToThreshold"));
}

#[test]
fn the_replacement_table_knows_every_type() {
    let table = stacks::cfn::replacement("AWS::DynamoDB::Table").unwrap();
    assert!(table.conditional.contains(&"/properties/KeySchema"));
    assert!(!table.create_only.contains(&"/properties/KeySchema"));
    let function = stacks::cfn::replacement("AWS::Lambda::Function").unwrap();
    assert!(function.create_only.contains(&"/properties/FunctionName"));
    assert!(!function.create_only.contains(&"/properties/MemorySize"));
    assert!(function.conditional.contains(&"/properties/DurableConfig"));
    // Whatever the enabled features: EC2 is not a default one.
    assert!(stacks::cfn::replacement("AWS::EC2::VPC").is_some());
    assert!(stacks::cfn::replacement("AWS::Nothing::Here").is_none());
}

#[test]
fn a_tables_key_schema_is_typed_and_its_item_count_checked() {
    use stacks::l1::aws::dynamodb::Table;
    use stacks::l1::aws::dynamodb::table::{AttributeDefinition, KeySchemaItem};
    let mut stack = Stack::new("l1-demo", "tables");
    stack.add(
        "Records",
        Table::new([KeySchemaItem::new("id", "HASH")])
            .attribute_definitions([AttributeDefinition::new("id", "S")])
            .billing_mode("PAY_PER_REQUEST"),
    );
    let t = stack.synth().unwrap().to_value().unwrap();
    assert_eq!(
        t["Resources"]["Records"]["Properties"]["KeySchema"],
        serde_json::json!([{"AttributeName": "id", "KeyType": "HASH"}])
    );
    stack.add("NoKey", Table::new([]));
    let err = stack.synth().unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(
        err.problems[0]
            .to_string()
            .starts_with("`NoKey` (AWS::DynamoDB::Table): KeySchema has 0 items, fewer than the schema's minItems 1"),
        "{err}"
    );
}
