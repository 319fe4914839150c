//! The webhook sources a receiver serves: each a name (its route, `POST
//! /webhooks/{source}`), a signature scheme and a secret. `WEBHOOK_SOURCES` (set by the
//! stack) lists them; `POST /webhooks` is the `default` source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use webhook_contract::{env, sources};

use crate::schemes::Scheme;

/// One source as the stack describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSpec {
    #[serde(with = "scheme_name")]
    pub scheme: Scheme,
    /// ARN of the source's Secrets Manager secret (absent locally: see [`secret_env`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

mod scheme_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::schemes::Scheme;

    pub fn serialize<S: Serializer>(s: &Scheme, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Scheme, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why `WEBHOOK_SOURCES` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("WEBHOOK_SOURCES is not JSON of {{name: {{scheme, secret}}}}: {0}")]
    NotJson(serde_json::Error),
    #[error("source name `{0}` must be 1 to 32 lowercase letters, digits and hyphens")]
    BadName(String),
}

/// Every source by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources(BTreeMap<String, SourceSpec>);

/// Whether `name` can be a source (and a route segment, and an environment key).
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Sources {
    pub fn parse(json: &str) -> Result<Self, SourcesError> {
        let map: BTreeMap<String, SourceSpec> =
            serde_json::from_str(json).map_err(SourcesError::NotJson)?;
        if let Some(bad) = map.keys().find(|n| !valid_name(n)) {
            return Err(SourcesError::BadName(bad.clone()));
        }
        Ok(Sources(map))
    }

    /// Just the `default` source, GitHub's scheme (what a receiver without
    /// `WEBHOOK_SOURCES` serves, as before sources existed).
    pub fn default_only(secret_arn: Option<String>) -> Self {
        Sources(BTreeMap::from([(
            sources::DEFAULT.to_owned(),
            SourceSpec {
                scheme: Scheme::Github,
                secret: secret_arn,
            },
        )]))
    }

    pub fn get(&self, name: &str) -> Option<&SourceSpec> {
        self.0.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &SourceSpec)> {
        self.0.iter()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// The same sources with no secret ARN: where Secrets Manager does not exist (the local
    /// cloud), each secret comes from its [`secret_env`] variable, or signatures are off.
    pub fn without_secret_arns(&self) -> Self {
        let mut out = self.clone();
        for spec in out.0.values_mut() {
            spec.secret = None;
        }
        out
    }

    pub fn insert(&mut self, name: &str, spec: SourceSpec) {
        self.0.insert(name.to_owned(), spec);
    }
}

/// The environment variable that holds `source`'s secret locally:
/// `WEBHOOK_SECRET` for `default`, `WEBHOOK_SECRET_<SOURCE>` otherwise.
pub fn secret_env(source: &str) -> String {
    if source == sources::DEFAULT {
        env::WEBHOOK_SECRET.to_owned()
    } else {
        format!(
            "{}{}",
            env::SOURCE_SECRET_PREFIX,
            source.to_ascii_uppercase().replace('-', "_")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_names_are_checked() {
        let json =
            r#"{"default":{"scheme":"github","secret":"arn:1"},"stripe":{"scheme":"stripe"}}"#;
        let s = Sources::parse(json).unwrap();
        assert_eq!(s.get("stripe").unwrap().scheme, Scheme::Stripe);
        assert_eq!(Sources::parse(&s.to_json()).unwrap(), s);
        assert!(matches!(
            Sources::parse(r#"{"Bad Name":{"scheme":"github"}}"#),
            Err(SourcesError::BadName(_))
        ));
        assert!(Sources::parse(r#"{"x":{"scheme":"hmac"}}"#).is_err());
        assert_eq!(secret_env("default"), "WEBHOOK_SECRET");
        assert_eq!(secret_env("my-shop"), "WEBHOOK_SECRET_MY_SHOP");
    }
}
