//! `deployer bootstrap/deploy/diff/promote/destroy/outputs/smoke` against ministack, a real
//! CloudFormation implementation that runs our binaries. Each test is its own AWS account
//! (ministack takes a 12-digit access key id as the account), so they run side by side.
//!
//! The packages are the dev-profile binaries `make test` built (`--profile dev --no-build`):
//! the release build is the bench's business.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use tests::Run;
use tests::local::http;
use tests::ministack::{Ministack, ministack};

const PACKAGES: [&str; 3] = ["--profile", "dev", "--no-build"];

fn deploy(ms: &Ministack, account: &str, stage: &str, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", "--stage", stage, "--yes", "--progress", "events"];
    args.extend(PACKAGES);
    args.extend(extra);
    ms.deployer(account, &args, &[])
}

/// `deployer smoke --stage dev` against `cloud`'s API, which must see the webhook through
/// to COMPLETED.
fn smoke_to_completed(ms: &Ministack, account: &str, cloud: &tests::local::LocalCloud) -> Run {
    let args = [
        "smoke",
        "--stage",
        "dev",
        "--api-url",
        &cloud.api,
        "--timeout",
        "10",
    ];
    let run = ms.deployer(account, &args, &[]).success();
    assert!(
        run.stdout.trim().starts_with("wh_"),
        "{run}\n{}",
        cloud.logs()
    );
    run
}

fn bootstrap(ms: &Ministack, account: &str) {
    ms.deployer(
        account,
        &["bootstrap", "--yes", "--progress", "events"],
        &[],
    )
    .success();
}

/// A CloudFormation client config for `account` on this ministack.
fn sdk_config(ms: &Ministack, account: &str) -> aws_sdk_cloudformation::Config {
    aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&ms.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
        .build()
}

/// A stack's parameters, or `None` when it does not exist.
fn parameters(ms: &Ministack, account: &str, stack: &str) -> Option<BTreeMap<String, String>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(sdk_config(ms, account));
        let out = client
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .ok()?;
        let s = out.stacks().first()?;
        if s.stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE") {
            return None;
        }
        Some(
            s.parameters()
                .iter()
                .map(|p| {
                    (
                        p.parameter_key().unwrap().to_owned(),
                        p.parameter_value().unwrap().to_owned(),
                    )
                })
                .collect(),
        )
    })
}

fn secret(ms: &Ministack, account: &str, id: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&ms.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap()
    })
}

fn outputs(run: &Run) -> BTreeMap<String, String> {
    run.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A request through ministack's API Gateway, sent again (at most twice) when ministack
/// answers that the function's runtime exited before answering: under load, ministack
/// sometimes spawns a provided runtime before its own Runtime API listens (its log: the
/// bootstrap's "ConnectionRefused" on that port, then "Runtime exited before returning a
/// response"). The requests here are idempotent (a delivery id, reads).
fn through_ministack(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut answer = http(method, url, headers, body);
    for _ in 0..2 {
        if !(answer.0 == 502
            && answer
                .1
                .contains("Runtime exited before returning a response"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        answer = http(method, url, headers, body);
    }
    answer
}

/// Whether `text` has a line with all of `parts`, in order.
fn has_line(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| {
        let mut rest = l;
        parts.iter().all(|p| match rest.find(p) {
            Some(at) => {
                rest = &rest[at + p.len()..];
                true
            }
            None => false,
        })
    })
}

#[test]
fn bootstrap_deploy_request_no_op_and_one_change() {
    let ms = ministack();
    let account = "000000000000";

    // Before bootstrap: a clear pointer to it, and nothing built or created.
    let run = deploy(ms, account, "dev", &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("run `deployer bootstrap` first"),
        "{run}"
    );
    assert!(parameters(ms, account, "webhooks-dev").is_none());

    // An approval that cannot be asked for: refused, and no stack is left behind.
    let run = ms.deployer(account, &["bootstrap"], &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("there is no terminal to ask; pass --yes"),
        "{run}"
    );
    assert!(parameters(ms, account, "deployer-bootstrap").is_none());
    bootstrap(ms, account);

    let dir = tempfile::tempdir().unwrap();
    let outputs_file = dir.path().join("outputs.json");
    let run = deploy(
        ms,
        account,
        "dev",
        &["--outputs-file", outputs_file.to_str().unwrap()],
    )
    .success();
    for f in ["processor", "receiver", "reconciler", "status"] {
        assert!(run.stderr.contains(&format!("uploaded {f} (")), "{run}");
    }
    assert!(
        has_line(
            &run.stderr,
            &["Add", "WebhookTable", "AWS::DynamoDB::Table"]
        ),
        "{run}"
    );
    assert!(
        has_line(
            &run.stderr,
            &["WebhookTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE"]
        ),
        "{run}"
    );
    assert!(has_line(
        &run.stderr,
        &["Receiver", "AWS::Lambda::Function", "CREATE_COMPLETE"]
    ));
    let written: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&outputs_file).unwrap()).unwrap();
    assert_eq!(written, outputs(&run));
    let api_url = &written["ApiUrl"];

    // Through ministack's API Gateway to the real receiver and status binaries.
    let api_id = api_url
        .strip_prefix("https://")
        .and_then(|r| r.split('.').next())
        .unwrap();
    let base = format!("{}/_aws/execute-api/{api_id}/dev", ms.endpoint);
    let body = r#"{"type":"order","orderId":"M-1"}"#;
    let http = through_ministack;
    let (code, text) = http(
        "POST",
        &format!("{base}/webhooks"),
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(code, 401, "unsigned: {text}");
    assert!(text.contains("X-Hub-Signature-256"), "{text}");
    let key = secret(ms, account, &written["WebhookSecretArn"]);
    let signature = webhook_core::schemes::github::signature(key.as_bytes(), body.as_bytes());
    let (code, text) = http(
        "POST",
        &format!("{base}/webhooks"),
        &[
            ("Content-Type", "application/json"),
            ("X-Webhook-Id", "ministack-1"),
            ("X-Hub-Signature-256", &signature),
        ],
        body,
    );
    assert_eq!(code, 202, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, text) = http("GET", &format!("{base}/webhooks/{id}"), &[], "");
    assert_eq!(code, 200, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["id"], id);
    let (code, _) = http(
        "GET",
        &format!("{base}/webhooks/wh_{}", "0".repeat(32)),
        &[],
        "",
    );
    assert_eq!(code, 404);

    // ministack does not run durable executions from CloudFormation (PEERS.md): smoke
    // reports the webhook that never completes, with its last status.
    let smoke = || {
        ms.deployer(
            account,
            &[
                "smoke",
                "--stage",
                "dev",
                "--api-url",
                &base,
                "--timeout",
                "2",
            ],
            &[],
        )
    };
    // ministack's runtime race (see `through_ministack`) can answer smoke's POST 502: the
    // same smoke again, at most twice.
    let mut run = smoke();
    for _ in 0..2 {
        if !run
            .stderr
            .contains("Runtime exited before returning a response")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        run = smoke();
    }
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("did not reach COMPLETED within 2 s (last status: RECEIVED)"),
        "{run}"
    );
    // Its whole path, to COMPLETED: the stack's secret (from ministack) signs a webhook sent
    // to a local cloud that runs the durable processor with that same secret.
    let cloud = tests::local::LocalCloud::start(&["--ephemeral"], Some(&key));
    let run = smoke_to_completed(ms, account, &cloud);
    assert!(run.stderr.contains("COMPLETED"), "{run}");
    drop(cloud);

    // Again, unchanged: no upload, no change set left, exit 0.
    let run = deploy(ms, account, "dev", &[]).success();
    assert!(run.stderr.contains("webhooks-dev: no changes"), "{run}");
    assert!(
        run.stderr
            .contains("unchanged, not uploaded: processor, receiver, reconciler, status"),
        "{run}"
    );
    assert!(!run.stderr.contains("uploaded processor ("), "{run}");
    assert_eq!(outputs(&run)["ApiUrl"], *api_url);

    // One setting changed: one Modify, in the preview and in the deployment.
    let mut args = vec![
        "diff",
        "--stage",
        "dev",
        "--output",
        "json",
        "--set",
        "throttle-rate=75",
    ];
    args.extend(PACKAGES);
    let run = ms.deployer(account, &args, &[]).success();
    let diff: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(diff["hasChanges"], true, "{run}");
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{run}");
    assert_eq!(changes[0]["action"], "Modify");
    assert_eq!(changes[0]["logicalId"], "ApiStage");
    let run = deploy(ms, account, "dev", &["--set", "throttle-rate=75"]).success();
    assert!(
        has_line(
            &run.stderr,
            &["Modify", "ApiStage", "AWS::ApiGateway::Stage"]
        ),
        "{run}"
    );
    assert!(run.stderr.contains("UPDATE_COMPLETE"), "{run}");
    let run = ms
        .deployer(
            account,
            &["outputs", "--stage", "dev", "--output", "json"],
            &[],
        )
        .success();
    let shown: BTreeMap<String, String> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown, written);

    // A setting that does not exist, or out of range: refused before anything happens.
    let run = ms.deployer(
        account,
        &["deploy", "--stage", "dev", "--set", "colour=blue"],
        &[],
    );
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("unknown setting `colour`"), "{run}");
    let run = deploy(ms, account, "dev", &["--set", "api-memory-mb=64"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("MemorySize is 64 MB, outside 128..=10240 MB"),
        "{run}"
    );
}

/// What a failed first create leaves: stack `name` in ROLLBACK_COMPLETE (made here with a
/// role IAM refuses, since nothing the deployer synthesizes fails to create on ministack).
fn failed_first_create(ms: &Ministack, account: &str, name: &str) {
    let template = r#"{"Resources": {"Refused": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}}}"#;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(sdk_config(ms, account));
        client
            .create_stack()
            .stack_name(name)
            .template_body(template)
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
        assert_eq!(settled(&client, name).await, "ROLLBACK_COMPLETE");
    });
}

/// The status `stack` ends its operation in (polled for at most a minute).
async fn settled(client: &aws_sdk_cloudformation::Client, stack: &str) -> String {
    for _ in 0..600 {
        let out = client
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let status = out.stacks()[0].stack_status().unwrap().as_str().to_owned();
        if !status.ends_with("_IN_PROGRESS") {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the operation on {stack} did not end");
}

#[test]
fn failures_recreate_promotion_and_destroy() {
    let ms = ministack();
    let account = "111111111111";
    bootstrap(ms, account);

    // A first create that failed: deploy says how to get out, promote refuses.
    failed_first_create(ms, account, "webhooks-staging");
    let run = deploy(ms, account, "staging", &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("stack webhooks-staging is in ROLLBACK_COMPLETE")
            && run.stderr.contains("--recreate"),
        "{run}"
    );
    let run = ms.deployer(
        account,
        &["promote", "--from", "staging", "--to", "prod", "--yes"],
        &[],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "cannot promote from staging: stack webhooks-staging is ROLLBACK_COMPLETE, not in a complete state"
        ),
        "{run}"
    );
    let run = deploy(ms, account, "staging", &["--recreate"]).success();
    assert!(run.stderr.contains("deleting it (--recreate)"), "{run}");
    assert!(
        run.stderr.contains("webhooks-staging: CREATE_COMPLETE"),
        "{run}"
    );
    let good = parameters(ms, account, "webhooks-staging").unwrap();

    // A deploy that fails on a resource: Lambda refuses a processor over 250 MB unzipped
    // (the real binary padded with zeros: a small zip). The first failure and its reason,
    // the trail, exit 1.
    let fake = fake_target(|name, mut binary| {
        if name == "processor" {
            binary.resize(270 * 1024 * 1024, 0);
        }
        binary
    });
    let mut args = vec![
        "deploy",
        "--stage",
        "staging",
        "--yes",
        "--progress",
        "events",
    ];
    args.extend(PACKAGES);
    let run = ms.deployer(
        account,
        &args,
        &[("CARGO_TARGET_DIR", fake.path().to_str().unwrap())],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "deploying stack webhooks-staging failed: Processor (AWS::Lambda::Function) UPDATE_FAILED"
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("Unzipped size must be smaller"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("the stack is now UPDATE_ROLLBACK_COMPLETE"),
        "{run}"
    );
    assert!(run.stderr.contains("events:\n"), "{run}");
    assert_eq!(parameters(ms, account, "webhooks-staging").unwrap(), good);

    // Promotion: the build staging runs (the last good one), not rebuilt, the same keys.
    let run = ms
        .deployer(
            account,
            &[
                "promote",
                "--from",
                "staging",
                "--to",
                "prod",
                "--yes",
                "--progress",
                "events",
            ],
            &[],
        )
        .success();
    assert!(run.stderr.contains("no rebuild"), "{run}");
    assert!(
        !run.stderr.contains("building") && !run.stderr.contains("packaging"),
        "{run}"
    );
    let prod = parameters(ms, account, "webhooks-prod").unwrap();
    for key in [
        "ProcessorCodeKey",
        "ProcessorCodeSha256",
        "ReceiverCodeKey",
        "StatusCodeKey",
        "AssetBucket",
    ] {
        assert_eq!(good[key], prod[key], "{key}");
    }
    let run = ms.deployer(account, &["promote", "--from", "dev", "--to", "prod"], &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("stack webhooks-dev does not exist"),
        "{run}"
    );
    let run = ms.deployer(account, &["promote", "--from", "prod", "--to", "prod"], &[]);
    assert_eq!(run.code, Some(1), "{run}");

    // Destroy: confirmation needed, then the prod table and secret are kept and reported.
    let run = ms.deployer(account, &["destroy", "--stage", "prod"], &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("pass --yes"), "{run}");
    assert!(parameters(ms, account, "webhooks-prod").is_some());
    let run = ms
        .deployer(
            account,
            &[
                "destroy",
                "--stage",
                "prod",
                "--yes",
                "--progress",
                "events",
            ],
            &[],
        )
        .success();
    assert!(
        run.stdout
            .contains("retained\tWebhookTable\tAWS::DynamoDB::Table\twebhooks-prod-"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("retained\tWebhookSecret\tAWS::SecretsManager::Secret"),
        "{run}"
    );
    // The key the retained data is encrypted with stays too.
    assert!(
        run.stdout.contains("retained\tStageKey\tAWS::KMS::Key\t"),
        "{run}"
    );
    assert!(
        has_line(&run.stderr, &["WebhookTable", "DELETE_SKIPPED"]),
        "{run}"
    );
    assert!(parameters(ms, account, "webhooks-prod").is_none());
    let run = ms
        .deployer(account, &["destroy", "--stage", "prod", "--yes"], &[])
        .success();
    assert!(run.stderr.contains("nothing to destroy"), "{run}");
}

#[test]
fn without_credentials_or_region_it_points_to_make_local() {
    let root = tests::workspace_root();
    let bare = |env: &[(&str, &str)]| {
        let out = std::process::Command::new(tests::deployer_bin())
            .args(["deploy", "--stage", "dev"])
            .current_dir(&root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run::from_output(out)
    };
    let run = bare(&[("AWS_REGION", "us-east-1")]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("no AWS credentials"), "{run}");
    assert!(run.stderr.contains("make local"), "{run}");
    let run = bare(&[("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("no AWS region is configured"), "{run}");
    assert!(run.stderr.contains("make local"), "{run}");
}

const FUNCTIONS: [&str; 4] = ["receiver", "processor", "status", "reconciler"];

/// A target directory of its own (no package cache) holding the real dev binaries, each
/// passed through `edit`.
fn fake_target(edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> tempfile::TempDir {
    let fake = tempfile::tempdir().unwrap();
    let debug = fake.path().join("debug");
    std::fs::create_dir_all(&debug).unwrap();
    for f in FUNCTIONS {
        let real = tests::deployer_bin().with_file_name(f);
        std::fs::write(debug.join(f), edit(f, std::fs::read(&real).unwrap())).unwrap();
    }
    fake
}

/// `deployer build --profile dev --no-build` over target directory `dir`.
fn package(dir: &std::path::Path) -> Run {
    let out = std::process::Command::new(tests::deployer_bin())
        .args(["build", "--profile", "dev", "--no-build"])
        .current_dir(tests::workspace_root())
        .env("CARGO_TARGET_DIR", dir)
        .output()
        .unwrap();
    Run::from_output(out)
}

/// `bytes` with every `from` replaced by `to` (of the same length).
fn patched(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut found = false;
    for i in 0..bytes.len().saturating_sub(from.len()) {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            found = true;
        }
    }
    assert!(found, "{} not found", String::from_utf8_lossy(from));
    bytes
}

#[test]
fn a_binary_that_needs_a_newer_glibc_than_lambda_is_refused() {
    // The real binaries, their glibc 2.34 requirement rewritten to 2.38 in the dynamic
    // string table that the ELF version requirements name.
    let fake = fake_target(|_, b| patched(b, b"GLIBC_2.34\0", b"GLIBC_2.38\0"));
    let run = package(fake.path());
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("needs GLIBC_2.38, but provided.al2023 has glibc 2.34"),
        "{run}"
    );
    assert!(run.stderr.contains("cargo-zigbuild"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        !fake.path().join("lambda").exists()
            || std::fs::read_dir(fake.path().join("lambda"))
                .unwrap()
                .next()
                .is_none()
    );
    // Text that only mentions a newer glibc is no requirement (the check reads the ELF's
    // version requirements, not strings).
    let mentions = fake_target(|_, mut b| {
        b.extend_from_slice(b"\0GLIBC_2.99\0");
        b
    });
    let run = package(mentions.path());
    assert_eq!(run.code, Some(0), "{run}");
    // Not an ELF at all: refused with what it is.
    let script = fake_target(|_, _| b"#!/bin/sh\necho GLIBC_2.17\n".to_vec());
    let run = package(script.path());
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("not a 64-bit ELF executable"), "{run}");
}

#[test]
fn the_same_binaries_package_to_the_same_bytes_without_any_cache() {
    // Two target directories, nothing shared: each zips the binaries from scratch.
    let (a, b) = (fake_target(|_, b| b), fake_target(|_, b| b));
    let (first, second) = (package(a.path()), package(b.path()));
    assert_eq!(first.code, Some(0), "{first}");
    // crate, architecture, key (the zip's SHA-256); the last column is the local path.
    let keys = |run: &Run| -> Vec<String> {
        run.stdout
            .lines()
            .map(|l| l.rsplit_once('\t').unwrap().0.to_owned())
            .collect()
    };
    assert_eq!(keys(&first), keys(&second), "the package hashes differ");
    assert_eq!(first.stdout.lines().count(), FUNCTIONS.len(), "{first}");
    let zips = |dir: &std::path::Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir.join("lambda"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "zip"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect()
    };
    let (za, zb) = (zips(a.path()), zips(b.path()));
    assert_eq!(za.len(), FUNCTIONS.len(), "{za:?}", za = za.keys());
    assert!(za == zb, "the zips differ byte for byte");
}

#[test]
fn ctrl_c_leaves_the_deployment_running_and_deploy_attaches_again() {
    use std::io::{BufRead, BufReader};
    let ms = ministack();
    let account = "333333333333";
    bootstrap(ms, account);
    let mut args = vec!["deploy", "--stage", "dev", "--yes", "--progress", "events"];
    args.extend(PACKAGES);
    let mut child = ms
        .command(&tests::workspace_root(), account, &args, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut stderr = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "webhooks-dev: deploying" {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "interrupted: the operation goes on in CloudFormation; run `deployer deploy --stage dev` to attach to it and wait for its end"
        ),
        "{stderr}"
    );
    // Again: it attaches to the operation if it is still running, then finds nothing to do.
    let run = deploy(ms, account, "dev", &[]).success();
    assert!(
        run.stderr.contains("webhooks-dev: no changes")
            || run.stderr.contains("is busy (CREATE_IN_PROGRESS); waiting"),
        "{run}"
    );
    assert!(parameters(ms, account, "webhooks-dev").is_some());
}

#[test]
fn the_webhooks_verbs_read_a_deployed_stage() {
    let ms = ministack();
    let account = "000000000021";
    bootstrap(ms, account);
    let run = deploy(ms, account, "dev", &[]).success();
    let out = outputs(&run);
    let table = out["TableName"].clone();
    // A webhook that failed, written as the functions write it, into the deployed table.
    let id = tests::local::typed_webhook_id(webhook_contract::sources::DEFAULT, "deployed-failure");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&ms.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
            .build();
        let store =
            webhook_core::Store::new(aws_sdk_dynamodb::Client::from_conf(config), &table, 14);
        let now = webhook_core::time::Instant::now();
        let new = webhook_core::store::NewWebhook::new(
            id.clone(),
            "deployed-failure",
            r#"{"type":"order","orderId":"D-1"}"#,
        );
        store.insert(new, now).await.unwrap();
        let failure = webhook_core::record::Failure::new("Panic", "boom").in_step("process", 1);
        store.fail(&id, 1, &failure, now).await.unwrap();
    });
    let verb = |args: &[&str]| {
        let mut all = vec!["webhooks"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--stage", "dev", "--output", "json"]);
        ms.deployer(account, &all, &[])
    };
    // The attention index of the deployed table.
    let run = verb(&["list", "--status", "failed"]).success();
    let listed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str(), "{run}");
    assert_eq!(listed[0]["status"], "FAILED", "{run}");
    let run = verb(&["list", "--status", "received"]).success();
    assert_eq!(run.stdout.trim(), "[]", "{run}");
    // The record and its (never started) execution, through the Lambda API.
    let run = verb(&["show", id.as_str()]).success();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["record"]["error"]["type"], "Panic", "{run}");
    assert_eq!(shown["attempts"][0]["executionName"], id.as_str(), "{run}");
    // A redrive: attempt 2, started through the stage's processor alias.
    let run = verb(&["redrive", id.as_str()]);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(summary["redriven"], 1, "{run}");
    let run = verb(&["show", id.as_str()]).success();
    let shown: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["record"]["attempt"], 2, "{run}");
    // A stage that is not deployed says so.
    let run = ms.deployer(account, &["webhooks", "list", "--stage", "prod"], &[]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("stack webhooks-prod does not exist"),
        "{run}"
    );
}

/// One request to ministack as `account` (ministack reads the account from the credential
/// scope and checks no signature): the status and the body.
fn aws_call(
    ms: &Ministack,
    account: &str,
    service: &str,
    (method, path): (&str, &str),
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    http(
        method,
        &format!("{}{path}", ms.endpoint),
        &[("Authorization", &auth), ("Content-Type", content_type)],
        body,
    )
}

/// API Gateway's account settings (GetAccount), the part read here.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiGatewayAccount {
    cloudwatch_role_arn: Option<String>,
}

fn api_gateway_account(ms: &Ministack, account: &str) -> ApiGatewayAccount {
    let (code, body) = aws_call(
        ms,
        account,
        "apigateway",
        ("GET", "/account"),
        "application/json",
        "",
    );
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// IAM's answer to `action` on role `name` (XML).
fn iam_role_call(ms: &Ministack, account: &str, action: &str, name: &str) -> String {
    let form = format!("Action={action}&Version=2010-05-08&RoleName={name}");
    let (code, body) = aws_call(
        ms,
        account,
        "iam",
        ("POST", "/"),
        "application/x-www-form-urlencoded",
        &form,
    );
    assert_eq!(code, 200, "{action} {name}: {body}");
    body
}

#[test]
fn bootstrap_sets_api_gateways_cloudwatch_role_when_none_is_set_and_keeps_one_that_is() {
    let ms = ministack();
    // A fresh account has no role: bootstrap sets its stack's and says so.
    let account = "000000000061";
    assert_eq!(api_gateway_account(ms, account).cloudwatch_role_arn, None);
    let run = ms
        .deployer(
            account,
            &["bootstrap", "--yes", "--progress", "events"],
            &[],
        )
        .success();
    let role = outputs(&run)["ApiGatewayCloudWatchRoleArn"].clone();
    assert!(
        role.starts_with(&format!("arn:aws:iam::{account}:role/")),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "API Gateway in us-east-1: no CloudWatch Logs role was set; set to {role}"
        )),
        "{run}"
    );
    assert_eq!(
        api_gateway_account(ms, account)
            .cloudwatch_role_arn
            .as_deref(),
        Some(role.as_str())
    );
    // The role: API Gateway may assume it, with AWS's managed policy for pushing logs.
    let name = role.rsplit('/').next().unwrap();
    let attached = iam_role_call(ms, account, "ListAttachedRolePolicies", name);
    assert!(
        attached.contains(
            "<PolicyArn>arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs</PolicyArn>"
        ),
        "{attached}"
    );
    let got = iam_role_call(ms, account, "GetRole", name);
    assert!(got.contains("apigateway.amazonaws.com"), "{got}");

    // Again: the role is set (its own), kept, and said so.
    let run = ms
        .deployer(
            account,
            &["bootstrap", "--yes", "--progress", "events"],
            &[],
        )
        .success();
    assert!(
        run.stderr
            .contains(&format!("CloudWatch Logs role {role} is already set; kept")),
        "{run}"
    );
    assert!(
        !run.stderr.contains("no CloudWatch Logs role was set"),
        "{run}"
    );
    assert_eq!(
        api_gateway_account(ms, account)
            .cloudwatch_role_arn
            .as_deref(),
        Some(role.as_str())
    );

    // An account whose role someone else set: kept, and the stack's role is said unused.
    let account = "000000000062";
    let theirs = format!("arn:aws:iam::{account}:role/theirs");
    let patch = format!(
        r#"{{"patchOperations":[{{"op":"replace","path":"/cloudwatchRoleArn","value":"{theirs}"}}]}}"#
    );
    let (code, body) = aws_call(
        ms,
        account,
        "apigateway",
        ("PATCH", "/account"),
        "application/json",
        &patch,
    );
    assert_eq!(code, 200, "{body}");
    let run = ms
        .deployer(
            account,
            &["bootstrap", "--yes", "--progress", "events"],
            &[],
        )
        .success();
    assert!(
        run.stderr.contains(&format!(
            "CloudWatch Logs role {theirs} is already set; kept (the bootstrap stack's role"
        )),
        "{run}"
    );
    assert_eq!(
        api_gateway_account(ms, account)
            .cloudwatch_role_arn
            .as_deref(),
        Some(theirs.as_str())
    );
}

/// `deployer diff`, through a proxy that notes the IAM action of every request it sends.
fn recorded_diff(
    ms: &Ministack,
    recorder: &tests::recorder::Recorder,
    account: &str,
    args: &[&str],
) -> (Run, std::collections::BTreeSet<String>) {
    let mut all = vec!["diff", "--output", "json"];
    all.extend_from_slice(args);
    let run = ms.deployer(
        account,
        &all,
        &[("AWS_ENDPOINT_URL", recorder.endpoint.as_str())],
    );
    (run, recorder.take())
}

/// The CI diff role allows exactly `deployer::cloud::permissions::DIFF_ACTIONS` (README): every
/// call `diff` makes, in each of its paths, is one of them, and each of them is made.
#[test]
fn diff_calls_exactly_the_actions_of_the_ci_diff_role() {
    use deployer::cloud::permissions::DIFF_ACTIONS;
    let ms = ministack();
    let recorder = tests::recorder::Recorder::start(&ms.endpoint);
    let account = "000000000071";
    bootstrap(ms, account);
    deploy(ms, account, "dev", &[]).success();

    let mut called = std::collections::BTreeSet::new();
    let dev = ["--stage", "dev", "--profile", "dev", "--no-build"];
    // Unchanged; one change; a stage never deployed (no change set); a promotion's build;
    // the template only.
    let cases: [(&[&str], bool); 6] = [
        (&dev, false),
        (&["--stage", "dev", "--template-only"], false),
        (&[&dev[..], &["--set", "throttle-rate=75"]].concat(), true),
        (
            &["--stage", "staging", "--profile", "dev", "--no-build"],
            true,
        ),
        (&["--stage", "staging", "--from", "dev"], true),
        (&["--stage", "dev", "--from", "dev"], false),
    ];
    for (args, changes) in cases {
        let (run, actions) = recorded_diff(ms, &recorder, account, args);
        let run = run.success();
        let diff: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(diff["hasChanges"], changes, "{args:?}: {run}");
        assert!(
            !actions.is_empty(),
            "{args:?}: no call went through the recorder"
        );
        called.extend(actions);
    }
    // A promotion from a stage that does not exist: refused, and still within the role.
    let (run, actions) = recorded_diff(
        ms,
        &recorder,
        account,
        &["--stage", "prod", "--from", "staging"],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr.contains("stack webhooks-staging does not exist"),
        "{run}"
    );
    called.extend(actions);
    // Nothing was created by any of them.
    assert!(parameters(ms, account, "webhooks-staging").is_none());

    let allowed: std::collections::BTreeSet<String> =
        DIFF_ACTIONS.iter().map(|a| (*a).to_owned()).collect();
    let beyond: Vec<_> = called.difference(&allowed).collect();
    assert!(
        beyond.is_empty(),
        "diff called actions the CI diff role does not allow: {beyond:?}"
    );
    let unused: Vec<_> = allowed.difference(&called).collect();
    assert!(
        unused.is_empty(),
        "the CI diff role allows actions diff never calls: {unused:?}"
    );
}

#[test]
fn smoke_signs_its_status_reads_where_the_stage_wants_iam() {
    let ms = ministack();
    let account = "000000000051";
    bootstrap(ms, account);
    let run = deploy(ms, account, "dev", &["--set", "status-auth=iam"]).success();
    let out = outputs(&run);
    assert_eq!(out["StatusAuth"], "iam", "{run}");
    assert!(out["StatusReaderPolicyArn"].contains("arn:"), "{run}");
    let key = secret(ms, account, &out["WebhookSecretArn"]);
    // A local cloud whose status route wants IAM, accepting the caller's credentials: an
    // unsigned read is refused there, and smoke's reads (SigV4, the AWS SDK's signer) pass.
    let cloud = tests::local::LocalCloud::start_env(
        &["--ephemeral", "--set", "status-auth=iam"],
        Some(&key),
        &[
            ("AWS_ACCESS_KEY_ID", account),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    let (code, _) = http(
        "GET",
        &format!("{}/webhooks/wh_{}", cloud.api, "0".repeat(32)),
        &[],
        "",
    );
    assert_eq!(code, 403);
    smoke_to_completed(ms, account, &cloud);
}

/// The deployed template of `stack`, as JSON.
fn deployed_template(ms: &Ministack, account: &str, stack: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(sdk_config(ms, account));
        let body = client
            .get_template()
            .stack_name(stack)
            .send()
            .await
            .unwrap()
            .template_body
            .unwrap();
        serde_yaml::from_str(&body).unwrap()
    })
}

/// Updates `stack` to `template` with its parameters as they are (another tool's deploy).
fn update_stack(ms: &Ministack, account: &str, stack: &str, template: &Value) {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    let keys: Vec<String> = parameters(ms, account, stack)
        .unwrap()
        .into_keys()
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(sdk_config(ms, account));
        client
            .update_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .set_parameters(Some(
                keys.iter()
                    .map(|k| {
                        Parameter::builder()
                            .parameter_key(k)
                            .use_previous_value(true)
                            .build()
                    })
                    .collect(),
            ))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .unwrap();
        assert_eq!(settled(&client, stack).await, "UPDATE_COMPLETE");
    });
}

/// `diff --template-only` knows before any deploy which property changes replace their
/// resource (a table key: may replace, stateful; a function name: replaces; memory: no),
/// and `deploy` refuses to lose the table's data without `--allow-replace`, changing nothing.
#[test]
fn template_only_diff_marks_replacements_and_deploy_refuses_to_lose_a_table() {
    let ms = ministack();
    let account = "000000000131";
    bootstrap(ms, account);
    deploy(ms, account, "dev", &[]).success();
    // What runs now differs from the definition: the table keyed by `pk`, the receiver named.
    let mut tampered = deployed_template(ms, account, "webhooks-dev");
    let table = &mut tampered["Resources"]["WebhookTable"]["Properties"];
    table["KeySchema"][0]["AttributeName"] = "pk".into();
    table["AttributeDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"AttributeName": "pk", "AttributeType": "S"}));
    tampered["Resources"]["Receiver"]["Properties"]["FunctionName"] = "receiver-old".into();
    update_stack(ms, account, "webhooks-dev", &tampered);

    let args = [
        "diff",
        "--stage",
        "dev",
        "--template-only",
        "--output",
        "json",
        "--set",
        "processor-memory-mb=512",
    ];
    let run = ms.deployer(account, &args, &[]).success();
    let diff: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (&diff["templateOnly"], &diff["losesData"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    let change = |id: &str| -> Value {
        diff["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["logicalId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no change of {id}: {run}"))
    };
    let table = change("WebhookTable");
    assert_eq!(
        (&table["replacement"], &table["losesData"]),
        (&Value::from("Conditional"), &Value::Bool(true))
    );
    let receiver = change("Receiver");
    assert_eq!(receiver["replacement"], "True");
    assert_eq!(receiver["properties"][0]["path"], "/FunctionName");
    assert_eq!(receiver["losesData"], false);
    let processor = change("Processor");
    assert_eq!(processor["replacement"], "False");
    assert_eq!(processor["properties"][0]["path"], "/MemorySize");
    let text = ms.deployer(account, &args[..args.len() - 4], &[]).success();
    assert!(
        has_line(
            &text.stdout,
            &[
                "Modify",
                "WebhookTable",
                "may replace the resource",
                "[stateful: its data is lost]"
            ]
        ),
        "{text}"
    );

    let refused = deploy(ms, account, "dev", &[]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused
            .stderr
            .contains("would lose the data of `WebhookTable`")
            && refused.stderr.contains("--allow-replace WebhookTable"),
        "{refused}"
    );
    let after = deployed_template(ms, account, "webhooks-dev");
    assert_eq!(after, tampered, "a refused deploy changed the stack");

    deploy(ms, account, "dev", &["--allow-replace", "WebhookTable"]).success();
    let after = deployed_template(ms, account, "webhooks-dev");
    assert_eq!(
        after["Resources"]["WebhookTable"]["Properties"]["KeySchema"][0]["AttributeName"],
        "id"
    );
}

/// The physical id of `logical` in `stack`.
fn physical_id(ms: &Ministack, account: &str, stack: &str, logical: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(sdk_config(ms, account));
        client
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
            .unwrap()
            .stack_resource_detail
            .unwrap()
            .physical_resource_id
            .unwrap()
    })
}

/// `deployer drift` runs CloudFormation's drift detection: in sync after a deploy, then a
/// function's memory changed outside CloudFormation shows as MODIFIED with the property,
/// the expected and the actual value; a stage never deployed is a clear error.
#[test]
fn drift_reports_a_change_made_outside_cloudformation() {
    let ms = ministack();
    let account = "000000000132";
    bootstrap(ms, account);
    deploy(ms, account, "dev", &[]).success();
    let drift = |extra: &[&str]| {
        let mut args = vec!["drift", "--stage", "dev"];
        args.extend_from_slice(extra);
        ms.deployer(account, &args, &[]).success()
    };
    let report: Value = serde_json::from_str(&drift(&["--output", "json"]).stdout).unwrap();
    assert_eq!(report["drifted"], false, "{report}");
    assert_eq!(report["status"], "IN_SYNC");

    let function = physical_id(ms, account, "webhooks-dev", "Receiver");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        lambda_client(ms, account)
            .update_function_configuration()
            .function_name(&function)
            .memory_size(1024)
            .send()
            .await
            .unwrap();
    });
    let report: Value = serde_json::from_str(&drift(&["--output", "json"]).stdout).unwrap();
    assert_eq!(
        (&report["drifted"], &report["status"]),
        (&Value::Bool(true), &Value::from("DRIFTED"))
    );
    let receiver = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logicalId"] == "Receiver")
        .unwrap();
    assert_eq!(receiver["status"], "MODIFIED");
    assert_eq!(
        receiver["properties"][0],
        serde_json::json!({"path": "/MemorySize", "expected": "256", "actual": "1024", "difference": "NOT_EQUAL"})
    );
    let text = drift(&[]);
    assert!(
        has_line(
            &text.stdout,
            &["MODIFIED", "Receiver", "AWS::Lambda::Function"]
        ) && has_line(
            &text.stdout,
            &["/MemorySize (NOT_EQUAL): expected 256, actual 1024"]
        ),
        "{text}"
    );

    let missing = ms.deployer(account, &["drift", "--stage", "staging"], &[]);
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(
        missing
            .stderr
            .contains("stack webhooks-staging does not exist"),
        "{missing}"
    );
}

/// A Lambda client for `account` on this ministack.
fn lambda_client(ms: &Ministack, account: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&ms.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// The version alias `live` of `function` points to, and what invoking it with `event`
/// answers.
fn live(ms: &Ministack, account: &str, function: &str, event: &Value) -> (String, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lambda = lambda_client(ms, account);
        let alias = lambda
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
            .unwrap();
        let out = lambda
            .invoke()
            .function_name(function)
            .qualifier("live")
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .unwrap();
        let body = out
            .payload
            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
            .unwrap_or_default();
        (alias.function_version.unwrap(), body)
    })
}

/// `deploy --hotswap`: a code-only change updates the function, publishes a version and
/// moves the alias without a change set (the stack's parameters stay), and the alias then
/// answers with the new code; `drift` names the hotswapped function until a full deploy; a
/// template change falls back to a change set and says why; prod is refused.
#[test]
fn hotswap_moves_the_alias_to_new_code_and_falls_back_for_anything_else() {
    let ms = ministack();
    let account = "000000000133";
    bootstrap(ms, account);
    deploy(ms, account, "dev", &[]).success();
    let before = parameters(ms, account, "webhooks-dev").unwrap();
    let status = physical_id(ms, account, "webhooks-dev", "Status");
    // API Gateway's event of a GET /webhooks/{id}, sent as a POST.
    let mut post: Value = serde_json::from_str(
        &std::fs::read_to_string(
            tests::workspace_root().join("tests/fixtures/apigw/get-status.json"),
        )
        .unwrap(),
    )
    .unwrap();
    post["httpMethod"] = "POST".into();
    post["requestContext"]["httpMethod"] = "POST".into();
    let (version, answer) = live(ms, account, &status, &post);
    assert!(answer.contains("POST is not allowed here"), "{answer}");

    // The status function's code changes (one message), nothing else.
    let fake = fake_target(|name, binary| match name {
        "status" => patched(binary, b" is not allowed here", b" is NOT allowed here"),
        _ => binary,
    });
    let target = [("CARGO_TARGET_DIR", fake.path().to_str().unwrap())];
    let mut args = vec![
        "deploy",
        "--stage",
        "dev",
        "--hotswap",
        "--yes",
        "--progress",
        "events",
    ];
    args.extend(PACKAGES);
    let run = ms.deployer(account, &args, &target).success();
    assert!(run.stderr.contains("hotswapped 1 function(s)"), "{run}");
    assert!(run.stderr.contains("Status: code assets/"), "{run}");
    assert!(!run.stderr.contains("change set"), "{run}");
    assert_eq!(parameters(ms, account, "webhooks-dev").unwrap(), before);
    let (moved, answer) = live(ms, account, &status, &post);
    assert_ne!(moved, version);
    assert!(answer.contains("POST is NOT allowed here"), "{answer}");
    let drift = |run: Run| -> Value { serde_json::from_str(&run.success().stdout).unwrap() };
    let json = ["drift", "--stage", "dev", "--output", "json"];
    let report = drift(ms.deployer(account, &json, &[]));
    assert_eq!(report["drifted"], true, "{report}");
    assert!(
        report["hotswapped"]["Status"]
            .as_str()
            .unwrap()
            .starts_with("assets/")
    );

    // A template change: a full deploy, with the reason; the marker is gone after it.
    let mut args = args.clone();
    args.extend(["--set", "api-memory-mb=512"]);
    let run = ms.deployer(account, &args, &target).success();
    assert!(
        has_line(
            &run.stderr,
            &[
                "hotswap not possible: `",
                "/MemorySize changed; deploying through a change set"
            ]
        ),
        "{run}"
    );
    assert!(
        run.stderr.contains("webhooks-dev: UPDATE_COMPLETE"),
        "{run}"
    );
    let report = drift(ms.deployer(account, &json, &[]));
    assert!(report.get("hotswapped").is_none(), "{report}");

    // The original code hotswapped in, then a full deploy of the code the stack's template
    // already names: nothing changes there (the alias stays on the hotswapped version), so
    // the marker keeps the function, and `deploy --hotswap` puts it back on that code.
    let run = ms.deployer(account, &args, &[]).success();
    assert!(run.stderr.contains("hotswapped 1 function(s)"), "{run}");
    let full: Vec<&str> = args.iter().copied().filter(|a| *a != "--hotswap").collect();
    let run = ms.deployer(account, &full, &target).success();
    assert!(
        run.stderr.contains("Status still runs hotswapped code"),
        "{run}"
    );
    let report = drift(ms.deployer(account, &json, &[]));
    assert!(report["hotswapped"]["Status"].is_string(), "{report}");
    let (_, answer) = live(ms, account, &status, &post);
    assert!(answer.contains("POST is not allowed here"), "{answer}");
    let run = ms.deployer(account, &args, &target).success();
    assert!(
        run.stderr
            .contains("hotswapped 1 function(s); the stack runs the code its template names"),
        "{run}"
    );
    let (_, answer) = live(ms, account, &status, &post);
    assert!(answer.contains("POST is NOT allowed here"), "{answer}");
    let report = drift(ms.deployer(account, &json, &[]));
    assert!(report.get("hotswapped").is_none(), "{report}");

    let mut prod = vec!["deploy", "--stage", "prod", "--hotswap", "--yes"];
    prod.extend(PACKAGES);
    let refused = ms.deployer(account, &prod, &[]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("--hotswap is refused for prod"),
        "{refused}"
    );
    assert!(parameters(ms, account, "webhooks-prod").is_none());
}
