//! Secret rotation against a real Secrets Manager API (ministack): `PutSecretValue` moves
//! `AWSCURRENT` to `AWSPREVIOUS`; the receiver, whose cached keys predate the rotation,
//! accepts the new secret at once (a signature matching no cached key reads the secret
//! again), keeps accepting the previous one inside the grace window, and refuses the one
//! before.

use std::time::Duration;

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use tests::functions::{parts, post_signed_with, receiver_with, records};
use webhook_core::secret::SecretSource;

fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "000000000041",
            "test",
            None,
            None,
            "tests",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, arn: &str, to: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(to)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_rotation_is_seen_at_once_and_the_previous_secret_kept_for_the_grace_window() {
    let ms = tests::ministack::ministack();
    let sm = client(&ms.endpoint);
    let name = format!("rotation-{}", std::process::id());
    let created = sm
        .create_secret()
        .name(&name)
        .secret_string("first")
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();

    // Straight from Secrets Manager: the keys before and after a rotation.
    let source = SecretSource::secrets_manager(sm.clone(), &arn, Duration::from_secs(3600))
        .reread_after(Duration::ZERO);
    let keys = source.keys().await.unwrap().unwrap();
    assert_eq!(
        (keys.current.as_slice(), keys.previous),
        (&b"first"[..], None)
    );
    rotate(&sm, &arn, "second").await;
    let cached = source.keys().await.unwrap().unwrap();
    assert_eq!(cached.current, b"first", "keys are cached between reads");
    let fresh = source
        .reread()
        .await
        .unwrap()
        .expect("the rotation is read");
    assert_eq!(fresh.current, b"second");
    assert_eq!(fresh.previous.as_deref(), Some(&b"first"[..]));
    assert!(
        source.reread().await.unwrap().is_none(),
        "nothing changed since"
    );
    let no_grace = SecretSource::secrets_manager(sm.clone(), &arn, Duration::ZERO);
    assert_eq!(no_grace.keys().await.unwrap().unwrap().previous, None);

    // Through the receiver: its cache holds "second" when the secret moves on to "third".
    let source = SecretSource::secrets_manager(sm.clone(), &arn, Duration::from_secs(3600))
        .reread_after(Duration::ZERO);
    let r = receiver_with(source).await;
    let send = |secret: &'static str, n: u32| {
        post_signed_with(
            secret.as_bytes(),
            &format!(r#"{{"type":"order","orderId":"rot-{n}"}}"#),
        )
    };
    let (code, body) = parts(&r.handle(send("second", 1)).await);
    assert_eq!(code, 202, "{body}");
    rotate(&sm, &arn, "third").await;
    let (code, body) = parts(&r.handle(send("third", 2)).await);
    assert_eq!(code, 202, "the new secret at once: {body}");
    let (code, body) = parts(&r.handle(send("second", 3)).await);
    assert_eq!(code, 202, "the previous secret inside the window: {body}");
    let (code, body) = parts(&r.handle(send("first", 4)).await);
    assert_eq!(code, 401, "the secret before the previous one: {body}");
    assert_eq!(records(&r.store).await, 3);
}
