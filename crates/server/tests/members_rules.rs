//! Who may name and depose whom in a project's members (issue 19 §5), over
//! real HTTP on SQLite and Postgres:
//! - a project admin cannot tell an unknown user name from a user it may
//!   not see: `PUT`/`DELETE …/members/{user}` answer both with the same 404
//!   body (a user it can see — a member of a project it administers — is
//!   added);
//! - only a global admin demotes or removes an admin of the project; a
//!   project admin (user or admin token) is refused 403 and nothing is
//!   written; a project admin may step down while another admin remains,
//!   never as the last one (409 `last_admin`).

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestServer, for_each_store, login};

const SHOP: &str = "/api/v1/projects/shop";
const PASSWORD: &str = "a-long-password";

async fn user(server: &TestServer, admin: &Api, name: &str, role: &str) -> Api {
    let body = json!({"username": name, "password": PASSWORD, "role": role});
    admin.ok(Method::POST, "/api/v1/users", Some(body), 201).await;
    Api::new(server, Some(&login(&server.base, name, PASSWORD).await))
}

async fn seed(admin: &Api, projects: &[&str]) {
    for p in projects {
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": p, "environments": ["production"]})), 201).await;
    }
}

async fn grant(admin: &Api, project: &str, name: &str, role: &str) {
    let path = format!("/api/v1/projects/{project}/members/{name}");
    admin.ok(Method::PUT, &path, Some(json!({"role": role})), 200).await;
}

async fn members(admin: &Api, project: &str) -> Vec<(String, String)> {
    let list = admin.ok(Method::GET, &format!("/api/v1/projects/{project}/members"), None, 200).await;
    let items = list.as_array().unwrap().iter();
    items.map(|m| (m["username"].as_str().unwrap().into(), m["role"].as_str().unwrap().into())).collect()
}

/// The answer with the user name taken out of it.
fn anonymous((status, body): (reqwest::StatusCode, Value), name: &str) -> (u16, String) {
    (status.as_u16(), body.to_string().replace(name, "NAME"))
}

#[tokio::test]
async fn a_project_admin_cannot_tell_unknown_users_from_users_it_cannot_see() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin, &["shop", "other", "third"]).await;
        let pat = user(&server, &admin, "pat", "viewer").await;
        user(&server, &admin, "stranger", "viewer").await; // a member of nothing
        user(&server, &admin, "elsewhere", "viewer").await; // a member of a project pat does not administer
        user(&server, &admin, "colleague", "viewer").await; // a member of a project pat administers
        grant(&admin, "shop", "pat", "admin").await;
        grant(&admin, "other", "pat", "admin").await;
        grant(&admin, "other", "colleague", "viewer").await;
        grant(&admin, "third", "elsewhere", "editor").await;

        for (method, body) in [(Method::PUT, Some(json!({"role": "viewer"}))), (Method::DELETE, None)] {
            let unknown =
                anonymous(pat.call(method.clone(), &format!("{SHOP}/members/nobody"), body.clone()).await, "nobody");
            assert_eq!(unknown.0, 404, "{method} unknown: {unknown:?}");
            for name in ["stranger", "elsewhere"] {
                let known =
                    anonymous(pat.call(method.clone(), &format!("{SHOP}/members/{name}"), body.clone()).await, name);
                assert_eq!(known, unknown, "{method} {name}: the same answer as an unknown user");
            }
        }
        // an admin token of shop sees shop's members only
        let body = json!({"name": "shop-admin", "role": "admin", "project": "shop"});
        let secret =
            admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].as_str().unwrap().to_string();
        let bot = Api::new(&server, Some(&secret));
        let unknown = anonymous(bot.put(&format!("{SHOP}/members/nobody"), json!({"role": "viewer"})).await, "nobody");
        let known =
            anonymous(bot.put(&format!("{SHOP}/members/colleague"), json!({"role": "viewer"})).await, "colleague");
        assert_eq!((unknown.0, &known), (404, &unknown), "a token: the same answer");
        assert_eq!(members(&admin, "shop").await, [("pat".to_string(), "admin".to_string())], "nothing written");

        // a member of another project pat administers: pat may add them
        pat.ok(Method::PUT, &format!("{SHOP}/members/colleague"), Some(json!({"role": "editor"})), 200).await;
        // a global admin still learns whether a user exists (it lists users anyway)
        assert_eq!(admin.put(&format!("{SHOP}/members/stranger"), json!({"role": "viewer"})).await.0, 200);
        assert_eq!(admin.put(&format!("{SHOP}/members/nobody"), json!({"role": "viewer"})).await.0, 404);
        // now that stranger is a member of shop, pat manages it
        pat.ok(Method::PUT, &format!("{SHOP}/members/stranger"), Some(json!({"role": "responder"})), 200).await;
        server
    })
    .await;
}

#[tokio::test]
async fn only_a_global_admin_deposes_a_project_admin() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin, &["shop"]).await;
        let pat = user(&server, &admin, "pat", "viewer").await;
        let ada = user(&server, &admin, "ada", "viewer").await;
        user(&server, &admin, "vic", "viewer").await;
        for name in ["pat", "ada"] {
            grant(&admin, "shop", name, "admin").await;
        }
        grant(&admin, "shop", "vic", "viewer").await;
        let body = json!({"name": "shop-admin", "role": "admin", "project": "shop"});
        let secret =
            admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].as_str().unwrap().to_string();
        let bot = Api::new(&server, Some(&secret));

        let demote = || Some(json!({"role": "editor"}));
        for (who, api) in [("pat", &pat), ("an admin token of shop", &bot)] {
            for (method, body) in [(Method::PUT, demote()), (Method::DELETE, None)] {
                let (status, problem) = api.call(method.clone(), &format!("{SHOP}/members/ada"), body).await;
                assert_eq!(status, 403, "{who}: {method} ada → {problem}");
            }
        }
        let before = vec![
            ("ada".to_string(), "admin".to_string()),
            ("pat".into(), "admin".into()),
            ("vic".into(), "viewer".into()),
        ];
        assert_eq!(members(&admin, "shop").await, before, "nothing written");
        // raising a member to admin, and re-granting admin, stay a project admin's to do
        pat.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "admin"})), 200).await;
        pat.ok(Method::PUT, &format!("{SHOP}/members/ada"), Some(json!({"role": "admin"})), 200).await;
        // …but vic, an admin now, is the global admin's to demote
        assert_eq!(pat.put(&format!("{SHOP}/members/vic"), json!({"role": "viewer"})).await.0, 403);
        admin.ok(Method::PUT, &format!("{SHOP}/members/vic"), Some(json!({"role": "viewer"})), 200).await;

        // pat steps down while ada remains; ada, the last admin member, cannot
        pat.ok(Method::DELETE, &format!("{SHOP}/members/pat"), None, 200).await;
        let (status, problem) = ada.call(Method::DELETE, &format!("{SHOP}/members/ada"), None).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (409, Some("last_admin")), "{problem}");
        // the global admin deposes ada
        admin.ok(Method::PUT, &format!("{SHOP}/members/ada"), demote(), 200).await;
        assert_eq!(
            members(&admin, "shop").await,
            [("ada".to_string(), "editor".to_string()), ("vic".into(), "viewer".into())]
        );

        let audit = admin.ok(Method::GET, &format!("{SHOP}/audit?limit=100"), None, 200).await;
        let events: Vec<(&str, &str, &str)> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("member.")))
            .map(|e| {
                let who = e["after"]["username"].as_str().or(e["before"]["username"].as_str()).unwrap();
                (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap(), who)
            })
            .take(5)
            .collect();
        let want = [
            ("member.set", "admin", "ada"),
            ("member.remove", "pat", "pat"),
            ("member.set", "admin", "vic"),
            ("member.set", "pat", "ada"),
            ("member.set", "pat", "vic"),
        ];
        assert_eq!(events, want, "newest first, refused ones absent: {audit}");
        server
    })
    .await;
}
