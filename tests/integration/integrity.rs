//! Build integrity: every function runs a version pinned to its package's SHA-256 (the
//! templates), and `deploy` and `promote` refuse packages and assemblies whose bytes no
//! longer hash to their keys (against ministack, objects overwritten through S3 directly),
//! before any change set exists. What ministack's S3 serves of the asset bucket's
//! no-overwrite rule is tested here too; what it does not is said where it matters.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use deployer::cloud::integrity::sha256_hex;
use serde_json::Value;
use stacks::webhook::{self, Stage};
use tests::Run;
use tests::ministack::{Ministack, ministack};

const PACKAGES: [&str; 3] = ["--profile", "dev", "--no-build"];

fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The logical id an expression names: `{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`.
fn named(e: &Value) -> Option<&str> {
    e["Ref"].as_str().or_else(|| e["Fn::GetAtt"][0].as_str())
}

/// Every function has exactly one version with `CodeSha256` bound to a template parameter
/// the deployer fills (the manifest's `sha256Parameter` of the function's package), and an
/// alias on it; API Gateway, Lambda permissions and the schedule invoke aliases only.
#[test]
fn every_function_runs_a_version_pinned_to_its_package_hash() {
    for stage in Stage::ALL {
        let template = webhook::synth(stage).unwrap();
        let t = template.to_value().unwrap();
        let manifest = template.manifest();
        let functions = of_type(&t, "AWS::Lambda::Function");
        assert_eq!(functions.len(), 4, "{stage}");
        let aliases: BTreeMap<&str, &Value> =
            of_type(&t, "AWS::Lambda::Alias").into_iter().collect();
        for (function, _) in &functions {
            let versions: Vec<_> = of_type(&t, "AWS::Lambda::Version")
                .into_iter()
                .filter(|(_, v)| named(&v["Properties"]["FunctionName"]) == Some(function))
                .collect();
            assert_eq!(versions.len(), 1, "{stage}: versions of {function}");
            let (version, v) = versions[0];
            let parameter = v["Properties"]["CodeSha256"]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{stage}: {version} has no CodeSha256 parameter"));
            assert_eq!(
                t["Parameters"][parameter]["AllowedPattern"], "^[A-Za-z0-9+/]{43}=$",
                "{stage}: {parameter}"
            );
            let asset = manifest
                .assets
                .iter()
                .find(|a| a.functions.iter().any(|f| f == function))
                .unwrap_or_else(|| panic!("{stage}: no package runs {function}"));
            assert_eq!(
                asset.sha256_parameter.as_deref(),
                Some(parameter),
                "{stage}: the deployer fills the manifest's sha256Parameter of {function}"
            );
            let on_version: Vec<_> = aliases
                .iter()
                .filter(|(_, a)| named(&a["Properties"]["FunctionVersion"]) == Some(version))
                .collect();
            assert_eq!(on_version.len(), 1, "{stage}: aliases of {version}");
        }
        // Who invokes: only aliases, never a bare function (whose $LATEST is not pinned).
        let mut invoked = Vec::new();
        for (id, p) in of_type(&t, "AWS::Lambda::Permission") {
            assert!(
                p["Properties"]["SourceArn"].is_object(),
                "{stage}: {id} is scoped to its source"
            );
            invoked.push((id, named(&p["Properties"]["FunctionName"])));
        }
        for (id, m) in of_type(&t, "AWS::ApiGateway::Method") {
            let uri = m["Properties"]["Integration"]["Uri"]["Fn::Sub"]
                .as_str()
                .unwrap();
            let target = uri
                .split("${")
                .skip(1)
                .filter_map(|s| s.split('}').next())
                .find(|n| !n.starts_with("AWS::"));
            invoked.push((id, target));
        }
        for (id, r) in of_type(&t, "AWS::Events::Rule") {
            for target in r["Properties"]["Targets"].as_array().unwrap() {
                invoked.push((id, named(&target["Arn"])));
            }
        }
        assert!(invoked.len() >= 7, "{stage}: {invoked:?}");
        for (id, target) in invoked {
            let target = target.unwrap_or_else(|| panic!("{stage}: {id} names no resource"));
            assert!(
                aliases.contains_key(target),
                "{stage}: {id} invokes {target}, not an alias"
            );
        }
    }
}

fn s3(ms: &Ministack, account: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&ms.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    rt().block_on(async {
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    })
}

/// Overwrites `key` with `bytes` through S3 itself, unconditionally, as someone with write
/// access to the bucket would. ministack does not evaluate bucket policies, so its S3 takes
/// this; AWS refuses it under the bootstrap stack's policy (then deleting the object first
/// and writing it with `If-None-Match: *` gets the same result, which verification catches
/// just the same).
fn overwrite(client: &aws_sdk_s3::Client, bucket: &str, key: &str, bytes: &[u8]) {
    rt().block_on(async {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
    });
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn bootstrap(ms: &Ministack, account: &str) -> String {
    let run = ms
        .deployer(
            account,
            &["bootstrap", "--yes", "--progress", "events"],
            &[],
        )
        .success();
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("AssetBucketName="))
        .unwrap_or_else(|| panic!("no bucket in the outputs:\n{run}"))
        .to_owned()
}

fn deployer(ms: &Ministack, endpoint: &str, account: &str, args: &[&str]) -> Run {
    ms.deployer(account, args, &[("AWS_ENDPOINT_URL", endpoint)])
}

fn deploy_args<'a>(stage: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["deploy", "--stage", stage, "--yes", "--progress", "events"];
    args.extend(PACKAGES);
    args.extend(extra);
    args
}

/// What a stack is: its template, parameters, status and last update.
fn stack_state(ms: &Ministack, account: &str, stack: &str) -> (String, Vec<String>) {
    use aws_sdk_cloudformation::config::{BehaviorVersion as B, Credentials as C, Region as R};
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(B::latest())
        .endpoint_url(&ms.endpoint)
        .region(R::new("us-east-1"))
        .credentials_provider(C::new(account, "test", None, None, "tests"))
        .build();
    rt().block_on(async {
        let client = aws_sdk_cloudformation::Client::from_conf(config);
        let body = client
            .get_template()
            .stack_name(stack)
            .send()
            .await
            .unwrap()
            .template_body
            .unwrap_or_default();
        let described = client
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let s = &described.stacks()[0];
        let mut facts = vec![
            format!("{:?}", s.stack_status()),
            format!("{:?}", s.last_updated_time()),
        ];
        for p in s.parameters() {
            facts.push(format!(
                "{}={}",
                p.parameter_key().unwrap_or_default(),
                p.parameter_value().unwrap_or_default()
            ));
        }
        facts.sort();
        (body, facts)
    })
}

fn parameters(ms: &Ministack, account: &str, stack: &str) -> BTreeMap<String, String> {
    stack_state(ms, account, stack)
        .1
        .iter()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A refused run: exit 1, the object named with the hash its key gives and the one found,
/// and no change set made or object written (every AWS call it made, recorded).
fn assert_refused(run: &Run, calls: &BTreeSet<String>, bucket: &str, key: &str, found: &str) {
    assert_eq!(run.code, Some(1), "{run}");
    let expected = key
        .rsplit('/')
        .next()
        .and_then(|f| f.split('.').next())
        .unwrap();
    assert!(
        run.stderr.contains(&format!(
            "s3://{bucket}/{key}: expected SHA-256 {expected}, found {found}"
        )),
        "{run}"
    );
    assert!(run.stderr.contains("nothing was deployed"), "{run}");
    for forbidden in [
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "s3:PutObject",
    ] {
        assert!(
            !calls.contains(forbidden),
            "{forbidden} in {calls:?}\n{run}"
        );
    }
}

#[test]
fn promote_refuses_a_tampered_package_or_assembly_and_leaves_the_stage_unchanged() {
    let ms = ministack();
    let recorder = tests::recorder::Recorder::start(&ms.endpoint);
    let via = recorder.endpoint.as_str();
    let account = "000000000101";
    let bucket = bootstrap(ms, account);
    let client = s3(ms, account);
    let promote = ["promote", "--from", "dev", "--to", "staging", "--yes"];

    deploy(ms, account, &deploy_args("dev", &[])).success();
    // Staging runs a build of its own (one setting apart): promoting dev's would change it.
    let run = deploy(
        ms,
        account,
        &deploy_args("staging", &["--set", "throttle-rate=75"]),
    )
    .success();
    assert!(
        run.stderr.contains(
            "unchanged, not uploaded: processor, receiver, reconciler, status (each downloaded and verified against its SHA-256 key)"
        ),
        "{run}"
    );
    // The deployer filled every CodeSha256 with the hash its package key names.
    let dev = parameters(ms, account, "webhooks-dev");
    for function in ["Processor", "Receiver", "Status", "Reconciler"] {
        let key = &dev[&format!("{function}CodeKey")];
        let hex = key.trim_start_matches("assets/").trim_end_matches(".zip");
        assert_eq!(
            dev[&format!("{function}CodeSha256")],
            base64::engine::general_purpose::STANDARD.encode(hex_bytes(hex)),
            "{function}"
        );
    }
    let staging = stack_state(ms, account, "webhooks-staging");
    recorder.take();

    // A package replaced in the bucket: refused, staging untouched.
    let package = dev["ReceiverCodeKey"].clone();
    let original = get(&client, &bucket, &package);
    let mut tampered = original.clone();
    tampered.extend_from_slice(b"appended");
    overwrite(&client, &bucket, &package, &tampered);
    let run = deployer(ms, via, account, &promote);
    assert_refused(
        &run,
        &recorder.take(),
        &bucket,
        &package,
        &sha256_hex(&tampered),
    );
    assert_eq!(stack_state(ms, account, "webhooks-staging"), staging);
    overwrite(&client, &bucket, &package, &original);

    // The assembly dev's record names, changed: refused before a package is even read.
    let record: Value =
        serde_json::from_slice(&get(&client, &bucket, "deployments/webhooks-dev.json")).unwrap();
    let assembly_key = record["assembly"].as_str().unwrap().to_owned();
    let original = get(&client, &bucket, &assembly_key);
    let mut assembly: Value = serde_json::from_slice(&original).unwrap();
    let staging_template = assembly["templates"]["staging"].as_str().unwrap();
    assembly["templates"]["staging"] = staging_template
        .replace("Webhook receiver", "Someone else's receiver")
        .into();
    let tampered = serde_json::to_vec(&assembly).unwrap();
    overwrite(&client, &bucket, &assembly_key, &tampered);
    let run = deployer(ms, via, account, &promote);
    let calls = recorder.take();
    assert_refused(&run, &calls, &bucket, &assembly_key, &sha256_hex(&tampered));
    assert!(!run.stderr.contains("verified 4 package(s)"), "{run}");
    assert_eq!(stack_state(ms, account, "webhooks-staging"), staging);
    // `diff --from` reads the same assembly: it refuses it too.
    let run = deployer(
        ms,
        via,
        account,
        &["diff", "--stage", "staging", "--from", "dev"],
    );
    assert_refused(
        &run,
        &recorder.take(),
        &bucket,
        &assembly_key,
        &sha256_hex(&tampered),
    );

    // Restored, the same build promotes: the refusals were the tampering's doing.
    overwrite(&client, &bucket, &assembly_key, &original);
    let run = deployer(ms, via, account, &promote).success();
    assert!(run.stderr.contains("verified 4 package(s)"), "{run}");
    assert_ne!(stack_state(ms, account, "webhooks-staging"), staging);
}

fn deploy(ms: &Ministack, account: &str, args: &[&str]) -> Run {
    ms.deployer(account, args, &[])
}

#[test]
fn deploy_refuses_a_tampered_package_or_assembly_the_bucket_already_holds() {
    let ms = ministack();
    let recorder = tests::recorder::Recorder::start(&ms.endpoint);
    let via = recorder.endpoint.as_str();
    let account = "000000000102";
    let bucket = bootstrap(ms, account);
    let client = s3(ms, account);
    let run = deploy(ms, account, &deploy_args("dev", &[])).success();
    for f in ["processor", "receiver", "reconciler", "status"] {
        assert!(run.stderr.contains(&format!("uploaded {f} (")), "{run}");
    }
    let dev = stack_state(ms, account, "webhooks-dev");
    let keys = parameters(ms, account, "webhooks-dev");
    recorder.take();

    // A package already there, changed: a deploy that would change the stack refuses.
    let package = keys["StatusCodeKey"].clone();
    let original = get(&client, &bucket, &package);
    let tampered = b"PK\x03\x04 not the status function".to_vec();
    overwrite(&client, &bucket, &package, &tampered);
    let changed = deploy_args("dev", &["--set", "throttle-rate=75"]);
    let run = deployer(ms, via, account, &changed);
    assert_refused(
        &run,
        &recorder.take(),
        &bucket,
        &package,
        &sha256_hex(&tampered),
    );
    assert_eq!(stack_state(ms, account, "webhooks-dev"), dev);
    overwrite(&client, &bucket, &package, &original);

    // The stored assembly of this very build, changed: the same deploy refuses it.
    let record: Value =
        serde_json::from_slice(&get(&client, &bucket, "deployments/webhooks-dev.json")).unwrap();
    let assembly_key = record["assembly"].as_str().unwrap().to_owned();
    let original = get(&client, &bucket, &assembly_key);
    let mut assembly: Value = serde_json::from_slice(&original).unwrap();
    assembly["parameters"]["StatusCodeKey"] = format!("assets/{}.zip", "0".repeat(64)).into();
    let tampered = serde_json::to_vec(&assembly).unwrap();
    overwrite(&client, &bucket, &assembly_key, &tampered);
    let same = deploy_args("dev", &[]);
    let run = deployer(ms, via, account, &same);
    assert_refused(
        &run,
        &recorder.take(),
        &bucket,
        &assembly_key,
        &sha256_hex(&tampered),
    );
    assert_eq!(stack_state(ms, account, "webhooks-dev"), dev);

    // Restored, the deploy goes through (and finds nothing to change).
    overwrite(&client, &bucket, &assembly_key, &original);
    deploy(ms, account, &same).success();
    assert_eq!(parameters(ms, account, "webhooks-dev"), keys);
}

/// What ministack's S3 serves of the asset bucket's rules: the bootstrap stack's policy is
/// stored as synthesized, a write with `If-None-Match: *` to a key that exists is refused
/// with 412 (the deployer then verifies what is there), and a body that does not have the
/// SHA-256 sent with it is refused (400 BadDigest). What it does not: it never evaluates
/// bucket policies (no `AUTH`; with `AUTH=true` an account's root keys skip every policy,
/// and its S3 puts no `s3:if-none-match` in a request's condition context), so an
/// unconditional overwrite, which AWS refuses with 403 under this policy, is accepted.
#[test]
fn the_asset_bucket_keeps_what_it_stores_where_ministack_can_tell() {
    let ms = ministack();
    let account = "000000000103";
    let bucket = bootstrap(ms, account);
    let client = s3(ms, account);
    let rt = rt();

    let policy = rt.block_on(async {
        client
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .policy
            .unwrap()
    });
    let policy: Value = serde_json::from_str(&policy).unwrap();
    let deny = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "DenyOverwritingContentAddressedObjects")
        .unwrap_or_else(|| panic!("{policy:#}"));
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(
        deny["Condition"],
        serde_json::json!({"Null": {"s3:if-none-match": "true"}})
    );
    let resources: Vec<&str> = match &deny["Resource"] {
        Value::Array(a) => a.iter().map(|r| r.as_str().unwrap()).collect(),
        other => vec![other.as_str().unwrap()],
    };
    assert_eq!(
        resources,
        [
            format!("arn:aws:s3:::{bucket}/assets/*"),
            format!("arn:aws:s3:::{bucket}/assemblies/*")
        ]
    );

    let bytes = b"a package".to_vec();
    let key = format!("assets/{}.zip", sha256_hex(&bytes));
    let digest = base64::engine::general_purpose::STANDARD.encode(hex_bytes(&sha256_hex(&bytes)));
    let put = |body: &[u8], conditional: bool, checksum: Option<&str>| {
        rt.block_on(async {
            let mut req = client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body.to_vec().into());
            if conditional {
                req = req.if_none_match("*");
            }
            if let Some(c) = checksum {
                req = req.checksum_sha256(c);
            }
            match req.send().await {
                Ok(_) => 200,
                Err(e) => e.raw_response().unwrap().status().as_u16(),
            }
        })
    };
    assert_eq!(put(b"other bytes", true, Some(&digest)), 400, "BadDigest");
    assert_eq!(put(&bytes, true, Some(&digest)), 200);
    assert_eq!(put(b"other bytes", true, None), 412);
    assert_eq!(get(&client, &bucket, &key), bytes);
    // Not enforced by ministack (see above): AWS answers 403 here.
    assert_eq!(put(b"other bytes", false, None), 200);
    assert_eq!(get(&client, &bucket, &key), b"other bytes");
}

/// The bootstrap stack, with its no-overwrite statement, passes the real cfn-lint (which
/// checks IAM policy documents, their condition operators included).
#[test]
fn the_bootstrap_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deployer-bootstrap.template.json");
    let template = stacks::bootstrap::synth().unwrap();
    std::fs::write(&path, template.render(stacks::Format::Json).unwrap()).unwrap();
    let cfn_lint = tests::venv_tool("cfn-lint", "CFN_LINT");
    let run = tests::run(
        &cfn_lint,
        &["--include-checks", "I", "--", path.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{run}");
}
