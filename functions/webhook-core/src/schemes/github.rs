//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body. The delivery id
//! (`X-GitHub-Delivery`) is not signed.

use super::{Keys, Refusal, Request, Verified, any_matches, hmac};
use hmac::Mac;

pub const SIGNATURE: &str = "X-Hub-Signature-256";
pub const DELIVERY: &str = "X-GitHub-Delivery";
pub const EVENT: &str = "X-GitHub-Event";

const EXPECTED: &str = "`sha256=<hex>`, the HMAC-SHA256 of the raw body with the source's secret";

/// The `X-Hub-Signature-256` value of `body` signed with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac(secret, &[body]).finalize().into_bytes())
    )
}

pub(crate) fn verify(keys: &Keys, req: &Request<'_>) -> Result<Verified, Refusal> {
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
    // The delivery id is read with the other delivery headers (`ids::Delivery::of`):
    // `X-GitHub-Delivery`, or `X-Webhook-Id`/`Idempotency-Key` for the default source.
    Ok(Verified {
        delivery_id: None,
        signed_at: None,
        challenge: None,
    })
}

pub(crate) fn sign(secret: &[u8], delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (SIGNATURE, signature(secret, body)),
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
