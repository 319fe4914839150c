//! `deployer` as a user runs it: outputs, help, and bad input.

use std::fs;

use tempfile::tempdir;
use tests::deployer;

#[test]
fn synth_writes_template_and_manifest_and_prints_where() {
    let dir = tempdir().unwrap();
    let run = deployer(dir.path(), &["synth", "--stage", "dev", "--out", "out"]).success();
    assert_eq!(
        run.stdout,
        "template: out/webhooks-dev.template.yaml\nassets: out/webhooks-dev.assets.json\n"
    );
    assert!(run.stderr.contains("synthesized webhooks-dev"), "{run}");
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.path().join("out/webhooks-dev.assets.json")).unwrap(),
    )
    .unwrap();
    let crates: Vec<&str> = manifest["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["crateName"].as_str().unwrap())
        .collect();
    assert_eq!(crates, ["processor", "receiver", "reconciler", "status"]);
    // Only the two outputs are left in the directory: no temporary files.
    let mut names: Vec<_> = fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["webhooks-dev.assets.json", "webhooks-dev.template.yaml"]
    );
}

#[test]
fn default_out_dir_is_dot_deployer() {
    let dir = tempdir().unwrap();
    let run = deployer(
        dir.path(),
        &["synth", "--stage", "prod", "--format", "json"],
    )
    .success();
    assert!(
        run.stdout
            .contains("template: .deployer/synth/webhooks-prod.template.json"),
        "{run}"
    );
    let text = fs::read_to_string(
        dir.path()
            .join(".deployer/synth/webhooks-prod.template.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["AWSTemplateFormatVersion"], "2010-09-09");
}

#[test]
fn out_dash_prints_the_template_on_stdout_only() {
    let dir = tempdir().unwrap();
    let run = deployer(dir.path(), &["synth", "--stage", "staging", "--out", "-"]).success();
    let expected = stacks::webhook::synth(stacks::webhook::Stage::Staging)
        .unwrap()
        .render(stacks::Format::Yaml)
        .unwrap();
    assert_eq!(run.stdout, expected);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn synth_twice_is_byte_identical() {
    for format in ["yaml", "json"] {
        let a = tempdir().unwrap();
        let b = tempdir().unwrap();
        let first = crate::synth_all(a.path(), format);
        let second = crate::synth_all(b.path(), format);
        for (x, y) in first.iter().zip(&second) {
            assert_eq!(
                fs::read(x).unwrap(),
                fs::read(y).unwrap(),
                "{} differs",
                x.display()
            );
        }
        for stage in ["dev", "staging", "prod"] {
            let m = format!("out/webhooks-{stage}.assets.json");
            assert_eq!(
                fs::read(a.path().join(&m)).unwrap(),
                fs::read(b.path().join(&m)).unwrap()
            );
        }
    }
}

#[test]
fn unknown_stage_lists_the_valid_ones() {
    let dir = tempdir().unwrap();
    let run = deployer(dir.path(), &["synth", "--stage", "qa"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr
            .contains("invalid value 'qa' for '--stage <STAGE>'"),
        "{run}"
    );
    assert!(
        run.stderr.contains("[possible values: dev, staging, prod]"),
        "{run}"
    );
    assert!(run.stdout.is_empty());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn missing_stage_and_unknown_format_are_usage_errors() {
    let dir = tempdir().unwrap();
    let run = deployer(dir.path(), &["synth"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("--stage <STAGE>"), "{run}");
    let run = deployer(dir.path(), &["synth", "--stage", "dev", "--format", "toml"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("[possible values: yaml, json]"),
        "{run}"
    );
}

#[test]
fn unwritable_out_fails_clearly_and_writes_nothing() {
    let dir = tempdir().unwrap();
    fs::write(dir.path().join("file"), "not a directory").unwrap();
    let run = deployer(
        dir.path(),
        &["synth", "--stage", "dev", "--out", "file/sub"],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .starts_with("error: cannot create output directory `file/sub`\n  caused by: "),
        "{run}"
    );
    assert!(run.stdout.is_empty());

    let run = deployer(dir.path(), &["synth", "--stage", "dev", "--out", "file"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("cannot create output directory `file`"),
        "{run}"
    );
}

#[test]
fn a_failed_write_leaves_no_partial_output() {
    let dir = tempdir().unwrap();
    let out = dir.path().join("out");
    // The manifest's path is taken by a directory: the template must not be written either.
    fs::create_dir_all(out.join("webhooks-dev.assets.json")).unwrap();
    let run = deployer(dir.path(), &["synth", "--stage", "dev", "--out", "out"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("cannot write `out/webhooks-dev.assets.json`: it is a directory"),
        "{run}"
    );
    let names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        ["webhooks-dev.assets.json"],
        "only the blocking directory remains"
    );
}

#[test]
fn help_documents_every_verb_and_option() {
    let dir = tempdir().unwrap();
    let top = deployer(dir.path(), &["--help"]).success();
    for needle in [
        "Usage: deployer <COMMAND>",
        "synth",
        "CloudFormation template",
        "--version",
    ] {
        assert!(top.stdout.contains(needle), "`{needle}` missing:\n{top}");
    }
    let synth = deployer(dir.path(), &["synth", "--help"]).success();
    for needle in [
        "--stage <STAGE>",
        "[possible values: dev, staging, prod]",
        "--format <FORMAT>",
        "[default: yaml]",
        "--out <DIR>",
        "[default: .deployer/synth]",
        "or `-` to print the template on stdout",
        "deterministic",
    ] {
        assert!(
            synth.stdout.contains(needle),
            "`{needle}` missing:\n{synth}"
        );
    }
}
