//! The deploy verbs: build, bootstrap, deploy, diff, destroy, promote, outputs, smoke.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use stacks::Template;
use stacks::resources::lambda::Architecture;
use stacks::webhook::{self, Stage};

use super::assets::{self, Assembly, Record};
use super::package::{self, Package, Profile};
use super::stack::{self, Applied, Plan, RequireApproval, StackInfo};
use super::{Cloud, Progress, apigateway_account, confirm, hotswap, template_diff};

/// `deployer smoke` (its own module).
pub use super::smoke::smoke;

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Options of every verb that changes a stack.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// When the change set needs a person's approval before it runs.
    #[arg(long, value_enum, default_value_t = RequireApproval::Broadening)]
    pub require_approval: RequireApproval,
    /// Approve without asking (needed for approvals without a terminal, as in CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// If the stack's first create failed (ROLLBACK_COMPLETE), delete it and create it anew.
    #[arg(long)]
    pub recreate: bool,
    /// `auto`: a live view on a terminal, plain lines otherwise; `events`: plain lines.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Also write the stack's outputs to this file (JSON).
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// Let this stateful resource (a table, secret, bucket, key, queue, log group) be
    /// replaced or removed, losing its data (repeatable). Without it, a deployment that
    /// would do so is refused before anything changes (`deployer diff --template-only`
    /// shows which property changes replace what).
    #[arg(long, value_name = "LOGICAL_ID")]
    pub allow_replace: Vec<String>,
    /// Replace or remove a durable function even while executions run on it (they can
    /// never finish: their version goes with the function). Without it, such a deployment
    /// is refused with the executions listed.
    #[arg(long)]
    pub allow_replay_break: bool,
}

/// How the function packages are made.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PackagingArgs {
    /// The cargo profile of the function binaries.
    #[arg(long, value_enum, default_value_t = Profile::Release)]
    pub profile: Profile,
    /// Package the binaries already built for that profile instead of running cargo.
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub packaging: PackagingArgs,
}

#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The stage to deploy.
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    #[command(flatten)]
    pub packaging: PackagingArgs,
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// When only function code changed: update it, publish a version and move the alias
    /// directly (no change set), in seconds. Anything else falls back to a full deploy,
    /// with the reason. Refused for prod. Until the next full deploy, the stack runs code
    /// its template does not name (`deployer drift` says which functions).
    #[arg(long)]
    pub hotswap: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    #[value(alias = "table")]
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The stage to compare with what is deployed.
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    #[command(flatten)]
    pub packaging: PackagingArgs,
    #[command(flatten)]
    pub settings: SettingArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Compare the build this stage runs (its deployment record), as `promote --from` would
    /// deploy it to --stage: no synth, no build.
    #[arg(long, value_name = "STAGE", value_parser = crate::stage_parser(), conflicts_with_all = ["set", "profile", "no_build"])]
    pub from: Option<Stage>,
    /// Compare the new template with the deployed one, without building or a change set
    /// (one GetTemplate): each changed property, whether it replaces its resource (from
    /// the resource schemas), and which stateful resources would lose their data. Function
    /// code is not compared.
    #[arg(long, conflicts_with_all = ["from", "profile", "no_build"])]
    pub template_only: bool,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The stage to delete.
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    /// Delete without asking (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
}

#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The stage whose build to promote.
    #[arg(long, value_parser = crate::stage_parser())]
    pub from: Stage,
    /// The stage to deploy that build to.
    #[arg(long, value_parser = crate::stage_parser())]
    pub to: Stage,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, clap::Args)]
pub struct OutputsArgs {
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct SmokeArgs {
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    /// Base URL of the API instead of the stack's ApiUrl output (for emulators and
    /// private endpoints), such as `http://127.0.0.1:4566/_aws/execute-api/<id>/dev`.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// How long the webhook may take to reach COMPLETED, from its POST; every request to
    /// the API ends by then, answered or not.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
}

/// `KEY=VALUE` of `--set`.
pub(crate) fn setting(raw: &str) -> Result<(String, String), String> {
    let (k, v) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not KEY=VALUE"))?;
    let mut probe = webhook::StageConfig::of(Stage::Dev);
    probe.set(k, v)?;
    Ok((k.to_owned(), v.to_owned()))
}

/// Settings of the deployed stage that differ from its definition in `stacks`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SettingArgs {
    /// Override a setting of this stage's template (repeatable); the keys are
    /// api-memory-mb, processor-memory-mb, log-retention-days, ttl-days, throttle-rate and
    /// throttle-burst. Other stages (and promotion from this one) keep their own settings.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = setting)]
    pub set: Vec<(String, String)>,
}

/// The templates of every stage (`overrides` applied to `stage`'s).
fn synth_all(
    stage: Option<Stage>,
    overrides: &SettingArgs,
) -> anyhow::Result<BTreeMap<Stage, Template>> {
    Stage::ALL
        .iter()
        .map(|s| {
            let mut cfg = webhook::StageConfig::of(*s);
            if Some(*s) == stage {
                for (k, v) in &overrides.set {
                    cfg.set(k, v).map_err(|e| anyhow::anyhow!(e))?;
                }
            }
            Ok((*s, webhook::webhook_stack(&cfg).synth()?))
        })
        .collect()
}

/// Builds every package the templates need.
fn build_packages(
    templates: &BTreeMap<Stage, Template>,
    packaging: PackagingArgs,
) -> anyhow::Result<BTreeMap<(String, Architecture), Package>> {
    let mut wanted: BTreeMap<Architecture, Vec<String>> = BTreeMap::new();
    for t in templates.values() {
        for a in &t.manifest().assets {
            let crates = wanted.entry(a.architecture).or_default();
            if !crates.contains(&a.crate_name) {
                crates.push(a.crate_name.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    for (arch, crates) in wanted {
        for (name, p) in package::build(&crates, arch, packaging.profile, packaging.no_build)? {
            out.insert((name, arch), p);
        }
    }
    Ok(out)
}

/// One build, every stage: the assembly that deploy stores and promote reuses.
fn assemble(
    templates: &BTreeMap<Stage, Template>,
    packages: &BTreeMap<(String, Architecture), Package>,
) -> anyhow::Result<Assembly> {
    let mut parameters = BTreeMap::new();
    let mut rendered = BTreeMap::new();
    for (stage, t) in templates {
        for a in &t.manifest().assets {
            let p = packages
                .get(&(a.crate_name.clone(), a.architecture))
                .with_context(|| format!("no package was built for {}", a.crate_name))?;
            parameters.insert(a.key_parameter.clone(), p.key());
            if let Some(sha) = &a.sha256_parameter {
                parameters.insert(sha.clone(), p.sha256_base64.clone());
            }
        }
        rendered.insert(
            stage.as_str().to_owned(),
            serde_json::to_string(&t.to_value()?)?,
        );
    }
    Ok(Assembly {
        version: 1,
        templates: rendered,
        parameters,
    })
}

fn print_packages(packages: &BTreeMap<(String, Architecture), Package>) {
    let mut out = std::io::stdout().lock();
    for p in packages.values() {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}",
            p.crate_name,
            p.architecture.as_str(),
            p.key(),
            p.zip.display()
        );
    }
}

pub fn build(args: BuildArgs) -> anyhow::Result<()> {
    let templates = synth_all(None, &SettingArgs::default())?;
    let packages = build_packages(&templates, args.packaging)?;
    for p in packages.values() {
        eprintln!(
            "{}: {:.1} MiB, sha256 {}",
            p.crate_name,
            p.size as f64 / 1048576.0,
            p.sha256_hex
        );
    }
    print_packages(&packages);
    Ok(())
}

/// Prints outputs on stdout (`Key=Value` lines) and writes them to `file` (JSON).
fn report_outputs(info: &StackInfo, file: Option<&PathBuf>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (k, v) in &info.outputs {
        let _ = writeln!(out, "{k}={v}");
    }
    if let Some(f) = file {
        let text = serde_json::to_string_pretty(&info.outputs)? + "\n";
        std::fs::write(f, text)
            .with_context(|| format!("cannot write the outputs to {}", f.display()))?;
        eprintln!("outputs written to {}", f.display());
    }
    Ok(())
}

fn finish(applied: Applied, change: &ChangeArgs, started: Instant) -> anyhow::Result<StackInfo> {
    let info = match applied {
        Applied::NoChanges(info) | Applied::Done(info) => info,
        Applied::Preview(_) => bail!("a preview cannot be finished"),
    };
    eprintln!(
        "{}: {} in {:.1}s",
        info.id.rsplit('/').nth(1).unwrap_or(&info.id),
        info.status,
        started.elapsed().as_secs_f64()
    );
    report_outputs(&info, change.outputs_file.as_ref())?;
    Ok(info)
}

pub fn bootstrap(args: BootstrapArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let started = Instant::now();
        let cloud = Cloud::connect().await?;
        let template = stacks::bootstrap::synth()?;
        let plan = Plan {
            stack: stacks::bootstrap::STACK_NAME,
            template_body: serde_json::to_string(&template.to_value()?)?,
            parameters: BTreeMap::new(),
            require_approval: args.change.require_approval,
            yes: args.change.yes,
            recreate: args.change.recreate,
            progress: args.change.progress,
            again: "deployer bootstrap".to_owned(),
        };
        let applied = stack::apply(&cloud, &plan, false).await?;
        let info = finish(applied, &args.change, started)?;
        let role = info
            .outputs
            .get(stacks::bootstrap::API_GATEWAY_ROLE_OUTPUT)
            .with_context(|| {
                format!(
                    "stack {} has no output {}",
                    stacks::bootstrap::STACK_NAME,
                    stacks::bootstrap::API_GATEWAY_ROLE_OUTPUT
                )
            })?;
        apigateway_account::ensure_cloudwatch_role(&cloud, role).await?;
        Ok(())
    })
}

/// Deploys `stage` from `assembly` (stored at `assembly_key`), then records it.
async fn deploy_assembly(
    cloud: &Cloud,
    bucket: &str,
    stage: Stage,
    assembly: &Assembly,
    assembly_key: &str,
    change: &ChangeArgs,
    again: String,
) -> anyhow::Result<Applied> {
    let stack_name = stage.stack_name();
    let (template_body, parameters) = assembly.stack_input(stage, bucket)?;
    let plan = Plan {
        stack: &stack_name,
        template_body,
        parameters,
        require_approval: change.require_approval,
        yes: change.yes,
        recreate: change.recreate,
        progress: change.progress,
        again,
    };
    let new = stacks::diff::TemplateResources::parse(&plan.template_body)
        .context("the new template")?
        .resolved(&plan.parameters);
    // What runs now (nothing deployed: nothing to lose, nothing hotswapped).
    let before = template_diff::deployed(cloud, &stack_name)
        .await?
        .map(template_diff::Deployed::resolved);
    if let Some(before) = &before {
        let allowed = template_diff::Allowed {
            replace: &change.allow_replace,
            replay_break: change.allow_replay_break,
        };
        template_diff::guard(cloud, &stack_name, before, &new, allowed).await?;
    }
    let applied = stack::apply(cloud, &plan, false).await?;
    match &before {
        // Nothing was serving (a new stack, or one destroyed since): a marker left from an
        // earlier stack of this name speaks of functions that no longer exist.
        None => hotswap::clear(cloud, bucket, &stack_name).await?,
        Some(before) => {
            if let Some(marker) = hotswap::marker(cloud, bucket, &stack_name).await? {
                let still = marker.settled(before, &new);
                for f in still.functions.keys() {
                    eprintln!(
                        "{f} still runs hotswapped code: its code did not change in this deploy (deploy --hotswap puts it back)"
                    );
                }
                hotswap::put_marker(cloud, bucket, &stack_name, &still).await?;
            }
        }
    }
    assets::put_record(
        cloud,
        bucket,
        &Record {
            stack: stack_name.clone(),
            stage: stage.as_str().to_owned(),
            assembly: assembly_key.to_owned(),
        },
    )
    .await?;
    Ok(applied)
}

/// What deploy and diff start with: the clients and the bucket (checked first: no build
/// for a deployment that cannot happen), then the packages and the build of every stage.
struct Prepared {
    rt: tokio::runtime::Runtime,
    cloud: Cloud,
    bucket: String,
    packages: BTreeMap<(String, Architecture), Package>,
    assembly: Assembly,
}

fn prepare(
    stage: Stage,
    settings: &SettingArgs,
    packaging: PackagingArgs,
) -> anyhow::Result<Prepared> {
    let rt = runtime()?;
    let (cloud, bucket) = rt.block_on(async {
        let cloud = Cloud::connect().await?;
        let bucket = assets::bucket(&cloud).await?;
        Ok::<_, anyhow::Error>((cloud, bucket))
    })?;
    let templates = synth_all(Some(stage), settings)?;
    let packages = build_packages(&templates, packaging)?;
    let assembly = assemble(&templates, &packages)?;
    Ok(Prepared {
        rt,
        cloud,
        bucket,
        packages,
        assembly,
    })
}

/// Hotswaps `stage` when only code changed; `false` when a full deploy is needed (the
/// reason printed).
async fn try_hotswap(
    cloud: &Cloud,
    bucket: &str,
    stage: Stage,
    assembly: &Assembly,
) -> anyhow::Result<bool> {
    let stack_name = stage.stack_name();
    let (template_body, parameters) = assembly.stack_input(stage, bucket)?;
    let Some(deployed) = template_diff::deployed(cloud, &stack_name).await? else {
        eprintln!(
            "hotswap not possible: stack {stack_name} has nothing deployed; deploying through a change set"
        );
        return Ok(false);
    };
    if !deployed.info.serving() {
        eprintln!(
            "hotswap not possible: stack {stack_name} is {}; deploying through a change set",
            deployed.info.status
        );
        return Ok(false);
    }
    let raw = stacks::diff::TemplateResources::parse(&template_body).context("the new template")?;
    let old = deployed.resolved();
    let new = raw.clone().resolved(&parameters);
    let marker = hotswap::marker(cloud, bucket, &stack_name)
        .await?
        .unwrap_or_default();
    match hotswap::decide(&old, &new, &raw) {
        hotswap::Decision::Hotswap(mut updates) => {
            // Functions hotswapped before whose template code differs from what they run.
            let back = marker.back_to(&new, &raw, &updates);
            updates.extend(back);
            if updates.is_empty() {
                eprintln!("{stack_name}: no function code changed: nothing to hotswap");
                return Ok(true);
            }
            let mut swapped = hotswap::run(cloud, bucket, &stack_name, &updates).await?;
            // Those now on the code the deployed template names are hotswapped no more.
            swapped = swapped.settled(&old, &old);
            hotswap::put_marker(cloud, bucket, &stack_name, &swapped).await?;
            let state = if swapped.functions.is_empty() {
                "the stack runs the code its template names"
            } else {
                "the stack runs code its template does not name until the next full deploy"
            };
            eprintln!(
                "{stack_name}: hotswapped {} function(s); {state}",
                updates.len()
            );
            Ok(true)
        }
        hotswap::Decision::FullDeploy(why) => {
            eprintln!("hotswap not possible: {why}; deploying through a change set");
            Ok(false)
        }
    }
}

pub fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.hotswap && args.stage == Stage::Prod {
        bail!(
            "--hotswap is refused for prod: prod changes only through a change set (`deployer deploy` without --hotswap, or `deployer promote`)"
        );
    }
    let Prepared {
        rt,
        cloud,
        bucket,
        packages,
        assembly,
    } = prepare(args.stage, &args.settings, args.packaging)?;
    rt.block_on(async {
        assets::publish(&cloud, &bucket, packages.values()).await?;
        if args.hotswap && try_hotswap(&cloud, &bucket, args.stage, &assembly).await? {
            eprintln!("hotswap done in {:.1}s", started.elapsed().as_secs_f64());
            return Ok(());
        }
        let key = assets::store_assembly(&cloud, &bucket, &assembly).await?;
        let again = format!("deployer deploy --stage {}", args.stage);
        let applied = deploy_assembly(
            &cloud,
            &bucket,
            args.stage,
            &assembly,
            &key,
            &args.change,
            again,
        )
        .await?;
        finish(applied, &args.change, started)?;
        Ok(())
    })
}

/// `deployer diff --template-only`: synth, one GetTemplate, no build, no change set.
fn diff_template_only(args: &DiffArgs) -> anyhow::Result<()> {
    let templates = synth_all(Some(args.stage), &args.settings)?;
    let new = stacks::diff::TemplateResources::parse(&serde_json::to_string(
        &templates[&args.stage].to_value()?,
    )?)
    .context("the synthesized template")?;
    let stack_name = args.stage.stack_name();
    let deployed = runtime()?.block_on(async {
        let cloud = Cloud::connect().await?;
        template_diff::deployed(&cloud, &stack_name).await
    })?;
    let old = match deployed {
        Some(d) => d.template,
        None => {
            eprintln!(
                "stack {stack_name} has nothing deployed: every resource of the template is an Add"
            );
            stacks::diff::TemplateResources::default()
        }
    };
    let changes = stacks::diff::diff(&old, &new);
    match args.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "stack": stack_name,
                "templateOnly": true,
                "hasChanges": !changes.is_empty(),
                "losesData": changes.iter().any(|c| c.loses_data),
                "changes": changes,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Text => {
            template_diff::print(&mut std::io::stdout().lock(), &stack_name, &changes);
        }
    }
    Ok(())
}

pub fn diff(args: DiffArgs) -> anyhow::Result<()> {
    if args.template_only {
        return diff_template_only(&args);
    }
    let (rt, cloud, bucket, assembly) = match args.from {
        Some(from) => {
            let rt = runtime()?;
            let (cloud, bucket, assembly) = rt.block_on(async {
                let cloud = Cloud::connect().await?;
                let bucket = assets::bucket(&cloud).await?;
                let (assembly, record) = recorded_build(&cloud, &bucket, from).await?;
                eprintln!("comparing with the build {from} runs ({})", record.assembly);
                Ok::<_, anyhow::Error>((cloud, bucket, assembly))
            })?;
            (rt, cloud, bucket, assembly)
        }
        None => {
            let p = prepare(args.stage, &args.settings, args.packaging)?;
            (p.rt, p.cloud, p.bucket, p.assembly)
        }
    };
    let stack_name = args.stage.stack_name();
    let (template_body, parameters) = assembly.stack_input(args.stage, &bucket)?;
    let plan = Plan {
        stack: &stack_name,
        template_body,
        parameters,
        require_approval: RequireApproval::Never,
        yes: true,
        recreate: false,
        progress: Progress::Events,
        again: format!("deployer diff --stage {}", args.stage),
    };
    let changes = match rt.block_on(stack::apply(&cloud, &plan, true))? {
        Applied::Preview(changes) => changes,
        _ => vec![],
    };
    match args.output {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "stack": stack_name,
                "hasChanges": !changes.is_empty(),
                "changes": changes,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Text => {
            stack::print_diff(&mut std::io::stdout().lock(), &stack_name, &changes);
        }
    }
    Ok(())
}

pub fn destroy(args: DestroyArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let cloud = Cloud::connect().await?;
        let name = args.stage.stack_name();
        let Some(info) = stack::describe(&cloud, &name).await? else {
            eprintln!("stack {name} does not exist: nothing to destroy");
            return Ok(());
        };
        if info.in_progress() {
            bail!(
                "stack {name} is busy ({}): destroy it when that operation has ended",
                info.status
            );
        }
        let retained = retained_resources(&cloud, &name).await?;
        if retained.is_empty() {
            eprintln!("{name}: every resource will be deleted");
        } else {
            eprintln!("{name}: these resources are kept (DeletionPolicy Retain):");
            for (logical, (ty, physical)) in &retained {
                eprintln!("  {logical:<32} {ty:<28} {physical}");
            }
        }
        if !args.yes && !confirm(&format!("delete stack {name}?"))? {
            bail!(
                "not deleted: deleting {name} needs confirmation and there is no terminal to ask; pass --yes"
            );
        }
        let again = format!("deployer destroy --stage {} --yes", args.stage);
        let events = stack::delete(&cloud, &info, args.progress, &again).await?;
        eprintln!("{name}: deleted");
        // What CloudFormation skipped, with what the template retains (the same resources).
        let mut kept = retained.clone();
        for e in events.trail.iter().filter(|e| e.status == "DELETE_SKIPPED") {
            kept.entry(e.logical_id.clone())
                .or_insert_with(|| (e.resource_type.clone(), String::new()));
        }
        let mut out = std::io::stdout().lock();
        for (logical, (ty, physical)) in &kept {
            let _ = writeln!(out, "retained\t{logical}\t{ty}\t{physical}");
        }
        if !retained.is_empty() {
            eprintln!(
                "left behind on purpose: {} (delete them by hand when no longer needed)",
                retained.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(())
    })
}

/// The resources of `stack` with `DeletionPolicy: Retain`: logical id -> (type, physical id).
async fn retained_resources(
    cloud: &Cloud,
    stack: &str,
) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let body = template_diff::template_body(cloud, stack).await?;
    let template = stacks::diff::TemplateResources::parse(&body)
        .context("the deployed template is neither JSON nor YAML")?;
    let physical = hotswap::physical_ids(cloud, stack).await?;
    Ok(template
        .resources
        .into_iter()
        .filter(|(_, r)| r.deletion_policy.as_deref() == Some("Retain"))
        .map(|(id, r)| {
            let physical = physical.get(&id).cloned().unwrap_or_default();
            (id, (r.resource_type, physical))
        })
        .collect())
}

/// The build `from` runs, by its deployment record, checked against the stack (the same
/// asset keys) and against its own key (its SHA-256): what `promote --from` deploys and
/// `diff --from` compares.
async fn recorded_build(
    cloud: &Cloud,
    bucket: &str,
    stage: Stage,
) -> anyhow::Result<(Assembly, Record)> {
    let from = stage.stack_name();
    let Some(info) = stack::describe(cloud, &from).await? else {
        bail!("cannot promote from {stage}: stack {from} does not exist");
    };
    if !info.serving() {
        bail!(
            "cannot promote from {stage}: stack {from} is {}, not in a complete state",
            info.status
        );
    }
    let record = assets::get_record(cloud, bucket, &from)
        .await?
        .with_context(|| {
            format!(
                "cannot promote from {stage}: the deployer has no record of what {from} runs; deploy it with `deployer deploy --stage {stage}`"
            )
        })?;
    // Verified against its key (downloaded and hashed) before anything reads it.
    let assembly = assets::load_assembly(cloud, bucket, &record.assembly)
        .await?
        .with_context(|| {
            format!(
                "the recorded build {} is gone from the bucket",
                record.assembly
            )
        })?;
    for (k, v) in &assembly.parameters {
        if info.parameters.get(k).is_some_and(|running| running != v) {
            bail!(
                "cannot promote from {stage}: {from} runs {k}={} but its deployment record says {v}; deploy {stage} again",
                info.parameters[k]
            );
        }
    }
    Ok((assembly, record))
}

pub fn promote(args: PromoteArgs) -> anyhow::Result<()> {
    if args.from == args.to {
        bail!(
            "--from and --to are both {}: promote to another stage",
            args.to
        );
    }
    let started = Instant::now();
    runtime()?.block_on(async {
        let cloud = Cloud::connect().await?;
        let bucket = assets::bucket(&cloud).await?;
        let (assembly, record) = recorded_build(&cloud, &bucket, args.from).await?;
        eprintln!(
            "promoting {} -> {}: the build of {} ({}, verified), no rebuild",
            args.from,
            args.to,
            args.from.stack_name(),
            record.assembly
        );
        // Every package, downloaded and hashed, before any change set exists.
        assets::verify_packages(&cloud, &bucket, &assembly).await?;
        let again = format!("deployer promote --from {} --to {}", args.from, args.to);
        let applied = deploy_assembly(
            &cloud,
            &bucket,
            args.to,
            &assembly,
            &record.assembly,
            &args.change,
            again,
        )
        .await?;
        finish(applied, &args.change, started)?;
        Ok(())
    })
}

/// The stack of a deployed stage.
pub(crate) async fn deployed(stage: Stage) -> anyhow::Result<(Cloud, String, StackInfo)> {
    let cloud = Cloud::connect().await?;
    let name = stage.stack_name();
    let info = stack::describe(&cloud, &name)
        .await?
        .with_context(|| format!("stack {name} does not exist: deploy it first"))?;
    Ok((cloud, name, info))
}

pub fn outputs(args: OutputsArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let (_, _, info) = deployed(args.stage).await?;
        match args.output {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&info.outputs)?),
            OutputFormat::Text => report_outputs(&info, None)?,
        }
        Ok(())
    })
}
