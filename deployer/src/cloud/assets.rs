//! The asset bucket: function packages under their content hash (an unchanged package is
//! never uploaded again; uploads run in parallel), deployed assemblies, and the record of
//! what each stack runs (for promotion).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

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

async fn exists(cloud: &Cloud, bucket: &str, key: &str) -> anyhow::Result<bool> {
    match cloud.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
        Err(e) => Err(sdk_error(e)).with_context(|| format!("cannot check s3://{bucket}/{key}")),
    }
}

/// Uploads the packages that the bucket does not hold yet, in parallel.
pub async fn publish<'a>(
    cloud: &Cloud,
    bucket: &str,
    packages: impl IntoIterator<Item = &'a Package>,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for p in packages {
        let (cloud, bucket, p) = (cloud.clone(), bucket.to_owned(), p.clone());
        tasks.spawn(async move {
            let key = p.key();
            if exists(&cloud, &bucket, &key).await? {
                return Ok::<_, anyhow::Error>((p.crate_name, false));
            }
            let body = ByteStream::from_path(&p.zip)
                .await
                .with_context(|| format!("cannot read {}", p.zip.display()))?;
            cloud
                .s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .content_type("application/zip")
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| {
                    format!("cannot upload {} to s3://{bucket}/{key}", p.zip.display())
                })?;
            eprintln!(
                "uploaded {} ({:.1} MiB) to s3://{bucket}/{key}",
                p.crate_name,
                p.size as f64 / 1048576.0
            );
            Ok((p.crate_name, true))
        });
    }
    let mut unchanged = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (name, uploaded) = done.context("an upload task failed")??;
        if !uploaded {
            unchanged.push(name);
        }
    }
    unchanged.sort();
    if !unchanged.is_empty() {
        eprintln!("unchanged, not uploaded: {}", unchanged.join(", "));
    }
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

    pub fn key(&self) -> anyhow::Result<String> {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(self)?;
        Ok(format!(
            "assemblies/{}.json",
            hex::encode(Sha256::digest(bytes))
        ))
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

/// Stores `assembly` (once) and returns its key.
pub async fn store_assembly(
    cloud: &Cloud,
    bucket: &str,
    assembly: &Assembly,
) -> anyhow::Result<String> {
    let key = assembly.key()?;
    if !exists(cloud, bucket, &key).await? {
        put_json(cloud, bucket, &key, assembly).await?;
    }
    Ok(key)
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
