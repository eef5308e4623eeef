//! The SSRF guard: private, link-local and metadata URLs refused at save time, and the address checked again at send time.

use super::support::*;
use axum::body::Bytes;
use reqwest::Method;
use serde_json::json;
use switchyard_server::store::{WebhookEvent, WebhookTarget};
use switchyard_server::testing::{Api, TestDb};
use switchyard_server::webhooks::guard::AddressPolicy;
use switchyard_server::webhooks::{Attempt, WorkerOptions, send};

#[tokio::test]
async fn private_link_local_and_metadata_urls_are_refused() {
    let db = TestDb::sqlite();
    let server = start_server(&db, false).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    let create = |url: &str| {
        let admin = admin.clone();
        let body = json!({"url": url, "events": ["*"]});
        async move { admin.call(Method::POST, &format!("{P}/webhooks"), Some(body)).await }
    };
    for (url, code) in [
        ("http://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "forbidden_address"),
        ("http://100.100.100.200/latest/meta-data/", "forbidden_address"),
        ("http://[fe80::1]/", "forbidden_address"),
        ("http://[::ffff:169.254.169.254]/", "forbidden_address"),
        ("http://127.0.0.1:9/", "forbidden_address"),
        ("http://localhost:9/", "forbidden_address"),
        ("http://10.0.0.8/", "forbidden_address"),
        ("http://0.0.0.0/", "forbidden_address"),
        ("ftp://example.com/", "invalid_url"),
        ("not a url", "invalid_url"),
    ] {
        let (status, problem) = create(url).await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["path"], "url", "{url}");
        assert_eq!(problem["errors"][0]["code"], code, "{url}: {problem}");
    }
    let (status, problem) = admin
        .call(Method::POST, &format!("{P}/webhooks"), Some(json!({"url": "http://example.com/", "secret": "short"})))
        .await;
    assert_eq!((status.as_u16(), problem["errors"][0]["path"].as_str()), (422, Some("secret")));
    let list = admin.ok(Method::GET, &format!("{P}/webhooks"), None, 200).await;
    assert_eq!(list, json!([]));
    server.stop().await;
    db.cleanup().await;

    // with --webhook-allow-private: loopback is fine, metadata never
    let db = TestDb::sqlite();
    let server = start_server(&db, true).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    for (url, want) in
        [("http://127.0.0.1:9/", 201), ("http://169.254.169.254/", 422), ("http://metadata.google.internal/", 422)]
    {
        let (status, problem) = admin
            .call(Method::POST, &format!("{P}/webhooks"), Some(json!({"url": url, "events": ["flag.killed"]})))
            .await;
        assert_eq!(status.as_u16(), want, "{url}: {problem}");
    }
    server.stop().await;
    db.cleanup().await;
}

/// The send-time check: a stored URL that the policy refuses (here, a
/// loopback receiver without `allow_private`) is never connected to.
#[tokio::test]
async fn the_address_is_checked_again_at_send_time() {
    let receiver = Receiver::start(0).await;
    let target = |url: String| WebhookTarget {
        webhook: switchyard_server::store::Webhook {
            id: 1,
            project: "shop".into(),
            url,
            events: vec![WebhookEvent::All],
            secret_prefix: "custom".into(),
            created_by: "admin".into(),
            created_at: chrono::Utc::now(),
            disabled_at: None,
        },
        secret: "secret-secret-secret".into(),
    };
    let body = Bytes::from_static(b"{}");
    let strict = WorkerOptions::default();
    let lax = WorkerOptions { policy: AddressPolicy { allow_private: true }, ..WorkerOptions::default() };
    for url in [format!("{}/a", receiver.base), format!("{}/a", receiver.base.replace("127.0.0.1", "localhost"))] {
        let outcome = send(&target(url.clone()), "d1", WebhookEvent::FlagKilled, &body, &strict).await;
        assert!(matches!(outcome, Attempt::Failed { .. }), "{url}: {outcome:?}");
    }
    assert!(receiver.hits("/a").is_empty(), "nothing was sent");
    let outcome = send(&target(format!("{}/a", receiver.base)), "d2", WebhookEvent::FlagKilled, &body, &lax).await;
    assert!(matches!(outcome, Attempt::Delivered(204)), "{outcome:?}");
    // metadata stays refused even when private addresses are allowed
    let outcome = send(&target("http://169.254.169.254/".into()), "d3", WebhookEvent::FlagKilled, &body, &lax).await;
    assert!(matches!(outcome, Attempt::Failed { .. }), "{outcome:?}");
}
