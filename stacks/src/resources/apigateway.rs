//! API Gateway REST API: `RestApi`, `Resource`, `Method`, `Deployment`, `Stage`.
//!
//! Most users build these through [`RestApiBuilder`](crate::RestApiBuilder), which adds the
//! path resources, the Lambda permissions and a deployment that changes with the routes.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::{Expr, Pseudo};

#[derive(Clone, Debug)]
pub struct RestApi {
    pub name: Expr,
    pub description: Option<String>,
    endpoint_configuration: EndpointConfiguration,
}

#[derive(Clone, Debug)]
struct EndpointConfiguration {
    types: [&'static str; 1],
}

impl RestApi {
    /// A regional REST API.
    pub fn regional(name: Expr, description: impl Into<String>) -> Self {
        RestApi {
            name,
            description: Some(description.into()),
            endpoint_configuration: EndpointConfiguration {
                types: ["REGIONAL"],
            },
        }
    }
}

/// A path segment of a REST API (`AWS::ApiGateway::Resource`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResource {
    pub rest_api_id: Expr,
    pub parent_id: Expr,
    pub path_part: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Any,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Any => "ANY",
        }
    }
}

/// How API Gateway calls a Lambda function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationKind {
    /// Lambda proxy integration: synchronous, the function's response is the HTTP response.
    /// API Gateway waits at most 29 seconds.
    LambdaProxy,
    /// Asynchronous invocation (`X-Amz-Invocation-Type: Event`): API Gateway answers 202 as
    /// soon as Lambda has queued the event.
    LambdaEvent,
}

/// A Lambda integration of a method. `function` is the ARN that is invoked: a function's,
/// or a version's or alias's (required for durable functions).
#[derive(Clone, Debug)]
pub struct Integration {
    pub kind: IntegrationKind,
    pub function: Expr,
}

impl Integration {
    fn uri(&self) -> Expr {
        Expr::sub([
            "arn:".into(),
            Expr::pseudo(Pseudo::Partition),
            ":apigateway:".into(),
            Expr::pseudo(Pseudo::Region),
            ":lambda:path/2015-03-31/functions/".into(),
            self.function.clone(),
            "/invocations".into(),
        ])
    }
}

impl Serialize for Integration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Response {
            status_code: &'static str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props {
            #[serde(rename = "Type")]
            kind: &'static str,
            integration_http_method: &'static str,
            uri: Expr,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            request_parameters: BTreeMap<&'static str, &'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            passthrough_behavior: Option<&'static str>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            integration_responses: Vec<Response>,
        }
        let props = match self.kind {
            IntegrationKind::LambdaProxy => Props {
                kind: "AWS_PROXY",
                integration_http_method: "POST",
                uri: self.uri(),
                request_parameters: BTreeMap::new(),
                passthrough_behavior: None,
                integration_responses: vec![],
            },
            IntegrationKind::LambdaEvent => Props {
                kind: "AWS",
                integration_http_method: "POST",
                uri: self.uri(),
                request_parameters: BTreeMap::from([(
                    "integration.request.header.X-Amz-Invocation-Type",
                    "'Event'",
                )]),
                passthrough_behavior: Some("WHEN_NO_MATCH"),
                integration_responses: vec![Response { status_code: "202" }],
            },
        };
        props.serialize(s)
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MethodResponse {
    pub status_code: String,
}

/// Who API Gateway lets call a method: anyone (`NONE`, perhaps with an API key), or
/// SigV4-signed callers whose IAM policy allows `execute-api:Invoke` (`AWS_IAM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Authorization {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Method {
    pub rest_api_id: Expr,
    pub resource_id: Expr,
    pub http_method: HttpMethod,
    pub authorization_type: Authorization,
    /// Whether callers must send an API key of a usage plan of the stage (`x-api-key`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub api_key_required: bool,
    /// `method.request.path.<name>` and the like, mapped to whether they are required.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, bool>,
    pub integration: Integration,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub method_responses: Vec<MethodResponse>,
}

impl Method {
    /// Anyone may call it: no authorizer (IAM, Cognito, custom) and no API key.
    pub fn is_open(&self) -> bool {
        self.authorization_type == Authorization::None && !self.api_key_required
    }
}

/// An API key (`AWS::ApiGateway::ApiKey`); CloudFormation generates its value.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub enabled: bool,
    pub description: Option<String>,
}

/// One stage a usage plan covers.
#[derive(Clone, Debug)]
pub struct UsagePlanStage {
    pub api_id: Expr,
    pub stage: Expr,
}

/// Requests per second and burst of a usage plan's keys.
#[derive(Clone, Debug)]
pub struct PlanThrottle {
    pub burst_limit: u32,
    pub rate_limit: f64,
}

/// A usage plan (`AWS::ApiGateway::UsagePlan`): the stages its keys may call, and how fast.
#[derive(Clone, Debug)]
pub struct UsagePlan {
    pub api_stages: Vec<UsagePlanStage>,
    pub description: Option<String>,
    pub throttle: Option<PlanThrottle>,
}

/// An API key's membership of a usage plan (`AWS::ApiGateway::UsagePlanKey`).
#[derive(Clone, Debug)]
pub struct UsagePlanKey {
    pub key_id: Expr,
    pub key_type: &'static str,
    pub usage_plan_id: Expr,
}

#[derive(Clone, Debug)]
pub struct Deployment {
    pub rest_api_id: Expr,
    pub description: Option<String>,
}

/// Throttling and metrics for every method of a stage (`/*`, `*`).
#[derive(Clone, Debug, PartialEq)]
pub struct MethodSetting {
    pub resource_path: String,
    pub http_method: String,
    pub throttling_burst_limit: u32,
    pub throttling_rate_limit: f64,
    pub metrics_enabled: bool,
}

/// Access logs of a stage, one JSON line per request.
#[derive(Clone, Debug)]
pub struct AccessLogSetting {
    pub destination_arn: Expr,
    pub format: String,
}

/// The access log fields written for every request.
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","status":"$context.status","#,
    r#""responseLength":"$context.responseLength","#,
    r#""integrationLatency":"$context.integration.latency","#,
    r#""integrationError":"$context.integration.error"}"#
);

/// A deployed stage of a REST API (`AWS::ApiGateway::Stage`).
#[derive(Clone, Debug)]
pub struct ApiStage {
    pub rest_api_id: Expr,
    pub deployment_id: Expr,
    pub stage_name: String,
    pub description: Option<String>,
    pub method_settings: Vec<MethodSetting>,
    pub access_log_setting: Option<AccessLogSetting>,
    pub tracing_enabled: bool,
}

mod lowering {
    //! The API Gateway constructs as the generated types render them, but for [`Method`]:
    //! its `RequestParameters` values are booleans, which the schema allows beside strings
    //! (`[boolean, string]`) and the generated type holds as text, so `Method` renders
    //! itself. `Serialize` stays where the deployment's fingerprint hashes the routes.

    use super::{ApiKey, ApiResource, ApiStage, Deployment, RestApi, UsagePlan, UsagePlanKey};
    use crate::Expr;
    use crate::l1::aws::apigateway::{
        api_key, deployment, resource, rest_api, stage, usage_plan, usage_plan_key,
    };
    use crate::resources::Lower;

    impl Lower for RestApi {
        type L1 = rest_api::RestApi;
        fn lower(&self) -> rest_api::RestApi {
            let mut r = rest_api::RestApi::new()
                .name(self.name.clone())
                .endpoint_configuration(
                    rest_api::EndpointConfiguration::new()
                        .types(self.endpoint_configuration.types.iter().copied()),
                );
            r.description = self.description.clone().map(Expr::lit);
            r
        }
    }

    impl Lower for ApiResource {
        type L1 = resource::Resource;
        fn lower(&self) -> resource::Resource {
            resource::Resource::new(
                self.parent_id.clone(),
                self.path_part.clone(),
                self.rest_api_id.clone(),
            )
        }
    }

    impl Lower for Deployment {
        type L1 = deployment::Deployment;
        fn lower(&self) -> deployment::Deployment {
            let mut d = deployment::Deployment::new(self.rest_api_id.clone());
            d.description = self.description.clone().map(Expr::lit);
            d
        }
    }

    impl Lower for ApiStage {
        type L1 = stage::Stage;
        fn lower(&self) -> stage::Stage {
            let mut s = stage::Stage::new(self.rest_api_id.clone())
                .deployment_id(self.deployment_id.clone())
                .stage_name(self.stage_name.clone())
                .tracing_enabled(self.tracing_enabled);
            s.description = self.description.clone().map(Expr::lit);
            if !self.method_settings.is_empty() {
                s = s.method_settings(self.method_settings.iter().map(|m| {
                    stage::MethodSetting::new()
                        .resource_path(m.resource_path.clone())
                        .http_method(m.http_method.clone())
                        .throttling_burst_limit(m.throttling_burst_limit)
                        .throttling_rate_limit(m.throttling_rate_limit)
                        .metrics_enabled(m.metrics_enabled)
                }));
            }
            if let Some(a) = &self.access_log_setting {
                s = s.access_log_setting(
                    stage::AccessLogSetting::new()
                        .destination_arn(a.destination_arn.clone())
                        .format(a.format.clone()),
                );
            }
            s
        }
    }

    impl Lower for ApiKey {
        type L1 = api_key::ApiKey;
        fn lower(&self) -> api_key::ApiKey {
            let mut k = api_key::ApiKey::new().enabled(self.enabled);
            k.description = self.description.clone().map(Expr::lit);
            k
        }
    }

    impl Lower for UsagePlan {
        type L1 = usage_plan::UsagePlan;
        fn lower(&self) -> usage_plan::UsagePlan {
            let mut p = usage_plan::UsagePlan::new().api_stages(self.api_stages.iter().map(|s| {
                usage_plan::ApiStage::new()
                    .api_id(s.api_id.clone())
                    .stage(s.stage.clone())
            }));
            p.description = self.description.clone().map(Expr::lit);
            if let Some(t) = &self.throttle {
                p = p.throttle(
                    usage_plan::ThrottleSettings::new()
                        .burst_limit(t.burst_limit)
                        .rate_limit(t.rate_limit),
                );
            }
            p
        }
    }

    impl Lower for UsagePlanKey {
        type L1 = usage_plan_key::UsagePlanKey;
        fn lower(&self) -> usage_plan_key::UsagePlanKey {
            usage_plan_key::UsagePlanKey::new(
                self.key_id.clone(),
                self.key_type,
                self.usage_plan_id.clone(),
            )
        }
    }
}
