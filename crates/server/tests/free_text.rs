//! The free text of the audit history has limits (a new-user review sent a
//! 1 MB kill reason and got it written, and shown, in full): a reason (and
//! a change request's comment) at most 1,000 characters, an incident id at
//! most 128, else 422 `too_long` naming the field, before anything is
//! written. A kill with a valid body, the longest included, is unaffected.
//! Real server, real sockets, SQLite and Postgres.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, for_each_store};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

fn assert_too_long(what: &str, status: reqwest::StatusCode, problem: &Value, path: &str) {
    assert_eq!(status, 422, "{what}: {problem}");
    assert_eq!(problem["errors"][0]["path"], path, "{what}: {problem}");
    assert_eq!(problem["errors"][0]["code"], "too_long", "{what}: {problem}");
}

#[tokio::test]
async fn reasons_and_incidents_have_limits_and_a_valid_kill_is_unaffected() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
        admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
        admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
        let audit_len = || async {
            admin.ok(Method::GET, &format!("{P}/audit?limit=1000"), None, 200).await["items"].as_array().unwrap().len()
        };
        let before = audit_len().await;
        let kill = format!("{PROD}/flags/checkout/kill");
        let panic = format!("{PROD}/kill");
        let (reason, incident) = ("r".repeat(1001), "I".repeat(129));
        for (fields, path) in [
            (json!({"reason": reason, "incident": "INC-1"}), "reason"),
            (json!({"reason": "5xx", "incident": incident}), "incident"),
        ] {
            for (method, url) in
                [(Method::POST, &kill), (Method::DELETE, &kill), (Method::POST, &panic), (Method::DELETE, &panic)]
            {
                let mut body = fields.clone();
                if url == &panic {
                    body["flags"] = json!(["checkout"]);
                }
                let (status, problem) = admin.call(method.clone(), url, Some(body)).await;
                assert_too_long(&format!("{method} {url} with a long {path}"), status, &problem, path);
            }
        }
        let drill = json!({"force": true, "incident": "D".repeat(129)});
        let (status, problem) = admin.post(&format!("{PROD}/flags/checkout/drill"), drill).await;
        assert_too_long("a drill", status, &problem, "incident");
        // Every audited write: the store checks each event's reason.
        let toggle = json!({"on": true, "reason": "t".repeat(1001)});
        let (status, problem) = admin.post(&format!("{PROD}/flags/checkout/toggle"), toggle).await;
        assert_too_long("a toggle", status, &problem, "reason");
        assert_eq!(audit_len().await, before, "nothing was written");

        // The longest valid body (characters, not bytes) kills at once.
        let (reason, incident) = ("é".repeat(1000), "I".repeat(128));
        let written = admin.ok(Method::POST, &kill, Some(json!({"reason": reason, "incident": incident})), 200).await;
        let config = admin.ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200).await;
        assert_eq!(config["config"]["kill"]["reason"], reason, "{written}");
        let restore = json!({"reason": "fixed", "incident": incident});
        admin.ok(Method::DELETE, &kill, Some(restore), 200).await;
        server
    })
    .await;
}
