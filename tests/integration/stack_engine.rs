//! The deployer's engine against ministack: every page of stack events is read, stack
//! operations are followed with the SDK's waiters and a deadline, and `smoke` ends at its
//! `--timeout` whatever the API does. The engine's own functions (`deployer::cloud`) run
//! in the test for what the CLI cannot be made to show (a deadline of two seconds), the CLI
//! for the rest. Each test is its own ministack account.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use deployer::cloud::Cloud;
use deployer::cloud::events::EventStream;
use deployer::cloud::stack::{self, Plan, RequireApproval};
use deployer::cloud::wait::{self, Operation, WaitError, Waiting};
use serde_json::{Value, json};
use tests::ministack::{Ministack, ministack};

fn cloud(ms: &Ministack, account: &str) -> Cloud {
    let credentials = Credentials::new(account, "test", None, None, "tests");
    Cloud::at_endpoint(&ms.endpoint, "us-east-1", credentials)
}

fn cfn(ms: &Ministack, account: &str) -> aws_sdk_cloudformation::Client {
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&ms.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "tests"))
        .build();
    aws_sdk_cloudformation::Client::from_conf(config)
}

/// Creates `stack` from `template` (no change set, no deployer) and waits until it is no
/// longer in progress; returns its status.
async fn create(client: &aws_sdk_cloudformation::Client, stack: &str, template: &Value) -> String {
    client
        .create_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
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
        assert!(Instant::now() < deadline, "{stack} is still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A role IAM refuses to create (ministack as AWS: a trust policy that denies).
fn refused_role() -> Value {
    json!({"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}})
}

#[test]
fn every_page_of_a_stack_s_events_is_read() {
    let ms = ministack();
    let account = "000000000121";
    let cloud = cloud(ms, account);
    // 60 handles, then a resource that fails once they exist, then the rollback deletes
    // them: about 250 events, which ministack lists 100 to a page (as CloudFormation pages
    // its events), and the failure sits in the middle, on neither the first nor the last.
    let mut resources = serde_json::Map::new();
    let handles: Vec<String> = (0..60).map(|i| format!("Handle{i:02}")).collect();
    for h in &handles {
        resources.insert(
            h.clone(),
            json!({"Type": "AWS::CloudFormation::WaitConditionHandle"}),
        );
    }
    let mut refused = refused_role();
    refused["DependsOn"] = json!(handles);
    resources.insert("Refused".to_owned(), refused);
    let template = json!({"Resources": resources});
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut events = EventStream::new(&cloud, "paged", false).await.unwrap();
        let status = create(&cfn(ms, account), "paged", &template).await;
        assert_eq!(status, "ROLLBACK_COMPLETE");
        // One read after the end: every event of the operation, across the pages.
        events.poll(&cloud).await.unwrap();
        let trail = &events.trail;
        assert!(trail.len() > 200, "{} events: {trail:#?}", trail.len());
        assert_eq!(
            (trail[0].logical_id.as_str(), trail[0].status.as_str()),
            ("paged", "CREATE_IN_PROGRESS"),
            "oldest first, from the operation's first event"
        );
        let last = &trail[trail.len() - 1];
        assert_eq!(last.status, "ROLLBACK_COMPLETE", "{last}");
        let failure = events.first_failure().expect("the failure is read");
        assert_eq!(failure.logical_id, "Refused", "{failure}");
        assert_eq!(failure.status, "CREATE_FAILED", "{failure}");
        for h in &handles {
            assert!(
                trail
                    .iter()
                    .any(|e| e.logical_id == *h && e.status == "CREATE_COMPLETE"),
                "{h} CREATE_COMPLETE is missing"
            );
        }
    });
}

/// A stack whose create waits `timeout_s` for a signal that never comes, then fails.
fn unsignalled(timeout_s: u32) -> Value {
    json!({"Resources": {
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                 "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": timeout_s.to_string()}}
    }})
}

#[test]
fn a_stack_operation_past_the_deadline_is_left_running_with_its_status() {
    let ms = ministack();
    let account = "000000000122";
    let cloud = cloud(ms, account);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut events = EventStream::new(&cloud, "slow", false).await.unwrap();
        cfn(ms, account)
            .create_stack()
            .stack_name("slow")
            .template_body(unsignalled(60).to_string())
            .send()
            .await
            .unwrap();
        let waiting = Waiting {
            deadline: Duration::from_secs(2),
            ..Waiting::started("slow", Operation::Create, "deployer deploy --stage dev")
        };
        let started = Instant::now();
        let err = wait::until_done(&cloud, waiting, &mut events)
            .await
            .expect_err("the deadline passes first");
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(10), "waited {elapsed:?}");
        match err.downcast_ref::<WaitError>() {
            Some(WaitError::Deadline { status, .. }) => assert_eq!(status, "CREATE_IN_PROGRESS"),
            other => panic!("not a deadline: {other:?} ({err:#})"),
        }
        let text = err.to_string();
        assert!(
            text.contains("stack slow is still CREATE_IN_PROGRESS after ")
                && text.contains("run `deployer deploy --stage dev` to wait for it again"),
            "{text}"
        );
        // The progress was read meanwhile.
        assert!(events.trail.iter().any(|e| e.logical_id == "Handle"));
    });
}

#[test]
fn the_end_of_an_operation_is_seen_at_once_not_at_the_waiters_pace() {
    // The SDK's stack waiters poll every 30 s and more; the deployer starts the waiter
    // again when the events show the end. A create that fails after 3 s (a wait condition
    // never signalled) is reported within a few seconds, with its cause, through the same
    // `apply` that `deploy` runs.
    let ms = ministack();
    let account = "000000000123";
    let cloud = cloud(ms, account);
    let plan = Plan {
        stack: "waited",
        template_body: unsignalled(3).to_string(),
        parameters: Default::default(),
        require_approval: RequireApproval::Never,
        yes: true,
        recreate: false,
        progress: deployer::cloud::Progress::Events,
        again: "deployer deploy --stage dev".to_owned(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let started = Instant::now();
        let err = stack::apply(&cloud, &plan, false)
            .await
            .expect_err("the create fails");
        let elapsed = started.elapsed();
        let text = err.to_string();
        assert!(
            text.contains("deploying stack waited failed: Wait (AWS::CloudFormation::WaitCondition) CREATE_FAILED"),
            "{text}"
        );
        assert!(text.contains("the stack is now ROLLBACK_COMPLETE"), "{text}");
        assert!(
            elapsed < Duration::from_secs(15),
            "the end was seen after {elapsed:?}: {text}"
        );
    });
}

/// Stack `webhooks-dev` with what `smoke` reads before its first request: the webhook
/// secret (an output) and no `ApiUrl` (`--api-url` is given).
fn smoke_stack(ms: &Ministack, account: &str) {
    let template = json!({
        "Resources": {"Secret": {"Type": "AWS::SecretsManager::Secret",
                                 "Properties": {"SecretString": "smoke-secret"}}},
        "Outputs": {"WebhookSecretArn": {"Value": {"Ref": "Secret"}}}
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(create(&cfn(ms, account), "webhooks-dev", &template));
    assert_eq!(status, "CREATE_COMPLETE");
}

/// A server on 127.0.0.1 that accepts every connection and answers only what `answer`
/// answers (`None`: never, the connection held open). Lives as long as the test binary.
fn server(answer: fn(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = vec![];
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = [0u8; 4096];
            let n = stream.read(&mut head).unwrap_or(0);
            let request = String::from_utf8_lossy(&head[..n]).into_owned();
            match answer(&request) {
                Some(response) => {
                    let _ = stream.write_all(response.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    url
}

fn smoke(ms: &Ministack, account: &str, api: &str) -> (tests::Run, Duration) {
    let started = Instant::now();
    let run = ms.deployer(
        account,
        &[
            "smoke",
            "--stage",
            "dev",
            "--api-url",
            api,
            "--timeout",
            "2",
        ],
        &[],
    );
    (run, started.elapsed())
}

#[test]
fn smoke_ends_at_its_timeout_when_the_api_accepts_and_never_answers() {
    let ms = ministack();
    let account = "000000000124";
    smoke_stack(ms, account);

    // The POST is never answered.
    let silent = server(|_| None);
    let (run, took) = smoke(ms, account, &silent);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(took < Duration::from_secs(10), "smoke took {took:?}\n{run}");
    assert!(
        run.stderr.contains(&format!(
            "smoke: POST {silent}/webhooks got no answer within --timeout (2 s)"
        )),
        "{run}"
    );

    // The POST is accepted, then no status read is ever answered.
    let accepting = server(|request| {
        request.starts_with("POST").then(|| {
            let body = r#"{"id":"wh_smoke"}"#;
            format!(
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        })
    });
    let (run, took) = smoke(ms, account, &accepting);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(took < Duration::from_secs(10), "smoke took {took:?}\n{run}");
    assert!(
        run.stderr.contains(&format!(
            "smoke: wh_smoke did not reach COMPLETED within 2 s (GET {accepting}/webhooks/wh_smoke got no answer)"
        )),
        "{run}"
    );
}
