//! The generator against the pinned schemas and a fixture: snapshots of generated source
//! (`UPDATE_EXPECT=1 cargo test -p xtask` rewrites them), the required properties of every
//! type as constructor arguments, deterministic output.

use expect_test::expect_file;
use xtask::model::{Resource, Ty};
use xtask::pinned::{self, Input};
use xtask::schema::ResourceSchema;
use xtask::{emit, layout, lower};

fn input() -> Input {
    pinned::load(&xtask::root()).expect("the pinned input loads")
}

fn lowered(input: &Input, type_name: &str) -> Resource {
    let schema = input
        .schemas
        .iter()
        .find(|s| s.type_name == type_name)
        .expect("the type is pinned");
    let all = input.getatts.all_properties.contains(&schema.type_name);
    let exceptions = input.getatts.exceptions.get(type_name).cloned();
    lower::resource(schema, all, &exceptions.unwrap_or_default())
}

#[test]
fn snapshot_of_the_sqs_queue_module() {
    let input = input();
    let header = layout::header(&input.cfn_lint);
    let text = emit::module(&lowered(&input, "AWS::SQS::Queue"), &header);
    expect_file!["snapshots/aws_sqs_queue.rs.txt"].assert_eq(&text);
}

#[test]
fn snapshot_of_the_lambda_functions_durable_config() {
    let function = lowered(&input(), "AWS::Lambda::Function");
    let durable = function.structs.iter().find(|s| s.name == "DurableConfig");
    let mut text = String::new();
    emit::structure(&mut text, durable.expect("Function has DurableConfig"));
    expect_file!["snapshots/aws_lambda_function_durable_config.rs.txt"].assert_eq(&text);
    let field = function.structs[0]
        .fields
        .iter()
        .find(|f| f.json == "DurableConfig")
        .expect("a DurableConfig property");
    assert_eq!(field.ty, Ty::Struct("DurableConfig".into()));
    assert!(!field.required);
}

/// Every shape the generator handles, in one schema: a typed value or JSON (`Keys`: the
/// typed one), an inline object the same as another (`MoreKeys`' items: one struct).
const FIXTURE: &str = r##"{
  "typeName": "AWS::Demo::Thing",
  "description": "A thing.\n    indented, not code\n```\nfenced\n```",
  "properties": {
    "Arn": {"type": "string"},
    "Name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z]+$"},
    "Type": {"type": "string", "enum": ["small", "x86_64", "VALUES", "Self"]},
    "Size": {"type": "integer", "minimum": 1, "maximum": 10},
    "Ratio": {"type": ["number", "string"]},
    "Enabled": {"type": "boolean"},
    "Policy": {"type": ["object", "string"]},
    "Labels": {"type": "object", "patternProperties": {"^.+$": {"type": "string", "maxLength": 5}}},
    "Tree": {"$ref": "#/definitions/Node"},
    "Either": {"oneOf": [{"$ref": "#/definitions/A"}, {"$ref": "#/definitions/B"}]},
    "Ports": {"type": "array", "maxItems": 2, "items": {"type": "integer", "enum": [80, 443]}},
    "Keys": {"oneOf": [
      {"$ref": "#/definitions/Keys", "maxItems": 2},
      {"format": "json", "type": ["object", "string"]}
    ]},
    "MoreKeys": {"type": "array", "items": {"type": "object", "properties": {"Key": {"type": "string"}}}}
  },
  "definitions": {
    "Node": {"type": "object", "properties": {
      "Value": {"type": "string"},
      "Left": {"$ref": "#/definitions/Node"},
      "Children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}
    }, "required": ["Value"]},
    "A": {"type": "object", "properties": {"Alpha": {"type": "string"}}},
    "B": {"type": "object", "properties": {"Beta": {"type": "integer"}}},
    "Keys": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {"Key": {"type": "string"}}}}
  },
  "required": ["Name", "Tree"],
  "readOnlyProperties": ["/properties/Arn", "/properties/Tree/Value"],
  "createOnlyProperties": ["/properties/Name"],
  "primaryIdentifier": ["/properties/Arn"]
}"##;

#[test]
fn snapshot_of_a_fixture_with_every_shape() {
    let schema: ResourceSchema = serde_json::from_str(FIXTURE).unwrap();
    let text = emit::module(
        &lower::resource(&schema, false, &[]),
        "@generated (fixture)",
    );
    expect_file!["snapshots/fixture.rs.txt"].assert_eq(&text);
}

#[test]
fn every_required_property_is_a_constructor_argument() {
    let input = input();
    let mut checked = 0;
    for service in layout::services(&input) {
        for r in &service.resources {
            let schema = input
                .schemas
                .iter()
                .find(|s| s.type_name == r.type_name)
                .unwrap();
            let resource = &r.structs[0];
            let mut expected: Vec<&str> = schema
                .required
                .iter()
                .map(String::as_str)
                .filter(|p| resource.fields.iter().any(|f| f.json == *p))
                .collect();
            expected.sort();
            expected.dedup();
            let arguments: Vec<&str> = resource
                .fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.json.as_str())
                .collect();
            assert_eq!(arguments, expected, "{}", r.type_name);
            // Required properties that are not fields are read-only ones (never set).
            for p in &schema.required {
                let field = resource.fields.iter().any(|f| f.json == *p);
                let read_only = schema
                    .read_only_properties
                    .contains(&format!("/properties/{p}"));
                assert!(
                    field || read_only,
                    "{}: required {p} is neither",
                    r.type_name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 1884, "every type but the 14 SAM ones");
}

#[test]
fn generation_is_deterministic() {
    let input = input();
    assert_eq!(layout::files(&input), layout::files(&input));
}
