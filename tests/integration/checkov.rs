//! Every stage's template through the real checkov (pinned with all its dependencies in
//! tests/requirements-checkov.txt, installed by `make test` into .venv-checkov): no failed
//! check; every skip says why, and checkov honours each; README's list of skips is exactly
//! the templates'.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use stacks::webhook::{self, Stage};
use tempfile::tempdir;

/// The pinned checkov, or `$CHECKOV`. A missing checkov is a failure, never a skip.
fn checkov() -> PathBuf {
    if let Some(path) = std::env::var_os("CHECKOV") {
        return PathBuf::from(path);
    }
    let path = tests::workspace_root().join(".venv-checkov/bin/checkov");
    assert!(
        path.exists(),
        "checkov is not installed at {}: run `make test`, which installs the pinned \
         tests/requirements-checkov.txt into .venv-checkov (or set CHECKOV)",
        path.display()
    );
    path
}

/// One result of checkov's report.
#[derive(Debug)]
struct Finding {
    /// The template's file name.
    file: String,
    check: String,
    name: String,
    /// `<type>.<logical id>`, such as `AWS::Lambda::Function.Receiver`.
    resource: String,
    /// The skip's comment, for a skipped check.
    comment: Option<String>,
}

impl Finding {
    fn logical_id(&self) -> &str {
        self.resource.rsplit('.').next().unwrap_or_default()
    }
}

/// The failed and skipped checks and the number passed, by file.
#[derive(Debug, Default)]
struct Report {
    passed: BTreeMap<String, usize>,
    failed: Vec<Finding>,
    skipped: Vec<Finding>,
}

fn findings(results: &Value, kind: &str) -> Vec<Finding> {
    results[kind]
        .as_array()
        .unwrap_or_else(|| panic!("no {kind} in checkov's report: {results}"))
        .iter()
        .map(|r| Finding {
            file: Path::new(r["file_path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            check: r["check_id"].as_str().unwrap().to_owned(),
            name: r["check_name"].as_str().unwrap().to_owned(),
            resource: r["resource"].as_str().unwrap().to_owned(),
            comment: r["check_result"]["suppress_comment"]
                .as_str()
                .map(str::to_owned),
        })
        .collect()
}

/// checkov once over every CloudFormation template in `dir`.
fn scan(dir: &Path) -> Report {
    let dir = dir.display().to_string();
    let args = [
        "-d",
        dir.as_str(),
        "--framework",
        "cloudformation",
        "--compact",
        "-o",
        "json",
        // No network here: without it checkov tries to fetch its guidelines first.
        "--skip-download",
    ];
    let run = tests::run(&checkov(), &args);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("checkov did not print one JSON report ({e}):\n{run}"));
    assert_eq!(report["check_type"], "cloudformation", "{run}");
    let results = &report["results"];
    assert_eq!(results["parsing_errors"], Value::Array(vec![]), "{run}");
    let mut out = Report {
        failed: findings(results, "failed_checks"),
        skipped: findings(results, "skipped_checks"),
        ..Report::default()
    };
    for passed in findings(results, "passed_checks") {
        *out.passed.entry(passed.file).or_default() += 1;
    }
    // checkov exits 1 when a check failed, 0 otherwise: it must agree with the report.
    assert_eq!(run.code == Some(0), out.failed.is_empty(), "{run}");
    out
}

/// `(logical id, check id, comment)` of every skip a template's resources declare.
fn declared_skips(template: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() else {
            continue;
        };
        for skip in skips {
            out.insert((
                id.clone(),
                skip["id"].as_str().unwrap().to_owned(),
                skip["comment"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn listed(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("\n  {} {} ({})", f.check, f.resource, f.name))
        .collect()
}

#[test]
fn every_stage_passes_checkov_and_every_skip_says_why() {
    let dir = tempdir().unwrap();
    let templates = crate::synth_all(&dir.path().join("synth"), "yaml");
    assert_eq!(templates.len(), 3);
    let scanned = templates[0].parent().unwrap().to_path_buf();

    // A copy of dev with tracing off and the receiver's skips gone: what it must catch.
    let mut broken = webhook::synth(Stage::Dev).unwrap().to_value().unwrap();
    broken["Resources"]["ApiStage"]["Properties"]["TracingEnabled"] = Value::Bool(false);
    broken["Resources"]["Receiver"]
        .as_object_mut()
        .unwrap()
        .remove("Metadata");
    std::fs::write(
        scanned.join("broken.template.json"),
        serde_json::to_string_pretty(&broken).unwrap(),
    )
    .unwrap();

    let report = scan(&scanned);

    let broken_failed: BTreeSet<(&str, &str)> = report
        .failed
        .iter()
        .filter(|f| f.file == "broken.template.json")
        .map(|f| (f.check.as_str(), f.logical_id()))
        .collect();
    assert_eq!(
        broken_failed,
        BTreeSet::from([
            ("CKV_AWS_116", "Receiver"),
            ("CKV_AWS_117", "Receiver"),
            ("CKV_AWS_173", "Receiver"),
            ("CKV_AWS_73", "ApiStage"),
        ]),
    );

    let mut figures = Vec::new();
    for path in &templates {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let failed: Vec<&Finding> = report.failed.iter().filter(|f| f.file == file).collect();
        assert!(
            failed.is_empty(),
            "{file}: {} checkov check(s) failed:{}",
            failed.len(),
            listed(&failed)
        );
        let skipped: Vec<&Finding> = report.skipped.iter().filter(|f| f.file == file).collect();
        let uncommented: Vec<&Finding> = skipped
            .iter()
            .copied()
            .filter(|f| f.comment.as_deref().is_none_or(|c| c.trim().is_empty()))
            .collect();
        assert!(
            uncommented.is_empty(),
            "{file}: skips without a reason:{}",
            listed(&uncommented)
        );
        // Every skip the template declares is one checkov honoured, and no other.
        let template: Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let honoured: BTreeSet<(String, String, String)> = skipped
            .iter()
            .map(|f| {
                let comment = f.comment.clone().unwrap_or_default();
                (f.logical_id().to_owned(), f.check.clone(), comment)
            })
            .collect();
        assert_eq!(honoured, declared_skips(&template), "{file}");
        let passed = report.passed.get(&file).copied().unwrap_or_default();
        assert!(passed >= 60, "{file}: only {passed} checks passed");
        figures.push(format!(
            "{file}: {passed} passed, 0 failed, {} skipped",
            skipped.len()
        ));
    }
    eprintln!("checkov 3.3.30: {}", figures.join("; "));
}

/// README's "checkov" table: `(stage, logical id, check id, reason)` for every skip.
fn readme_skips() -> BTreeSet<(String, String, String, String)> {
    let readme = std::fs::read_to_string(tests::workspace_root().join("README.md")).unwrap();
    let section = readme
        .split("\n### checkov")
        .nth(1)
        .expect("README.md has a `### checkov` section");
    let section = section.split("\n#").next().unwrap_or(section);
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut out = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `CKV")) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "README checkov row: {row}");
        let check = ticked(cells[0]).into_iter().next().unwrap();
        let stages: Vec<&str> = match cells[2] {
            "all" => Stage::NAMES.to_vec(),
            some => some.split(',').map(str::trim).collect(),
        };
        for stage in stages {
            assert!(Stage::NAMES.contains(&stage), "README checkov row: {row}");
            for resource in ticked(cells[1]) {
                out.insert((
                    stage.to_owned(),
                    resource,
                    check.clone(),
                    cells[3].to_owned(),
                ));
            }
        }
    }
    out
}

#[test]
fn readme_lists_every_skip_of_every_stage_with_its_reason() {
    let mut templates = BTreeSet::new();
    for stage in Stage::ALL {
        let t = webhook::synth(stage).unwrap().to_value().unwrap();
        for (resource, check, reason) in declared_skips(&t) {
            templates.insert((stage.as_str().to_owned(), resource, check, reason));
        }
    }
    let readme = readme_skips();
    let missing: Vec<_> = templates.difference(&readme).collect();
    let extra: Vec<_> = readme.difference(&templates).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README.md's checkov table and the templates' skips differ.\nin the templates, not in README: {missing:#?}\nin README, not in the templates: {extra:#?}"
    );
}
