//! The pinned input, `codegen/`: every resource schema of one cfn-lint release as one
//! JSON-lines file (a schema per line, minified, keys sorted, lines sorted by type name;
//! gzip'ed), cfn-lint's GetAtt tables, and a manifest with the cfn-lint version and the
//! SHA-256 of each file's content.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::schema::{GetAttTables, ResourceSchema};

pub const DIR: &str = "codegen";
pub const SCHEMAS: &str = "schemas.jsonl.gz";
pub const GETATTS: &str = "getatts.json";
pub const MANIFEST: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The cfn-lint release the schemas come from (PyPI `cfn-lint`).
    pub cfn_lint: String,
    pub schemas: Pinned,
    pub getatts: Pinned,
    /// How to refresh this directory.
    pub refresh: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    pub file: String,
    /// What the file holds (resource types, or types with a GetAtt exception).
    pub entries: usize,
    /// SHA-256 of the file's content (uncompressed).
    pub sha256: String,
}

/// The pinned input, read and verified.
#[derive(Debug)]
pub struct Input {
    pub cfn_lint: String,
    pub schemas: Vec<ResourceSchema>,
    pub getatts: GetAttTables,
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(Error::io(path))
}

fn verify(path: &Path, content: &[u8], recorded: &Pinned) -> Result<(), Error> {
    let actual = sha256(content);
    if actual != recorded.sha256 {
        return Err(Error::Tampered {
            path: path.to_owned(),
            recorded: recorded.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

fn json<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

/// Reads `<root>/codegen`, checking every file against the manifest.
pub fn load(root: &Path) -> Result<Input, Error> {
    let dir = root.join(DIR);
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = json(&manifest_path, &read(&manifest_path)?)?;

    let path = dir.join(&manifest.schemas.file);
    let mut text = Vec::new();
    GzDecoder::new(read(&path)?.as_slice())
        .read_to_end(&mut text)
        .map_err(Error::io(&path))?;
    verify(&path, &text, &manifest.schemas)?;
    let text = String::from_utf8_lossy(&text);
    let schemas = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| Error::Schema {
                path: path.clone(),
                line: i + 1,
                source,
            })
        })
        .collect::<Result<Vec<ResourceSchema>, _>>()?;

    let path = dir.join(&manifest.getatts.file);
    let bytes = read(&path)?;
    verify(&path, &bytes, &manifest.getatts)?;
    Ok(Input {
        cfn_lint: manifest.cfn_lint,
        schemas,
        getatts: json(&path, &bytes)?,
    })
}

/// The normalized files of a refresh, before they are written.
#[derive(Debug)]
pub struct Normalized {
    pub cfn_lint: String,
    /// One minified schema per line, sorted by type name, with a final newline.
    pub schemas_jsonl: String,
    pub types: usize,
    pub getatts: GetAttTables,
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(&path, bytes).map_err(Error::io(path))
}

/// Writes `<root>/codegen` from `input`: deterministic bytes (gzip without a name or a
/// time, pretty JSON with a final newline).
pub fn store(root: &Path, input: &Normalized) -> Result<Manifest, Error> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let path = dir.join(SCHEMAS);
    gz.write_all(input.schemas_jsonl.as_bytes())
        .and_then(|()| gz.finish())
        .and_then(|bytes| std::fs::write(&path, bytes))
        .map_err(Error::io(&path))?;
    let getatts = pretty(&input.getatts);
    write(dir.join(GETATTS), getatts.as_bytes())?;
    let manifest = Manifest {
        cfn_lint: input.cfn_lint.clone(),
        schemas: Pinned {
            file: SCHEMAS.to_owned(),
            entries: input.types,
            sha256: sha256(input.schemas_jsonl.as_bytes()),
        },
        getatts: Pinned {
            file: GETATTS.to_owned(),
            entries: input.getatts.all_properties.len() + input.getatts.exceptions.len(),
            sha256: sha256(getatts.as_bytes()),
        },
        refresh: "make tools (the pinned cfn-lint in .venv), then cargo xtask codegen --refresh-from .venv/lib/python3.<minor>/site-packages/cfnlint".to_owned(),
    };
    write(dir.join(MANIFEST), pretty(&manifest).as_bytes())?;
    Ok(manifest)
}

fn pretty<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
