//! The open set's escape hatches: property overrides on any resource (hand-written or
//! generated), deletion overrides, raw resources of types the schemas do not know, and the
//! errors synth gives when an override cannot be applied.

use stacks::cfn::{Json, RawResource};
use stacks::l1::aws::sqs::Queue;
use stacks::resources::lambda::Function;
use stacks::resources::sns::Topic;
use stacks::webhook::{self, Stage};
use stacks::{Format, Problem, Stack};

#[test]
fn an_override_changes_only_its_property_of_the_webhook_stack() {
    let plain = webhook::synth(Stage::Dev).unwrap().to_value().unwrap();
    let mut stack = webhook::stack(Stage::Dev);
    let receiver = stack
        .find::<Function>("Receiver")
        .expect("the receiver is in the stack");
    assert!(stack.find::<Queue>("Receiver").is_none(), "not a queue");
    stack.override_property(&receiver, "EphemeralStorage.Size", Json::Int(1024));
    stack.override_property(&receiver, "MemorySize", Json::Int(512));
    let overridden = stack.synth().unwrap().to_value().unwrap();
    let mut expected = plain.clone();
    let props = &mut expected["Resources"]["Receiver"]["Properties"];
    props["EphemeralStorage"] = serde_json::json!({"Size": 1024});
    props["MemorySize"] = serde_json::json!(512);
    assert_ne!(plain, overridden);
    assert_eq!(expected, overridden);
}

#[test]
fn a_raw_resource_and_an_override_with_a_reference_are_checked_like_the_rest() {
    let mut stack = Stack::new("raw-demo", "raw resources");
    let topic = stack.add("Alerts", Topic::default());
    let raw = stack.add(
        "Thing",
        RawResource::new(
            "AWS::Future::Thing",
            Json::object([("Notify", topic.arn().into())]),
        ),
    );
    // A literal `Ref` (not a handle) to a resource the stack does not hold.
    stack.override_property(
        &raw,
        "Also",
        Json::from(serde_json::json!({"Ref": "Ghost"})),
    );
    let err = stack.synth().unwrap_err();
    assert_eq!(
        err.problems,
        [Problem::DanglingReference {
            stack: "raw-demo".into(),
            from: raw.logical_id().clone(),
            to: "Ghost".into(),
        }]
    );
}

#[test]
fn an_override_that_cannot_be_applied_fails_synth_and_says_where() {
    let mut stack = Stack::new("bad-override", "bad overrides");
    let queue = stack.add("Jobs", Queue::new().queue_name("jobs"));
    stack.override_property(&queue, "QueueName.Suffix", "x");
    stack.delete_property(&queue, "DelaySeconds");
    let err = stack.synth().unwrap_err();
    let messages: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "`Jobs`: a property override cannot be applied: `QueueName` is a string, not an object or list: the override of `QueueName.Suffix` cannot go below it"
        ]
    );
    stack = Stack::new("bad-override", "bad overrides");
    let queue = stack.add("Jobs", Queue::new());
    stack.delete_property(&queue, "DelaySeconds");
    let err = stack.synth().unwrap_err().to_string();
    assert!(
        err.contains("`DelaySeconds` is not set, so there is nothing to delete"),
        "{err}"
    );
}

#[test]
fn overrides_keep_the_key_order_of_the_rendered_resource() {
    let mut stack = Stack::new("order", "order");
    let queue = stack.add("Jobs", Queue::new().delay_seconds(5).visibility_timeout(30));
    stack.override_property(&queue, "DelaySeconds", Json::Int(6));
    let yaml = stack.synth().unwrap().render(Format::Yaml).unwrap();
    assert!(
        yaml.contains("Properties:\n      DelaySeconds: 6\n      VisibilityTimeout: 30\n"),
        "{yaml}"
    );
}
