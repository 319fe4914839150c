//! `deployer local`: the whole stack on one machine, from the same template CloudFormation
//! gets. DynamoDB is an embedded dynoxide database, each Lambda function runs as its real
//! binary behind a local Runtime API, durable functions get a local durable execution
//! service, and API Gateway routes come from the template's methods.

mod apigw;
mod durable;
mod external;
mod lambda;
mod model;
mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{target_dir, workspace_root};
use serde_json::json;
use stacks::webhook::{self, Stage};
use tokio::net::TcpListener;

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
    /// Processes per function.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub instances: u16,
    /// Use the function binaries already built instead of running cargo.
    #[arg(long)]
    pub no_build: bool,
    /// Build and run the functions with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Which app to run: the webhook stack, or the durable conformance stack (for tests).
    #[arg(long, value_enum, default_value_t = App::Webhooks, hide_short_help = true)]
    pub app: App,
    /// Ignore the stage's API throttling (for load tests).
    #[arg(long)]
    pub no_throttle: bool,
    /// Fault injection, for tests: kill the durable function's process while it runs its
    /// Nth step (once).
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub kill_in_step: Option<usize>,
    /// Fault injection, for tests: never answer the checkpoint that starts the durable
    /// function's Nth step (its START is recorded first), so an execution stays in flight.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub hold_in_step: Option<usize>,
    /// Run durable executions on an external durable service at URL (AWS's
    /// `dex-local-runner`, to compare it with the embedded service) instead of the embedded one.
    #[arg(long, value_name = "URL", hide_short_help = true)]
    pub durable_service: Option<String>,
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let template = match args.app {
        App::Webhooks => webhook::synth(args.stage)?,
        App::Conformance => stacks::conformance::synth()?,
    };
    // The template as CloudFormation gets it (the JSON form of what `deployer synth` writes).
    let value = template.to_value()?;
    let model = model::interpret(&value, template.manifest())?;

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

    let shutdown = shutdown_signal()?;
    // Claim the API port first: a port in use fails before anything is started.
    let api_listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{}: pick another --port",
                args.port
            )
        })?;

    let data_dir = match (&args.data_dir, args.ephemeral) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => Some(root.join(".deployer/local").join(args.stage.as_str())),
    };
    if let Some(d) = &data_dir {
        std::fs::create_dir_all(d)
            .with_context(|| format!("cannot create the data directory `{}`", d.display()))?;
    }

    // DynamoDB.
    let db = match &data_dir {
        Some(d) => dynoxide::Database::new(&d.join("dynamodb.sqlite").to_string_lossy()),
        None => dynoxide::Database::memory(),
    }
    .map_err(|e| anyhow::anyhow!("cannot open the local DynamoDB database: {e}"))?;
    for t in &model.tables {
        let keys: Vec<_> = t
            .keys
            .iter()
            .map(|(n, _, k)| json!({"AttributeName": n, "KeyType": k}))
            .collect();
        let defs: Vec<_> = t
            .keys
            .iter()
            .map(|(n, ty, _)| json!({"AttributeName": n, "AttributeType": ty}))
            .collect();
        let request = serde_json::from_value(json!({
            "TableName": t.name, "KeySchema": keys, "AttributeDefinitions": defs,
            "BillingMode": "PAY_PER_REQUEST",
        }))?;
        match db.create_table(request) {
            Ok(_) => {}
            Err(e)
                if e.to_string().contains("ResourceInUse")
                    || e.to_string().contains("already exists") => {}
            Err(e) => bail!("cannot create table {}: {e}", t.name),
        }
        if let Some(attr) = &t.ttl_attribute {
            let request = serde_json::from_value(json!({
                "TableName": t.name,
                "TimeToLiveSpecification": {"AttributeName": attr, "Enabled": true},
            }))?;
            if let Err(e) = db.update_time_to_live(request)
                && !e.to_string().contains("already enabled")
            {
                eprintln!("[local] TTL on {}: {e}", t.name);
            }
        }
    }
    let dynamo_listener = TcpListener::bind("127.0.0.1:0").await?;
    let dynamo_url = format!("http://{}", dynamo_listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    {
        let server_db = db.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.changed().await;
            };
            if let Err(e) =
                dynoxide::server::serve_with_shutdown(dynamo_listener, server_db, shutdown).await
            {
                eprintln!("[local] DynamoDB server: {e}");
            }
        });
        // TTL expiry.
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let db = db.clone();
                let _ = tokio::task::spawn_blocking(move || db.sweep_ttl()).await;
            }
        });
    }

    // Lambda.
    let lambda_listener = TcpListener::bind("127.0.0.1:0").await?;
    let lambda_url = format!("http://{}", lambda_listener.local_addr()?);
    let secret = std::env::var("WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    let mut functions = BTreeMap::new();
    for spec in &model.functions {
        let mut env = spec.env.clone();
        env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamo_url.clone());
        // A durable function checkpoints to the service that runs its executions.
        let lambda_endpoint = match (&args.durable_service, spec.durable_timeout_s) {
            (Some(external), Some(_)) => external,
            _ => &lambda_url,
        };
        env.insert("AWS_ENDPOINT_URL_LAMBDA".into(), lambda_endpoint.clone());
        env.insert("AWS_ACCESS_KEY_ID".into(), "local".into());
        env.insert("AWS_SECRET_ACCESS_KEY".into(), "local".into());
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        if let Some(s) = &secret {
            env.insert("WEBHOOK_SECRET".into(), s.clone());
        }
        if let Ok(level) = std::env::var("RUST_LOG") {
            env.insert("RUST_LOG".into(), level);
        }
        let f = lambda::Function::new(spec.clone(), bin_dir.join(&spec.crate_name), env);
        f.start(usize::from(args.instances)).await?;
        functions.insert(spec.logical.clone(), f);
    }
    let durable = durable::Durable::new(
        data_dir.as_ref().map(|d| d.join("executions")),
        functions.clone(),
        durable::Faults {
            kill_in_step: args.kill_in_step.unwrap_or(0).into(),
            hold_in_step: args.hold_in_step,
        },
    );
    let resumed = durable.restore().await?;
    if resumed > 0 {
        eprintln!("[local] resuming {resumed} durable execution(s) from the last run");
    }
    let lambda_state = Arc::new(server::Lambda {
        model: model.clone(),
        functions: functions.clone(),
        durable: durable.clone(),
        external: args
            .durable_service
            .as_deref()
            .map(|url| external::ExternalDurable::new(url, &lambda_url))
            .transpose()?,
    });
    {
        let mut stop = stop_rx.clone();
        let app = server::router(lambda_state);
        tokio::spawn(async move {
            let _ = axum::serve(nodelay(lambda_listener), app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
    }

    // API Gateway.
    eprintln!("[local] Lambda API: {lambda_url}");
    eprintln!("[local] DynamoDB: {dynamo_url}");
    let Some(mut api) = model.api.clone() else {
        // A stack without an API (the conformance stack): the Lambda API is the way in.
        drop(api_listener);
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "Lambda: {lambda_url}");
            let _ = out.flush();
        }
        shutdown.await;
        eprintln!("[local] stopping");
        let _ = stop_tx.send(true);
        return Ok(());
    };
    if args.no_throttle {
        api.throttle = None;
    }
    let stage = api.stage.clone();

    let base = format!("http://{}/{stage}", api_listener.local_addr()?);
    let gateway = apigw::Gateway::new(api, functions.clone());
    {
        let mut stop = stop_rx.clone();
        let app = axum::Router::new()
            .fallback(apigw::handle)
            .with_state(gateway);
        tokio::spawn(async move {
            let _ = axum::serve(nodelay(api_listener), app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
    }

    let body = r#"{"type":"order","orderId":"1001"}"#;
    let signature = match &secret {
        Some(s) => format!(" -H 'X-Hub-Signature-256: {}'", crate::sign(s, body)),
        None => {
            eprintln!(
                "WARNING: WEBHOOK_SECRET is not set: signatures are OFF, any POST is accepted. \
                 Set WEBHOOK_SECRET to check them."
            );
            String::new()
        }
    };
    // stdout may be closed by whoever reads the API line; that is no reason to stop.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "API: {base}");
        let _ = writeln!(out, "Send a webhook, then follow it:");
        let _ = writeln!(
            out,
            "  curl -s -X POST {base}/webhooks -H 'Content-Type: application/json' -H 'X-Webhook-Id: demo-1'{signature} -d '{body}'"
        );
        let _ = writeln!(out, "  curl -s {base}/webhooks/<id>");
        let _ = out.flush();
    }
    match &data_dir {
        Some(d) => eprintln!(
            "[local] data in {} (stop with Ctrl-C; state is kept)",
            d.display()
        ),
        None => eprintln!("[local] ephemeral: nothing is kept (stop with Ctrl-C)"),
    }

    shutdown.await;
    eprintln!("[local] stopping");
    let _ = stop_tx.send(true);
    for f in functions.values() {
        for pid in f.pids().await {
            eprintln!("[local] stopping {} (pid {pid})", f.spec.crate_name);
        }
    }
    // Dropping the runtime kills the function processes (kill_on_drop) and ends the servers;
    // every durable change was persisted when it happened.
    let counts = durable.counts().await;
    let running = counts
        .iter()
        .filter(|c| c.3 == durable::ExecStatus::Running)
        .count();
    if running > 0 {
        eprintln!("[local] {running} execution(s) still running resume on the next start");
    }
    Ok(())
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
