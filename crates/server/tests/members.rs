//! Per-project user roles (issue 19 §5) over real HTTP, on SQLite and
//! Postgres: a global viewer who is admin of `shop` is admin there and a
//! viewer elsewhere; a project admin manages `shop`'s members only, never
//! above its own role, never its own membership, never a global role or
//! another project (escalation attempts are 403/404/422 and write nothing);
//! membership changes apply to the very next request of a session issued
//! before them; every change is audited.

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

async fn seed(admin: &Api) {
    for p in ["shop", "other"] {
        let body = json!({"key": p, "environments": ["production"]});
        admin.ok(Method::POST, "/api/v1/projects", Some(body), 201).await;
    }
}

/// Creating a flag needs `editor` in the project.
async fn create_flag(api: &Api, project: &str, key: &str) -> u16 {
    let body = json!({"key": key, "kind": "boolean"});
    api.post(&format!("{project}/flags"), body).await.0.as_u16()
}

fn member_names(list: &Value) -> Vec<(String, String)> {
    let items = list.as_array().unwrap().iter();
    items.map(|m| (m["username"].as_str().unwrap().into(), m["role"].as_str().unwrap().into())).collect()
}

#[tokio::test]
async fn a_project_admin_is_admin_in_its_project_and_a_viewer_elsewhere() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let pat = user(&server, &admin, "pat", "viewer").await;
        let vic = user(&server, &admin, "vic", "viewer").await;
        assert_eq!(create_flag(&pat, SHOP, "before").await, 403, "a global viewer");

        let set = admin.ok(Method::PUT, &format!("{SHOP}/members/pat"), Some(json!({"role": "admin"})), 200).await;
        assert_eq!((set["role"].as_str(), set["global_role"].as_str()), (Some("admin"), Some("viewer")), "{set}");
        // the session issued before the grant is admin in shop at once, a viewer elsewhere
        assert_eq!(create_flag(&pat, SHOP, "checkout").await, 201);
        assert_eq!(create_flag(&pat, OTHER, "checkout").await, 403);
        let patch = json!({"color": "#aa0000"});
        assert_eq!(
            pat.call(Method::PATCH, &format!("{SHOP}/environments/production"), Some(patch.clone())).await.0,
            200
        );
        assert_eq!(pat.call(Method::PATCH, &format!("{OTHER}/environments/production"), Some(patch)).await.0, 403);
        assert_eq!(pat.get(&format!("{OTHER}/flags")).await.0, 200, "still reads everything, as a viewer");
        let me = pat.ok(Method::GET, "/api/v1/me", None, 200).await;
        assert_eq!(me["role"], "viewer");
        assert_eq!(me["memberships"], json!([{"project": "shop", "role": "admin"}]), "{me}");

        // pat manages shop's members: vic, a member (added by a global admin), becomes an editor there, and only there
        admin.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "viewer"})), 200).await;
        pat.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "editor"})), 200).await;
        assert_eq!(create_flag(&vic, SHOP, "search").await, 201);
        assert_eq!(create_flag(&vic, OTHER, "search").await, 403);
        let list = pat.ok(Method::GET, &format!("{SHOP}/members"), None, 200).await;
        assert_eq!(member_names(&list), [("pat".into(), "admin".into()), ("vic".into(), "editor".into())]);
        assert_eq!(vic.get(&format!("{SHOP}/members")).await.0, 403, "members are the admins' business");

        // a membership never lowers a global role: the higher one applies
        let ed = user(&server, &admin, "ed", "editor").await;
        admin.ok(Method::PUT, &format!("{SHOP}/members/ed"), Some(json!({"role": "viewer"})), 200).await;
        assert_eq!(create_flag(&ed, SHOP, "ed-flag").await, 201);

        // removal and demotion apply to the next request of the same sessions
        pat.ok(Method::DELETE, &format!("{SHOP}/members/vic"), None, 200).await;
        assert_eq!(create_flag(&vic, SHOP, "after-removal").await, 403);
        admin.ok(Method::PUT, &format!("{SHOP}/members/pat"), Some(json!({"role": "editor"})), 200).await;
        let (status, _) = pat.put(&format!("{SHOP}/members/vic"), json!({"role": "viewer"})).await;
        assert_eq!(status, 403, "demoted: no longer an admin of shop");
        assert_eq!(create_flag(&pat, SHOP, "as-editor").await, 201);

        // audited, with who did it and the membership before and after
        let audit = admin.ok(Method::GET, &format!("{SHOP}/audit?limit=100"), None, 200).await;
        let events: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("member.")))
            .collect();
        let seen: Vec<(&str, &str)> =
            events.iter().map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap())).collect();
        assert_eq!(
            seen,
            [
                ("member.set", "admin"),
                ("member.remove", "pat"),
                ("member.set", "admin"),
                ("member.set", "pat"),
                ("member.set", "admin"),
                ("member.set", "admin")
            ],
            "newest first: {audit}"
        );
        assert_eq!(events[0]["before"]["role"], "admin");
        assert_eq!(events[0]["after"]["role"], "editor");
        assert_eq!(events[1]["before"]["username"], "vic");
        let other = admin.ok(Method::GET, &format!("{OTHER}/audit?limit=100"), None, 200).await;
        assert!(!other.to_string().contains("member."), "another project's log: {other}");
        server
    })
    .await;
}

#[tokio::test]
async fn a_project_admin_cannot_grant_anything_wider_than_itself() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let pat = user(&server, &admin, "pat", "viewer").await;
        user(&server, &admin, "vic", "viewer").await;
        admin.ok(Method::PUT, &format!("{SHOP}/members/pat"), Some(json!({"role": "admin"})), 200).await;

        let attempts: Vec<(&str, Method, String, Option<Value>, u16)> = vec![
            (
                "admin of another project",
                Method::PUT,
                format!("{OTHER}/members/vic"),
                Some(json!({"role": "admin"})),
                403,
            ),
            (
                "itself admin of another project",
                Method::PUT,
                format!("{OTHER}/members/pat"),
                Some(json!({"role": "admin"})),
                403,
            ),
            (
                "widen its own membership",
                Method::PUT,
                format!("{SHOP}/members/pat"),
                Some(json!({"role": "admin"})),
                403,
            ),
            ("remove itself, the last admin", Method::DELETE, format!("{SHOP}/members/pat"), None, 409),
            (
                "a global role in the body",
                Method::PUT,
                format!("{SHOP}/members/vic"),
                Some(json!({"role": "admin", "global": true})),
                422,
            ),
            (
                "another project in the body",
                Method::PUT,
                format!("{SHOP}/members/vic"),
                Some(json!({"role": "admin", "project": "other"})),
                422,
            ),
            (
                "a role that does not exist",
                Method::PUT,
                format!("{SHOP}/members/vic"),
                Some(json!({"role": "owner"})),
                422,
            ),
            (
                "a global admin user",
                Method::POST,
                "/api/v1/users".into(),
                Some(json!({"username": "eve", "password": PASSWORD, "role": "admin"})),
                403,
            ),
            (
                "an unscoped admin token",
                Method::POST,
                "/api/v1/tokens".into(),
                Some(json!({"name": "t", "role": "admin"})),
                403,
            ),
            (
                "an admin token of its project",
                Method::POST,
                "/api/v1/tokens".into(),
                Some(json!({"name": "t", "role": "admin", "project": "shop"})),
                403,
            ),
            (
                "another user's password",
                Method::POST,
                "/api/v1/users/vic/password".into(),
                Some(json!({"password": "another-long-password"})),
                403,
            ),
            ("a new project", Method::POST, "/api/v1/projects".into(), Some(json!({"key": "mine"})), 403),
            ("the user list", Method::GET, "/api/v1/users".into(), None, 403),
        ];
        for (what, method, path, body, want) in attempts {
            let (status, problem) = pat.call(method.clone(), &path, body).await;
            assert_eq!(status.as_u16(), want, "{what}: {method} {path} → {problem}");
        }
        // nothing was written: memberships, users, tokens as they were
        assert_eq!(member_names(&admin.ok(Method::GET, &format!("{OTHER}/members"), None, 200).await), []);
        let shop = admin.ok(Method::GET, &format!("{SHOP}/members"), None, 200).await;
        assert_eq!(member_names(&shop), [("pat".to_string(), "admin".to_string())]);
        let users = admin.ok(Method::GET, "/api/v1/users", None, 200).await;
        assert!(users.as_array().unwrap().iter().all(|u| u["username"] != "eve"), "{users}");
        assert_eq!(admin.ok(Method::GET, "/api/v1/tokens", None, 200).await, json!([]));

        // a project's admin token: its project's members, nothing outside
        admin.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "viewer"})), 200).await;
        let body = json!({"name": "shop-admin", "role": "admin", "project": "shop"});
        let token =
            admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].as_str().unwrap().to_string();
        let bot = Api::new(&server, Some(&token));
        bot.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "admin"})), 200).await;
        assert_eq!(bot.put(&format!("{OTHER}/members/vic"), json!({"role": "viewer"})).await.0, 404);
        // an editor token of shop: not an admin there
        let body = json!({"name": "shop-editor", "role": "editor", "project": "shop"});
        let token =
            admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].as_str().unwrap().to_string();
        assert_eq!(
            Api::new(&server, Some(&token)).put(&format!("{SHOP}/members/vic"), json!({"role": "viewer"})).await.0,
            403
        );

        // unknown user, unknown membership, unknown project: 404
        for (method, path, body) in [
            (Method::PUT, format!("{SHOP}/members/nobody"), Some(json!({"role": "viewer"}))),
            (Method::DELETE, format!("{SHOP}/members/nobody"), None),
            (Method::DELETE, format!("{OTHER}/members/vic"), None),
            (Method::PUT, "/api/v1/projects/none/members/vic".to_string(), Some(json!({"role": "viewer"}))),
        ] {
            let (status, problem) = admin.call(method.clone(), &path, body).await;
            assert_eq!(status, 404, "{method} {path} → {problem}");
        }
        // a global admin may change its own membership (harmless: it is admin everywhere)
        admin.ok(Method::PUT, &format!("{SHOP}/members/admin"), Some(json!({"role": "viewer"})), 200).await;
        admin.ok(Method::DELETE, &format!("{SHOP}/members/admin"), None, 200).await;
        server
    })
    .await;
}
