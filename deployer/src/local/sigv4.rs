//! AWS Signature Version 4 on the local API Gateway, for methods whose authorization is
//! `AWS_IAM`: the request's signature is computed again with the local cloud's credentials
//! (`local` / `local`, what its functions run with) and compared, as API Gateway does with
//! the caller's. What AWS would answer: 403 with `Missing Authentication Token` when there is
//! no signature, and a signature error when it does not match or is stale.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The credentials the local cloud accepts.
pub const ACCESS_KEY_ID: &str = "local";
pub const SECRET_ACCESS_KEY: &str = "local";
/// How far a signed `X-Amz-Date` may be from now (AWS: five minutes).
pub const SKEW_S: i64 = 300;

/// Why a request is not authenticated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Missing Authentication Token")]
    Missing,
    #[error(
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters: {0}"
    )]
    Malformed(&'static str),
    #[error("The security token included in the request is invalid: unknown access key {0}")]
    UnknownKey(String),
    #[error("Signature expired: {0} is more than 5 minutes from now")]
    Expired(String),
    #[error("Credential should be scoped to this service, execute-api, not {0}")]
    WrongService(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    Mismatch,
}

/// The request as signed.
#[derive(Debug)]
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    pub query: &'a str,
    /// Every header, names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Now, unix seconds.
    pub now_s: i64,
}

struct Authorization<'a> {
    access_key: &'a str,
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(value: &str) -> Result<Authorization<'_>, SigV4Error> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(SigV4Error::Malformed("expected AWS4-HMAC-SHA256"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential.ok_or(SigV4Error::Malformed("no Credential"))?;
    let (access_key, scope) = credential.split_once('/').ok_or(SigV4Error::Malformed(
        "Credential is <key>/<date>/<region>/<service>/aws4_request",
    ))?;
    Ok(Authorization {
        access_key,
        scope,
        signed_headers: signed_headers.ok_or(SigV4Error::Malformed("no SignedHeaders"))?,
        signature: signature.ok_or(SigV4Error::Malformed("no Signature"))?,
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `s` percent-encoded as SigV4 wants it (RFC 3986 unreserved characters kept).
fn encode(s: &str, keep_slash: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b'/' if keep_slash => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The canonical request of SigV4 for a service other than S3 (the path encoded again).
fn canonical_request(req: &Signed<'_>, signed_headers: &str) -> String {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let mut query: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (encode(&decode(k), false), encode(&decode(v), false))
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let headers: String = signed_headers
        .split(';')
        .map(|name| {
            let values: Vec<String> = req
                .headers
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    format!(
        "{}\n{}\n{}\n{headers}\n{signed_headers}\n{}",
        req.method,
        encode(path, true),
        query.join("&"),
        hex::encode(Sha256::digest(req.body))
    )
}

fn header<'a>(req: &'a Signed<'_>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `20261201T120000Z` -> unix seconds.
fn amz_date_s(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        text.get(0..4)?,
        text.get(4..6)?,
        text.get(6..8)?,
        text.get(9..11)?,
        text.get(11..13)?,
        text.get(13..15)?
    ))
    .ok()?;
    let s = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(s).ok()
}

/// The credentials the local cloud accepts: its own, and those of its environment.
pub fn accepted() -> Vec<(String, String)> {
    let mut out = vec![(ACCESS_KEY_ID.to_owned(), SECRET_ACCESS_KEY.to_owned())];
    if let (Ok(id), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) && !id.is_empty()
    {
        out.push((id, secret));
    }
    out
}

/// Checks `req`'s SigV4 signature against `credentials` (access key id, secret).
pub fn verify(req: &Signed<'_>, credentials: &[(String, String)]) -> Result<(), SigV4Error> {
    let value = header(req, "authorization").ok_or(SigV4Error::Missing)?;
    let auth = parse(value)?;
    let secret = credentials
        .iter()
        .find(|(id, _)| id == auth.access_key)
        .map(|(_, secret)| secret.as_str())
        .ok_or_else(|| SigV4Error::UnknownKey(auth.access_key.to_owned()))?;
    let mut scope = auth.scope.split('/');
    let (Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(SigV4Error::Malformed(
            "Credential is <key>/<date>/<region>/<service>/aws4_request",
        ));
    };
    if service != "execute-api" {
        return Err(SigV4Error::WrongService(service.to_owned()));
    }
    let amz_date = header(req, "x-amz-date").ok_or(SigV4Error::Malformed("no X-Amz-Date"))?;
    let signed_at =
        amz_date_s(amz_date).ok_or(SigV4Error::Malformed("X-Amz-Date is YYYYMMDDTHHMMSSZ"))?;
    if (req.now_s - signed_at).abs() > SKEW_S || !amz_date.starts_with(date) {
        return Err(SigV4Error::Expired(amz_date.to_owned()));
    }
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex::encode(Sha256::digest(canonical_request(req, auth.signed_headers)))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    let same = expected.len() == auth.signature.len()
        && expected
            .bytes()
            .zip(auth.signature.bytes())
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_or_malformed_authorization_is_refused() {
        let headers = vec![("host".to_owned(), "h".to_owned())];
        let req = Signed {
            method: "GET",
            path: "/dev/webhooks/x",
            query: "",
            headers: &headers,
            body: b"",
            now_s: 0,
        };
        let local = accepted();
        assert_eq!(verify(&req, &local), Err(SigV4Error::Missing));
        let headers = vec![("authorization".to_owned(), "Bearer x".to_owned())];
        let req = Signed {
            headers: &headers,
            ..req
        };
        assert!(matches!(
            verify(&req, &local),
            Err(SigV4Error::Malformed(_))
        ));
        assert_eq!(amz_date_s("20150830T123600Z"), Some(1_440_938_160));
    }
}
