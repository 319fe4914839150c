//! The secrets Secrets Manager holds in AWS, on one machine: each webhook source's signing
//! secret (`WEBHOOK_SECRET_<SOURCE>` from the environment, else generated once and kept in
//! the data directory; the `default` source's is `WEBHOOK_SECRET`, and signatures are off
//! without it) and the key webhook ids are derived with.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use webhook_contract::{env, sources};
use webhook_core::schemes::Scheme;
use webhook_core::sources::{Sources, secret_env};

use super::model::Model;

/// A source as the local cloud runs it.
#[derive(Clone, Debug)]
pub struct LocalSource {
    pub name: String,
    pub scheme: Scheme,
    /// `None`: signatures off (the `default` source without `WEBHOOK_SECRET`).
    pub secret: Option<String>,
}

/// The local secrets of one run.
#[derive(Clone, Debug, Default)]
pub struct LocalSecrets {
    pub sources: Vec<LocalSource>,
    pub id_key: String,
    /// The value of each API key of the stack, by logical id (`x-api-key`).
    pub api_keys: BTreeMap<String, String>,
    /// The template's `WEBHOOK_SOURCES` without the Secrets Manager ARNs, which do not
    /// exist here (each secret is passed in its own variable, see [`LocalSecrets::env`]); what
    /// the functions that declare `WEBHOOK_SOURCES` get.
    pub sources_json: Option<String>,
}

/// 48 random letters and digits (also a valid base64 key, as Standard Webhooks wants).
fn generated() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    super::durable::random_hex(96)
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let n = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("00"), 16).unwrap_or(0);
            ALPHABET[usize::from(n) % ALPHABET.len()] as char
        })
        .collect()
}

fn from_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Secrets generated before, from `<data dir>/secrets.json` (name -> value).
fn kept(dir: Option<&Path>) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(path) = dir.map(|d| d.join("secrets.json")) else {
        return Ok(BTreeMap::new());
    };
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not the local cloud's secrets file: remove it",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The sources of the template (its receiver's `WEBHOOK_SOURCES`) and their secrets.
pub fn resolve(model: &Model, dir: Option<&Path>) -> anyhow::Result<LocalSecrets> {
    let mut store = kept(dir)?;
    let before = store.clone();
    let mut out = LocalSecrets::default();
    for id in model.api.iter().flat_map(|a| &a.api_keys) {
        let value = store
            .entry(format!("api-key:{id}"))
            .or_insert_with(generated)
            .clone();
        out.api_keys.insert(id.clone(), value);
    }
    if let Some(json) = model.functions.iter().find_map(|f| f.env.get(env::SOURCES)) {
        resolve_sources(json, &mut store, &mut out)?;
    }
    if let Some(d) = dir
        && store != before
    {
        let path = d.join("secrets.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&store)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(out)
}

/// Each source of `WEBHOOK_SOURCES` with its secret, and the id key.
fn resolve_sources(
    json: &str,
    store: &mut BTreeMap<String, String>,
    out: &mut LocalSecrets,
) -> anyhow::Result<()> {
    let declared = Sources::parse(json).context("the template's WEBHOOK_SOURCES")?;
    out.sources_json = Some(declared.without_secret_arns().to_json());
    for (name, spec) in declared.iter() {
        let secret = from_env(&secret_env(name)).or_else(|| {
            (name != sources::DEFAULT).then(|| {
                store
                    .entry(format!("source:{name}"))
                    .or_insert_with(generated)
                    .clone()
            })
        });
        out.sources.push(LocalSource {
            name: name.clone(),
            scheme: spec.scheme,
            secret,
        });
    }
    out.id_key = from_env(env::ID_KEY).unwrap_or_else(|| {
        store
            .entry("id-key".into())
            .or_insert_with(generated)
            .clone()
    });
    Ok(())
}

impl LocalSecrets {
    /// What the function processes get: each source's secret (and a rotation's previous
    /// secret, from this process's environment), the id key.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for s in &self.sources {
            let key = secret_env(&s.name);
            if let Some(secret) = &s.secret {
                out.insert(key.clone(), secret.clone());
            }
            for suffix in ["_PREVIOUS", "_ROTATED_AT"] {
                if let Some(v) = from_env(&format!("{key}{suffix}")) {
                    out.insert(format!("{key}{suffix}"), v);
                }
            }
        }
        if let Some(grace) = from_env(env::ROTATION_GRACE_S) {
            out.insert(env::ROTATION_GRACE_S.to_owned(), grace);
        }
        if !self.id_key.is_empty() {
            out.insert(env::ID_KEY.to_owned(), self.id_key.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::generated;

    #[test]
    fn generated_secrets_are_base64_keys() {
        let s = generated();
        assert_eq!(s.len(), 48);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(standardwebhooks::Webhook::new(&format!("whsec_{s}")).is_ok());
        assert_ne!(generated(), s);
    }
}
