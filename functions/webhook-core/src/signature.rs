//! `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";

/// Why a request's signature was refused. Every variant is a 401.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header: sign the raw body with HMAC-SHA256 and send `sha256=<hex>`")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header: expected `sha256=` and 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// `sha256=<lowercase hex>` of `body` under `secret`, as a provider sends it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("{PREFIX}{}", hex::encode(mac(secret, body).finalize().into_bytes()))
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// Checks `header` (the raw header value, if any) against `body`. The prefix is matched
/// without regard to case, and so are the hex digits; the comparison is constant-time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&[u8]>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| SignatureError::Malformed)?;
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let (prefix, digits) = header.split_at_checked(PREFIX.len()).ok_or(SignatureError::Malformed)?;
    if !prefix.eq_ignore_ascii_case(PREFIX) || digits.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(digits).map_err(|_| SignatureError::Malformed)?;
    mac(secret, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}
