//! The asset bucket: function packages under their content hash (an unchanged package is
//! never uploaded again; uploads run in parallel), deployed assemblies, and the record of
//! what each stack runs (for promotion). Packages and assemblies are verified against their
//! keys before they are used ([`integrity`]).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::integrity::{self, Body, IntegrityError, Settled, Stored};
use super::package::Package;
use super::stack::describe;
use super::{Cloud, sdk_error};

/// The asset bucket of this account and region, from the bootstrap stack.
pub async fn bucket(cloud: &Cloud) -> anyhow::Result<String> {
    let info = describe(cloud, stacks::bootstrap::STACK_NAME).await?;
    match info {
        Some(i) if i.complete() => i
            .outputs
            .get(stacks::bootstrap::BUCKET_OUTPUT)
            .cloned()
            .with_context(|| {
                format!(
                    "stack {} has no output {}: run `deployer bootstrap` again",
                    stacks::bootstrap::STACK_NAME,
                    stacks::bootstrap::BUCKET_OUTPUT
                )
            }),
        Some(i) => bail!(
            "the bootstrap stack {} is {}: run `deployer bootstrap` again",
            stacks::bootstrap::STACK_NAME,
            i.status
        ),
        None => bail!(
            "this account has no asset bucket in {}: run `deployer bootstrap` first (once per account and region)",
            cloud.region
        ),
    }
}

/// Uploads the packages that the bucket does not hold yet and verifies the ones it holds
/// (downloaded and hashed), in parallel. Any package that does not match its key fails the
/// whole deployment ([`IntegrityError::Tampered`], every such package named).
pub async fn publish<'a>(
    cloud: &Cloud,
    bucket: &str,
    packages: impl IntoIterator<Item = &'a Package>,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut keys = std::collections::BTreeSet::new();
    for p in packages {
        if !keys.insert(p.key()) {
            continue;
        }
        let (cloud, bucket, p) = (cloud.clone(), bucket.to_owned(), p.clone());
        tasks.spawn(async move {
            let settled = integrity::store_or_verify(
                &cloud,
                &bucket,
                &p.key(),
                &Body::File(p.zip.clone()),
                &p.sha256_base64,
                "application/zip",
            )
            .await?;
            if settled == Settled::Created {
                eprintln!(
                    "uploaded {} ({:.1} MiB) to s3://{bucket}/{}",
                    p.crate_name,
                    p.size as f64 / 1048576.0,
                    p.key()
                );
            }
            Ok::<_, anyhow::Error>((p.crate_name, settled))
        });
    }
    let mut verified = Vec::new();
    let mut tampered = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.context("an upload task failed")?? {
            (_, Settled::Created) => {}
            (name, Settled::Verified) => verified.push(name),
            (_, Settled::Differs(m)) => tampered.push(m),
        }
    }
    if !tampered.is_empty() {
        tampered.sort_by(|a, b| a.key.cmp(&b.key));
        return Err(IntegrityError::Tampered(tampered).into());
    }
    verified.sort();
    if !verified.is_empty() {
        eprintln!(
            "unchanged, not uploaded: {} (each downloaded and verified against its SHA-256 key)",
            verified.join(", ")
        );
    }
    Ok(())
}

/// Verifies every package `assembly` names (streamed and hashed, in parallel): what promote
/// checks before it deploys a stored build.
pub async fn verify_packages(
    cloud: &Cloud,
    bucket: &str,
    assembly: &Assembly,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for key in assembly.package_keys() {
        let (cloud, bucket) = (cloud.clone(), bucket.to_owned());
        tasks.spawn(async move {
            let stored = integrity::verify_stored(&cloud, &bucket, &key).await?;
            Ok::<_, anyhow::Error>((key, stored))
        });
    }
    let (mut tampered, mut missing, mut bytes, mut count) = (Vec::new(), Vec::new(), 0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.context("a verification task failed")?? {
            (_, Stored::Verified { size }) => {
                bytes += size;
                count += 1;
            }
            (key, Stored::Absent) => missing.push(key),
            (_, Stored::Differs(m)) => tampered.push(m),
        }
    }
    if !tampered.is_empty() {
        tampered.sort_by(|a, b| a.key.cmp(&b.key));
        return Err(IntegrityError::Tampered(tampered).into());
    }
    if let Some(key) = missing.into_iter().min() {
        return Err(IntegrityError::Missing {
            bucket: bucket.to_owned(),
            key,
        }
        .into());
    }
    eprintln!(
        "verified {count} package(s) ({:.1} MiB) against their SHA-256 keys",
        bytes as f64 / 1048576.0
    );
    Ok(())
}

/// Everything a deployment of one build needs, for every stage: the templates and the
/// asset parameters. Stored under its hash; promotion deploys a stage from it, unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assembly {
    pub version: u32,
    /// Stage -> template (JSON).
    pub templates: BTreeMap<String, String>,
    /// Template parameters with the asset locations (keys and hashes).
    pub parameters: BTreeMap<String, String>,
}

impl Assembly {
    /// `stage`'s template, and its parameters with the packages in `bucket`.
    pub fn stack_input(
        &self,
        stage: stacks::webhook::Stage,
        bucket: &str,
    ) -> anyhow::Result<(String, BTreeMap<String, String>)> {
        let template = self
            .templates
            .get(stage.as_str())
            .with_context(|| format!("the build has no template for {stage}"))?
            .clone();
        let mut parameters = self.parameters.clone();
        parameters.insert(stacks::ASSET_BUCKET_PARAMETER.to_owned(), bucket.to_owned());
        Ok((template, parameters))
    }

    /// The bytes stored (compact JSON) and their key, `assemblies/<their SHA-256>.json`.
    pub fn stored(&self) -> anyhow::Result<(String, Vec<u8>)> {
        let bytes = serde_json::to_vec(self)?;
        let key = format!(
            "{}{}.json",
            stacks::bootstrap::ASSEMBLY_PREFIX,
            integrity::sha256_hex(&bytes)
        );
        Ok((key, bytes))
    }

    /// The packages this build deploys: every parameter value under `assets/`, once each.
    pub fn package_keys(&self) -> std::collections::BTreeSet<String> {
        self.parameters
            .values()
            .filter(|v| v.starts_with(stacks::bootstrap::PACKAGE_PREFIX))
            .cloned()
            .collect()
    }

    /// The assembly stored at `key` in `bucket`, if `bytes` hash to the SHA-256 the key
    /// names. An assembly an older deployer stored pretty-printed is accepted when its
    /// content, written the way the key was computed (compact), has that hash.
    pub fn verified(bucket: &str, key: &str, bytes: &[u8]) -> Result<Assembly, IntegrityError> {
        let parsed = serde_json::from_slice::<Assembly>(bytes).ok();
        if let Err(mismatch) = integrity::check(bucket, key, &integrity::sha256_hex(bytes)) {
            let canonical = parsed.as_ref().and_then(|a| serde_json::to_vec(a).ok());
            let same_content = canonical
                .is_some_and(|c| integrity::check(bucket, key, &integrity::sha256_hex(&c)).is_ok());
            if !same_content {
                return Err(mismatch);
            }
        }
        parsed.ok_or_else(|| IntegrityError::Unreadable {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// What a stack runs: recorded after each successful deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub stack: String,
    pub stage: String,
    pub assembly: String,
}

fn record_key(stack: &str) -> String {
    format!("deployments/{stack}.json")
}

pub async fn put_json<T: Serialize>(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
    value: &T,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec_pretty(value)?;
    cloud
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .content_type("application/json")
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot write s3://{bucket}/{key}"))?;
    Ok(())
}

pub async fn get_json<T: for<'de> Deserialize<'de>>(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<T>> {
    let out = match cloud.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => {
            return Err(sdk_error(e)).with_context(|| format!("cannot read s3://{bucket}/{key}"));
        }
    };
    let bytes = out
        .body
        .collect()
        .await
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("s3://{bucket}/{key} is not what the deployer wrote"))
}

/// Stores `assembly` (once) and returns its key; one already stored is downloaded and
/// verified instead.
pub async fn store_assembly(
    cloud: &Cloud,
    bucket: &str,
    assembly: &Assembly,
) -> anyhow::Result<String> {
    let (key, bytes) = assembly.stored()?;
    if load_assembly(cloud, bucket, &key).await?.is_some() {
        return Ok(key);
    }
    let sha256 = integrity::sha256_base64(&bytes);
    let body = Body::Bytes(bytes);
    match integrity::put_once(cloud, bucket, &key, &body, &sha256, "application/json").await? {
        integrity::Put::Created => {}
        // Stored by someone else since it was looked for: verify what they stored.
        integrity::Put::AlreadyThere => {
            load_assembly(cloud, bucket, &key).await?;
        }
    }
    Ok(key)
}

/// The assembly stored at `key`, verified against its key; `None` when it is not there.
pub async fn load_assembly(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<Assembly>> {
    match integrity::download(cloud, bucket, key).await? {
        Some(bytes) => Ok(Some(Assembly::verified(bucket, key, &bytes)?)),
        None => Ok(None),
    }
}

pub async fn put_record(cloud: &Cloud, bucket: &str, record: &Record) -> anyhow::Result<()> {
    put_json(cloud, bucket, &record_key(&record.stack), record).await
}

pub async fn get_record(
    cloud: &Cloud,
    bucket: &str,
    stack: &str,
) -> anyhow::Result<Option<Record>> {
    get_json(cloud, bucket, &record_key(stack)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn assembly() -> Assembly {
        Assembly {
            version: 1,
            templates: [("dev".to_owned(), r#"{"Resources":{}}"#.to_owned())].into(),
            parameters: [
                (
                    "ProcessorCodeKey".to_owned(),
                    format!("assets/{}.zip", "a".repeat(64)),
                ),
                (
                    "StatusCodeKey".to_owned(),
                    format!("assets/{}.zip", "b".repeat(64)),
                ),
                ("ProcessorCodeSha256".to_owned(), "qqqq".to_owned()),
            ]
            .into(),
        }
    }

    #[test]
    fn the_stored_bytes_hash_to_the_key_and_verify() {
        let a = assembly();
        let (key, bytes) = a.stored().unwrap();
        assert_eq!(
            key,
            format!("assemblies/{}.json", integrity::sha256_hex(&bytes))
        );
        assert_eq!(Assembly::verified("b", &key, &bytes).unwrap(), a);
        // As an older deployer stored it: pretty-printed, the same content.
        let pretty = serde_json::to_vec_pretty(&a).unwrap();
        assert_eq!(Assembly::verified("b", &key, &pretty).unwrap(), a);
    }

    #[test]
    fn a_changed_assembly_is_refused_with_both_hashes() {
        let a = assembly();
        let (key, _) = a.stored().unwrap();
        let mut changed = a.clone();
        changed
            .templates
            .insert("dev".to_owned(), r#"{"Resources":{"Evil":{}}}"#.to_owned());
        let bytes = serde_json::to_vec(&changed).unwrap();
        match Assembly::verified("b", &key, &bytes).unwrap_err() {
            IntegrityError::Tampered(m) => {
                assert_eq!(m.len(), 1);
                assert_eq!(m[0].key, key);
                assert_eq!(m[0].actual, integrity::sha256_hex(&bytes));
                assert_eq!(
                    Some(m[0].expected.as_str()),
                    integrity::expected_sha256(&key)
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Assembly::verified("b", &key, b"not json").unwrap_err(),
            IntegrityError::Tampered(_)
        ));
    }

    #[test]
    fn the_package_keys_are_the_asset_parameters() {
        let keys: Vec<String> = assembly().package_keys().into_iter().collect();
        assert_eq!(
            keys,
            [
                format!("assets/{}.zip", "a".repeat(64)),
                format!("assets/{}.zip", "b".repeat(64))
            ]
        );
    }
}
