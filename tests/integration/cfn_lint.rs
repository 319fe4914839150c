//! Every stage's template through the real cfn-lint (pinned in tests/requirements.txt), with
//! the CloudFormation resource schemas and the project's own rules (tests/cfn-lint/):
//! every table has TTL; every durable function has DurableConfig, an alias, and is invoked
//! through it.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stacks::webhook::{self, Stage};
use tempfile::tempdir;

/// `(file name, rule id, message)` of every finding, informational ones included.
fn lint(files: &[PathBuf]) -> Vec<(String, String, String)> {
    let root = tests::workspace_root();
    let rules = root.join("tests/cfn-lint");
    let cfn_lint = tests::venv_tool("cfn-lint", "CFN_LINT");
    let mut args: Vec<String> = vec![
        "--format".into(),
        "json".into(),
        "--include-checks".into(),
        "I".into(),
        "--custom-rules".into(),
        rules.join("custom-rules.txt").display().to_string(),
        "--append-rules".into(),
        rules.join("rules").display().to_string(),
        "--".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = tests::run(&cfn_lint, &args);
    let findings: Vec<Value> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("cfn-lint did not print JSON ({e}):\n{run}"));
    // cfn-lint's exit code is a bitmask of levels found: it must agree with the findings.
    assert_eq!(run.code == Some(0), findings.is_empty(), "{run}");
    findings
        .iter()
        .map(|f| {
            let file = Path::new(f["Filename"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let rule = f["Rule"]["Id"].as_str().unwrap().to_owned();
            (file, rule, f["Message"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn every_stage_passes_cfn_lint_and_the_project_rules() {
    let dir = tempdir().unwrap();
    let yaml = crate::synth_all(&dir.path().join("yaml"), "yaml");
    let json = crate::synth_all(&dir.path().join("json"), "json");
    let files: Vec<PathBuf> = yaml.into_iter().chain(json).collect();
    assert_eq!(files.len(), 6);
    let findings = lint(&files);
    assert!(findings.is_empty(), "cfn-lint found: {findings:#?}");
}

fn write(dir: &Path, name: &str, t: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(t).unwrap()).unwrap();
    path
}

#[test]
fn the_project_rules_catch_what_they_are_for() {
    let dev = webhook::synth(Stage::Dev).unwrap().to_value().unwrap();
    let dir = tempdir().unwrap();
    let mut cases = Vec::new();

    let mut t = dev.clone();
    t["Resources"]["WebhookTable"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("TimeToLiveSpecification");
    cases.push((write(dir.path(), "no-ttl.json", &t), vec!["E9002"]));

    let mut t = dev.clone();
    t["Resources"]["WebhookTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"] =
        json!(false);
    cases.push((write(dir.path(), "ttl-off.json", &t), vec!["E9003"]));

    let mut t = dev.clone();
    t["Resources"]["Processor"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("DurableConfig");
    cases.push((write(dir.path(), "not-durable.json", &t), vec!["E9101"]));

    let mut t = dev.clone();
    let resources = t["Resources"].as_object_mut().unwrap();
    resources.remove("ProcessorAlias");
    // Both functions that start executions now do it through the bare function.
    for caller in ["Receiver", "Reconciler"] {
        resources[caller]["Properties"]["Environment"]["Variables"]["PROCESSOR_FUNCTION"] =
            json!({"Fn::GetAtt": ["Processor", "Arn"]});
    }
    t["Outputs"]["ProcessorAliasArn"]["Value"] = json!({"Ref": "ProcessorVersion"});
    for role in ["ReceiverRole", "ReconcilerRole"] {
        for st in t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .unwrap()
        {
            if st["Sid"] == "InvokeProcessorAlias" {
                st["Resource"] = json!([{"Fn::GetAtt": ["Processor", "Arn"]}]);
            }
        }
    }
    cases.push((
        write(dir.path(), "unqualified.json", &t),
        vec!["E9102", "E9103", "E9103", "E9103", "E9103"],
    ));

    let files: Vec<PathBuf> = cases.iter().map(|(f, _)| f.clone()).collect();
    let findings = lint(&files);
    for (file, expected) in &cases {
        let name = file.file_name().unwrap().to_string_lossy();
        let mut got: Vec<&str> = findings
            .iter()
            .filter(|(f, _, _)| *f == name)
            .map(|(_, rule, _)| rule.as_str())
            .collect();
        got.sort_unstable();
        assert_eq!(&got, expected, "{name}: {findings:#?}");
    }
}
