//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body. The delivery id
//! (`X-GitHub-Delivery`) is not signed.

use super::{Keys, Refusal, Request, Verified, any_matches, hmac};
use hmac::Mac;

pub const SIGNATURE: &str = "x-hub-signature-256";
pub const DELIVERY: &str = "x-github-delivery";
pub const EVENT: &str = "x-github-event";

const EXPECTED: &str = "`sha256=` and 64 hex digits";

pub(super) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
    let value = req.text(SIGNATURE, EXPECTED)?;
    let malformed = || Refusal::Malformed {
        header: SIGNATURE,
        expected: EXPECTED,
    };
    let (prefix, digits) = value.split_at_checked(7).ok_or_else(malformed)?;
    if !prefix.eq_ignore_ascii_case("sha256=") || digits.len() != 64 {
        return Err(malformed());
    }
    let signature = hex::decode(digits).map_err(|_| malformed())?;
    if !any_matches(keys, &[req.body], &[signature]) {
        return Err(Refusal::Mismatch(SIGNATURE));
    }
    Ok(Verified {
        delivery_id: (req.header)(DELIVERY)
            .and_then(|d| std::str::from_utf8(d).ok())
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        signed_at: None,
        challenge: None,
    })
}

pub(super) fn sign(secret: &[u8], delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let digest = hex::encode(hmac(secret, &[body]).finalize().into_bytes());
    vec![
        (SIGNATURE, format!("sha256={digest}")),
        (DELIVERY, delivery.to_owned()),
        (EVENT, "ping".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use super::super::{Keys, Refusal, Scheme};

    /// GitHub's documented example: secret "It's a Secret to Everybody", payload
    /// "Hello, World!".
    #[test]
    fn githubs_own_example() {
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let keys = Keys::one(b"It's a Secret to Everybody".to_vec());
        let ok = check(
            Scheme::Github,
            &keys,
            &[("x-hub-signature-256", sig)],
            b"Hello, World!",
            0,
        );
        assert!(ok.is_ok(), "{ok:?}");
        let upper = sig.to_uppercase().replacen("SHA256=", "sha256=", 1);
        assert!(
            check(
                Scheme::Github,
                &keys,
                &[("x-hub-signature-256", &upper)],
                b"Hello, World!",
                0
            )
            .is_ok()
        );
        let short = &sig[..70];
        assert!(matches!(
            check(
                Scheme::Github,
                &keys,
                &[("x-hub-signature-256", short)],
                b"Hello, World!",
                0
            ),
            Err(Refusal::Malformed { .. })
        ));
    }
}
