//! `deployer synth`: the template and asset manifest of a stage.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use stacks::Format;
use stacks::webhook::{self, Stage};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Yaml,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Yaml => Format::Yaml,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage to synthesize.
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    /// Template format.
    #[arg(long, value_enum, default_value_t = FormatArg::Yaml)]
    pub format: FormatArg,
    /// Directory to write `<stack>.template.<format>` and `<stack>.assets.json` into
    /// (created if missing), or `-` to print the template on stdout.
    #[arg(long, value_name = "DIR", default_value = ".deployer/synth")]
    pub out: PathBuf,
}

/// The two files of a synth, by path.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    pub template: PathBuf,
    pub assets: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let format = Format::from(args.format);
    let template = webhook::synth(args.stage)?;
    let text = template.render(format)?;
    if args.out.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .context("cannot write the template to stdout")?;
        return Ok(());
    }
    let stack = args.stage.stack_name();
    let manifest = template.manifest().to_json()?;
    let written = write_outputs(&args.out, &stack, format, &text, &manifest)?;
    eprintln!(
        "synthesized {stack} ({} assets) in {:.1} ms",
        template.manifest().assets.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "template: {}", written.template.display())
        .and_then(|()| writeln!(out, "assets: {}", written.assets.display()))
        .context("cannot write to stdout")?;
    Ok(())
}

/// Writes both files or neither: each goes to a temporary file in `dir` first, and both are
/// renamed into place only when both were written.
pub fn write_outputs(
    dir: &Path,
    stack: &str,
    format: Format,
    template: &str,
    manifest: &str,
) -> anyhow::Result<Written> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory `{}`", dir.display()))?;
    let written = Written {
        template: dir.join(format!("{stack}.template.{}", format.extension())),
        assets: dir.join(format!("{stack}.assets.json")),
    };
    for path in [&written.template, &written.assets] {
        anyhow::ensure!(
            !path.is_dir(),
            "cannot write `{}`: it is a directory; remove it or choose another --out",
            path.display()
        );
    }
    let pid = std::process::id();
    let files = [
        ("template", &written.template, template),
        ("assets", &written.assets, manifest),
    ];
    let tmp = |kind: &str| dir.join(format!(".{stack}.{kind}.{pid}.tmp"));
    let cleanup = || {
        for (kind, _, _) in &files {
            let _ = fs::remove_file(tmp(kind));
        }
    };
    for (kind, _, contents) in &files {
        fs::write(tmp(kind), contents)
            .with_context(|| format!("cannot write into `{}`", dir.display()))
            .inspect_err(|_| cleanup())?;
    }
    for (kind, path, _) in &files {
        fs::rename(tmp(kind), path)
            .with_context(|| format!("cannot write `{}`", path.display()))
            .inspect_err(|_| cleanup())?;
    }
    Ok(written)
}
