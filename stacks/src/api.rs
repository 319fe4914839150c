use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::resources::apigateway::{
    ACCESS_LOG_FORMAT, AccessLogSetting, ApiResource, ApiStage, Authorization, Deployment,
    HttpMethod, Integration, IntegrationKind, Method, MethodSetting, RestApi,
};
use crate::resources::lambda::Permission;
use crate::resources::logs::LogGroup;
use crate::{Expr, Handle, Invocable, Pseudo, Stack};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodAuth {
    /// Anyone.
    Open,
    /// Callers with an API key of a usage plan of the stage.
    ApiKey,
    /// SigV4-signed callers allowed `execute-api:Invoke` by IAM.
    Iam,
}

/// Settings of the stage that [`RestApiBuilder::deploy`] creates.
#[derive(Clone, Debug)]
pub struct StageSettings {
    pub name: String,
    pub description: Option<String>,
    /// Steady requests per second across the stage, and the burst above it.
    pub throttle: Option<(f64, u32)>,
    pub access_logs: Option<Handle<LogGroup>>,
    pub metrics: bool,
    /// X-Ray tracing of the stage's requests.
    pub tracing: bool,
}

/// Builds a REST API route by route: path resources, methods with Lambda integrations, the
/// permission for API Gateway to invoke each target (scoped to its method and path), and a
/// deployment whose logical id changes whenever the routes change, so that CloudFormation
/// redeploys the API (a deployment with a fixed id would keep serving the old routes).
#[derive(Debug)]
pub struct RestApiBuilder {
    prefix: String,
    api: Handle<RestApi>,
    resources: BTreeMap<String, Handle<ApiResource>>,
    methods: Vec<Handle<Method>>,
    fingerprint: Sha256,
}

fn pascal(segment: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in segment.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

impl RestApiBuilder {
    /// Adds `api` as `<prefix>` and returns a builder whose resources are named `<prefix>...`.
    pub fn new(stack: &mut Stack, prefix: &str, api: RestApi) -> Self {
        let handle = stack.add(prefix, api);
        RestApiBuilder {
            prefix: prefix.to_owned(),
            api: handle,
            resources: BTreeMap::new(),
            methods: Vec::new(),
            fingerprint: Sha256::new(),
        }
    }

    pub fn api(&self) -> &Handle<RestApi> {
        &self.api
    }

    fn resource_for(&mut self, stack: &mut Stack, segments: &[&str]) -> Expr {
        let Some((last, parents)) = segments.split_last() else {
            return self.api.root_resource_id();
        };
        let path = segments.join("/");
        if let Some(existing) = self.resources.get(&path) {
            return existing.resource_id();
        }
        let parent_id = self.resource_for(stack, parents);
        let name: String = segments.iter().map(|s| pascal(s)).collect();
        let resource = ApiResource {
            rest_api_id: self.api.api_id(),
            parent_id,
            path_part: (*last).to_owned(),
        };
        self.hash(&resource);
        let handle = stack.add(&format!("{}{name}Resource", self.prefix), resource);
        let id = handle.resource_id();
        self.resources.insert(path, handle);
        id
    }

    fn hash(&mut self, value: &impl serde::Serialize) {
        // Serializing plain structs to JSON cannot fail; an empty hash input would only make
        // the deployment id less sensitive, never wrong.
        if let Ok(bytes) = serde_json::to_vec(value) {
            self.fingerprint.update(&bytes);
        }
    }

    /// Routes `method path` (such as `GET /webhooks/{id}`) to `target`, open to anyone.
    pub fn route(
        &mut self,
        stack: &mut Stack,
        method: HttpMethod,
        path: &str,
        kind: IntegrationKind,
        target: &impl Invocable,
    ) -> Handle<Method> {
        self.route_with(stack, method, path, kind, target, MethodAuth::Open)
    }

    /// [`RestApiBuilder::route`], callable as `auth` says.
    pub fn route_with(
        &mut self,
        stack: &mut Stack,
        method: HttpMethod,
        path: &str,
        kind: IntegrationKind,
        target: &impl Invocable,
        auth: MethodAuth,
    ) -> Handle<Method> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let resource_id = self.resource_for(stack, &segments);
        let name: String = segments.iter().map(|s| pascal(s)).collect();
        let verb = pascal(&method.as_str().to_ascii_lowercase());
        let request_parameters = segments
            .iter()
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| (format!("method.request.path.{p}"), true))
            .collect();
        let method_def = Method {
            rest_api_id: self.api.api_id(),
            resource_id,
            http_method: method,
            authorization_type: match auth {
                MethodAuth::Iam => Authorization::AwsIam,
                MethodAuth::Open | MethodAuth::ApiKey => Authorization::None,
            },
            api_key_required: auth == MethodAuth::ApiKey,
            request_parameters,
            integration: Integration {
                kind,
                function: target.invoke_arn(),
            },
            method_responses: match kind {
                IntegrationKind::LambdaProxy => vec![],
                IntegrationKind::LambdaEvent => {
                    vec![crate::resources::apigateway::MethodResponse {
                        status_code: "202".to_owned(),
                    }]
                }
            },
        };
        self.hash(&method_def);
        let handle = stack.add(&format!("{}{verb}{name}Method", self.prefix), method_def);
        self.methods.push(handle.clone());

        let source_path: Vec<&str> = segments
            .iter()
            .map(|s| if s.starts_with('{') { "*" } else { s })
            .collect();
        stack.add(
            &format!("{}{verb}{name}Permission", self.prefix),
            Permission::invoke(
                target.invoke_arn(),
                "apigateway.amazonaws.com",
                Expr::arn(
                    "execute-api",
                    [
                        self.api.api_id(),
                        format!("/*/{}/{}", method.as_str(), source_path.join("/")).into(),
                    ],
                ),
            ),
        );
        handle
    }

    /// Adds the deployment and the stage; returns the stage.
    pub fn deploy(self, stack: &mut Stack, settings: StageSettings) -> Handle<ApiStage> {
        let digest = self.fingerprint.finalize();
        let suffix: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let deployment = stack.add(
            &format!("{}Deployment{suffix}", self.prefix),
            Deployment {
                rest_api_id: self.api.api_id(),
                description: Some(format!("routes {suffix}")),
            },
        );
        for m in &self.methods {
            stack.depends_on(&deployment, m);
        }
        stack.add(
            &format!("{}Stage", self.prefix),
            ApiStage {
                rest_api_id: self.api.api_id(),
                deployment_id: deployment.deployment_id(),
                stage_name: settings.name,
                description: settings.description,
                method_settings: settings
                    .throttle
                    .map(|(rate, burst)| MethodSetting {
                        resource_path: "/*".to_owned(),
                        http_method: "*".to_owned(),
                        throttling_burst_limit: burst,
                        throttling_rate_limit: rate,
                        metrics_enabled: settings.metrics,
                    })
                    .into_iter()
                    .collect(),
                access_log_setting: settings.access_logs.map(|group| AccessLogSetting {
                    destination_arn: group.arn(),
                    format: ACCESS_LOG_FORMAT.to_owned(),
                }),
                tracing_enabled: settings.tracing,
            },
        )
    }
}

/// The invoke URL of `stage` of `api`: `https://{api}.execute-api.{region}.{suffix}/{stage}`.
pub fn stage_url(api: &Handle<RestApi>, stage: &Handle<ApiStage>) -> Expr {
    Expr::sub([
        "https://".into(),
        api.api_id(),
        ".execute-api.".into(),
        Expr::pseudo(Pseudo::Region),
        ".".into(),
        Expr::pseudo(Pseudo::UrlSuffix),
        "/".into(),
        stage.name(),
    ])
}
