//! A project's admins mint API tokens limited to their project (issue 19
//! §5), over real HTTP on SQLite and Postgres: a global viewer who is admin
//! of `shop` creates, lists and revokes `shop`'s tokens through
//! `…/projects/shop/tokens`; nothing it mints is wider than itself (never
//! another project, never unscoped, never above its role there), members
//! below admin and tokens below admin are refused, and every change is
//! audited in the project's history.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestServer, for_each_store, login};

const SHOP: &str = "/api/v1/projects/shop";
const OTHER: &str = "/api/v1/projects/other";
const PASSWORD: &str = "a-long-password";

async fn user(server: &TestServer, admin: &Api, name: &str, role: &str) -> Api {
    let body = json!({"username": name, "password": PASSWORD, "role": role});
    admin.ok(Method::POST, "/api/v1/users", Some(body), 201).await;
    Api::new(server, Some(&login(&server.base, name, PASSWORD).await))
}

async fn setup(server: &TestServer) -> (Api, Api) {
    let admin = Api::new(server, Some(&server.admin_token));
    for p in ["shop", "other"] {
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": p, "environments": ["production"]})), 201).await;
    }
    let pat = user(server, &admin, "pat", "viewer").await;
    admin.ok(Method::PUT, &format!("{SHOP}/members/pat"), Some(json!({"role": "admin"})), 200).await;
    (admin, pat)
}

fn secret(created: &Value) -> String {
    created["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_project_admin_mints_lists_and_revokes_its_projects_tokens() {
    for_each_store(|server| async move {
        let (admin, pat) = setup(&server).await;
        let unscoped =
            admin.ok(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci", "role": "viewer"})), 201).await;
        let body = json!({"name": "other-bot", "role": "admin", "project": "other"});
        let others = admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await;

        let editor = pat
            .ok(Method::POST, &format!("{SHOP}/tokens"), Some(json!({"name": "deploy", "role": "editor"})), 201)
            .await;
        assert_eq!(
            (editor["token"]["project"].as_str(), editor["token"]["role"].as_str()),
            (Some("shop"), Some("editor"))
        );
        assert_eq!(editor["token"]["created_by"], "pat");
        let deploy = Api::new(&server, Some(&secret(&editor)));
        deploy
            .ok(Method::POST, &format!("{SHOP}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201)
            .await;
        assert_eq!(deploy.post(&format!("{OTHER}/flags"), json!({"key": "x", "kind": "boolean"})).await.0, 404);

        // an admin token of shop (pat is admin there) mints shop's tokens too, and nothing wider
        let bot =
            pat.ok(Method::POST, &format!("{SHOP}/tokens"), Some(json!({"name": "bot", "role": "admin"})), 201).await;
        let bot = Api::new(&server, Some(&secret(&bot)));
        bot.ok(Method::POST, &format!("{SHOP}/tokens"), Some(json!({"name": "pager", "role": "responder"})), 201).await;
        assert_eq!(bot.post(&format!("{OTHER}/tokens"), json!({"name": "x", "role": "viewer"})).await.0, 404);
        assert_eq!(bot.post("/api/v1/tokens", json!({"name": "x", "role": "viewer"})).await.0, 403, "unscoped");

        // the list: shop's tokens only
        let list = pat.ok(Method::GET, &format!("{SHOP}/tokens"), None, 200).await;
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 3, "{list}");
        assert!(names.iter().all(|n| ["deploy", "bot", "pager"].contains(n)), "{list}");

        // revoke: a shop token stops working at once; others' tokens are 404 here
        let id = editor["token"]["id"].as_i64().unwrap();
        let revoked = pat.ok(Method::DELETE, &format!("{SHOP}/tokens/{id}"), None, 200).await;
        assert!(revoked["revoked_at"].is_string(), "{revoked}");
        assert_eq!(deploy.get(&format!("{SHOP}/flags")).await.0, 401);
        for token in [&unscoped, &others] {
            let id = token["token"]["id"].as_i64().unwrap();
            assert_eq!(pat.call(Method::DELETE, &format!("{SHOP}/tokens/{id}"), None).await.0, 404);
        }
        assert_eq!(pat.call(Method::DELETE, &format!("{SHOP}/tokens/999999"), None).await.0, 404);
        let all = admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        let live = all.as_array().unwrap().iter().filter(|t| t["revoked_at"].is_null()).count();
        assert_eq!(live, 4, "ci, other-bot, bot, pager: {all}");

        // audited in shop's history, by pat and by the bot
        let audit = admin.ok(Method::GET, &format!("{SHOP}/audit?limit=100"), None, 200).await;
        let seen: Vec<(&str, &str)> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("token.")))
            .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
            .collect();
        let want = [("token.revoke", "pat"), ("token.create", "bot"), ("token.create", "pat"), ("token.create", "pat")];
        assert_eq!(seen, want, "newest first: {audit}");
        server
    })
    .await;
}

#[tokio::test]
async fn nobody_mints_a_project_token_wider_than_itself() {
    for_each_store(|server| async move {
        let (admin, pat) = setup(&server).await;
        let ed = user(&server, &admin, "ed", "viewer").await;
        admin.ok(Method::PUT, &format!("{SHOP}/members/ed"), Some(json!({"role": "editor"})), 200).await;
        let body = json!({"name": "shop-editor", "role": "editor", "project": "shop"});
        let shop_editor =
            Api::new(&server, Some(&secret(&admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await)));

        let ok = || json!({"name": "t", "role": "viewer"});
        let attempts: Vec<(&str, &Api, String, Value, u16)> = vec![
            ("a project admin, in a project it is a viewer of", &pat, format!("{OTHER}/tokens"), ok(), 403),
            (
                "a project admin, naming another project in the body",
                &pat,
                format!("{SHOP}/tokens"),
                json!({"name": "t", "role": "viewer", "project": "other"}),
                422,
            ),
            (
                "a project admin, an unknown role",
                &pat,
                format!("{SHOP}/tokens"),
                json!({"name": "t", "role": "owner"}),
                422,
            ),
            (
                "a project admin, an empty name",
                &pat,
                format!("{SHOP}/tokens"),
                json!({"name": " ", "role": "viewer"}),
                422,
            ),
            ("a project admin, an unscoped token", &pat, "/api/v1/tokens".into(), ok(), 403),
            (
                "a project admin, through the global route",
                &pat,
                "/api/v1/tokens".into(),
                json!({"name": "t", "role": "viewer", "project": "shop"}),
                403,
            ),
            ("an editor member", &ed, format!("{SHOP}/tokens"), ok(), 403),
            ("an editor token of the project", &shop_editor, format!("{SHOP}/tokens"), ok(), 403),
            ("an editor token, another project", &shop_editor, format!("{OTHER}/tokens"), ok(), 404),
            ("an unknown project", &pat, "/api/v1/projects/none/tokens".into(), ok(), 403),
        ];
        for (what, api, path, body, want) in attempts {
            let (status, problem) = api.post(&path, body).await;
            assert_eq!(status.as_u16(), want, "{what}: POST {path} → {problem}");
        }
        assert_eq!(pat.get(&format!("{OTHER}/tokens")).await.0, 403, "another project's list");
        assert_eq!(ed.get(&format!("{SHOP}/tokens")).await.0, 403, "an editor's list");
        // nothing was minted but the admin's own editor token
        let all = admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
        server
    })
    .await;
}
