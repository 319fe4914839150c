//! A requirement YAML of the official suites, typed (the keys the official runner reads).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Requirement {
    #[serde(default)]
    pub input: Value,
    pub expected_result: Option<ExpectedResult>,
    #[serde(default)]
    pub expected_execution_history: Vec<Value>,
    #[serde(default)]
    pub callback_actions: Vec<CallbackAction>,
    #[serde(default)]
    pub async_invoke: bool,
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Kept raw: placeholders are substituted before each entry is read.
    #[serde(default)]
    pub expected_logs: Vec<Value>,
    #[serde(default)]
    pub async_config: AsyncConfig,
    /// A failure of an optional requirement is a warning, not a failure.
    #[serde(default, rename = "optional")]
    pub optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedResult {
    pub execution_status: Option<String>,
    /// `Some(Value::Null)` for `Result:` written without a value; `None` when absent (then
    /// the result is not checked).
    #[serde(default, deserialize_with = "present")]
    pub result: Option<Value>,
}

/// A key that is present, even with a null value.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What the runner does when a callback starts (`CallbackAction`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackAction {
    /// The callback's `Name`: `*` matches any, `${/re/}` is a pattern.
    pub callback_name: String,
    pub operation: CallbackOperation,
    #[serde(default)]
    pub payload: Option<Value>,
    /// Seconds to wait before sending.
    #[serde(default)]
    pub delay: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CallbackOperation {
    Success,
    Failure,
    Heartbeat,
}

/// `AsyncConfig`: how the asynchronous requirements are polled.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsyncConfig {
    #[serde(default = "no_progress_timeout")]
    pub no_progress_timeout_seconds: f64,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            no_progress_timeout_seconds: no_progress_timeout(),
        }
    }
}

/// The official runner's default (`POLL_NO_PROGRESS_TIMEOUT_SECONDS`).
fn no_progress_timeout() -> f64 {
    30.0
}

/// Reads the requirement at `path`.
pub fn load(path: &Path) -> Result<Requirement, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
