//! A corpus of bad requests: each gets the right 4xx with a message, none stores anything,
//! none starts anything, none panics.

use aws_lambda_events::http::Method;
use base64::Engine;

use super::*;

struct Bad {
    name: &'static str,
    status: i64,
    /// A fragment of the expected message.
    says: &'static str,
    request: ApiGatewayProxyRequest,
}

fn signed_body(body: &str) -> ApiGatewayProxyRequest {
    post(body)
}

fn with(
    mut req: ApiGatewayProxyRequest,
    f: impl FnOnce(&mut ApiGatewayProxyRequest),
) -> ApiGatewayProxyRequest {
    f(&mut req);
    req
}

fn raw_body(bytes: &[u8]) -> ApiGatewayProxyRequest {
    let mut req = fixture("post-webhook.json");
    req.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
    req.is_base64_encoded = true;
    set_header(
        &mut req,
        github::SIGNATURE,
        &github::signature(SECRET, bytes),
    );
    req
}

fn bad(
    name: &'static str,
    status: i64,
    says: &'static str,
    request: ApiGatewayProxyRequest,
) -> Bad {
    Bad {
        name,
        status,
        says,
        request,
    }
}

fn post_corpus() -> Vec<Bad> {
    let ok = r#"{"type":"order","orderId":"1"}"#;
    let sig =
        |v: &'static str| move |r: &mut ApiGatewayProxyRequest| set_header(r, github::SIGNATURE, v);
    let good_sig = github::signature(SECRET, ok.as_bytes());
    let nested = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let deep_object = format!("{{\"a\":{}1{}}}", "{\"b\":".repeat(200), "}".repeat(200));
    vec![
        // Malformed JSON.
        bad("empty body", 400, "the body is empty", signed_body("")),
        bad("whitespace body", 400, "not valid JSON", signed_body("   ")),
        bad(
            "truncated object",
            400,
            "not valid JSON",
            signed_body(r#"{"type":"order""#),
        ),
        bad(
            "trailing comma",
            400,
            "not valid JSON",
            signed_body(r#"{"a":1,}"#),
        ),
        bad(
            "single quotes",
            400,
            "not valid JSON",
            signed_body("{'a':1}"),
        ),
        bad("bare word", 400, "not valid JSON", signed_body("hello")),
        bad(
            "trailing garbage",
            400,
            "not valid JSON",
            signed_body(r#"{"a":1} x"#),
        ),
        bad(
            "NaN literal",
            400,
            "not valid JSON",
            signed_body(r#"{"a":NaN}"#),
        ),
        bad("two documents", 400, "not valid JSON", signed_body("{}{}")),
        bad(
            "unterminated string",
            400,
            "not valid JSON",
            signed_body(r#"{"a":"b}"#),
        ),
        bad(
            "lone surrogate escape",
            400,
            "not valid JSON",
            signed_body(r#"{"a":"\ud800"}"#),
        ),
        bad(
            "nesting beyond the parser's limit",
            400,
            "not valid JSON",
            signed_body(&nested),
        ),
        bad(
            "deep object",
            400,
            "not valid JSON",
            signed_body(&deep_object),
        ),
        // Valid JSON that is not an object.
        bad(
            "array",
            400,
            "must be a JSON object, not an array",
            signed_body("[1,2]"),
        ),
        bad("string", 400, "not a string", signed_body(r#""order""#)),
        bad("number", 400, "not a number", signed_body("42")),
        bad("null", 400, "not null", signed_body("null")),
        bad("boolean", 400, "not a boolean", signed_body("true")),
        // Bytes that are not text.
        bad(
            "invalid UTF-8",
            400,
            "not valid UTF-8",
            raw_body(b"{\"a\":\"\xff\xfe\"}"),
        ),
        bad(
            "overlong UTF-8",
            400,
            "not valid UTF-8",
            raw_body(b"{\"a\":\"\xc0\xaf\"}"),
        ),
        bad(
            "base64 flag on text",
            400,
            "not valid base64",
            with(signed_body(ok), |r| r.is_base64_encoded = true),
        ),
        // Size.
        bad(
            "body over 256 KiB",
            413,
            "the limit is 262144 bytes",
            signed_body(&format!(r#"{{"pad":"{}"}}"#, "x".repeat(262_144))),
        ),
        // Signatures.
        bad(
            "no signature",
            401,
            "missing X-Hub-Signature-256",
            with(signed_body(ok), |r| remove_header(r, github::SIGNATURE)),
        ),
        bad(
            "empty signature",
            401,
            "missing X-Hub-Signature-256",
            with(signed_body(ok), sig("")),
        ),
        bad(
            "wrong prefix",
            401,
            "malformed",
            with(signed_body(ok), |r| {
                let v = good_sig.replace("sha256=", "sha1=");
                set_header(r, github::SIGNATURE, &v)
            }),
        ),
        bad(
            "no prefix",
            401,
            "malformed",
            with(signed_body(ok), |r| {
                let v = good_sig.trim_start_matches("sha256=").to_owned();
                set_header(r, github::SIGNATURE, &v)
            }),
        ),
        bad(
            "short digest",
            401,
            "malformed",
            with(signed_body(ok), |r| {
                let v = good_sig[..good_sig.len() - 2].to_owned();
                set_header(r, github::SIGNATURE, &v)
            }),
        ),
        bad(
            "non-hex digest",
            401,
            "malformed",
            with(
                signed_body(ok),
                sig("sha256=zz3d1b74fa1c84b5ac95ec1e6bbd2bd0ae4f08da1d1a3ef7d1f3d3bfa9b3e1c0"),
            ),
        ),
        bad(
            "digest of another body",
            401,
            "does not match",
            with(signed_body(ok), |r| {
                let v = github::signature(SECRET, b"{}");
                set_header(r, github::SIGNATURE, &v)
            }),
        ),
        bad(
            "digest under another secret",
            401,
            "does not match",
            with(signed_body(ok), |r| {
                let v = github::signature(b"other", ok.as_bytes());
                set_header(r, github::SIGNATURE, &v)
            }),
        ),
        bad(
            "body changed after signing",
            401,
            "does not match",
            with(signed_body(ok), |r| {
                r.body = Some(r#"{"type":"order","orderId":"2"}"#.to_owned())
            }),
        ),
        // Method and content type.
        bad(
            "GET",
            405,
            "use POST",
            with(signed_body(ok), |r| r.http_method = Method::GET),
        ),
        bad(
            "PUT",
            405,
            "use POST",
            with(signed_body(ok), |r| r.http_method = Method::PUT),
        ),
        bad(
            "DELETE",
            405,
            "use POST",
            with(signed_body(ok), |r| r.http_method = Method::DELETE),
        ),
        bad(
            "text/plain",
            415,
            "must be application/json",
            with(signed_body(ok), |r| {
                set_header(r, "content-type", "text/plain")
            }),
        ),
        bad(
            "form without a payload field",
            400,
            "JSON in the `payload` field",
            with(signed_body(ok), |r| {
                set_header(r, "content-type", "application/x-www-form-urlencoded")
            }),
        ),
        bad(
            "xml",
            415,
            "must be application/json",
            with(signed_body(ok), |r| {
                set_header(r, "content-type", "application/xml")
            }),
        ),
        bad(
            "no content type",
            415,
            "must be application/json",
            with(signed_body(ok), |r| remove_header(r, "content-type")),
        ),
        // Delivery ids.
        bad(
            "delivery id with a space",
            400,
            "header x-github-delivery",
            with(signed_body(ok), |r| {
                set_header(r, "x-github-delivery", "a b")
            }),
        ),
        bad(
            "empty delivery id",
            400,
            "header x-webhook-id",
            with(signed_body(ok), |r| set_header(r, "x-webhook-id", "")),
        ),
        bad(
            "delivery id too long",
            400,
            "header idempotency-key",
            with(signed_body(ok), |r| {
                remove_header(r, "x-github-delivery");
                set_header(r, "idempotency-key", &"k".repeat(201))
            }),
        ),
    ]
}

#[tokio::test]
async fn every_bad_post_is_refused_and_stores_nothing() {
    let r = receiver().await;
    let corpus = post_corpus();
    assert!(corpus.len() >= 30, "{} cases", corpus.len());
    let mut wrong = Vec::new();
    for case in corpus {
        let res = r.handle(case.request).await;
        let (code, json) = parts(&res);
        let message = json["message"].as_str().unwrap_or_default().to_owned();
        if code != case.status || !message.contains(case.says) {
            wrong.push(format!(
                "{}: got {code} {message:?}, want {} ~{:?}",
                case.name, case.status, case.says
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        items(&r.store).await,
        0,
        "a refused request stored something"
    );
    assert!(
        r.starter.calls().is_empty(),
        "a refused request started something"
    );
}

#[tokio::test]
async fn odd_ids_and_methods_on_the_status_api() {
    let store = fresh_store().await;
    let api = status_api(store.clone());
    let long = "a".repeat(5000);
    let cases: Vec<(&str, i64)> = vec![
        ("", 400),
        ("wh_", 400),
        ("WH_0123456789abcdef0123456789abcdef", 400),
        ("wh_0123456789ABCDEF0123456789abcdef", 400),
        ("wh_0123456789abcdef0123456789abcde", 400),
        ("wh_0123456789abcdef0123456789abcdef0", 400),
        ("../../etc/passwd", 400),
        ("wh_0123456789abcdef0123456789abcdeg", 400),
        ("wh_0123456789abcdef 123456789abcdef", 400),
        ("wh_\u{e9}123456789abcdef0123456789abcde", 400),
        ("' OR 1=1 --", 400),
        (&long, 400),
        ("wh_0123456789abcdef0123456789abcdef", 404),
    ];
    for (id, want) in cases {
        let (code, json) = parts(&api.handle(get_status(id)).await);
        assert_eq!(code, want, "{id:?}: {json}");
        assert!(json["message"].is_string(), "{id:?}");
    }
    let mut post = get_status("wh_0123456789abcdef0123456789abcdef");
    post.http_method = Method::POST;
    let res = api.handle(post).await;
    assert_eq!(res.status_code, 405);
    assert_eq!(res.headers["allow"], "GET");
    assert_eq!(items(&store).await, 0);
}
