//! `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";

/// Why a request's signature was refused. Every variant is a 401.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "missing X-Hub-Signature-256 header: sign the raw body with HMAC-SHA256 and send `sha256=<hex>`"
    )]
    Missing,
    #[error("malformed X-Hub-Signature-256 header: expected `sha256=` and 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// `sha256=<lowercase hex>` of `body` under `secret`, as a provider sends it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
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
    let (prefix, digits) = header
        .split_at_checked(PREFIX.len())
        .ok_or(SignatureError::Malformed)?;
    if !prefix.eq_ignore_ascii_case(PREFIX) || digits.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(digits).map_err(|_| SignatureError::Malformed)?;
    mac(secret, body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2 (HMAC-SHA-256).
    #[test]
    fn rfc_4231_test_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// RFC 4231, test case 6: a key longer than the block size.
    #[test]
    fn rfc_4231_test_case_6() {
        assert_eq!(
            sign(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// The example in GitHub's documentation on validating webhook deliveries.
    #[test]
    fn github_documentation_example() {
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            header
        );
        assert_eq!(
            verify(
                b"It's a Secret to Everybody",
                b"Hello, World!",
                Some(header.as_bytes())
            ),
            Ok(())
        );
    }

    #[test]
    fn edge_cases() {
        let (secret, body) = (b"s3cret".as_slice(), b"{\"a\":1}".as_slice());
        let good = sign(secret, body);
        let check = |h: &str| verify(secret, body, Some(h.as_bytes()));
        assert_eq!(check(&good), Ok(()));
        // Prefix and digits in any case; surrounding whitespace.
        assert_eq!(check(&good.to_uppercase()), Ok(()));
        assert_eq!(check(&format!(" {good} ")), Ok(()));
        assert_eq!(verify(secret, body, None), Err(SignatureError::Missing));
        assert_eq!(check(""), Err(SignatureError::Missing));
        assert_eq!(check("   "), Err(SignatureError::Missing));
        assert_eq!(check("sha256="), Err(SignatureError::Malformed));
        assert_eq!(check("sha1=abc"), Err(SignatureError::Malformed));
        assert_eq!(
            check(&good[7..]),
            Err(SignatureError::Malformed),
            "no prefix"
        );
        assert_eq!(
            check(&good[..good.len() - 1]),
            Err(SignatureError::Malformed),
            "63 digits"
        );
        assert_eq!(
            check(&format!("{good}0")),
            Err(SignatureError::Malformed),
            "65 digits"
        );
        assert_eq!(
            check(&format!("sha256={}", "g".repeat(64))),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(secret, body, Some(&[0xff, 0xfe])),
            Err(SignatureError::Malformed)
        );
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            verify(secret, body, Some(&flipped)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", body, Some(good.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(secret, b"", Some(good.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        // An empty secret still signs and verifies consistently.
        assert_eq!(verify(b"", body, Some(sign(b"", body).as_bytes())), Ok(()));
    }
}
