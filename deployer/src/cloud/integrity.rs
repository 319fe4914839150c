//! Build integrity: packages (`assets/<sha256>.zip`) and assemblies
//! (`assemblies/<sha256>.json`) are stored under the SHA-256 of their bytes, and nothing the
//! deployer takes from the bucket is used before it is hashed and found to match its key.
//!
//! The rule (README, "Deploy"): every such object a run uses is downloaded (streamed) and
//! hashed once, except one the run itself has just created: that one was sent with
//! `If-None-Match: *` (written only if the key was free) and its SHA-256 as
//! `x-amz-checksum-sha256` (stored only if the bytes that arrived have it), from local bytes
//! whose hash is the key. The bucket policy (stacks `bootstrap`) refuses unconditional writes
//! to both prefixes, so a stored object is never replaced through the deployer's own path.

use std::path::PathBuf;

use anyhow::{Context, bail};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};
use stacks::bootstrap::{ASSEMBLY_PREFIX, PACKAGE_PREFIX};

use super::{Cloud, sdk_error};

/// A stored object whose bytes do not hash to the SHA-256 its key names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("s3://{bucket}/{key}: expected SHA-256 {expected}, found {actual}")]
pub struct Mismatch {
    pub bucket: String,
    pub key: String,
    pub expected: String,
    pub actual: String,
}

/// Why a build is not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    #[error(
        "{} stored object(s) do not match their SHA-256 keys (changed after they were stored); nothing was deployed:\n  {}",
        .0.len(),
        .0.iter().map(Mismatch::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Tampered(Vec<Mismatch>),
    #[error(
        "s3://{bucket}/{key} is not named by a SHA-256 (`{PACKAGE_PREFIX}<hex>.zip` or `{ASSEMBLY_PREFIX}<hex>.json`); nothing was deployed"
    )]
    NotContentAddressed { bucket: String, key: String },
    #[error("s3://{bucket}/{key} is missing from the bucket; nothing was deployed")]
    Missing { bucket: String, key: String },
    #[error(
        "s3://{bucket}/{key} matches its SHA-256 key but is not an assembly this deployer reads; nothing was deployed"
    )]
    Unreadable { bucket: String, key: String },
}

/// The SHA-256 (hex) a content-addressed key names, if `key` is one.
pub fn expected_sha256(key: &str) -> Option<&str> {
    let hex = key
        .strip_prefix(PACKAGE_PREFIX)
        .and_then(|k| k.strip_suffix(".zip"))
        .or_else(|| {
            key.strip_prefix(ASSEMBLY_PREFIX)
                .and_then(|k| k.strip_suffix(".json"))
        })?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

/// A SHA-256 (hex) compared with the one `key` names: `None` when they are the same.
pub fn compare(
    bucket: &str,
    key: &str,
    actual_hex: &str,
) -> Result<Option<Mismatch>, IntegrityError> {
    let expected = expected_sha256(key).ok_or_else(|| IntegrityError::NotContentAddressed {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })?;
    Ok((expected != actual_hex).then(|| Mismatch {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        expected: expected.to_owned(),
        actual: actual_hex.to_owned(),
    }))
}

/// [`compare`] as a verdict: `Ok` when the SHA-256 is the one `key` names.
pub fn check(bucket: &str, key: &str, actual_hex: &str) -> Result<(), IntegrityError> {
    match compare(bucket, key, actual_hex)? {
        None => Ok(()),
        Some(m) => Err(IntegrityError::Tampered(vec![m])),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 of `bytes` as S3's `x-amz-checksum-sha256` and Lambda's `CodeSha256` put it.
pub fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The bytes of `key`, or `None` when the bucket has no such object.
pub async fn download(cloud: &Cloud, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(body) = get(cloud, bucket, key).await? else {
        return Ok(None);
    };
    let bytes = body
        .collect()
        .await
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
        .into_bytes();
    Ok(Some(bytes.to_vec()))
}

/// The SHA-256 (hex) and size of `key`, streamed (never held in memory whole), or `None`
/// when the bucket has no such object.
pub async fn stream_sha256(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<(String, u64)>> {
    let Some(mut body) = get(cloud, bucket, key).await? else {
        return Ok(None);
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
    {
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok(Some((hex::encode(hasher.finalize()), size)))
}

async fn get(cloud: &Cloud, bucket: &str, key: &str) -> anyhow::Result<Option<ByteStream>> {
    match cloud.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(out.body)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) if status(&e) == Some(404) => Ok(None),
        Err(e) => Err(sdk_error(e)).with_context(|| format!("cannot read s3://{bucket}/{key}")),
    }
}

fn status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// What a conditional write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// The key was free: the object is stored, and S3 checked its SHA-256 on arrival.
    Created,
    /// An object was already there (412 Precondition Failed): nothing was written; verify it.
    AlreadyThere,
}

/// Where the bytes of a write come from.
#[derive(Clone, Debug)]
pub enum Body {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Body {
    async fn stream(&self) -> anyhow::Result<ByteStream> {
        match self {
            Body::File(path) => ByteStream::from_path(path)
                .await
                .with_context(|| format!("cannot read {}", path.display())),
            Body::Bytes(bytes) => Ok(ByteStream::from(bytes.clone())),
        }
    }
}

/// Writes `body` to `key` only if no object is there (`If-None-Match: *`), with its SHA-256
/// (`sha256_base64`) for S3 to check on arrival. A write that raced another one on the same
/// key (409 ConditionalRequestConflict) is tried again, up to three times.
pub async fn put_once(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
    body: &Body,
    sha256_base64: &str,
    content_type: &str,
) -> anyhow::Result<Put> {
    let mut attempt = 1;
    loop {
        let sent = cloud
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .checksum_sha256(sha256_base64)
            .content_type(content_type)
            .body(body.stream().await?)
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(Put::Created),
            Err(e) if status(&e) == Some(412) => return Ok(Put::AlreadyThere),
            Err(e) if status(&e) == Some(409) && attempt < 3 => attempt += 1,
            Err(e) => {
                return Err(sdk_error(e))
                    .with_context(|| format!("cannot write s3://{bucket}/{key}"));
            }
        }
    }
}

/// What the bucket holds at a content-addressed key, hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Its bytes hash to the key's SHA-256.
    Verified {
        size: u64,
    },
    Absent,
    Differs(Mismatch),
}

/// Streams `key` and compares its SHA-256 with the one the key names.
pub async fn verify_stored(cloud: &Cloud, bucket: &str, key: &str) -> anyhow::Result<Stored> {
    let Some((actual, size)) = stream_sha256(cloud, bucket, key).await? else {
        return Ok(Stored::Absent);
    };
    Ok(match compare(bucket, key, &actual)? {
        None => Stored::Verified { size },
        Some(m) => Stored::Differs(m),
    })
}

/// What [`store_or_verify`] found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Written by this call (conditionally, checksummed): not downloaded again.
    Created,
    /// Already there, and its bytes hash to its key.
    Verified,
    Differs(Mismatch),
}

/// Stores `body` at `key` unless an object is there, which is then verified instead.
pub async fn store_or_verify(
    cloud: &Cloud,
    bucket: &str,
    key: &str,
    body: &Body,
    sha256_base64: &str,
    content_type: &str,
) -> anyhow::Result<Settled> {
    let found = match verify_stored(cloud, bucket, key).await? {
        Stored::Absent => {
            match put_once(cloud, bucket, key, body, sha256_base64, content_type).await? {
                Put::Created => return Ok(Settled::Created),
                // Written by someone else since it was looked for: verify what they wrote.
                Put::AlreadyThere => verify_stored(cloud, bucket, key).await?,
            }
        }
        found => found,
    };
    match found {
        Stored::Verified { .. } => Ok(Settled::Verified),
        Stored::Differs(m) => Ok(Settled::Differs(m)),
        Stored::Absent => bail!("s3://{bucket}/{key} was there, then gone: deploy again"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn only_content_addressed_keys_name_a_hash() {
        assert_eq!(expected_sha256(&format!("assets/{HEX}.zip")), Some(HEX));
        assert_eq!(
            expected_sha256(&format!("assemblies/{HEX}.json")),
            Some(HEX)
        );
        for bad in [
            format!("assets/{HEX}.json"),
            format!("assemblies/{HEX}.zip"),
            format!("deployments/{HEX}.json"),
            format!("assets/{}.zip", &HEX[1..]),
            format!("assets/{}.zip", HEX.to_uppercase()),
            format!("assets/../{HEX}.zip"),
        ] {
            assert_eq!(expected_sha256(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_mismatch_names_the_object_and_both_hashes() {
        let key = format!("assets/{HEX}.zip");
        assert_eq!(sha256_hex(b"test"), HEX);
        check("b", &key, &sha256_hex(b"test")).unwrap();
        let err = check("b", &key, &sha256_hex(b"tampered")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "s3://b/{key}: expected SHA-256 {HEX}, found {}",
                sha256_hex(b"tampered")
            )),
            "{text}"
        );
        assert!(text.contains("nothing was deployed"), "{text}");
        assert!(matches!(
            check("b", "deployments/x.json", HEX),
            Err(IntegrityError::NotContentAddressed { .. })
        ));
    }
}
