//! The `deployer` CLI: synthesizes the webhook stack (and, in later verbs, builds, deploys
//! and runs it locally). `main.rs` only parses and reports errors; each verb is a module
//! with `run(args) -> anyhow::Result<()>`.
//!
//! Output discipline: machine output (templates, paths) goes to stdout, progress and
//! errors to stderr; every failure exits non-zero with its cause.

pub mod cloud;
pub mod console;
pub mod executions;
pub mod http;
pub mod local;
pub mod synth;
pub mod webhooks;

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Parser, Subcommand};

/// Build, synthesize and deploy the webhook receiver stack.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about,
    long_about = "Build, synthesize and deploy the webhook receiver stack: API Gateway -> \
                  receiver -> durable processor -> DynamoDB, one CloudFormation stack per \
                  stage (dev, staging, prod), all defined in Rust (crate `stacks`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a stage's CloudFormation template and asset manifest.
    #[command(
        long_about = "Write a stage's CloudFormation template and its asset manifest (which \
                      function crate each code package is built from).\n\n\
                      The template is checked first: dangling or duplicate logical ids, durable \
                      functions invoked without a qualifier, synchronous API integrations to a \
                      durable function, tables without TTL and out-of-range values are errors. \
                      The output is deterministic: the same stage gives the same bytes.\n\n\
                      Prints the paths written on stdout; with `--out -` prints the template \
                      itself instead."
    )]
    Synth(synth::Args),
    /// Run the whole stack on this machine: API, functions, durable executions, DynamoDB.
    #[command(
        long_about = "Run the whole stack on this machine, from the same template CloudFormation \
                      gets: API Gateway routes, each Lambda function as its real binary, a local \
                      durable execution service, and DynamoDB (embedded, SQLite). No AWS account, \
                      no Docker.\n\n\
                      Prints `API: <base-url>` and a ready-to-paste curl example on stdout; function \
                      logs go to stderr prefixed with the function's name. The webhook secret comes \
                      from WEBHOOK_SECRET (unset: signatures are off). Ctrl-C stops it; tables and \
                      in-flight executions are kept in the data directory and resume on the next start."
    )]
    Local(local::Args),
    /// Build the function packages for Lambda (provided.al2023), deterministic zips.
    #[command(
        long_about = "Build the function crates for Lambda's provided.al2023 runtime and zip each                       binary as `bootstrap`, deterministically: the same source gives the same                       zip, whose SHA-256 is the package's S3 key. With cargo-zigbuild installed the                       binaries are linked against glibc 2.34 (Lambda's); without it, a binary that                       needs a newer glibc is refused.

                      Prints `crate<TAB>architecture<TAB>key<TAB>zip` lines on stdout."
    )]
    Build(cloud::commands::BuildArgs),
    /// Create (or update) the asset bucket of this account and region.
    #[command(
        long_about = "Create or update the stack `deployer-bootstrap`: the asset bucket that \
                      `deploy` uploads function packages and templates to (encrypted, versioned, \
                      public access blocked, TLS only, old versions expire), and a role for API \
                      Gateway's logs. Once per account and region.\n\n\
                      When the account has no API Gateway CloudWatch Logs role in this region \
                      (AWS refuses stages with access logging without one), sets the stack's \
                      role; a role already set is kept. Says which on stderr."
    )]
    Bootstrap(cloud::commands::BootstrapArgs),
    /// Build, publish and deploy a stage, through a change set.
    #[command(
        long_about = "Synthesize every stage, build the packages, upload the ones the bucket does                       not have (in parallel), create a change set, print its diff (IAM and security                       changes marked), ask for approval when needed, execute it and stream each                       resource's events, then print the outputs (`Key=Value` on stdout).

                      Nothing changed: says so and exits 0. A failure prints the first failing                       resource and its reason and exits 1. Ctrl-C leaves the deployment running;                       deploy again to attach to it."
    )]
    Deploy(cloud::commands::DeployArgs),
    /// Show what a deploy of a stage would change (a change set, not executed).
    #[command(
        long_about = "Show what a deploy of --stage would change: a change set, read and deleted, \
                      never executed (a stage never deployed: every resource of its template, \
                      added, without a change set). With --from, what `promote --from` would \
                      change: the build that stage runs, no synth, no build. With \
                      --template-only, the new template against the deployed one in \
                      milliseconds: no build, no change set; each changed property, whether it \
                      replaces its resource (from the resource schemas) and which stateful \
                      resources would lose their data (deploy refuses those without \
                      --allow-replace).",
        after_long_help = cloud::permissions::diff_help()
    )]
    Diff(cloud::commands::DiffArgs),
    /// Detect drift: what changed in the stage's resources outside CloudFormation.
    #[command(
        long_about = "Run CloudFormation drift detection on the stage's stack, wait for it, and \
                      print each resource that is not in sync (MODIFIED, DELETED; NOT_CHECKED for \
                      types drift detection does not cover) with each property that differs: \
                      path, expected and actual value. `--output json` for machines. Exits 0 \
                      whether or not the stack drifted (`drifted` in the JSON says)."
    )]
    Drift(cloud::drift::DriftArgs),
    /// Delete a stage's stack; reports what is kept (the prod table).
    Destroy(cloud::commands::DestroyArgs),
    /// Deploy to a stage exactly the build another stage runs (no rebuild).
    #[command(
        long_about = "Deploy to --to the templates and packages that --from runs, as recorded with                       its deployment: no synth, no build, the same asset keys. Refuses when --from                       is not in a complete state."
    )]
    Promote(cloud::commands::PromoteArgs),
    /// Print a stage's stack outputs.
    Outputs(cloud::commands::OutputsArgs),
    /// Send a signed webhook to a deployed stage and wait for it to complete.
    Smoke(cloud::commands::SmokeArgs),
    /// List, show and redrive the webhooks of a stage (deployed, or `--local`).
    #[command(subcommand)]
    Webhooks(webhooks::Verb),
    /// List, show and stop the durable executions of a stage (deployed, or `--local`).
    #[command(subcommand)]
    Executions(executions::Verb),
    /// Answer a callback a durable execution waits for: succeed, fail or heartbeat.
    #[command(subcommand)]
    Callback(executions::CallbackVerb),
    /// Serve the console (webhooks, executions, timelines) of a deployed stage on
    /// 127.0.0.1; `deployer local` serves it at <API>/_console.
    Console(console::ConsoleArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    use cloud::commands;
    match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Local(args) => local::run(args),
        Command::Build(args) => commands::build(args),
        Command::Bootstrap(args) => commands::bootstrap(args),
        Command::Deploy(args) => commands::deploy(args),
        Command::Diff(args) => commands::diff(args),
        Command::Drift(args) => cloud::drift::drift(args),
        Command::Destroy(args) => commands::destroy(args),
        Command::Promote(args) => commands::promote(args),
        Command::Outputs(args) => commands::outputs(args),
        Command::Smoke(args) => commands::smoke(args),
        Command::Webhooks(verb) => webhooks::run(verb),
        Command::Executions(verb) => executions::run(verb),
        Command::Callback(verb) => executions::run_callback(verb),
        Command::Console(args) => console::run(args),
    }
}

/// `--stage` values: the stage names, with clap listing them in help and errors.
pub fn stage_parser() -> impl clap::builder::TypedValueParser<Value = stacks::webhook::Stage> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(stacks::webhook::Stage::NAMES)
        .try_map(|s| s.parse::<stacks::webhook::Stage>())
}

/// The workspace root: the nearest directory above the current one whose Cargo.toml has a
/// `[workspace]` table.
pub(crate) fn workspace_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]")) {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "run the deployer inside the project's workspace (no Cargo.toml with [workspace] above {})",
        cwd.display()
    )
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The `X-Hub-Signature-256` value of `body` under `secret`.
pub(crate) fn sign(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
