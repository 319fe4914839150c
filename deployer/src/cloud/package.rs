//! Lambda packages: the function crates built for `provided.al2023` and zipped as
//! `bootstrap`, deterministically (the same binary gives the same zip, byte for byte), so
//! that the zip's SHA-256 can be the asset's key.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use base64::Engine;
use sha2::{Digest, Sha256};
use stacks::resources::lambda::Architecture;

use crate::{target_dir, workspace_root};

/// The newest glibc of the `provided.al2023` runtime.
pub const RUNTIME_GLIBC: (u32, u32) = (2, 34);

/// Which profile to build the functions with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Optimized (what Lambda should run).
    Release,
    /// The dev profile: faster to build, for tests against an emulator.
    Dev,
}

/// One zipped function package.
#[derive(Clone, Debug)]
pub struct Package {
    pub crate_name: String,
    pub architecture: Architecture,
    pub zip: PathBuf,
    /// Hex SHA-256 of the zip.
    pub sha256_hex: String,
    /// Base64 SHA-256 of the zip (Lambda's `CodeSha256`).
    pub sha256_base64: String,
    pub size: u64,
}

impl Package {
    /// The S3 key of the package: its content hash, so that an unchanged package is never
    /// uploaded twice.
    pub fn key(&self) -> String {
        format!("assets/{}.zip", self.sha256_hex)
    }
}

fn target_triple(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

fn host_architecture() -> Option<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Architecture::X86_64),
        "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Whether the Rust standard library for `triple` is installed.
fn rust_target_installed(triple: &str) -> bool {
    Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .is_some_and(|root| {
            Path::new(&root)
                .join("lib/rustlib")
                .join(triple)
                .join("lib")
                .is_dir()
        })
}

/// Builds `crates` for `arch` and zips each binary; returns the packages by crate name.
/// With cargo-zigbuild installed, the binaries are linked against glibc 2.34; without it
/// they are built for this machine and refused if they need a newer glibc than Lambda has.
pub fn build(
    crates: &[String],
    arch: Architecture,
    profile: Profile,
    no_build: bool,
) -> anyhow::Result<BTreeMap<String, Package>> {
    let root = workspace_root()?;
    let mut cargo = CargoBuild::plan(&root, crates, arch, profile, no_build)?;
    if no_build {
        eprintln!(
            "packaging the binaries already built in {}",
            cargo.out_dir.display()
        );
    } else {
        cargo.run(crates, arch, profile)?;
    }
    // Zips are named by their hash, so a zip is never rewritten (nor read half-written);
    // `<crate>-<arch>.binary` maps the binary's hash to its zip, so that an unchanged binary
    // is not compressed again.
    let zip_dir = target_dir(&root).join("lambda");
    std::fs::create_dir_all(&zip_dir)
        .with_context(|| format!("cannot create {}", zip_dir.display()))?;
    crates
        .iter()
        .map(|c| {
            let bin = cargo.out_dir.join(c);
            Ok((c.clone(), package(&bin, c, arch, &zip_dir, no_build)?))
        })
        .collect()
}

/// The cargo command that builds the functions, and where their binaries land.
struct CargoBuild {
    cmd: Command,
    out_dir: PathBuf,
    zigbuild: bool,
}

impl CargoBuild {
    /// The command for `crates` on `arch`: cargo-zigbuild when installed (and building),
    /// else cargo for this machine; refused when `arch` cannot be built here.
    fn plan(
        root: &Path,
        crates: &[String],
        arch: Architecture,
        profile: Profile,
        no_build: bool,
    ) -> anyhow::Result<Self> {
        let triple = target_triple(arch);
        let zigbuild = !no_build && on_path("cargo-zigbuild");
        let native = host_architecture() == Some(arch);
        if !native && !rust_target_installed(triple) {
            bail!(
                "the functions are {} and the Rust target {triple} is not installed: run `rustup target add {triple}` (and install cargo-zigbuild to link it)",
                arch.as_str()
            );
        }
        if !native && !zigbuild {
            bail!(
                "building {} functions on {} needs a cross linker: install cargo-zigbuild (`pip install cargo-zigbuild ziglang`)",
                arch.as_str(),
                std::env::consts::ARCH
            );
        }
        let mut cmd = Command::new(cargo());
        cmd.current_dir(root);
        let out_dir = if zigbuild {
            let pinned = format!("{triple}.{}.{}", RUNTIME_GLIBC.0, RUNTIME_GLIBC.1);
            cmd.args(["zigbuild", "--target", &pinned]);
            target_dir(root).join(triple)
        } else {
            cmd.arg("build");
            target_dir(root)
        };
        let out_dir = match profile {
            Profile::Release => {
                cmd.arg("--release");
                out_dir.join("release")
            }
            Profile::Dev => out_dir.join("debug"),
        };
        for c in crates {
            cmd.args(["-p", c]);
        }
        Ok(CargoBuild {
            cmd,
            out_dir,
            zigbuild,
        })
    }

    /// Runs the build, saying what it builds.
    fn run(
        &mut self,
        crates: &[String],
        arch: Architecture,
        profile: Profile,
    ) -> anyhow::Result<()> {
        eprintln!(
            "building {} for provided.al2023 ({}, {}{})",
            crates.join(", "),
            arch.as_str(),
            match profile {
                Profile::Release => "release",
                Profile::Dev => "dev profile",
            },
            if self.zigbuild {
                ", glibc 2.34 via cargo-zigbuild"
            } else {
                ""
            }
        );
        let status = self.cmd.status().context("cannot run cargo")?;
        if !status.success() {
            bail!("building the functions failed ({status}); see cargo's output above");
        }
        Ok(())
    }
}

/// The package of the binary `bin` of crate `c`: checked against Lambda's glibc, zipped
/// (or its zip found in `zip_dir` from an earlier run) and hashed.
fn package(
    bin: &Path,
    c: &str,
    arch: Architecture,
    zip_dir: &Path,
    no_build: bool,
) -> anyhow::Result<Package> {
    let bytes = std::fs::read(bin).with_context(|| {
        format!(
            "cannot read {}{}",
            bin.display(),
            if no_build {
                ": build it first, or drop --no-build"
            } else {
                ""
            }
        )
    })?;
    runs_on_lambda(bin, &bytes)?;
    let index = zip_dir.join(format!("{c}-{}.binary", arch.as_str()));
    let binary_sha256 = hex::encode(Sha256::digest(&bytes));
    let (path, zip) = match cached_zip(&index, zip_dir, &binary_sha256) {
        Some(found) => found,
        None => {
            let zip = zip_bootstrap(&bytes)?;
            let path = zip_dir.join(format!("{}.zip", hex::encode(Sha256::digest(&zip))));
            write_atomically(&path, &zip)?;
            write_atomically(
                &index,
                format!("{binary_sha256} {}", hex::encode(Sha256::digest(&zip))).as_bytes(),
            )?;
            (path, zip)
        }
    };
    let digest = Sha256::digest(&zip);
    Ok(Package {
        crate_name: c.to_owned(),
        architecture: arch,
        zip: path,
        sha256_hex: hex::encode(digest),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        size: zip.len() as u64,
    })
}

/// Refuses a binary that needs a newer glibc than `provided.al2023` has.
fn runs_on_lambda(bin: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let needs = newest_glibc(bytes).with_context(|| format!("{}", bin.display()))?;
    if let Some((major, minor)) = needs
        && (major, minor) > RUNTIME_GLIBC
    {
        bail!(
            "{} needs GLIBC_{major}.{minor}, but provided.al2023 has glibc {}.{}: it would not start on Lambda. Install cargo-zigbuild (`pip install cargo-zigbuild ziglang`) to link against glibc {}.{}, or build on a machine with an older glibc",
            bin.display(),
            RUNTIME_GLIBC.0,
            RUNTIME_GLIBC.1,
            RUNTIME_GLIBC.0,
            RUNTIME_GLIBC.1
        );
    }
    Ok(())
}

/// The zip an earlier run made of the binary whose hash is `binary_sha256`, by `index`.
fn cached_zip(index: &Path, zip_dir: &Path, binary_sha256: &str) -> Option<(PathBuf, Vec<u8>)> {
    let text = std::fs::read_to_string(index).ok()?;
    let (binary, zip) = text.trim().split_once(' ')?;
    if binary != binary_sha256 {
        return None;
    }
    let path = zip_dir.join(format!("{zip}.zip"));
    let bytes = std::fs::read(&path).ok()?;
    Some((path, bytes))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A zip holding one entry, `bootstrap`, executable, with a fixed timestamp: the same
/// binary always gives the same bytes.
pub fn zip_bootstrap(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    w.start_file("bootstrap", options)
        .context("cannot start the zip entry")?;
    w.write_all(binary).context("cannot write the zip")?;
    let cursor = w.finish().context("cannot finish the zip")?;
    Ok(cursor.into_inner())
}

/// The newest `GLIBC_x.y` version a 64-bit ELF binary requires, read from its version
/// requirements (`.gnu.version_r`): text that merely mentions `GLIBC_` is not a
/// requirement. `None` for a binary that requires no glibc version (static).
pub fn newest_glibc(binary: &[u8]) -> anyhow::Result<Option<(u32, u32)>> {
    use object::read::elf::ElfFile64;
    let file =
        ElfFile64::<object::Endianness>::parse(binary).context("not a 64-bit ELF executable")?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut needs, link)) = sections
        .gnu_verneed(endian, binary)
        .context("unreadable ELF version requirements")?
    else {
        return Ok(None);
    };
    let strings = sections
        .strings(endian, binary, link)
        .context("unreadable ELF string table")?;
    let mut newest = None;
    while let Some((_, mut aux)) = needs.next().context("unreadable ELF version need")? {
        while let Some(vernaux) = aux.next().context("unreadable ELF version need")? {
            let name = vernaux
                .name(endian, strings)
                .context("unreadable ELF version name")?;
            if let Some(version) = glibc_version(name)
                && newest.is_none_or(|n| version > n)
            {
                newest = Some(version);
            }
        }
    }
    Ok(newest)
}

/// `GLIBC_2.34` -> (2, 34).
fn glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(name.strip_prefix(b"GLIBC_")?).ok()?;
    let mut parts = text.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_are_parsed_and_a_non_elf_is_an_error() {
        assert_eq!(glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version(b"GCC_3.0"), None);
        let err = newest_glibc(b"#!/bin/sh\nGLIBC_2.99").unwrap_err();
        assert!(err.to_string().contains("not a 64-bit ELF"), "{err}");
    }

    /// This test binary itself: a real ELF whose requirements are read.
    #[test]
    fn a_real_binarys_requirements_are_read() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let needs = newest_glibc(&me)
            .unwrap()
            .expect("a dynamic test binary needs glibc");
        assert!(needs >= (2, 2), "{needs:?}");
    }

    #[test]
    fn a_foreign_architecture_without_its_rust_target_is_a_clear_error() {
        // Whichever architecture this machine is not; its target is not installed here.
        let (arch, triple) = match host_architecture() {
            Some(Architecture::Arm64) => (Architecture::X86_64, "x86_64-unknown-linux-gnu"),
            _ => (Architecture::Arm64, "aarch64-unknown-linux-gnu"),
        };
        if rust_target_installed(triple) {
            return;
        }
        let err = build(&["receiver".to_owned()], arch, Profile::Release, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(&format!(
                "the Rust target {triple} is not installed: run `rustup target add {triple}`"
            )),
            "{err}"
        );
    }

    #[test]
    fn the_zip_is_deterministic_and_holds_an_executable_bootstrap() {
        let a = zip_bootstrap(b"\x7fELF binary").unwrap();
        let b = zip_bootstrap(b"\x7fELF binary").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, zip_bootstrap(b"\x7fELF other").unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    }
}
