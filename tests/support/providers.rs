//! Webhook requests signed by the providers' own libraries, never by the receiver's code:
//! PyPI `standardwebhooks`, `stripe` and `slack_sdk` (tests/peers/signers/sign.py, run by the
//! project venv's Python) and npm `@octokit/webhooks-methods` (sign.mjs, run by Node). Each
//! batch is one process, so a test signs all it needs at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::{require_tool, venv_tool, workspace_root};

/// What to sign.
#[derive(Clone, Debug, Serialize)]
pub struct ToSign {
    /// `github`, `standard`, `stripe`, `slack` or `shopify`.
    pub scheme: &'static str,
    pub secret: String,
    pub body: String,
    /// The delivery id the scheme carries in a header (GitHub, Shopify, Standard Webhooks).
    pub id: String,
    /// The signed timestamp, unix seconds (Standard Webhooks, Stripe, Slack).
    pub timestamp: i64,
}

/// A signed request's headers, by name as the provider spells it.
pub type Headers = BTreeMap<String, String>;

fn run(program: &Path, script: &str, input: &[&ToSign]) -> Vec<Headers> {
    if input.is_empty() {
        return Vec::new();
    }
    let dir = workspace_root().join("tests/peers/signers");
    let mut child = Command::new(program)
        .arg(dir.join(script))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let json = serde_json::to_vec(input).unwrap();
    child.stdin.take().unwrap().write_all(&json).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Vec<Headers> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no header list: {e}"));
    assert_eq!(signed.len(), input.len(), "{script} signed too few");
    signed
}

/// Signs every request with its provider's library, in order.
pub fn sign(requests: &[ToSign]) -> Vec<Headers> {
    type Indexed<'a> = Vec<(usize, &'a ToSign)>;
    let (github, others): (Indexed<'_>, Indexed<'_>) = requests
        .iter()
        .enumerate()
        .partition(|(_, r)| r.scheme == "github");
    let peers = workspace_root().join("tests/peers/node_modules/@octokit/webhooks-methods");
    assert!(
        github.is_empty() || peers.exists(),
        "npm @octokit/webhooks-methods is not installed in tests/peers: run `make test`"
    );
    let node = require_tool("node", "install Node.js 20 or later");
    let python = venv_tool("python", "PROVIDERS_PYTHON");
    let signed_github = run(
        &node,
        "sign.mjs",
        &github.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
    );
    let signed_others = run(
        &python,
        "sign.py",
        &others.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
    );
    let mut out = vec![Headers::new(); requests.len()];
    for ((i, _), headers) in github.iter().zip(signed_github) {
        out[*i] = headers;
    }
    for ((i, _), headers) in others.iter().zip(signed_others) {
        out[*i] = headers;
    }
    out
}
