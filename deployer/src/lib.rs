//! The `deployer` CLI: synthesizes the webhook stack (and, in later verbs, builds, deploys
//! and runs it locally). `main.rs` only parses and reports errors; each verb is a module
//! with `run(args) -> anyhow::Result<()>`.
//!
//! Output discipline: machine output (templates, paths) goes to stdout, progress and
//! errors to stderr; every failure exits non-zero with its cause.

pub mod local;
pub mod synth;

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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Local(args) => local::run(args),
    }
}

/// `--stage` values: the stage names, with clap listing them in help and errors.
pub fn stage_parser() -> impl clap::builder::TypedValueParser<Value = stacks::webhook::Stage> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(stacks::webhook::Stage::NAMES)
        .try_map(|s| s.parse::<stacks::webhook::Stage>())
}
