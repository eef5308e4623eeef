//! Lifecycle of an environment (issue 19 part 4) over real sockets, on
//! SQLite and Postgres, with a real SDK: the archive's dry run says whether
//! the environment is in use (an SDK key used lately — recorded when the
//! key authenticates —, SDK instances connected); archiving one in use is
//! refused (409 `in_use`) unless forced; an archived environment is hidden
//! from the list and refuses ordinary writes but not kills, and its SDKs
//! are still served; it is restored from the archive; only an archived one
//! is deleted, with a reason; every step is audited; editors may not.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard::Context;
use switchyard_server::testing::{Api, for_each_store};

const P: &str = "/api/v1/projects/shop";

fn env_path(env: &str) -> String {
    format!("{P}/environments/{env}")
}

/// Project `shop` with `staging` (an SDK key) and `qa` (none), flag `checkout`.
async fn seed(api: &Api) -> String {
    api.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop", "environments": []})), 201).await;
    for env in ["staging", "qa"] {
        api.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": env})), 201).await;
    }
    api.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
    let key =
        api.ok(Method::POST, &format!("{}/sdk-keys", env_path("staging")), Some(json!({"name": "web"})), 201).await;
    key["secret"].as_str().unwrap().to_string()
}

async fn archive(api: &Api, env: &str, body: Value) -> (u16, Value) {
    let (status, body) = api.post(&format!("{}/archive", env_path(env)), body).await;
    (status.as_u16(), body)
}

fn keys(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_in_use_is_not_archived_unless_forced_and_only_an_archived_one_is_deleted() {
    for_each_store(|server| async move {
        let api = Api::new(&server, Some(&server.admin_token));
        let key = seed(&api).await;
        let client = switchyard::Client::builder(&key).base_url(server.base.as_str()).build().unwrap();
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();

        // The dry run of staging: its key was used (recorded off the request's path) and an SDK is connected.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let dry = loop {
            let (status, dry) = archive(&api, "staging", json!({})).await;
            assert_eq!(status, 200, "{dry}");
            if dry["keys_used"].as_array().is_some_and(|k| k.len() == 1) && dry["connected"] == 1 {
                break dry;
            }
            assert!(tokio::time::Instant::now() < deadline, "{dry}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            (dry["in_use"].as_bool(), dry["archived"].as_bool(), dry["days"].as_u64()),
            (Some(true), Some(false), Some(7))
        );
        assert!(dry["keys_used"][0]["last_used_at"].is_string(), "{dry}");
        let listed = api.ok(Method::GET, &format!("{}/sdk-keys", env_path("staging")), None, 200).await;
        assert!(listed[0]["last_used_at"].is_string(), "the key list shows it too: {listed}");

        // Refused: in use, no reason, a bad look-back; forced, archived.
        let (status, body) = archive(&api, "staging", json!({"confirm": true, "reason": "retire"})).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("in_use")), "{body}");
        let (status, body) = archive(&api, "qa", json!({"confirm": true})).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        let (status, body) = archive(&api, "qa", json!({"days": 0})).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("days")), "{body}");
        let (status, body) = archive(&api, "qa", json!({"confirm": true, "reason": "x", "forse": true})).await;
        assert_eq!(status, 422, "unknown fields are refused: {body}");
        let (status, body) =
            archive(&api, "staging", json!({"confirm": true, "force": true, "reason": "moved to qa"})).await;
        assert_eq!((status, body["archived"].as_bool()), (200, Some(true)), "{body}");
        assert!(body["environment"]["archived_at"].is_string(), "{body}");
        // Its SDKs are still served.
        assert!(!client.bool_value("checkout", &Context::new("u"), true));

        // qa is not in use: archived without force. Hidden from the list, shown in the archive.
        let (status, dry) = archive(&api, "qa", json!({"dry_run": true})).await;
        assert_eq!((status, dry["in_use"].as_bool(), dry["connected"].as_u64()), (200, Some(false), Some(0)), "{dry}");
        let (status, body) = archive(&api, "qa", json!({"confirm": true, "reason": "unused"})).await;
        assert_eq!((status, body["archived"].as_bool()), (200, Some(true)), "{body}");
        let envs = api.ok(Method::GET, &format!("{P}/environments"), None, 200).await;
        assert_eq!(keys(&envs), Vec::<&str>::new(), "{envs}");
        let archived = api.ok(Method::GET, &format!("{P}/environments?archived=true"), None, 200).await;
        assert_eq!(keys(&archived), ["staging", "qa"]);

        // Ordinary writes refused, kills not.
        let toggle = format!("{}/flags/checkout/toggle", env_path("qa"));
        let (status, body) = api.post(&toggle, json!({"on": true})).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("environment_archived")), "{body}");
        let kill = format!("{}/flags/checkout/kill", env_path("qa"));
        api.ok(Method::POST, &kill, Some(json!({"reason": "incident"})), 200).await;

        // Restore from the archive: writable again.
        api.ok(Method::POST, &format!("{}/unarchive", env_path("qa")), Some(json!({"reason": "back"})), 200).await;
        api.ok(Method::POST, &toggle, Some(json!({"on": true})), 200).await;
        assert_eq!(keys(&api.ok(Method::GET, &format!("{P}/environments"), None, 200).await), ["qa"]);

        // Delete: archived only, with a reason.
        let (status, body) = api.call(Method::DELETE, &format!("{}?reason=x", env_path("qa")), None).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_archived")), "{body}");
        let (status, body) = api.call(Method::DELETE, &env_path("staging"), None).await;
        assert_eq!((status.as_u16(), body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        api.ok(Method::DELETE, &format!("{}?reason=gone", env_path("staging")), None, 204).await;
        api.ok(Method::GET, &env_path("staging"), None, 404).await;
        let page = api.ok(Method::GET, &format!("{P}/audit?limit=100"), None, 200).await;
        let actions: Vec<(&str, Option<&str>, Option<&str>)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["action"].as_str().is_some_and(|a| a.starts_with("environment.") && a != "environment.create")
            })
            .map(|e| (e["action"].as_str().unwrap(), e["environment"].as_str(), e["reason"].as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("environment.delete", Some("staging"), Some("gone")),
                ("environment.unarchive", Some("qa"), Some("back")),
                ("environment.archive", Some("qa"), Some("unused")),
                ("environment.archive", Some("staging"), Some("moved to qa")),
            ]
        );
        let forced = page["items"].as_array().unwrap().iter().find(|e| e["reason"] == "moved to qa").unwrap();
        assert_eq!(forced["after"]["forced"], true, "{forced}");

        // Editors may not.
        let body = json!({"name": "ed", "role": "editor", "project": "shop"});
        let token = api.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await;
        let editor = Api::new(&server, token["secret"].as_str());
        let (status, _) = editor.post(&format!("{}/archive", env_path("qa")), json!({})).await;
        assert_eq!(status.as_u16(), 403);
        drop(client);
        server
    })
    .await;
}
