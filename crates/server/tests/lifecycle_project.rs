//! Lifecycle of a project (issue 19 part 4) over real sockets, on SQLite
//! and Postgres, with a real SDK: the archive's dry run says whether the
//! project is in use (any of its SDK keys used lately, SDK instances
//! connected to any of its environments); archiving one in use is refused
//! (409 `in_use`) unless forced; an archived project is hidden from the
//! project list (`?archived=true` lists it), its SDK keys are refused (the
//! connected SDK keeps its last flags and reports `Unauthorized`), ordinary
//! writes are refused (409 `project_archived`) but kills are written and
//! audited; it is restored from the archive (its keys work again); only an
//! archived project is deleted, with a reason; every step is audited; only
//! global admins may (a project's admins and admin tokens get 403).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard::{Context, Status};
use switchyard_server::testing::{Api, TestServer, for_each_store, login};

const P: &str = "/api/v1/projects/shop";

/// Projects `shop` (`production` with an SDK key, flag `checkout` on) and `keep`.
async fn seed(api: &Api) -> String {
    for key in ["shop", "keep"] {
        api.ok(Method::POST, "/api/v1/projects", Some(json!({"key": key, "environments": ["production"]})), 201).await;
    }
    api.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
    let toggle = format!("{P}/environments/production/flags/checkout/toggle");
    api.ok(Method::POST, &toggle, Some(json!({"on": true})), 200).await;
    let keys = format!("{P}/environments/production/sdk-keys");
    api.ok(Method::POST, &keys, Some(json!({"name": "web"})), 201).await["secret"].as_str().unwrap().to_string()
}

async fn archive(api: &Api, body: Value) -> (u16, Value) {
    let (status, body) = api.post(&format!("{P}/archive"), body).await;
    (status.as_u16(), body)
}

fn keys(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect()
}

async fn snapshot_status(server: &TestServer, key: &str) -> u16 {
    let http = reqwest::Client::new();
    http.get(server.url("/sdk/v1/snapshot")).bearer_auth(key).send().await.unwrap().status().as_u16()
}

/// A project admin (a global viewer admin of shop) and an admin token of shop.
async fn project_admins(server: &TestServer, api: &Api) -> [Api; 2] {
    let body = json!({"username": "pat", "password": "a-long-password", "role": "viewer"});
    api.ok(Method::POST, "/api/v1/users", Some(body), 201).await;
    api.ok(Method::PUT, &format!("{P}/members/pat"), Some(json!({"role": "admin"})), 200).await;
    let pat = Api::new(server, Some(&login(&server.base, "pat", "a-long-password").await));
    let body = json!({"name": "shop-admin", "role": "admin", "project": "shop"});
    let token = api.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await;
    [pat, Api::new(server, token["secret"].as_str())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_in_use_is_not_archived_unless_forced_and_only_an_archived_one_is_deleted() {
    for_each_store(|server| async move {
        let api = Api::new(&server, Some(&server.admin_token));
        let key = seed(&api).await;
        let client = switchyard::Client::builder(&key).base_url(server.base.as_str()).build().unwrap();
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        assert!(client.bool_value("checkout", &Context::new("u"), false));

        // The dry run: its key was used and an SDK is connected.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let dry = loop {
            let (status, dry) = archive(&api, json!({})).await;
            assert_eq!(status, 200, "{dry}");
            if dry["keys_used"].as_array().is_some_and(|k| k.len() == 1) && dry["connected"] == 1 {
                break dry;
            }
            assert!(tokio::time::Instant::now() < deadline, "{dry}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!((dry["in_use"].as_bool(), dry["archived"].as_bool()), (Some(true), Some(false)), "{dry}");
        assert!(dry["project"]["archived_at"].is_null(), "{dry}");

        // Only global admins: a project admin and an admin token of shop are refused, nothing written.
        for who in project_admins(&server, &api).await {
            for (method, path) in [
                (Method::POST, format!("{P}/archive")),
                (Method::POST, format!("{P}/unarchive")),
                (Method::DELETE, format!("{P}?reason=x")),
            ] {
                let (status, body) = who.call(method.clone(), &path, Some(json!({}))).await;
                assert_eq!(status, 403, "{method} {path}: {body}");
            }
        }

        // Refused: in use, no reason, a bad look-back, an unknown field; forced, archived.
        let (status, body) = archive(&api, json!({"confirm": true, "reason": "retire"})).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("in_use")), "{body}");
        let (status, body) = archive(&api, json!({"confirm": true, "force": true})).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        let (status, body) = archive(&api, json!({"days": 400})).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("days")), "{body}");
        let (status, body) = archive(&api, json!({"confirm": true, "reason": "x", "forse": true})).await;
        assert_eq!(status, 422, "{body}");
        assert!(api.ok(Method::GET, "/api/v1/projects?archived=true", None, 200).await.as_array().unwrap().is_empty());
        let (status, body) = archive(&api, json!({"confirm": true, "force": true, "reason": "shop closed"})).await;
        assert_eq!((status, body["archived"].as_bool()), (200, Some(true)), "{body}");
        assert!(body["project"]["archived_at"].is_string(), "{body}");
        let (status, again) = archive(&api, json!({"confirm": true, "force": true, "reason": "twice"})).await;
        assert_eq!((status, again["archived"].as_bool()), (200, Some(false)), "already archived: {again}");

        // Hidden from the list, shown in the archive.
        assert_eq!(keys(&api.ok(Method::GET, "/api/v1/projects", None, 200).await), ["keep"]);
        assert_eq!(keys(&api.ok(Method::GET, "/api/v1/projects?archived=true", None, 200).await), ["shop"]);

        // Its SDK key is refused; the connected SDK keeps its flags and says why it is not ready.
        assert_eq!(snapshot_status(&server, &key).await, 401);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while client.status() != Status::Unauthorized {
            assert!(tokio::time::Instant::now() < deadline, "status {:?}", client.status());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(client.bool_value("checkout", &Context::new("u"), false), "last known flags kept");

        // Ordinary writes refused; a kill is written and audited.
        let flag = format!("{P}/environments/production/flags/checkout");
        let (status, body) = api.post(&format!("{flag}/toggle"), json!({"on": false})).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("project_archived")), "{body}");
        api.ok(Method::POST, &format!("{flag}/kill"), Some(json!({"reason": "incident"})), 200).await;

        // Restore from the archive: listed, writable, its key works again.
        api.ok(Method::POST, &format!("{P}/unarchive"), Some(json!({"reason": "reopened"})), 200).await;
        assert_eq!(keys(&api.ok(Method::GET, "/api/v1/projects", None, 200).await), ["keep", "shop"]);
        assert_eq!(snapshot_status(&server, &key).await, 200);
        api.ok(Method::POST, &format!("{flag}/toggle"), Some(json!({"on": true})), 200).await;

        // Delete: archived only, with a reason.
        let (status, body) = api.call(Method::DELETE, &format!("{P}?reason=x"), None).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_archived")), "{body}");
        let (status, _) = archive(&api, json!({"confirm": true, "force": true, "reason": "for good"})).await;
        assert_eq!(status, 200);
        let (status, body) = api.call(Method::DELETE, P, None).await;
        assert_eq!((status.as_u16(), body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        let page = api.ok(Method::GET, &format!("{P}/audit?limit=100"), None, 200).await;
        api.ok(Method::DELETE, &format!("{P}?reason=gone"), None, 204).await;
        api.ok(Method::GET, P, None, 404).await;
        assert_eq!(snapshot_status(&server, &key).await, 401);
        assert!(api.ok(Method::GET, "/api/v1/projects?archived=true", None, 200).await.as_array().unwrap().is_empty());
        let tokens = api.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        assert!(tokens.as_array().unwrap().iter().all(|t| t["project"] != "shop"), "its tokens went with it: {tokens}");
        // The key is free again, with nothing of the old project.
        api.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop", "environments": []})), 201).await;
        api.ok(Method::GET, &format!("{P}/flags/checkout"), None, 404).await;

        let actions: Vec<(&str, Option<&str>)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["action"]
                    .as_str()
                    .is_some_and(|a| (a.starts_with("project.") && a != "project.create") || a == "flag.kill")
            })
            .map(|e| (e["action"].as_str().unwrap(), e["reason"].as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("project.archive", Some("for good")),
                ("project.unarchive", Some("reopened")),
                ("flag.kill", Some("incident")),
                ("project.archive", Some("shop closed")),
            ],
            "{page}"
        );
        let forced = page["items"].as_array().unwrap().iter().find(|e| e["reason"] == "shop closed").unwrap();
        assert_eq!(forced["after"]["forced"], true, "{forced}");
        drop(client);
        server
    })
    .await;
}
