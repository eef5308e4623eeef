//! Unknown, rotated and deleted trigger secrets: 404, and no audit noise.

use super::support::*;
use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::{Api, for_each_store, login};

#[tokio::test]
async fn unknown_rotated_and_deleted_secrets_answer_404_without_audit() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let (id, path) = trigger(&admin, "pager", "kill", false).await;

        let count = audit(&admin).await.len();
        let rev = revision(&admin).await;
        let wrong = format!("{path}x");
        for bad in [
            wrong.as_str(),
            "/hooks/v1/triggers/trg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/hooks/v1/triggers/garbage",
        ] {
            let resp = hook(&server, bad, Some(alertmanager("firing"))).await;
            assert_eq!(resp.status(), 404, "{bad}");
        }
        assert_eq!(audit(&admin).await.len(), count, "no audit noise");
        assert_eq!(revision(&admin).await, rev);
        assert!(kill_state(&admin).await.is_null());

        // rotated: the old URL is dead, the new one works
        let rotated = admin.ok(Method::POST, &format!("{FLAG}/triggers/{id}/rotate"), None, 200).await;
        let new_path = rotated["path"].as_str().unwrap().to_string();
        assert_ne!(new_path, path);
        assert_eq!(hook(&server, &path, None).await.status(), 404);
        let out = hook_json(&server, &new_path, None).await;
        assert_eq!(out["action"], "kill");
        assert_eq!(kill_state(&admin).await["reason"], "fired by trigger pager");

        // deleted: 404, the row is kept (listed with disabled_at), idempotent
        let deleted = admin.ok(Method::DELETE, &format!("{FLAG}/triggers/{id}"), None, 200).await;
        assert!(deleted["disabled_at"].is_string());
        let count = audit(&admin).await.len();
        let rev = revision(&admin).await;
        assert_eq!(hook(&server, &new_path, None).await.status(), 404);
        assert_eq!(audit(&admin).await.len(), count);
        assert_eq!(revision(&admin).await, rev);
        let list = admin.ok(Method::GET, &format!("{FLAG}/triggers"), None, 200).await;
        assert!(list[0]["disabled_at"].is_string());
        admin.ok(Method::DELETE, &format!("{FLAG}/triggers/{id}"), None, 200).await;
        let actions: Vec<String> =
            audit(&admin).await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
        assert_eq!(actions.iter().filter(|a| *a == "trigger.delete").count(), 1);
        assert!(actions.contains(&"trigger.rotate".to_string()));
        let (status, _) = admin.call(Method::POST, &format!("{FLAG}/triggers/{id}/rotate"), None).await;
        assert_eq!(status, 409);

        // another flag's path does not reach this trigger
        admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "other", "kind": "boolean"})), 201).await;
        let other = "/api/v1/projects/shop/environments/production/flags/other/triggers";
        let (status, _) = admin.call(Method::DELETE, &format!("{other}/{id}"), None).await;
        assert_eq!(status, 404);

        // roles: responders list, only admins create
        for (name, role) in [("resp", "responder"), ("view", "viewer")] {
            admin
                .ok(
                    Method::POST,
                    "/api/v1/users",
                    Some(json!({"username": name, "password": "a-long-password-1", "role": role})),
                    201,
                )
                .await;
        }
        let responder = Api::new(&server, Some(&login(&server.base, "resp", "a-long-password-1").await));
        let viewer = Api::new(&server, Some(&login(&server.base, "view", "a-long-password-1").await));
        responder.ok(Method::GET, &format!("{FLAG}/triggers"), None, 200).await;
        let (status, _) = responder
            .call(Method::POST, &format!("{FLAG}/triggers"), Some(json!({"name": "x", "action": "kill"})))
            .await;
        assert_eq!(status, 403);
        let (status, _) = viewer.call(Method::GET, &format!("{FLAG}/triggers"), None).await;
        assert_eq!(status, 403);
        server
    })
    .await;
}
