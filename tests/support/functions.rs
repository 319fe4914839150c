//! The function crates' test setting, shared by the integration suite and the benches:
//! clients for the DynamoDB peer, fresh status tables, and a fake processor starter.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ::receiver::Receiver;
use ::status::StatusApi;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_json::Value;
use webhook_core::schemes::github;
use webhook_core::secret::SecretSource;
use webhook_core::starter::{StartError, Started, Starter};
use webhook_core::{Store, WebhookId};

/// A DynamoDB client for the shared DynamoDB Local.
pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    dynamo_at(&crate::dynamodb::dynamodb_local().endpoint)
}

/// A DynamoDB client for `endpoint`, with test credentials.
pub fn dynamo_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The key schema elements of a template's `KeySchema`.
fn key_schema(keys: &Value) -> Vec<KeySchemaElement> {
    keys.as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(k["KeyType"].as_str().unwrap()))
                .build()
                .expect("a valid key schema")
        })
        .collect()
}

/// Creates table `name` on `client` exactly as the stack defines `WebhookTable` (keys and
/// the attention index), read from the synthesized dev template.
pub async fn create_status_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let template = stacks::webhook::synth(stacks::webhook::Stage::Dev)
        .expect("the dev stack synthesizes")
        .to_value()
        .expect("the template renders");
    let props = &template["Resources"]["WebhookTable"]["Properties"];
    let definitions = props["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            AttributeDefinition::builder()
                .attribute_name(d["AttributeName"].as_str().unwrap())
                .attribute_type(ScalarAttributeType::from(
                    d["AttributeType"].as_str().unwrap(),
                ))
                .build()
                .expect("a valid attribute definition")
        })
        .collect();
    let indexes = props["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    g["Projection"]["ProjectionType"].as_str().unwrap(),
                ))
                .set_non_key_attributes(
                    g["Projection"]["NonKeyAttributes"]
                        .as_array()
                        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect()),
                )
                .build();
            GlobalSecondaryIndex::builder()
                .index_name(g["IndexName"].as_str().unwrap())
                .set_key_schema(Some(key_schema(&g["KeySchema"])))
                .projection(projection)
                .build()
                .expect("a valid index")
        })
        .collect::<Vec<_>>();
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(&props["KeySchema"])))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .expect("DynamoDB Local creates the table");
}

/// A new, empty status table (as the stack defines it) and a store over it.
pub async fn fresh_store() -> Store {
    static N: AtomicUsize = AtomicUsize::new(0);
    let client = dynamo().await;
    let name = format!(
        "webhooks-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    create_status_table(&client, &name).await;
    Store::new(client, name, 7)
}

/// Every item of the store's table (a scan; tables here are small).
pub async fn items(store: &Store) -> usize {
    scan_ids(store).await.len()
}

/// The webhook records in the table (a replay guard is an item, not a record).
pub async fn records(store: &Store) -> usize {
    scan_ids(store)
        .await
        .iter()
        .filter(|id| id.starts_with("wh_"))
        .count()
}

/// The partition key of every item in the table.
async fn scan_ids(store: &Store) -> Vec<String> {
    let out = dynamo()
        .await
        .scan()
        .table_name(store.table())
        .send()
        .await
        .expect("DynamoDB Local scans the table");
    out.items()
        .iter()
        .filter_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

/// Starts executions in memory. The real starter invokes Lambda, which no peer here
/// serves for durable functions (the local cloud does, and its tests cover that path);
/// this fake only counts (calls, and executions: distinct names) and can be told to fail.
#[derive(Debug, Default)]
pub struct FakeStarter {
    pub calls: Mutex<Vec<String>>,
    pub fail: AtomicBool,
}

impl FakeStarter {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The executions the calls would make: the durable service deduplicates a start by
    /// its execution name, so a name started twice is one execution.
    pub fn executions(&self) -> std::collections::BTreeSet<String> {
        self.calls().into_iter().collect()
    }
}

impl Starter for FakeStarter {
    async fn start(&self, id: &WebhookId, attempt: u32) -> Result<Started, StartError> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(webhook_core::starter::execution_name(id, attempt));
        if self.fail.load(Ordering::SeqCst) {
            return Err(StartError("injected: Lambda is unavailable".to_owned()));
        }
        Ok(Started {
            execution_arn: Some(format!(
                "arn:aws:lambda:us-east-1:123456789012:function:processor:live/durable-execution/{id}/1"
            )),
        })
    }
}

pub const SECRET: &[u8] = b"fixture-secret";

/// A receiver of the `default` source (GitHub's scheme) with `secret`.
pub async fn receiver_with(secret: SecretSource) -> Receiver<FakeStarter> {
    let default = ::receiver::Source {
        scheme: webhook_core::schemes::Scheme::Github,
        secret,
    };
    Receiver {
        store: fresh_store().await,
        starter: FakeStarter::default(),
        sources: std::collections::BTreeMap::from([(
            webhook_contract::sources::DEFAULT.to_owned(),
            default,
        )]),
        id_key: webhook_core::ids::IdKey::new(crate::ID_KEY),
        stage: "test".to_owned(),
        clock: webhook_core::time::Clock::System,
    }
}

pub async fn receiver() -> Receiver<FakeStarter> {
    receiver_with(SecretSource::plain(SECRET)).await
}

pub fn status_api(store: Store) -> StatusApi {
    StatusApi {
        store,
        cors_allow_origin: Some("https://example.test".to_owned()),
    }
}

fn fixture_text(name: &str) -> String {
    let path = crate::workspace_root()
        .join("tests/fixtures/apigw")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture event, after checking that it survives a JSON round trip unchanged.
pub fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let text = fixture_text(name);
    let event: ApiGatewayProxyRequest = serde_json::from_str(&text).unwrap();
    let again: ApiGatewayProxyRequest =
        serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::to_value(&again).unwrap(),
        "{name} does not round-trip"
    );
    event
}

/// The POST fixture with `body`, signed with [`SECRET`].
pub fn post(body: &str) -> ApiGatewayProxyRequest {
    let mut req = fixture("post-webhook.json");
    req.body = Some(body.to_owned());
    set_header(
        &mut req,
        github::SIGNATURE,
        &github::signature(SECRET, body.as_bytes()),
    );
    req
}

/// The POST fixture with `body`, signed with `secret`, without a delivery id (the body is
/// its identity).
pub fn post_signed_with(secret: &[u8], body: &str) -> ApiGatewayProxyRequest {
    let mut req = post(body);
    remove_header(&mut req, github::DELIVERY);
    set_header(
        &mut req,
        github::SIGNATURE,
        &github::signature(secret, body.as_bytes()),
    );
    req
}

pub fn set_header(req: &mut ApiGatewayProxyRequest, name: &str, value: &str) {
    let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
    req.headers
        .insert(name.clone(), HeaderValue::from_str(value).unwrap());
    req.multi_value_headers.remove(&name);
}

pub fn remove_header(req: &mut ApiGatewayProxyRequest, name: &str) {
    req.headers.remove(name);
    req.multi_value_headers.remove(name);
}

pub fn get_status(id: &str) -> ApiGatewayProxyRequest {
    let mut req = fixture("get-status.json");
    req.path_parameters.insert(
        webhook_contract::routes::KEY_PARAM.to_owned(),
        id.to_owned(),
    );
    req.http_method = Method::GET;
    req
}

/// Status code and JSON body of a response.
pub fn parts(res: &ApiGatewayProxyResponse) -> (i64, Value) {
    let body = match &res.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        None => Value::Null,
        Some(other) => panic!("unexpected body {other:?}"),
    };
    (res.status_code, body)
}
