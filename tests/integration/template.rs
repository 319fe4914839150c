//! What the synthesized templates contain: the stack the issue asks for, least privilege,
//! per-stage settings.

use serde_json::Value;
use stacks::webhook::{self, Stage, StageConfig, webhook_stack};
use tempfile::tempdir;
use webhook_contract::{env, table};

fn template(stage: Stage) -> Value {
    webhook::synth(stage).unwrap().to_value().unwrap()
}

fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn statements(t: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for (_, r) in t["Resources"].as_object().unwrap() {
        let props = &r["Properties"];
        let docs: Vec<&Value> = match r["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => props["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| &p["PolicyDocument"])
                .collect(),
            "AWS::IAM::Policy" => vec![&props["PolicyDocument"]],
            _ => vec![],
        };
        for doc in docs {
            out.extend(doc["Statement"].as_array().unwrap());
        }
    }
    out
}

#[test]
fn dev_template_from_the_cli_has_the_whole_stack() {
    let dir = tempdir().unwrap();
    tests::deployer(dir.path(), &["synth", "--stage", "dev", "--out", "o"]).success();
    let text = std::fs::read_to_string(dir.path().join("o/webhooks-dev.template.yaml")).unwrap();
    let t: Value = serde_yaml::from_str(&text).unwrap();

    assert_eq!(of_type(&t, "AWS::ApiGateway::RestApi").len(), 1);
    assert_eq!(of_type(&t, "AWS::ApiGateway::Stage").len(), 1);
    let functions = of_type(&t, "AWS::Lambda::Function");
    assert_eq!(functions.len(), 4);
    let durable: Vec<_> = functions
        .iter()
        .filter(|(_, f)| f["Properties"].get("DurableConfig").is_some())
        .collect();
    assert_eq!(durable.len(), 1, "exactly one durable function");
    let (durable_id, f) = durable[0];
    assert_eq!(
        f["Properties"]["DurableConfig"],
        serde_json::json!({"ExecutionTimeout": 3600, "RetentionPeriodInDays": 7})
    );
    // One alias per function (each on a version pinned to its code); the durable one's:
    let aliases = of_type(&t, "AWS::Lambda::Alias");
    assert_eq!(aliases.len(), 4);
    let durable_aliases: Vec<_> = aliases
        .iter()
        .filter(|(_, a)| a["Properties"]["FunctionName"]["Ref"] == *durable_id)
        .collect();
    assert_eq!(durable_aliases.len(), 1);
    // The receiver starts executions through the alias, never the bare function.
    let receiver = &t["Resources"]["Receiver"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        receiver[env::PROCESSOR_FUNCTION]["Ref"],
        durable_aliases[0].0
    );

    let tables = of_type(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1);
    assert_eq!(
        tables[0].1["Properties"]["TimeToLiveSpecification"],
        serde_json::json!({"AttributeName": table::TTL_ATTRIBUTE, "Enabled": true})
    );
    assert_eq!(
        tables[0].1["Properties"]["KeySchema"],
        serde_json::json!([{"AttributeName": table::PARTITION_KEY, "KeyType": "HASH"}])
    );
}

#[test]
fn iam_is_least_privilege_in_every_stage() {
    for stage in Stage::ALL {
        let t = template(stage);
        let all = statements(&t);
        assert!(all.len() >= 8, "{stage}: {} statements", all.len());
        for st in all {
            for action in st["Action"].as_array().unwrap() {
                let action = action.as_str().unwrap();
                assert!(
                    !action.contains('*'),
                    "{stage}: wildcard action {action} in {st}"
                );
            }
            // `*` only for X-Ray's trace uploads, which have no resource type.
            let xray = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"];
            if let Some(resources) = st.get("Resource") {
                for r in resources.as_array().unwrap() {
                    if r == "*" {
                        assert_eq!(st["Action"], serde_json::json!(xray), "{stage}: {st}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_secret_is_referenced_never_inlined() {
    for stage in Stage::ALL {
        let t = template(stage);
        let text = serde_json::to_string(&t).unwrap();
        assert!(
            !text.contains(&format!("\"{}\"", env::WEBHOOK_SECRET)),
            "{stage}"
        );
        let vars = &t["Resources"]["Receiver"]["Properties"]["Environment"]["Variables"];
        assert!(
            vars.get(env::WEBHOOK_SECRET_ARN).is_none(),
            "{stage}: {vars}"
        );
        assert_eq!(vars[env::ID_KEY_ARN]["Ref"], "WebhookIdKey", "{stage}");
        // Every source names its secret by reference; no secret holds a value in the template.
        let sources = vars[env::SOURCES]["Fn::Sub"].as_str().unwrap();
        let sources: Value = serde_json::from_str(sources).unwrap();
        let names: Vec<&String> = sources.as_object().unwrap().keys().collect();
        assert!(names.iter().any(|n| *n == "default"), "{stage}: {names:?}");
        for (name, source) in sources.as_object().unwrap() {
            let reference = source["secret"].as_str().unwrap();
            let logical = reference
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{stage}/{name}: {reference}"));
            let secret = &t["Resources"][logical];
            assert_eq!(secret["Type"], "AWS::SecretsManager::Secret", "{logical}");
        }
        let secrets = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == "AWS::SecretsManager::Secret")
            .collect::<Vec<_>>();
        assert_eq!(
            secrets.len(),
            names.len() + 1,
            "{stage}: a secret per source and the id key"
        );
        for secret in secrets {
            assert!(
                secret["Properties"].get("SecretString").is_none(),
                "{secret}"
            );
        }
    }
}

#[test]
fn stages_differ_where_the_config_says() {
    let dev = template(Stage::Dev);
    let prod = template(Stage::Prod);
    let table = |t: &Value| t["Resources"]["WebhookTable"].clone();
    assert_eq!(table(&dev)["DeletionPolicy"], "Delete");
    assert_eq!(table(&prod)["DeletionPolicy"], "Retain");
    assert_eq!(table(&prod)["UpdateReplacePolicy"], "Retain");
    assert_eq!(
        table(&prod)["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(
        table(&dev)["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        false
    );
    for (stage, t) in [(Stage::Dev, &dev), (Stage::Prod, &prod)] {
        let cfg = StageConfig::of(stage);
        let settings = &t["Resources"]["ApiStage"]["Properties"]["MethodSettings"][0];
        assert_eq!(settings["ThrottlingBurstLimit"], cfg.throttle.burst);
        assert_eq!(
            settings["ThrottlingRateLimit"],
            cfg.throttle.rate_per_second
        );
        assert_eq!(
            t["Resources"]["ProcessorLogs"]["Properties"]["RetentionInDays"],
            cfg.log_retention_days
        );
        assert_eq!(
            t["Resources"]["Processor"]["Properties"]["Environment"]["Variables"][env::TTL_DAYS],
            cfg.ttl_days.to_string()
        );
        assert_eq!(
            t["Resources"]["ApiStage"]["Properties"]["StageName"],
            stage.as_str()
        );
    }
    assert_eq!(StageConfig::of(Stage::Dev).ttl_days, 14);
}

/// The DynamoDB actions granted to each function's role, `(action, resource kind)` with the
/// kind `table` or `index/<name>`.
pub(crate) fn dynamodb_grants(t: &Value, role: &str) -> Vec<(String, String)> {
    let policies = t["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap();
    let mut out = Vec::new();
    for st in policies
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
    {
        for action in st["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            if !action.starts_with("dynamodb:") {
                continue;
            }
            for r in st["Resource"].as_array().unwrap() {
                let kind = match r.get("Fn::Sub") {
                    Some(sub) => {
                        let text = sub.as_str().unwrap_or_default().to_owned();
                        text.rsplit_once("}/")
                            .map_or(text.clone(), |(_, k)| k.to_owned())
                    }
                    None => "table".to_owned(),
                };
                out.push((action.to_owned(), kind));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn each_function_holds_exactly_the_dynamodb_actions_its_code_calls() {
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
            .collect()
    };
    for stage in Stage::ALL {
        let t = template(stage);
        // Receiver: insert (PutItem, GetItem on a redelivery without the old item), record
        // the start (UpdateItem).
        assert_eq!(
            dynamodb_grants(&t, "ReceiverRole"),
            pairs(&[
                ("dynamodb:GetItem", "table"),
                ("dynamodb:PutItem", "table"),
                ("dynamodb:UpdateItem", "table")
            ])
        );
        assert_eq!(
            dynamodb_grants(&t, "ProcessorRole"),
            pairs(&[
                ("dynamodb:GetItem", "table"),
                ("dynamodb:UpdateItem", "table")
            ])
        );
        assert_eq!(
            dynamodb_grants(&t, "StatusRole"),
            pairs(&[("dynamodb:GetItem", "table")])
        );
        // Reconciler: reads the attention index (never scans), writes conditionally.
        assert_eq!(
            dynamodb_grants(&t, "ReconcilerRole"),
            pairs(&[
                ("dynamodb:Query", "index/attention"),
                ("dynamodb:UpdateItem", "table")
            ])
        );
    }
}

#[test]
fn the_reconciler_runs_on_a_schedule_over_a_sparse_index() {
    let t = template(Stage::Dev);
    let table = &t["Resources"]["WebhookTable"]["Properties"];
    let gsi = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], table::ATTENTION_INDEX);
    assert_eq!(
        gsi["KeySchema"],
        serde_json::json!([
            {"AttributeName": table::ATTENTION, "KeyType": "HASH"},
            {"AttributeName": table::ATTENTION_SINCE, "KeyType": "RANGE"}
        ])
    );
    assert_eq!(gsi["Projection"]["ProjectionType"], "INCLUDE");
    let rule = &t["Resources"]["ReconcileSchedule"]["Properties"];
    assert_eq!(rule["ScheduleExpression"], "rate(5 minutes)");
    // The schedule runs the reconciler's pinned version, through its alias.
    assert_eq!(rule["Targets"][0]["Arn"]["Ref"], "ReconcilerAlias");
    let permission = &t["Resources"]["ReconcileSchedulePermission"]["Properties"];
    assert_eq!(permission["FunctionName"]["Ref"], "ReconcilerAlias");
    assert_eq!(permission["Principal"], "events.amazonaws.com");
    assert_eq!(
        permission["SourceArn"]["Fn::GetAtt"][0],
        "ReconcileSchedule"
    );
    let vars = &t["Resources"]["Reconciler"]["Properties"]["Environment"]["Variables"];
    let cfg = StageConfig::of(Stage::Dev);
    assert_eq!(vars[env::STUCK_AFTER_S], cfg.stuck_after_s().to_string());
    assert_eq!(cfg.stuck_after_s(), 3600 + 600 + 60);
    assert_eq!(vars[env::PROCESSOR_FUNCTION]["Ref"], "ProcessorAlias");
    // Durable functions take a dead-letter queue, not on-failure destinations.
    assert_eq!(
        t["Resources"]["Processor"]["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0],
        "ProcessorDeadLetters"
    );
}

#[test]
fn alarms_notify_the_stage_topic() {
    for stage in Stage::ALL {
        let t = template(stage);
        let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
        let mut metrics: Vec<String> = alarms
            .iter()
            .map(|(_, a)| {
                let p = &a["Properties"];
                assert_eq!(
                    p["AlarmActions"],
                    serde_json::json!([{"Ref": "AlarmTopic"}])
                );
                assert_eq!(p["OKActions"], serde_json::json!([{"Ref": "AlarmTopic"}]));
                format!(
                    "{}/{}",
                    p["Namespace"].as_str().unwrap(),
                    p["MetricName"].as_str().unwrap()
                )
            })
            .collect();
        metrics.sort();
        assert_eq!(
            metrics,
            [
                "AWS/ApiGateway/5XXError",
                "AWS/Lambda/AsyncEventsDropped",
                "AWS/Lambda/DurableExecutionFailed",
                "AWS/Lambda/DurableExecutionTimedOut",
                "Webhooks/Stuck"
            ],
            "{stage}"
        );
        assert!(t["Resources"].get("AlarmEmail").is_none());
    }
    let mut cfg = StageConfig::of(Stage::Staging);
    cfg.set("alarm-email", "ops@example.com").unwrap();
    let t = webhook_stack(&cfg).synth().unwrap().to_value().unwrap();
    let sub = &t["Resources"]["AlarmEmail"]["Properties"];
    assert_eq!(
        (sub["Protocol"].as_str(), sub["Endpoint"].as_str()),
        (Some("email"), Some("ops@example.com"))
    );
}

#[test]
fn the_api_deployment_id_depends_on_routes_only() {
    let ids = |t: &Value| -> Vec<String> {
        of_type(t, "AWS::ApiGateway::Deployment")
            .iter()
            .map(|(id, _)| id.to_string())
            .collect()
    };
    let dev = ids(&template(Stage::Dev));
    let staging = ids(&template(Stage::Staging));
    assert_eq!(dev.len(), 1);
    assert_eq!(
        staging,
        ids(&template(Stage::Prod)),
        "same routes and authorization, same deployment id"
    );
    // The status route's authorization (dev: none; staging, prod: IAM) is part of it: a
    // change of `status-auth` redeploys the API.
    assert_ne!(dev, staging);
    // (A route change does change it: see validation::a_route_change_redeploys_the_api.)
}

#[test]
fn every_function_is_traced_and_holds_its_reserved_concurrency() {
    for stage in Stage::ALL {
        let t = template(stage);
        let cfg = StageConfig::of(stage);
        let c = cfg.concurrency;
        let expected = [
            ("Processor", c.processor),
            ("Receiver", c.receiver),
            ("Reconciler", c.reconciler),
            ("Status", c.status),
        ];
        let functions = of_type(&t, "AWS::Lambda::Function");
        assert_eq!(functions.len(), expected.len(), "{stage}");
        for (id, reserved) in expected {
            let p = &t["Resources"][id]["Properties"];
            assert_eq!(p["TracingConfig"]["Mode"], "Active", "{stage}/{id}");
            assert_eq!(p["ReservedConcurrentExecutions"], reserved, "{stage}/{id}");
            // The role may upload the traces: exactly X-Ray's two actions.
            let role = p["Role"]["Fn::GetAtt"][0].as_str().unwrap();
            let grants = &t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"];
            let xray: Vec<&Value> = grants["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Sid"] == "XRayTraces")
                .collect();
            assert_eq!(xray.len(), 1, "{stage}/{role}");
            assert_eq!(
                xray[0]["Action"],
                serde_json::json!(["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
            );
            assert_eq!(xray[0]["Resource"], serde_json::json!(["*"]));
        }
        assert_eq!(
            t["Resources"]["ApiStage"]["Properties"]["TracingEnabled"],
            true
        );
        assert_eq!(c.reconciler, 1, "{stage}: reconciler runs never overlap");
    }
    let mut cfg = StageConfig::of(Stage::Dev);
    cfg.set("status-concurrency", "7").unwrap();
    let t = webhook_stack(&cfg).synth().unwrap().to_value().unwrap();
    assert_eq!(
        t["Resources"]["Status"]["Properties"]["ReservedConcurrentExecutions"],
        7
    );
}

/// Every `KmsKeyId`-like property of the template: `(resource, value)`.
fn key_uses(t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        let p = &r["Properties"];
        for v in [
            &p["KmsKeyId"],
            &p["KmsMasterKeyId"],
            &p["SSESpecification"]["KMSMasterKeyId"],
        ] {
            if !v.is_null() {
                out.push((id.clone(), v.clone()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_stage_key_encrypts_the_data_where_the_config_says() {
    let prod = template(Stage::Prod);
    let keys = of_type(&prod, "AWS::KMS::Key");
    assert_eq!(keys.len(), 1);
    let (key_id, key) = keys[0];
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    // Retained data stays readable only while its key exists.
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["UpdateReplacePolicy"], "Retain");
    let arn = serde_json::json!({"Fn::GetAtt": [key_id, "Arn"]});
    let users: Vec<String> = key_uses(&prod)
        .into_iter()
        .map(|(id, v)| {
            assert_eq!(v, arn, "{id}");
            id
        })
        .collect();
    assert_eq!(
        users,
        [
            "AlarmTopic",
            "ApiAccessLogs",
            "ProcessorDeadLetters",
            "ProcessorLogs",
            "ReceiverLogs",
            "ReconcilerLogs",
            "StatusLogs",
            "WebhookIdKey",
            "WebhookSecret",
            "WebhookTable",
        ]
    );
    let queue = &prod["Resources"]["ProcessorDeadLetters"]["Properties"];
    assert!(queue.get("SqsManagedSseEnabled").is_none(), "{queue}");

    // The key policy: the account through IAM, CloudWatch Logs for this stack's groups
    // only, CloudWatch (alarms) to publish to the topic; no one else.
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    let principals: Vec<String> = statements
        .iter()
        .map(|s| s["Principal"].to_string())
        .collect();
    assert_eq!(
        principals,
        [
            r#"{"AWS":[{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]}"#,
            r#"{"Service":[{"Fn::Sub":"logs.${AWS::Region}.amazonaws.com"}]}"#,
            r#"{"Service":["cloudwatch.amazonaws.com"]}"#,
        ]
    );
    assert_eq!(
        statements[1]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"],
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/*/${AWS::StackName}-*"
    );

    // Who decrypts: every function's role, on exactly this key; the processor also
    // generates data keys (it sends to the encrypted queue).
    for (role, actions) in [
        ("ReceiverRole", vec!["kms:Decrypt"]),
        ("StatusRole", vec!["kms:Decrypt"]),
        ("ReconcilerRole", vec!["kms:Decrypt"]),
        ("ProcessorRole", vec!["kms:Decrypt", "kms:GenerateDataKey"]),
    ] {
        let kms: Vec<&Value> = statements_of(&prod, role)
            .into_iter()
            .filter(|s| s["Action"][0].as_str().unwrap().starts_with("kms:"))
            .collect();
        assert_eq!(kms.len(), 1, "{role}");
        assert_eq!(kms[0]["Action"], serde_json::json!(actions), "{role}");
        assert_eq!(kms[0]["Resource"], serde_json::json!([arn]), "{role}");
    }

    // dev and staging have no key and name none; dev can ask for one (deleted with it).
    for stage in [Stage::Dev, Stage::Staging] {
        let t = template(stage);
        assert!(of_type(&t, "AWS::KMS::Key").is_empty(), "{stage}");
        assert_eq!(key_uses(&t), vec![], "{stage}");
    }
    let mut cfg = StageConfig::of(Stage::Dev);
    cfg.set("customer-key", "true").unwrap();
    let t = webhook_stack(&cfg).synth().unwrap().to_value().unwrap();
    assert_eq!(t["Resources"]["StageKey"]["DeletionPolicy"], "Delete");
    assert_eq!(
        key_uses(&t).len(),
        users.len() + 5,
        "and the five source secrets"
    );
    assert!(cfg.set("customer-key", "yes").is_err());
}

/// The statements of `role`'s inline policies.
fn statements_of<'a>(t: &'a Value, role: &str) -> Vec<&'a Value> {
    t["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect()
}

#[test]
fn the_status_route_is_open_only_where_status_auth_says_none() {
    let get = |t: &Value| t["Resources"]["ApiGetWebhooksKeyMethod"]["Properties"].clone();
    // dev: open; staging and prod: IAM, with a policy readers attach.
    let dev = template(Stage::Dev);
    assert_eq!(get(&dev)["AuthorizationType"], "NONE");
    assert!(get(&dev).get("ApiKeyRequired").is_none());
    assert_eq!(dev["Outputs"]["StatusAuth"]["Value"], "none");
    for stage in [Stage::Staging, Stage::Prod] {
        let t = template(stage);
        assert_eq!(get(&t)["AuthorizationType"], "AWS_IAM", "{stage}");
        assert_eq!(t["Outputs"]["StatusAuth"]["Value"], "iam", "{stage}");
        let policy = &t["Resources"]["StatusReaderPolicy"];
        assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
        let statement = &policy["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(statement.as_array().unwrap().len(), 1, "{statement}");
        assert_eq!(
            statement[0]["Action"],
            serde_json::json!(["execute-api:Invoke"])
        );
        // Only GET /webhooks/* of this stage of this API.
        let arn = statement[0]["Resource"][0]["Fn::Sub"].as_str().unwrap();
        assert!(
            arn.ends_with(":${Api}/${ApiStage}/GET/webhooks/*"),
            "{stage}: {arn}"
        );
        assert_eq!(
            t["Outputs"]["StatusReaderPolicyArn"]["Value"]["Ref"],
            "StatusReaderPolicy"
        );
        // The webhook routes stay open: providers cannot sign requests to AWS.
        for post in ["ApiPostWebhooksMethod", "ApiPostWebhooksKeyMethod"] {
            assert_eq!(
                t["Resources"][post]["Properties"]["AuthorizationType"],
                "NONE"
            );
        }
    }
    // api-key: the method wants a key; the key, its usage plan on this stage, the link.
    let mut cfg = StageConfig::of(Stage::Prod);
    cfg.set("status-auth", "api-key").unwrap();
    let t = webhook_stack(&cfg).synth().unwrap().to_value().unwrap();
    assert_eq!(get(&t)["AuthorizationType"], "NONE");
    assert_eq!(get(&t)["ApiKeyRequired"], true);
    let plan = &t["Resources"]["StatusUsagePlan"]["Properties"];
    assert_eq!(plan["ApiStages"][0]["ApiId"]["Ref"], "Api");
    assert_eq!(plan["ApiStages"][0]["Stage"]["Ref"], "ApiStage");
    let link = &t["Resources"]["StatusUsagePlanKey"]["Properties"];
    assert_eq!(link["KeyId"]["Ref"], "StatusApiKey");
    assert_eq!(link["UsagePlanId"]["Ref"], "StatusUsagePlan");
    assert_eq!(link["KeyType"], "API_KEY");
    assert_eq!(
        t["Outputs"]["StatusApiKeyId"]["Value"]["Ref"],
        "StatusApiKey"
    );
    assert!(t["Resources"].get("StatusReaderPolicy").is_none());
    // Anything else is refused with the values.
    let err = cfg.set("status-auth", "public").unwrap_err();
    assert_eq!(err, "status-auth: `public` is not none, api-key or iam");
}
