//! `deployer webhooks`: what operators ask of the webhooks of a stage, deployed or local:
//! which are stuck or failed (`list`), what happened to one (`show`), and processing failed
//! ones again once the cause is fixed (`redrive`). The same code runs against AWS (the
//! standard chain) and against `deployer local` (`--local`).

pub(crate) mod list;
pub(crate) mod redrive;
mod show;
pub(crate) mod target;

use std::time::Duration;

use anyhow::bail;

use crate::cloud::commands::OutputFormat;
use list::Filter;
use target::{Target, TargetArgs};

#[derive(Debug, clap::Subcommand)]
pub enum Verb {
    /// List webhooks, newest in their state first.
    #[command(
        long_about = "List webhooks, newest in their state first. --status received, validating, \
                      processing, failed and stuck read the table's attention index; completed \
                      (and no --status: every webhook) scan the table. Stuck: not COMPLETED or \
                      FAILED past the stage's bound (StuckAfterSeconds: ExecutionTimeout plus two \
                      reconcile intervals plus the grace)."
    )]
    List(ListArgs),
    /// Show one webhook: its record and each attempt's execution with its history.
    Show(ShowArgs),
    /// Process FAILED webhooks again, each as a new attempt.
    #[command(
        long_about = "Process FAILED webhooks again, each as a new attempt (execution `<id>-<n>`). \
                      A webhook that is not FAILED, or whose failed attempt is still running, is \
                      skipped. Prints a summary (redriven, skipped, errors) and exits 1 when any \
                      webhook failed to redrive."
    )]
    Redrive(RedriveArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum)]
    pub status: Option<Filter>,
    /// Only webhooks that entered their state within this long (`30m`, `2h`, `7d`).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The webhook's id (`wh_...`).
    pub id: String,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// The webhooks to redrive (`wh_...`).
    #[arg(required_unless_present = "status", conflicts_with = "status")]
    pub ids: Vec<String>,
    /// Redrive every webhook of this status instead (only `failed` can be redriven).
    #[arg(long, value_enum)]
    pub status: Option<Filter>,
    /// With --status: only those that failed within this long.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "status")]
    pub since: Option<Duration>,
    /// Do not ask before a bulk redrive (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let t = Target::resolve(&args.target).await?;
    let rows = list::rows(&t, args.status, args.since, args.limit).await?;
    match args.output {
        OutputFormat::Json => json(&rows),
        OutputFormat::Text => {
            print!("{}", list::table(&rows));
            Ok(())
        }
    }
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let t = Target::resolve(&args.target).await?;
    let shown = show::show(&t, &args.id).await?;
    match args.output {
        OutputFormat::Json => json(&shown),
        OutputFormat::Text => {
            print!("{}", show::text(&shown));
            Ok(())
        }
    }
}

/// The ids a redrive is about: given, or every failed one (after a confirmation).
async fn redrive_ids(t: &Target, args: &RedriveArgs) -> anyhow::Result<Vec<String>> {
    match args.status {
        None => Ok(args.ids.clone()),
        Some(Filter::Failed) => {
            let rows = list::rows(t, Some(Filter::Failed), args.since, usize::MAX).await?;
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            if ids.is_empty() || args.yes {
                return Ok(ids);
            }
            let question = format!(
                "redrive {} failed webhook(s) of stage {}?",
                ids.len(),
                t.stage
            );
            if crate::cloud::confirm(&question)? {
                Ok(ids)
            } else {
                bail!(
                    "not confirmed: nothing was redriven (without a terminal, add --yes to redrive {} webhook(s))",
                    ids.len()
                )
            }
        }
        Some(other) => bail!("only failed webhooks can be redriven, not --status {other:?}"),
    }
}

async fn redrive(args: RedriveArgs) -> anyhow::Result<()> {
    let t = Target::resolve(&args.target).await?;
    let ids = redrive_ids(&t, &args).await?;
    let summary = redrive::many(&t, &ids).await;
    match args.output {
        OutputFormat::Json => json(&summary)?,
        OutputFormat::Text => println!(
            "redriven {}, skipped {}, errors {}",
            summary.redriven, summary.skipped, summary.errors
        ),
    }
    if summary.errors > 0 {
        bail!(
            "{} webhook(s) could not be redriven (see above)",
            summary.errors
        );
    }
    Ok(())
}

pub fn run(verb: Verb) -> anyhow::Result<()> {
    crate::cloud::commands::runtime()?.block_on(async {
        match verb {
            Verb::List(a) => list(a).await,
            Verb::Show(a) => show(a).await,
            Verb::Redrive(a) => redrive(a).await,
        }
    })
}
