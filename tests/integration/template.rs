//! What the synthesized templates contain: the stack the issue asks for, least privilege,
//! per-stage settings.

use serde_json::Value;
use stacks::webhook::{self, Stage, StageConfig};
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
    assert_eq!(functions.len(), 3);
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
    let aliases = of_type(&t, "AWS::Lambda::Alias");
    assert_eq!(aliases.len(), 1);
    assert_eq!(
        aliases[0].1["Properties"]["FunctionName"]["Ref"],
        *durable_id
    );
    // The receiver starts executions through the alias, never the bare function.
    let receiver = &t["Resources"]["Receiver"]["Properties"]["Environment"]["Variables"];
    assert_eq!(receiver[env::PROCESSOR_FUNCTION]["Ref"], aliases[0].0);

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
            if let Some(resources) = st.get("Resource") {
                for r in resources.as_array().unwrap() {
                    assert_ne!(r, "*", "{stage}: Resource * in {st}");
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
        assert_eq!(vars[env::WEBHOOK_SECRET_ARN]["Ref"], "WebhookSecret");
        let secret = &t["Resources"]["WebhookSecret"];
        assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
        assert!(secret["Properties"].get("SecretString").is_none());
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
    assert_eq!(StageConfig::of(Stage::Dev).ttl_days, 7);
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
    assert_eq!(dev.len(), 1);
    assert_eq!(
        dev,
        ids(&template(Stage::Prod)),
        "same routes, same deployment id"
    );
    // (A route change does change it: see validation::a_route_change_redeploys_the_api.)
}
