//! `deployer local`: the whole stack on one machine, from the same template CloudFormation
//! gets. DynamoDB is an embedded dynoxide database, each Lambda function runs as its real
//! binary behind a local Runtime API, durable functions get a local durable execution
//! service, and API Gateway routes come from the template's methods.

mod apigw;
mod dev_loop;
mod durable;
mod dynamo;
mod external;
pub(crate) mod faults;
mod lambda;
mod metrics;
mod model;
mod schedule;
pub(crate) mod secrets;
pub(crate) use durable::random_hex;
mod server;
mod sigv4;
mod store_sync;
mod versions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{target_dir, workspace_root};
use serde_json::{Value, json};
use stacks::webhook::{self, Stage, StageConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose template to run.
    #[arg(long, value_parser = crate::stage_parser(), default_value = "dev")]
    pub stage: Stage,
    /// Port of the API on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Where tables and durable executions are kept between runs
    /// [default: .deployer/local/<stage>].
    #[arg(long, value_name = "DIR", conflicts_with = "ephemeral")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory: nothing survives a restart.
    #[arg(long)]
    pub ephemeral: bool,
    /// Processes per function (at most its reserved concurrency: the reconciler's is 1).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub instances: u16,
    /// Processes per durable function [default: 2 x --instances, at most 64]: their
    /// invocations mostly wait for their checkpoints to be synced, so more of them keep
    /// the cores busy, and each sync covers more checkpoints.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub durable_instances: Option<u16>,
    /// Use the function binaries already built instead of running cargo.
    #[arg(long)]
    pub no_build: bool,
    /// Rebuild the functions when their sources change, and restart only those whose code
    /// changed, on a new version (executions started on an older one finish there). With
    /// --no-build, the binaries are watched instead.
    #[arg(long)]
    pub watch: bool,
    /// Build and run the functions with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Which app to run: the webhook stack, or the durable conformance stack (for tests).
    #[arg(long, value_enum, default_value_t = App::Webhooks, hide_short_help = true)]
    pub app: App,
    /// Ignore the stage's API throttling (for load tests).
    #[arg(long)]
    pub no_throttle: bool,
    /// Override a setting of the stage's template (repeatable), as `deploy --set` does.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = crate::cloud::commands::setting)]
    pub set: Vec<(String, String)>,
    /// Run the scheduled functions (the reconciler) at this interval instead of the
    /// template's rate, e.g. `1s` (for tests; the stuck bound follows it).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub reconcile_every: Option<Duration>,
    /// Record each function's DynamoDB calls as the IAM actions they need (`GET
    /// <DynamoDB endpoint>/_local/calls`): what the least-privilege test compares with the
    /// template's grants.
    #[arg(long, hide_short_help = true)]
    pub audit_calls: bool,
    /// Fault injection, for tests (repeatable): KIND=TARGET, one of
    /// kill-in-step=NAME:STEP, hold-in-step=NAME:STEP, panic-in-step=NAME:STEP,
    /// kill-before-start=NAME, drop-start=NAME[:TIMES], throttle-store=KEY[:TIMES],
    /// break-store=KEY[:TIMES] (NAME: a durable execution name; KEY: a record's id).
    #[arg(long = "fault", value_name = "KIND=TARGET", hide_short_help = true)]
    pub faults: Vec<faults::Fault>,
    /// Waits and retry delays of durable executions last this many times their length
    /// (tests use 0.01).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = positive, hide_short_help = true)]
    pub time_scale: f64,
    /// Run durable executions on an external durable service at URL (AWS's
    /// `dex-local-runner`, to compare it with the embedded service) instead of the embedded one.
    #[arg(long, value_name = "URL", hide_short_help = true)]
    pub durable_service: Option<String>,
}

/// How many more processes a durable function runs than one on the request path, unless
/// `--durable-instances` says otherwise.
const DURABLE_INSTANCES_PER_INSTANCE: usize = 2;

impl Args {
    /// Processes to run of a function (before its reserved concurrency caps them).
    fn processes(&self, durable: bool) -> usize {
        let instances = usize::from(self.instances);
        match (durable, self.durable_instances) {
            (false, _) => instances,
            (true, Some(n)) => usize::from(n),
            (true, None) => (instances * DURABLE_INSTANCES_PER_INSTANCE).min(64),
        }
    }
}

/// A listener whose connections send small writes at once: without TCP_NODELAY, a
/// request written in two parts waits for a delayed ACK (about 40 ms) on loopback.
pub(crate) fn nodelay(
    listener: TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum App {
    Webhooks,
    Conformance,
}

/// Builds the function crates for this machine.
fn build(root: &Path, crates: &[String], release: bool) -> anyhow::Result<()> {
    eprintln!("building {} for this machine", crates.join(", "));
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.arg("build").current_dir(root);
    if release {
        cmd.arg("--release");
    }
    for c in crates {
        cmd.args(["-p", c]);
    }
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("building the functions failed ({status}); see cargo's output above");
    }
    Ok(())
}

fn positive(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
        .ok_or_else(|| format!("`{raw}` is not a positive number"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// The template to run: the stage's, with `--set` applied, or the conformance app's.
fn template(args: &Args) -> anyhow::Result<stacks::Template> {
    Ok(match args.app {
        App::Webhooks => {
            let mut cfg = StageConfig::of(args.stage);
            for (k, v) in &args.set {
                cfg.set(k, v).map_err(|e| anyhow::anyhow!(e))?;
            }
            webhook::webhook_stack(&cfg).synth()?
        }
        App::Conformance => {
            if !args.set.is_empty() {
                bail!("--set applies to the webhook stack's settings, not to --app conformance");
            }
            stacks::conformance::synth()?
        }
    })
}

/// The function binaries, built unless `--no-build`; each must exist.
fn binaries(args: &Args, model: &model::Model) -> anyhow::Result<PathBuf> {
    let root = workspace_root()?;
    let crates: Vec<String> = model
        .functions
        .iter()
        .map(|f| f.crate_name.clone())
        .collect();
    if !args.no_build {
        build(&root, &crates, args.release)?;
    }
    let bin_dir = target_dir(&root).join(if args.release { "release" } else { "debug" });
    for c in &crates {
        let bin = bin_dir.join(c);
        if !bin.exists() {
            bail!(
                "{} does not exist: build it (cargo build -p {c}) or drop --no-build",
                bin.display()
            );
        }
    }
    Ok(bin_dir)
}

/// Where versions are published: in the data directory; with `--ephemeral --watch`, in a
/// directory of this run (a watched binary is rebuilt in place, and executions started
/// on its older code need a copy); `None` otherwise (each run is version 1).
fn versions_dir(args: &Args, data_dir: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    Ok(match data_dir {
        Some(d) => Some(d.join("versions")),
        None if args.watch => {
            let dir = std::env::temp_dir().join(format!("deployer-local-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Some(dir)
        }
        None => None,
    })
}

/// The data directory (created), or `None` with `--ephemeral`.
fn data_dir(args: &Args) -> anyhow::Result<Option<PathBuf>> {
    let dir = match (&args.data_dir, args.ephemeral) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => Some(
            workspace_root()?
                .join(".deployer/local")
                .join(args.stage.as_str()),
        ),
    };
    if let Some(d) = &dir {
        std::fs::create_dir_all(d)
            .with_context(|| format!("cannot create the data directory `{}`", d.display()))?;
    }
    Ok(dir)
}

/// With `--reconcile-every`, the stuck bound the reconciler reports against follows the
/// interval it really runs at: ExecutionTimeout + two intervals + the grace.
fn follow_schedule(model: &mut model::Model, every: Option<Duration>) {
    let Some(every) = every else { return };
    let execution_timeout = model
        .functions
        .iter()
        .find_map(|f| f.durable_timeout_s)
        .unwrap_or(0);
    for f in &mut model.functions {
        let grace: u64 = f
            .env
            .get(webhook_contract::env::RECONCILE_GRACE_S)
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        if let Some(stuck) = f.env.get_mut(webhook_contract::env::STUCK_AFTER_S) {
            *stuck = (execution_timeout + 2 * every.as_secs().max(1) + grace).to_string();
        }
    }
}

/// The kill-in-step watch: a step body's `step body running` line, of the execution and
/// step a fault names, kills the process that printed it.
fn kill_in_step(faults: Arc<faults::Faults>) -> lambda::LineWatch {
    Arc::new(move |line: &str| {
        if !line.contains("step body running") {
            return lambda::LineAction::Nothing;
        }
        let field = |key: &str| {
            let rest = &line[line.find(key)? + key.len()..];
            let rest = rest.trim_start_matches('"');
            rest.split(['"', ' ']).next().map(str::to_owned)
        };
        match (field("execution="), field("step=")) {
            (Some(name), Some(step)) if faults.kill_now(&name, &step) => lambda::LineAction::Kill,
            _ => lambda::LineAction::Nothing,
        }
    })
}

/// Everything the function processes share.
struct Wiring<'a> {
    args: &'a Args,
    secrets: &'a secrets::LocalSecrets,
    bin_dir: &'a Path,
    dynamo_url: &'a str,
    lambda_url: &'a str,
    faults: &'a Arc<faults::Faults>,
    metrics: &'a Arc<metrics::Metrics>,
}

/// Publishes every function's code as a version (when it changed since the last run, with
/// a data directory) and starts the processes of the newest.
async fn start_functions(
    model: &model::Model,
    w: &Wiring<'_>,
    versions_dir: Option<&Path>,
) -> anyhow::Result<versions::Versions> {
    let mut fleet = versions::Versions::new(model.aliases.values().cloned().collect());
    for spec in &model.functions {
        let env = function_env(spec, w);
        let hooks = lambda::Hooks {
            metrics: Some(w.metrics.clone()),
            on_line: spec
                .durable_timeout_s
                .map(|_| kill_in_step(w.faults.clone())),
        };
        let binary = w.bin_dir.join(&spec.crate_name);
        let published = match versions_dir {
            Some(dir) => versions::publish(dir, &spec.logical, &binary)?,
            // Without a data directory each run is version 1, the binary as built.
            None => vec![versions::Published {
                number: 1,
                binary: binary.clone(),
                sha256: String::new(),
            }],
        };
        let newest = published.last().map_or(binary, |v| v.binary.clone());
        let f = lambda::Function::new(spec.clone(), newest, env.clone(), hooks.clone());
        f.start(spec.processes(w.args.processes(spec.durable_timeout_s.is_some())))
            .await?;
        let recipe = versions::Recipe {
            spec: spec.clone(),
            env,
            hooks,
        };
        fleet.add(published, f, recipe);
    }
    Ok(fleet)
}

/// The environment of a function's processes: the template's, and where the local
/// services are.
fn function_env(spec: &model::FunctionSpec, w: &Wiring<'_>) -> BTreeMap<String, String> {
    let mut env = spec.env.clone();
    // Audited calls name their function by the endpoint's path.
    let dynamo_url = if w.args.audit_calls {
        format!("{}/{}", w.dynamo_url, spec.logical)
    } else {
        w.dynamo_url.to_owned()
    };
    env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo_url);
    // A durable function checkpoints to the service that runs its executions.
    let lambda_endpoint = match (&w.args.durable_service, spec.durable_timeout_s) {
        (Some(external), Some(_)) => external.as_str(),
        _ => w.lambda_url,
    };
    env.insert("AWS_ENDPOINT_URL_LAMBDA".into(), lambda_endpoint.to_owned());
    env.insert("AWS_ACCESS_KEY_ID".into(), "local".into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "local".into());
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    env.extend(w.secrets.env());
    if let (Some(json), Some(declared)) = (
        &w.secrets.sources_json,
        env.get_mut(webhook_contract::env::SOURCES),
    ) {
        json.clone_into(declared);
    }
    if let Some(f) = w.faults.for_functions() {
        env.insert(webhook_contract::env::LOCAL_FAULTS.into(), f);
    }
    if let Ok(level) = std::env::var("RUST_LOG") {
        env.insert("RUST_LOG".into(), level);
    }
    env
}

/// What `/_local/endpoints` answers: the services and the names `deployer webhooks
/// --local` needs.
fn endpoints(model: &model::Model, api: Option<&str>, lambda_url: &str, dynamo_url: &str) -> Value {
    let durable = model
        .functions
        .iter()
        .find(|f| f.durable_timeout_s.is_some());
    let alias = durable.and_then(|d| {
        model
            .aliases
            .values()
            .find(|(f, _)| *f == d.logical)
            .map(|(_, name)| format!("{}:{name}", d.arn))
    });
    let durable_functions: Vec<Value> = model
        .functions
        .iter()
        .filter(|f| f.durable_timeout_s.is_some())
        .map(|f| {
            let alias = model.aliases.values().find(|(of, _)| *of == f.logical);
            json!({"logical": f.logical, "name": f.name, "qualifier": alias.map(|(_, a)| a)})
        })
        .collect();
    let stuck_after = model
        .functions
        .iter()
        .find_map(|f| f.env.get(webhook_contract::env::STUCK_AFTER_S))
        .and_then(|s| s.parse::<u64>().ok());
    json!({
        "api": api,
        "lambda": lambda_url,
        "dynamodb": dynamo_url,
        "table": model.tables.first().map(|t| t.name.clone()),
        "processorFunction": durable.map(|d| d.name.clone()),
        "processorAlias": alias,
        "stuckAfterSeconds": stuck_after,
        "durableFunctions": durable_functions,
        "region": model::REGION,
    })
}

/// Serves `app` on `listener` until `stop`.
fn serve_until(listener: TcpListener, app: axum::Router, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let _ = axum::serve(nodelay(listener), app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await;
    });
}

/// Writes the lines for whoever reads stdout (it may have closed it: no reason to stop).
fn print_lines(lines: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
}

/// A body each scheme's providers would send, for the examples.
fn example_body(scheme: webhook_core::schemes::Scheme) -> &'static str {
    use webhook_core::schemes::Scheme;
    match scheme {
        Scheme::Github => r#"{"zen":"Design for failure.","hook_id":1}"#,
        Scheme::Standard => {
            r#"{"type":"user.created","timestamp":"2026-01-01T00:00:00Z","data":{"id":"u_1"}}"#
        }
        Scheme::Stripe => {
            r#"{"id":"evt_demo_1","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}"#
        }
        Scheme::Slack => {
            r#"{"type":"event_callback","event_id":"Ev0DEMO1","event":{"type":"app_mention","text":"hi"}}"#
        }
        Scheme::Shopify => r#"{"id":1001,"total_price":"12.50"}"#,
    }
}

/// The URL and headers a provider would send `body` from `source` with, signed now (the
/// timestamped schemes take them for five minutes); `delivery` is its delivery id.
pub(crate) fn signed_request(
    base: &str,
    source: &secrets::LocalSource,
    delivery: &str,
    body: &str,
) -> (String, Vec<(String, String)>) {
    let default = source.name == webhook_contract::sources::DEFAULT;
    let url = if default {
        format!("{base}/webhooks")
    } else {
        format!("{base}/webhooks/{}", source.name)
    };
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if default {
        headers.push(("X-Webhook-Id".to_owned(), delivery.to_owned()));
    }
    if let Some(secret) = &source.secret {
        let now = i64::try_from(durable::now() as u64).unwrap_or(0);
        let signed = webhook_core::schemes::sign(
            source.scheme,
            secret.as_bytes(),
            delivery,
            now,
            body.as_bytes(),
        );
        // The default source keeps its own delivery header (`X-Webhook-Id`).
        let signed = signed
            .into_iter()
            .filter(|(k, _)| !default || *k == webhook_core::schemes::github::SIGNATURE);
        headers.extend(signed.map(|(k, v)| (k.to_owned(), v)));
    }
    (url, headers)
}

/// A ready-to-paste curl of `source`, signed now (valid for the schemes' five minutes).
fn example_curl(base: &str, source: &secrets::LocalSource) -> String {
    let (delivery, body) = if source.name == webhook_contract::sources::DEFAULT {
        ("demo-1".to_owned(), r#"{"type":"order","orderId":"1001"}"#)
    } else {
        (
            format!("demo-{}-1", source.name),
            example_body(source.scheme),
        )
    };
    let (url, headers) = signed_request(base, source, &delivery, body);
    let h: String = headers
        .iter()
        .map(|(k, v)| format!(" -H '{k}: {v}'"))
        .collect();
    format!("  curl -s -X POST {url}{h} -d '{body}'")
}

/// How to read a webhook's status, under the status route's authorization.
fn status_curl(base: &str, secrets: &secrets::LocalSecrets, auth: model::RouteAuth) -> String {
    match auth {
        model::RouteAuth::None => format!("  curl -s {base}/webhooks/<id>"),
        model::RouteAuth::ApiKey => {
            let key = secrets
                .api_keys
                .values()
                .next()
                .map_or("<key>", String::as_str);
            format!("  curl -s -H 'x-api-key: {key}' {base}/webhooks/<id>")
        }
        model::RouteAuth::Iam => format!(
            "  curl -s --aws-sigv4 'aws:amz:us-east-1:execute-api' --user '{}:{}' {base}/webhooks/<id>",
            sigv4::ACCESS_KEY_ID,
            sigv4::SECRET_ACCESS_KEY
        ),
    }
}

/// The `API:` line and a ready-to-paste curl per source (signed when it has a secret).
fn banner(base: &str, secrets: &secrets::LocalSecrets, auth: model::RouteAuth) {
    let default_off = secrets
        .sources
        .iter()
        .any(|s| s.name == webhook_contract::sources::DEFAULT && s.secret.is_none());
    if default_off {
        eprintln!(
            "WARNING: WEBHOOK_SECRET is not set: signatures of the default source are OFF, any POST /webhooks is accepted. \
             Set WEBHOOK_SECRET to check them."
        );
    }
    let mut lines = vec![
        format!("API: {base}"),
        format!(
            "Console: {}{}",
            base.rsplit_once('/').map_or(base, |(origin, _)| origin),
            crate::console::PREFIX
        ),
        "Send a webhook, then follow it:".to_owned(),
    ];
    lines.extend(secrets.sources.iter().map(|s| example_curl(base, s)));
    lines.push(status_curl(base, secrets, auth));
    lines.push(format!(
        "  cargo run -p deployer -- webhooks list --local {}",
        base.rsplit_once('/').map_or(base, |(origin, _)| origin)
    ));
    if secrets.sources.len() > 1 {
        lines.push("(signed now: the timestamped schemes take them for five minutes)".to_owned());
    }
    print_lines(&lines);
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let template = template(&args)?;
    // The template as CloudFormation gets it (the JSON form of what `deployer synth` writes).
    let mut model = model::interpret(&template.to_value()?, template.manifest())?;
    follow_schedule(&mut model, args.reconcile_every);
    if !model.not_emulated.is_empty() {
        let listed: Vec<String> = model
            .not_emulated
            .iter()
            .map(|(id, ty)| format!("{id} ({ty})"))
            .collect();
        eprintln!(
            "[local] not emulated here (they exist only on AWS; nothing in the local cloud calls them): {}",
            listed.join(", ")
        );
    }
    let bin_dir = binaries(&args, &model)?;

    let shutdown = shutdown_signal()?;
    // Claim the API port first: a port in use fails before anything is started.
    let api_listener = claim_port(args.port).await?;
    let data_dir = data_dir(&args)?;
    let secrets = secrets::resolve(&model, data_dir.as_deref())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Shared {
        faults: Arc::new(faults::Faults::new(args.faults.clone())),
        metrics: start_metrics(&model),
        stop: stop_rx,
    };
    let (backends, lambda_listener) = start_backends(
        &args,
        &model,
        &secrets,
        &bin_dir,
        data_dir.as_deref(),
        &shared,
    )
    .await?;
    let base = model
        .api
        .as_ref()
        .map(|api| {
            Ok::<_, anyhow::Error>(format!(
                "http://{}/{}",
                api_listener.local_addr()?,
                api.stage
            ))
        })
        .transpose()?;
    let lambda_api = LambdaApi {
        listener: lambda_listener,
        base: base.as_deref(),
    };
    let endpoints = start_lambda_api(&args, &model, &backends, lambda_api, &shared)?;
    if args.watch {
        let w = dev_loop::Watch {
            root: workspace_root()?,
            bin_dir: bin_dir.clone(),
            functions: model
                .functions
                .iter()
                .map(|f| (f.logical.clone(), f.crate_name.clone()))
                .collect(),
            versions_dir: versions_dir(&args, data_dir.as_deref())?
                .context("watching needs a versions directory")?,
            build: !args.no_build,
            release: args.release,
        };
        dev_loop::start(w, backends.fleet.clone(), shared.stop.clone());
    }
    match (model.api.clone(), base) {
        (Some(api), Some(base)) => {
            let front = Front {
                listener: api_listener,
                base: &base,
                endpoints,
            };
            start_api_gateway(&args, &model, api, front, &secrets, &backends, &shared);
            match &data_dir {
                Some(d) => eprintln!(
                    "[local] data in {} (stop with Ctrl-C; state is kept)",
                    d.display()
                ),
                None => eprintln!("[local] ephemeral: nothing is kept (stop with Ctrl-C)"),
            }
        }
        _ => {
            // A stack without an API (the conformance stack): the Lambda API is the way in,
            // and the console has the API's port.
            let at = api_listener.local_addr()?;
            let sender = crate::console::Sender {
                base: String::new(),
                sources: Vec::new(),
            };
            let console =
                crate::console::local_router(backends.lambda_url.clone(), args.stage, sender);
            serve_until(api_listener, console, shared.stop.clone());
            print_lines(&[
                format!("Lambda: {}", backends.lambda_url),
                format!("Console: http://{at}{}", crate::console::PREFIX),
            ]);
        }
    }

    shutdown.await;
    stop(stop_tx, &backends, &shared.metrics).await;
    Ok(())
}

/// The API's listener on 127.0.0.1:`port`.
async fn claim_port(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}: pick another --port"))
}

/// What every service of the local cloud shares: the faults, the metrics, the stop signal.
struct Shared {
    faults: Arc<faults::Faults>,
    metrics: Arc<metrics::Metrics>,
    stop: watch::Receiver<bool>,
}

/// The metrics of the template's alarms, evaluated every second.
fn start_metrics(model: &model::Model) -> Arc<metrics::Metrics> {
    let metrics = Arc::new(metrics::Metrics::new(model.alarms.clone()));
    let evaluated = metrics.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            evaluated.evaluate();
        }
    });
    metrics
}

/// DynamoDB, the function processes (every version) and the durable service (with the
/// executions of the last run resumed).
struct Backends {
    dynamo: dynamo::Dynamo,
    lambda_url: String,
    fleet: Arc<versions::Versions>,
    functions: BTreeMap<String, Arc<lambda::Function>>,
    durable: Arc<durable::Durable>,
}

/// Starts the backends; returns them and the listener the Lambda API will serve on (the
/// functions are given its address).
async fn start_backends(
    args: &Args,
    model: &model::Model,
    secrets: &secrets::LocalSecrets,
    bin_dir: &Path,
    data_dir: Option<&Path>,
    shared: &Shared,
) -> anyhow::Result<(Backends, TcpListener)> {
    let dynamo = dynamo::start(
        model,
        data_dir,
        shared.faults.clone(),
        args.audit_calls,
        shared.metrics.clone(),
        shared.stop.clone(),
    )
    .await?;
    let lambda_listener = TcpListener::bind("127.0.0.1:0").await?;
    let lambda_url = format!("http://{}", lambda_listener.local_addr()?);
    let wiring = Wiring {
        args,
        secrets,
        bin_dir,
        dynamo_url: &dynamo.url,
        lambda_url: &lambda_url,
        faults: &shared.faults,
        metrics: &shared.metrics,
    };
    let fleet =
        Arc::new(start_functions(model, &wiring, versions_dir(args, data_dir)?.as_deref()).await?);
    let functions = fleet.functions();
    let durable = durable::Durable::new(
        data_dir.map(|d| d.join("executions")),
        fleet.clone(),
        shared.faults.clone(),
        args.time_scale,
        shared.metrics.clone(),
        dynamo.sync.clone(),
    );
    let resumed = durable.restore().await?;
    if resumed > 0 {
        eprintln!("[local] resuming {resumed} durable execution(s) from the last run");
    }
    let backends = Backends {
        dynamo,
        lambda_url,
        fleet,
        functions,
        durable,
    };
    Ok((backends, lambda_listener))
}

/// Where the Lambda API listens, and the API's base URL (when the stack has an API).
struct LambdaApi<'a> {
    listener: TcpListener,
    base: Option<&'a str>,
}

/// Serves the Lambda API (Invoke, the durable execution API, `/_local/*`) and starts the
/// schedules; returns what `/_local/endpoints` answers.
fn start_lambda_api(
    args: &Args,
    model: &model::Model,
    backends: &Backends,
    api: LambdaApi<'_>,
    shared: &Shared,
) -> anyhow::Result<Value> {
    let Backends {
        dynamo,
        lambda_url,
        fleet,
        functions,
        durable,
        ..
    } = backends;
    let lambda_state = Arc::new(server::Lambda {
        functions: functions.clone(),
        versions: fleet.clone(),
        durable: durable.clone(),
        external: args
            .durable_service
            .as_deref()
            .map(|url| external::ExternalDurable::new(url, lambda_url))
            .transpose()?,
        faults: shared.faults.clone(),
        metrics: shared.metrics.clone(),
        endpoints: endpoints(model, api.base, lambda_url, &dynamo.url),
        store: dynamo.sync.clone(),
    });
    serve_until(
        api.listener,
        server::router(lambda_state.clone()),
        shared.stop.clone(),
    );
    schedule::start(
        &model.schedules,
        functions,
        args.reconcile_every,
        shared.stop.clone(),
    );
    eprintln!("[local] Lambda API: {lambda_url}");
    eprintln!("[local] DynamoDB: {}", dynamo.url);
    Ok(lambda_state.endpoints.clone())
}

/// The API Gateway's listener, its base URL and what `/_local/endpoints` answers.
struct Front<'a> {
    listener: TcpListener,
    base: &'a str,
    endpoints: Value,
}

/// Serves the template's REST API and prints the banner (curl examples per source).
fn start_api_gateway(
    args: &Args,
    model: &model::Model,
    mut api: model::ApiSpec,
    front: Front<'_>,
    secrets: &secrets::LocalSecrets,
    backends: &Backends,
    shared: &Shared,
) {
    if args.no_throttle {
        api.throttle = None;
    }
    let gateway = apigw::Gateway::new(
        api,
        backends.functions.clone(),
        shared.metrics.clone(),
        front.endpoints,
        secrets.api_keys.values().cloned().collect(),
        backends.dynamo.sync.clone(),
    );
    let origin = front.base.rsplit_once('/').map_or(front.base, |(o, _)| o);
    let sender = crate::console::Sender {
        base: front.base.to_owned(),
        sources: secrets.sources.clone(),
    };
    let console = crate::console::local_router(origin.to_owned(), args.stage, sender);
    let app = axum::Router::new()
        .fallback(apigw::handle)
        .with_state(gateway)
        .merge(console);
    serve_until(front.listener, app, shared.stop.clone());
    let status_auth = model
        .api
        .iter()
        .flat_map(|a| &a.routes)
        .find(|r| r.method == "GET")
        .map_or(model::RouteAuth::None, |r| r.auth);
    banner(front.base, secrets, status_auth);
}

/// Stops the servers and says which processes stop and how many executions resume next
/// time.
async fn stop(stop_tx: watch::Sender<bool>, backends: &Backends, metrics: &metrics::Metrics) {
    eprintln!("[local] stopping");
    for (service, ops) in metrics.calls() {
        let counted: Vec<String> = ops.iter().map(|(op, n)| format!("{op} {n}")).collect();
        eprintln!("[local] calls to {service}: {}", counted.join(", "));
    }
    let capacity = metrics.capacity();
    if !capacity.is_empty() {
        let (read, write) = capacity
            .values()
            .fold((0.0, 0.0), |(r, w), u| (r + u.read, w + u.write));
        eprintln!("[local] DynamoDB capacity consumed: {read} read units, {write} write units");
    }
    let _ = stop_tx.send(true);
    let older = backends.fleet.older_pools().await;
    for f in backends.functions.values().chain(older.iter()) {
        for pid in f.pids().await {
            eprintln!("[local] stopping {} (pid {pid})", f.spec.crate_name);
        }
    }
    // Dropping the runtime kills the function processes (kill_on_drop) and ends the servers;
    // every durable change was persisted when it happened.
    let running = backends
        .durable
        .counts()
        .await
        .iter()
        .filter(|c| c.status == durable::ExecStatus::Running)
        .count();
    if running > 0 {
        eprintln!("[local] {running} execution(s) still running resume on the next start");
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. Created before the API line is printed, so a
/// signal sent as soon as the line appears is not lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}
