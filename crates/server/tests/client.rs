//! The typed admin client (`switchyard_server::client`) against a real
//! server on both stores: every answer decodes into the server's own types,
//! every refusal into its problem.

use serde_json::json;
use switchyard_server::client::responder::Order;
use switchyard_server::client::{Client, Error};
use switchyard_server::store::{AuditQuery, FlagQuery, NewEnvironment, NewProject, Role, TriggerAction};
use switchyard_server::testing::{ADMIN_PASSWORD, for_each_store};

#[tokio::test]
async fn typed_calls_decode_the_servers_types() {
    for_each_store(|server| async move {
        let admin = Client::new(&server.base).logged_in("admin", ADMIN_PASSWORD).await.expect("login");
        assert_eq!(admin.me().await.expect("me").name, "admin");
        let project =
            NewProject { key: "shop".into(), name: Some("Shop".into()), description: None, environments: None };
        assert_eq!(admin.create_project(&project).await.expect("project").name, "Shop");
        let env = NewEnvironment { key: "production".into(), name: None, ..Default::default() };
        admin.create_environment("shop", &env).await.expect("environment");
        let flag = serde_json::from_value(json!({"key": "checkout", "kind": "boolean", "tags": ["pay"]})).unwrap();
        admin.create_flag("shop", &flag).await.expect("flag");
        let before = admin.environment("shop", "production").await.expect("environment").revision;

        let toggled = admin.toggle("shop", "production", "checkout", true, Some("launch"), None).await.expect("toggle");
        assert!(toggled.written.changed && toggled.written.value.config.on);
        assert_eq!(toggled.written.revision, Some(before + 1));
        let page = admin.flags("shop", &FlagQuery { tag: Some("pay".into()), ..FlagQuery::default() }).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(admin.all_flags("shop", &FlagQuery::default()).await.unwrap().len(), 1);

        let responder = admin.create_token("pager", Role::Responder, None).await.expect("token");
        let pager = admin.with_token(&responder.secret);
        let order = Order { reason: "errors", incident: Some("INC-1"), wait: Some("1s") };
        let killed = pager.kill("shop", "production", "checkout", &order).await.unwrap();
        assert!(killed.written.value[0].config.kill.is_some());
        assert!(killed.receipt.is_some(), "asked to wait: a receipt");
        let restored = pager
            .restore("shop", "production", "checkout", &Order { reason: "fixed", ..Order::default() })
            .await
            .expect("restore");
        assert!(restored.written.value[0].config.kill.is_none() && restored.receipt.is_none());
        let query = AuditQuery { flag: Some("checkout".into()), ..AuditQuery::default() };
        let events = admin.audit("shop", &query).await.expect("audit");
        let actions: Vec<String> = events.items.into_iter().map(|e| e.action).collect();
        for action in ["flag.restore", "flag.kill", "flag.toggle"] {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }

        let key = admin.create_sdk_key("shop", "production", "svc").await.expect("sdk key");
        assert!(key.secret.starts_with("sdk_"));
        assert_eq!(admin.sdk_keys("shop", "production").await.unwrap().len(), 1);
        let trigger = admin.create_trigger("shop", "production", "checkout", "am", TriggerAction::Kill, true);
        assert!(trigger.await.expect("trigger").path.starts_with("/hooks/v1/triggers/"));
        assert_eq!(admin.triggers("shop", "production", "checkout").await.unwrap().len(), 1);
        assert!(admin.is_ready().await);
        server
    })
    .await;
}

#[tokio::test]
async fn refusals_carry_the_problem() {
    for_each_store(|server| async move {
        let anonymous = Client::new(&server.base);
        let Err(Error::Problem { status, problem }) = anonymous.projects().await else { panic!("anonymous listed") };
        assert_eq!((status.as_u16(), problem.status), (401, 401));

        let admin = anonymous.with_token(&server.admin_token);
        let Err(err) = admin.project("nope").await else { panic!("a missing project was found") };
        assert_eq!((err.status().map(|s| s.as_u16()), err.code()), (Some(404), Some("not_found")));
        assert!(err.to_string().starts_with("404"), "{err}");

        let bad = NewProject { key: "Not A Key".into(), name: None, description: None, environments: None };
        let Err(Error::Problem { status, problem }) = admin.create_project(&bad).await else { panic!("bad key taken") };
        assert_eq!(status, 422);
        assert_eq!(problem.errors[0].path, "key");
        server
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"));
    assert!(matches!(client.projects().await, Err(Error::Transport { .. })));
    assert!(!client.is_ready().await);
}
