//! README's examples run as written: each scheme's signed `curl` (openssl computes the
//! signature, as a reader would) against a real `deployer local` started with the secrets
//! the README exports, each accepted and processed to COMPLETED.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::local::LocalCloud;

/// The fenced `sh` blocks of README.md.
fn sh_blocks(readme: &str) -> Vec<String> {
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_owned()))
        .collect()
}

#[test]
fn every_schemes_readme_example_is_accepted_and_completes() {
    for tool in ["bash", "openssl", "curl", "od", "base64"] {
        tests::require_tool(tool, "install it from the machine's packages");
    }
    let readme = std::fs::read_to_string(tests::workspace_root().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    let exports: Vec<(String, String)> = blocks
        .iter()
        .find(|b| b.contains("export WEBHOOK_SECRET_GITHUB="))
        .expect("README exports the examples' secrets")
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let env: Vec<(&str, &str)> = exports
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cloud = LocalCloud::start_env(&["--ephemeral"], None, &env);
    let mut seen = Vec::new();
    for block in &blocks {
        let Some(scheme) = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# example: "))
        else {
            continue;
        };
        let script = block.replace("http://127.0.0.1:3000/dev", &cloud.api);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{scheme}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let accepted: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{scheme}: {e}: {stdout}\n{}", cloud.logs()));
        assert_eq!(accepted["status"], "RECEIVED", "{scheme}: {accepted}");
        let id = accepted["id"].as_str().unwrap();
        let done = cloud.wait_terminal(id, Duration::from_secs(30));
        assert_eq!(done["status"], "COMPLETED", "{scheme}: {done}");
        assert_eq!(done["source"], scheme, "{done}");
        seen.push(scheme.to_owned());
    }
    assert_eq!(
        seen,
        ["github", "standard", "stripe", "slack", "shopify"],
        "README has one example per scheme"
    );
}
