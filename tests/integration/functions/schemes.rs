//! Every signature scheme against the receiver (DynamoDB Local; executions counted in
//! memory), with requests signed by the providers' own libraries (`tests::providers`), never
//! by the receiver's code: what each scheme accepts (the previous secret inside the rotation
//! window, timestamps at the tolerance, several signatures in one header, hex in either
//! case), at least 20 bad requests per scheme of which none stores or starts anything, and
//! replays (a captured request under a new delivery id, a delivery id with another body).

use std::collections::BTreeMap;
use std::time::Duration;

use ::receiver::Receiver;
use base64::Engine;
use tests::providers::{self, Headers, ToSign};
use webhook_contract::routes::KEY_PARAM;
use webhook_core::schemes::{Scheme, TOLERANCE_S};
use webhook_core::secret::SecretSource;
use webhook_core::time::Clock;

use super::*;

/// One scheme's source, secrets and events.
struct Kit {
    scheme: Scheme,
    secret: String,
    /// The secret before the last rotation.
    old: String,
    /// A valid event, and another one (same delivery id where the id is in the body).
    body: &'static str,
    other: &'static str,
    /// The delivery id the scheme carries in a header (unused where it is in the body).
    id: &'static str,
    /// The header the signature travels in.
    signature: &'static str,
    /// The header of the signed timestamp (Stripe's is inside its signature header).
    timestamp: Option<&'static str>,
    /// Other headers the provider sends (event type, topic).
    extra: &'static [(&'static str, &'static str)],
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn kits() -> Vec<Kit> {
    vec![
        Kit {
            scheme: Scheme::Github,
            secret: "gh-current-secret".into(),
            old: "gh-old-secret".into(),
            body: r#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
            other: r#"{"zen":"Design for failure.","hook_id":1}"#,
            id: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            signature: "X-Hub-Signature-256",
            timestamp: None,
            extra: &[("X-GitHub-Event", "ping")],
        },
        Kit {
            scheme: Scheme::Standard,
            secret: format!("whsec_{}", b64("standard-current-key-of-32-bytes")),
            old: format!("whsec_{}", b64("standard-previous-key-of-32-byte")),
            body: r#"{"type":"invoice.paid","data":{"id":"inv_1"}}"#,
            other: r#"{"type":"invoice.paid","data":{"id":"inv_2"}}"#,
            id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            signature: "webhook-signature",
            timestamp: Some("webhook-timestamp"),
            extra: &[],
        },
        Kit {
            scheme: Scheme::Stripe,
            secret: "whsec_stripecurrentsecret".into(),
            old: "whsec_stripeprevioussecret".into(),
            body: r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":2000}}}"#,
            other: r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":9999}}}"#,
            id: "evt_1",
            signature: "Stripe-Signature",
            timestamp: None,
            extra: &[],
        },
        Kit {
            scheme: Scheme::Slack,
            secret: "slack-current-signing-secret".into(),
            old: "slack-previous-signing-secret".into(),
            body: r#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention","text":"hi"}}"#,
            other: r#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention","text":"bye"}}"#,
            id: "Ev1",
            signature: "X-Slack-Signature",
            timestamp: Some("X-Slack-Request-Timestamp"),
            extra: &[],
        },
        Kit {
            scheme: Scheme::Shopify,
            secret: "shopify-current-secret".into(),
            old: "shopify-previous-secret".into(),
            body: r#"{"id":820982911946154508,"email":"jon@example.com"}"#,
            other: r#"{"id":820982911946154508,"email":"joan@example.com"}"#,
            id: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            signature: "X-Shopify-Hmac-Sha256",
            timestamp: None,
            extra: &[("X-Shopify-Topic", "orders/create")],
        },
    ]
}

/// The source a kit's requests go to; `-late` is the same source whose rotation is past
/// the grace window.
fn source(kit: &Kit, late: bool) -> String {
    let name = kit.scheme.as_str();
    if late {
        format!("{name}-late")
    } else {
        name.to_owned()
    }
}

/// A receiver of every kit's source (rotated a minute ago) and its `-late` twin (rotated two
/// hours ago; the grace window is an hour), its clock fixed at `now`.
async fn receiver_of(kits: &[Kit], now: i64) -> Receiver<FakeStarter> {
    let mut r = receiver().await;
    r.clock = Clock::Fixed(now);
    let wall = u64::try_from(Clock::System.now_s()).unwrap();
    for kit in kits {
        for (late, rotated) in [(false, wall - 60), (true, wall - 7200)] {
            let secret = SecretSource::Plain {
                current: kit.secret.clone().into_bytes(),
                previous: Some((kit.old.clone().into_bytes(), rotated)),
                grace: Duration::from_secs(3600),
            };
            r.sources.insert(
                source(kit, late),
                ::receiver::Source {
                    scheme: kit.scheme,
                    secret,
                },
            );
        }
    }
    r
}

/// What each kit needs signed, by label: (secret, body, delivery id, timestamp).
fn wanted(kit: &Kit, now: i64) -> Vec<(&'static str, ToSign)> {
    let t = TOLERANCE_S;
    let wrong = if kit.scheme == Scheme::Standard {
        format!("whsec_{}", b64("not-the-secret-not-the-secret-!!"))
    } else {
        "not-the-secret".to_owned()
    };
    let new_id = "a-delivery-id-never-seen";
    let rows: Vec<(&'static str, &str, &str, &str, i64)> = vec![
        ("good", &kit.secret, kit.body, kit.id, now),
        ("old", &kit.old, kit.body, kit.id, now),
        ("wrong", &wrong, kit.body, kit.id, now),
        ("other", &kit.secret, kit.other, kit.id, now),
        ("new-id", &kit.secret, kit.body, new_id, now),
        ("stale-at", &kit.secret, kit.body, kit.id, now - t),
        ("stale-past", &kit.secret, kit.body, kit.id, now - t - 1),
        ("future-at", &kit.secret, kit.body, kit.id, now + t),
        ("future-past", &kit.secret, kit.body, kit.id, now + t + 1),
        ("not-json", &kit.secret, "not json", kit.id, now),
        ("array", &kit.secret, "[1,2]", kit.id, now),
    ];
    let rows =
        rows.into_iter().chain(
            scheme_rows(kit.scheme)
                .into_iter()
                .map(|(label, good, body)| {
                    (
                        label,
                        if good {
                            kit.secret.as_str()
                        } else {
                            wrong.as_str()
                        },
                        body,
                        kit.id,
                        now,
                    )
                }),
        );
    rows.map(|(label, secret, body, id, timestamp)| {
        let to_sign = ToSign {
            scheme: kit.scheme.as_str(),
            secret: secret.to_owned(),
            body: body.to_owned(),
            id: id.to_owned(),
            timestamp,
        };
        (label, to_sign)
    })
    .collect()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Slack's url_verification (answered, never stored).
const CHALLENGE: &str = r#"{"type":"url_verification","challenge":"c-1","token":"t"}"#;
/// A Slack slash command (a form).
const COMMAND: &str = "command=%2Fdeploy&text=now&trigger_id=1.2";
/// GitHub's form delivery option: the event in a `payload` field.
const GITHUB_FORM: &str = "payload=%7B%22zen%22%3A%22Form.%22%2C%22hook_id%22%3A2%7D";

/// What only one scheme signs: (label, with the right secret?, body).
fn scheme_rows(scheme: Scheme) -> Vec<(&'static str, bool, &'static str)> {
    match scheme {
        Scheme::Stripe => vec![(
            "no-id",
            true,
            r#"{"object":"event","type":"payment_intent.succeeded","data":{}}"#,
        )],
        Scheme::Slack => vec![
            ("challenge", true, CHALLENGE),
            ("challenge-wrong", false, CHALLENGE),
            ("command", true, COMMAND),
            ("command-wrong", false, COMMAND),
        ],
        Scheme::Github => vec![("form", true, GITHUB_FORM)],
        _ => vec![],
    }
}

/// Every kit's requests signed by the providers' libraries, in one batch per library.
fn sign_all(kits: &[Kit], now: i64) -> Vec<BTreeMap<&'static str, (String, Headers)>> {
    let wanted: Vec<Vec<(&'static str, ToSign)>> = kits.iter().map(|k| wanted(k, now)).collect();
    let flat: Vec<ToSign> = wanted.iter().flatten().map(|(_, s)| s.clone()).collect();
    let mut signed = providers::sign(&flat).into_iter();
    wanted
        .into_iter()
        .map(|rows| {
            rows.into_iter()
                .map(|(label, s)| (label, (s.body, signed.next().unwrap())))
                .collect()
        })
        .collect()
}

/// A POST of `body` with `headers` to source `to`.
fn request(kit: &Kit, to: &str, body: &str, headers: &Headers) -> ApiGatewayProxyRequest {
    let mut req = fixture("post-webhook.json");
    for h in ["X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"] {
        remove_header(&mut req, h);
    }
    req.path_parameters
        .insert(KEY_PARAM.to_owned(), to.to_owned());
    req.body = Some(body.to_owned());
    for (name, value) in kit.extra {
        set_header(&mut req, name, value);
    }
    for (name, value) in headers {
        set_header(&mut req, name, value);
    }
    req
}

/// A request and what it must get.
struct Case {
    name: String,
    status: i64,
    /// A fragment of the message.
    says: String,
    request: ApiGatewayProxyRequest,
}

/// The signed request `label` of a kit, changed by `f`, for source `to`.
struct Maker<'a> {
    kit: &'a Kit,
    signed: &'a BTreeMap<&'static str, (String, Headers)>,
}

impl Maker<'_> {
    fn case(
        &self,
        name: &str,
        (status, says): (i64, &str),
        label: &str,
        f: impl FnOnce(&mut String, &mut Headers),
    ) -> Case {
        let (mut body, mut headers) = self.signed[label].clone();
        f(&mut body, &mut headers);
        Case {
            name: format!("{} {name}", self.kit.scheme),
            status,
            says: says.to_owned(),
            request: request(self.kit, &source(self.kit, false), &body, &headers),
        }
    }

    fn to(mut self_case: Case, to: &str) -> Case {
        self_case
            .request
            .path_parameters
            .insert(KEY_PARAM.to_owned(), to.to_owned());
        self_case
    }

    /// The signature header's value.
    fn sig<'h>(&self, headers: &'h mut Headers) -> &'h mut String {
        headers.get_mut(self.kit.signature).unwrap()
    }
}

/// `s` with the character in its middle changed (a different signature of the same shape).
fn flipped(s: &str) -> String {
    flipped_at(s, 3)
}

/// `s` with the character `k` places after its middle changed, always to another one.
fn flipped_at(s: &str, k: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let at = chars.len() / 2 + k;
    chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The bad requests every scheme refuses.
fn common_bad(m: &Maker<'_>) -> Vec<Case> {
    let sig = m.kit.signature;
    let refused = (401, sig);
    let late = source(m.kit, true);
    vec![
        m.case("wrong secret", refused, "wrong", |_, _| {}),
        m.case("missing signature", (401, "missing"), "good", |_, h| {
            h.remove(sig);
        }),
        m.case("empty signature", (401, "missing"), "good", |_, h| {
            h.insert(sig.to_owned(), String::new());
        }),
        m.case("garbage signature", refused, "good", |_, h| {
            h.insert(sig.to_owned(), "nonsense".to_owned());
        }),
        m.case("another body", refused, "good", |b, _| {
            *b = m.kit.other.to_owned();
        }),
        m.case("a trailing newline", refused, "good", |b, _| b.push('\n')),
        m.case("re-serialized body", refused, "good", |b, _| {
            *b = b.replace(':', ": ");
        }),
        m.case("truncated signature", refused, "good", |_, h| {
            m.sig(h).pop();
        }),
        m.case("one character changed", refused, "good", |_, h| {
            let s = m.sig(h);
            *s = flipped(s);
        }),
        Maker::to(
            m.case(
                "previous secret after the grace window",
                refused,
                "old",
                |_, _| {},
            ),
            &late,
        ),
        m.case(
            "signed JSON that is not JSON",
            (400, "not valid JSON"),
            "not-json",
            |_, _| {},
        ),
        m.case("a JSON array", (400, "JSON object"), "array", |_, _| {}),
        m.case("an empty body", (400, "empty"), "good", |b, _| b.clear()),
        m.case("text/plain", (415, "Content-Type"), "good", |_, h| {
            h.insert("Content-Type".into(), "text/plain".into());
        }),
        m.case("no content type", (415, "Content-Type"), "good", |_, h| {
            h.insert("Content-Type".into(), String::new());
        }),
        m.case("a body past 256 KiB", (413, "limit"), "good", |b, _| {
            *b = format!(r#"{{"pad":"{}"}}"#, "x".repeat(256 * 1024));
        }),
        Maker::to(
            m.case(
                "an unknown source",
                (404, "no webhook source"),
                "good",
                |_, _| {},
            ),
            "nope",
        ),
        m.case(
            "the signature under another header",
            (401, "missing"),
            "good",
            |_, h| {
                let v = h.remove(sig).unwrap();
                h.insert("X-Signature".into(), v);
            },
        ),
    ]
}

/// The bad timestamps of the schemes that sign one.
fn timestamp_bad(m: &Maker<'_>) -> Vec<Case> {
    let ts = m.kit.timestamp.unwrap_or(m.kit.signature);
    let stripe = m.kit.scheme == Scheme::Stripe;
    let set_ts = move |h: &mut Headers, f: &dyn Fn(&str) -> String| {
        if stripe {
            let v = h.get_mut("Stripe-Signature").unwrap();
            let (t, rest) = v.split_once(',').unwrap();
            *v = format!("t={},{rest}", f(t.trim_start_matches("t=")));
        } else {
            let v = h.get_mut(ts).unwrap();
            *v = f(v);
        }
    };
    vec![
        m.case(
            "stale just past the tolerance",
            (401, "old"),
            "stale-past",
            |_, _| {},
        ),
        m.case(
            "future just past the tolerance",
            (401, "future"),
            "future-past",
            |_, _| {},
        ),
        m.case(
            "a timestamp one second off",
            (401, m.kit.signature),
            "good",
            |_, h| {
                set_ts(h, &|t| (t.parse::<i64>().unwrap() - 1).to_string());
            },
        ),
        m.case(
            "a timestamp in milliseconds",
            (401, "future"),
            "good",
            |_, h| {
                set_ts(h, &|t| format!("{t}000"));
            },
        ),
        m.case(
            "a timestamp that is not a number",
            (401, ts),
            "good",
            |_, h| {
                set_ts(h, &|_| "yesterday".to_owned());
            },
        ),
        m.case("no timestamp", (401, ts), "good", |_, h| {
            if stripe {
                let v = h.get_mut("Stripe-Signature").unwrap();
                *v = v.split_once(',').unwrap().1.to_owned();
            } else {
                h.remove(ts);
            }
        }),
    ]
}

/// What only one scheme gets wrong.
fn scheme_bad(m: &Maker<'_>) -> Vec<Case> {
    let sig = m.kit.signature;
    let refused = (401, sig);
    match m.kit.scheme {
        Scheme::Github => vec![
            m.case("sha1 instead of sha256", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = s.replace("sha256=", "sha1=");
            }),
            m.case("two signatures", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = format!("{},{s}", flipped(s));
            }),
            m.case(
                "a delivery id of 201 characters",
                (400, "delivery"),
                "good",
                |_, h| {
                    h.insert("X-GitHub-Delivery".into(), "d".repeat(201));
                },
            ),
            m.case(
                "a form without its payload field",
                (400, "payload"),
                "good",
                |_, h| {
                    h.insert("Content-Type".into(), FORM.into());
                },
            ),
        ],
        Scheme::Shopify => vec![
            m.case("base64 in the other case", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = swap_case(s);
            }),
            m.case("hex instead of base64", refused, "good", |_, h| {
                let s = m.sig(h);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&*s)
                    .unwrap();
                *s = bytes.iter().map(|b| format!("{b:02x}")).collect();
            }),
            m.case("base64 without padding", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = s.trim_end_matches('=').to_owned();
            }),
            m.case(
                "a delivery id of 201 characters",
                (400, "delivery"),
                "good",
                |_, h| {
                    h.insert("X-Shopify-Webhook-Id".into(), "d".repeat(201));
                },
            ),
            m.case("a form body", (415, "Content-Type"), "good", |_, h| {
                h.insert("Content-Type".into(), FORM.into());
            }),
            m.case(
                "another topic's signature scheme",
                refused,
                "good",
                |_, h| {
                    let s = m.sig(h);
                    *s = format!("sha256={s}");
                },
            ),
        ],
        Scheme::Standard => vec![
            m.case("base64 in the other case", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = format!("v1,{}", swap_case(&s[3..]));
            }),
            m.case("a v2 signature", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = s.replacen("v1,", "v2,", 1);
            }),
            m.case(
                "a replay under a new webhook-id",
                refused,
                "good",
                |_, h| {
                    h.insert("webhook-id".into(), "msg_replayed".into());
                },
            ),
            m.case("no webhook-id", (401, "webhook-id"), "good", |_, h| {
                h.remove("webhook-id");
            }),
            m.case("every listed signature wrong", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = format!("{} {}", flipped(s), flipped_at(s, 5));
            }),
        ],
        Scheme::Stripe => vec![
            m.case("only a v0 signature", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = s.replace("v1=", "v0=");
            }),
            m.case("every listed signature wrong", refused, "good", |_, h| {
                let s = m.sig(h);
                let (t, v1) = s.split_once(",v1=").unwrap();
                *s = format!("{t},v1={},v1={}", flipped(v1), flipped_at(v1, 5));
            }),
            m.case("an event without an id", (400, "`id`"), "no-id", |_, _| {}),
        ],
        Scheme::Slack => vec![
            m.case("a v1 signature", refused, "good", |_, h| {
                let s = m.sig(h);
                *s = s.replace("v0=", "v1=");
            }),
            m.case(
                "a url_verification with a wrong signature",
                refused,
                "challenge-wrong",
                |_, _| {},
            ),
            m.case(
                "a slash command with a wrong signature",
                refused,
                "command-wrong",
                |_, h| {
                    h.insert("Content-Type".into(), FORM.into());
                },
            ),
            m.case(
                "a slash command sent as JSON",
                (400, "not valid JSON"),
                "command",
                |_, _| {},
            ),
        ],
    }
}

/// Every bad case of every kit.
fn corpus(kits: &[Kit], signed: &[BTreeMap<&'static str, (String, Headers)>]) -> Vec<Case> {
    let mut all = Vec::new();
    for (kit, signed) in kits.iter().zip(signed) {
        let m = Maker { kit, signed };
        let mut cases = common_bad(&m);
        if kit.timestamp.is_some() || kit.scheme == Scheme::Stripe {
            cases.extend(timestamp_bad(&m));
        }
        cases.extend(scheme_bad(&m));
        assert!(
            cases.len() >= 20,
            "{}: {} bad cases",
            kit.scheme,
            cases.len()
        );
        all.extend(cases);
    }
    all
}

async fn check(r: &Receiver<FakeStarter>, cases: Vec<Case>) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in cases {
        let (code, json) = parts(&r.handle(case.request).await);
        let message = json["message"].as_str().unwrap_or_default().to_owned();
        if code != case.status || !message.contains(&case.says) {
            wrong.push(format!(
                "{}: got {code} {message:?}, want {} ~{:?}",
                case.name, case.status, case.says
            ));
        }
    }
    wrong
}

#[tokio::test]
async fn every_scheme_refuses_twenty_bad_requests_and_stores_nothing() {
    let now = Clock::System.now_s();
    let kits = kits();
    let signed = sign_all(&kits, now);
    let r = receiver_of(&kits, now).await;
    let cases = corpus(&kits, &signed);
    let count = cases.len();
    let wrong = check(&r, cases).await;
    assert!(
        wrong.is_empty(),
        "{} of {count} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        items(&r.store).await,
        0,
        "a refused request stored something"
    );
    assert!(r.starter.calls().is_empty(), "{:?}", r.starter.calls());
}

/// What each scheme accepts, by label of the signed request: 202, and the same webhook each
/// time (the same delivery, signed other ways).
fn accepted(m: &Maker<'_>) -> Vec<Case> {
    let ok = (202, "");
    let sig = m.kit.signature;
    let mut cases = vec![
        m.case("signed with the current secret", ok, "good", |_, _| {}),
        m.case(
            "the previous secret inside the grace window",
            ok,
            "old",
            |_, _| {},
        ),
    ];
    let hex = matches!(
        m.kit.scheme,
        Scheme::Github | Scheme::Stripe | Scheme::Slack
    );
    if hex {
        cases.push(m.case("hex in upper case", ok, "good", |_, h| {
            let s = h.get_mut(sig).unwrap();
            let (prefix, digits) = s.rsplit_once('=').unwrap();
            *s = format!("{prefix}={}", digits.to_ascii_uppercase());
        }));
    }
    if m.kit.timestamp.is_some() || m.kit.scheme == Scheme::Stripe {
        cases.push(m.case("stale at the tolerance", ok, "stale-at", |_, _| {}));
        cases.push(m.case("future at the tolerance", ok, "future-at", |_, _| {}));
    }
    match m.kit.scheme {
        Scheme::Standard => {
            cases.push(
                m.case("a wrong signature listed first", ok, "good", |_, h| {
                    let s = h.get_mut(sig).unwrap();
                    *s = format!("{} {s}", flipped(s));
                }),
            )
        }
        Scheme::Stripe => cases.push(m.case("a wrong v1 listed first", ok, "good", |_, h| {
            let s = h.get_mut(sig).unwrap();
            let (t, v1) = s.split_once(",v1=").unwrap();
            *s = format!("{t},v1={},v1={v1}", flipped(v1));
        })),
        _ => {}
    }
    cases
}

#[tokio::test]
async fn every_scheme_accepts_its_providers_signatures_and_refuses_replays() {
    let now = Clock::System.now_s();
    let kits = kits();
    let signed = sign_all(&kits, now);
    let r = receiver_of(&kits, now).await;
    let mut wrong = Vec::new();
    let mut ids = BTreeMap::new();
    for (kit, signed) in kits.iter().zip(&signed) {
        let m = Maker { kit, signed };
        for case in accepted(&m) {
            let (code, json) = parts(&r.handle(case.request).await);
            if code != 202 {
                wrong.push(format!("{}: {code} {json}", case.name));
            }
            ids.entry(kit.scheme)
                .or_insert_with(Vec::new)
                .push(json["id"].clone());
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for (scheme, seen) in &ids {
        assert!(
            seen.iter().all(|id| id == &seen[0]),
            "{scheme}: one webhook, {seen:?}"
        );
    }
    assert_eq!(records(&r.store).await, kits.len());
    assert_eq!(
        r.starter.executions().len(),
        kits.len(),
        "one execution per webhook"
    );

    // Replays of what was accepted: none stores or starts anything.
    let starts_before = r.starter.calls().len();
    let mut replays = Vec::new();
    for (kit, signed) in kits.iter().zip(&signed) {
        let m = Maker { kit, signed };
        if kit.scheme.signs_the_delivery_id() {
            replays.push(m.case(
                "another body under the same delivery id",
                (409, "another body"),
                "other",
                |_, _| {},
            ));
        } else {
            let says = (409, "delivered before");
            replays.push(m.case(
                "the same body under a new delivery id",
                says,
                "new-id",
                |_, _| {},
            ));
        }
    }
    let wrong = check(&r, replays).await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(records(&r.store).await, kits.len());
    assert_eq!(
        r.starter.calls().len(),
        starts_before,
        "a replay started something"
    );

    // Where the body identifies the webhook (the delivery id is not signed), another
    // signed body under a delivery id seen before is another webhook of the provider's.
    let mut more = 0;
    for (kit, signed) in kits.iter().zip(&signed) {
        if kit.scheme.signs_the_delivery_id() {
            continue;
        }
        let m = Maker { kit, signed };
        let case = m.case(
            "another body under the same delivery id",
            (202, ""),
            "other",
            |_, _| {},
        );
        let (code, json) = parts(&r.handle(case.request).await);
        assert_eq!(code, 202, "{}: {json}", case.name);
        assert_ne!(
            json["id"], ids[&kit.scheme][0],
            "{}: a webhook of its own",
            case.name
        );
        more += 1;
    }
    assert!(more > 0, "no scheme leaves its delivery id unsigned");
    assert_eq!(records(&r.store).await, kits.len() + more);
}

#[tokio::test]
async fn slack_challenges_are_answered_and_forms_accepted() {
    let now = Clock::System.now_s();
    let kits = kits();
    let signed = sign_all(&kits, now);
    let r = receiver_of(&kits, now).await;
    let slack = kits.iter().position(|k| k.scheme == Scheme::Slack).unwrap();
    let m = Maker {
        kit: &kits[slack],
        signed: &signed[slack],
    };
    let res = r
        .handle(
            m.case("challenge", (200, ""), "challenge", |_, _| {})
                .request,
        )
        .await;
    let (code, json) = parts(&res);
    assert_eq!(
        (code, &json),
        (200, &serde_json::json!({"challenge": "c-1"}))
    );
    assert_eq!(items(&r.store).await, 0, "a challenge is not a webhook");
    let command = m.case("slash command", (202, ""), "command", |_, h| {
        h.insert("Content-Type".into(), FORM.into());
    });
    let (code, json) = parts(&r.handle(command.request).await);
    assert_eq!(code, 202, "{json}");
    let id = WebhookId::parse(json["id"].as_str().unwrap()).unwrap();
    let record = r.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.payload, COMMAND, "stored exactly as received");
    assert_eq!(record.delivery_id, "1.2", "a slash command's trigger_id");

    let github = kits
        .iter()
        .position(|k| k.scheme == Scheme::Github)
        .unwrap();
    let m = Maker {
        kit: &kits[github],
        signed: &signed[github],
    };
    let form = m.case("form", (202, ""), "form", |_, h| {
        h.insert("Content-Type".into(), FORM.into());
    });
    let (code, json) = parts(&r.handle(form.request).await);
    assert_eq!(code, 202, "{json}");
    let id = WebhookId::parse(json["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        r.store.get(&id).await.unwrap().unwrap().payload,
        GITHUB_FORM
    );
}
