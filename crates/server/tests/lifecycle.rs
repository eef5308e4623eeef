//! Lifecycle of a flag (issue 19 part 4) over real sockets, on SQLite and
//! Postgres, with a real SDK as the fleet: the archive's dry run shows, per
//! environment, when the flag was last evaluated (SDK telemetry) and the
//! connected instances evaluating it, and writes nothing; the confirmed
//! archive (reason required) takes the flag out of every SDK snapshot (a
//! connected SDK drops it, a new one never gets it), out of default lists
//! and tag selections, and refuses edits (409 `archived`) but never a kill;
//! a flag that others need as a prerequisite is not archived (409 naming
//! them); the restore from the archive brings it back as it was (a kill
//! made while archived included); only an archived flag is deleted, with a
//! reason; every step is audited.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard::Context;
use switchyard_server::testing::{Api, TestServer, for_each_store};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

/// Project `shop` (production, staging), flags `checkout` (on in
/// production), `banner` (tag `ui`) and `upsell` (needs `checkout` on in
/// production); an SDK key of production.
async fn seed(api: &Api) -> String {
    api.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    for env in ["production", "staging"] {
        api.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": env})), 201).await;
    }
    for (flag, tags) in [("checkout", json!([])), ("banner", json!(["ui"])), ("upsell", json!([]))] {
        let body = json!({"key": flag, "kind": "boolean", "tags": tags});
        api.ok(Method::POST, &format!("{P}/flags"), Some(body), 201).await;
    }
    api.ok(Method::POST, &format!("{PROD}/flags/checkout/toggle"), Some(json!({"on": true})), 200).await;
    let config = json!({"version": 1, "on": true, "off_variant": "off", "fallthrough": {"variant": "on"},
        "prerequisites": [{"flag": "checkout", "variant": "on"}]});
    api.ok(Method::PUT, &format!("{PROD}/flags/upsell"), Some(config), 200).await;
    let key = api.ok(Method::POST, &format!("{PROD}/sdk-keys"), Some(json!({"name": "fleet"})), 201).await;
    key["secret"].as_str().unwrap().to_string()
}

fn sdk(server: &TestServer, key: &str) -> switchyard::Client {
    switchyard::Client::builder(key)
        .base_url(server.base.as_str())
        .service_name("web")
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// Whether the SDK's snapshot holds `flag`.
fn holds(client: &switchyard::Client, flag: &str) -> bool {
    client.snapshot().is_some_and(|s| s.flag(flag).is_some())
}

/// Waits (≤ 10 s) until the SDK holds `flag` or not, as `want`.
async fn until_holds(client: &switchyard::Client, flag: &str, want: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while holds(client, flag) != want {
        assert!(tokio::time::Instant::now() < deadline, "the SDK should {}hold {flag}", if want { "" } else { "not " });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The dry run, until the fleet view and telemetry show the SDK (≤ 30 s).
async fn dry_run(api: &Api, flag: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = api.ok(Method::POST, &format!("{P}/flags/{flag}/archive"), Some(json!({})), 200).await;
        let prod = &answer["environments"][0];
        if prod["connected"] == 1 && prod["evaluating"] == 1 {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn keys(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect()
}

async fn revisions(api: &Api) -> (u64, u64) {
    let rev = |v: Value| v["revision"].as_u64().unwrap();
    (
        rev(api.ok(Method::GET, PROD, None, 200).await),
        rev(api.ok(Method::GET, &format!("{P}/environments/staging"), None, 200).await),
    )
}

/// The project's audit actions with their reasons, oldest first, of `flag`.
async fn audit(api: &Api, flag: &str) -> Vec<(String, Option<String>)> {
    let page = api.ok(Method::GET, &format!("{P}/audit?flag={flag}&limit=100"), None, 200).await;
    let mut out: Vec<(String, Option<String>)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["reason"].as_str().map(str::to_string)))
        .collect();
    out.reverse();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_flag_leaves_the_sdks_refuses_edits_not_kills_and_comes_back_as_it_was() {
    for_each_store(|server| async move {
        let api = Api::new(&server, Some(&server.admin_token));
        let key = seed(&api).await;
        let client = sdk(&server, &key);
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        let ctx = Context::new("user-1");
        assert!(client.bool_value("checkout", &ctx, false));
        assert!(!client.bool_value("banner", &ctx, true));
        client.flush().await.unwrap();

        // The dry run: last evaluated and who evaluates it, per environment; nothing written.
        let before = revisions(&api).await;
        let dry = dry_run(&api, "banner").await;
        assert_eq!((dry["archived"].as_bool(), dry["flag"]["archived_at"].as_str()), (Some(false), None), "{dry}");
        let (prod, staging) = (&dry["environments"][0], &dry["environments"][1]);
        assert_eq!(
            (prod["environment"].as_str(), staging["environment"].as_str()),
            (Some("production"), Some("staging"))
        );
        assert!(prod["last_evaluated"].is_string(), "{prod}");
        assert_eq!((staging["last_evaluated"].clone(), staging["connected"].as_u64()), (Value::Null, Some(0)));
        assert_eq!(prod["dependents"], json!([]));
        let dry = dry_run(&api, "checkout").await;
        assert_eq!(dry["environments"][0]["dependents"], json!(["upsell"]), "{dry}");
        assert_eq!(revisions(&api).await, before, "a dry run writes nothing");

        // Refusals: no reason, both modes, unknown field, a prerequisite of others, a viewer-less body.
        let archive = |flag: &str| format!("{P}/flags/{flag}/archive");
        let (status, body) = api.post(&archive("banner"), json!({"confirm": true})).await;
        assert_eq!((status.as_u16(), body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        let (status, body) =
            api.post(&archive("banner"), json!({"confirm": true, "dry_run": true, "reason": "x"})).await;
        assert_eq!((status.as_u16(), body["errors"][0]["path"].as_str()), (422, Some("dry_run")), "{body}");
        let (status, body) = api.post(&archive("banner"), json!({"confirm": true, "reasn": "x"})).await;
        assert_eq!(status.as_u16(), 422, "{body}");
        let (status, body) = api.post(&archive("checkout"), json!({"confirm": true, "reason": "gone"})).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("prerequisite_in_use")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("upsell"), "{body}");
        let (status, body) = api.post(&archive("nope"), json!({"confirm": true, "reason": "x"})).await;
        assert_eq!(status.as_u16(), 404, "{body}");
        assert_eq!(revisions(&api).await, before, "refusals write nothing");

        // Archive: one revision per environment; the SDK drops it, a new one never gets it.
        let done =
            api.ok(Method::POST, &archive("banner"), Some(json!({"confirm": true, "reason": "shipped"})), 200).await;
        assert_eq!(done["archived"], true, "{done}");
        assert!(done["flag"]["archived_at"].is_string(), "{done}");
        assert_eq!(revisions(&api).await, (before.0 + 1, before.1 + 1));
        until_holds(&client, "banner", false).await;
        assert!(holds(&client, "checkout"));
        let fresh = sdk(&server, &key);
        fresh.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        assert!(!holds(&fresh, "banner") && holds(&fresh, "checkout"));
        let again =
            api.ok(Method::POST, &archive("banner"), Some(json!({"confirm": true, "reason": "again"})), 200).await;
        assert_eq!((again["archived"].as_bool(), revisions(&api).await.0), (Some(false), before.0 + 1), "idempotent");

        // Lists and tags: hidden by default, shown with ?archived=true; a panic by tag leaves it out.
        assert_eq!(keys(&api.ok(Method::GET, &format!("{P}/flags"), None, 200).await), ["checkout", "upsell"]);
        assert_eq!(keys(&api.ok(Method::GET, &format!("{P}/flags?archived=true"), None, 200).await), ["banner"]);
        let (status, body) = api.post(&format!("{PROD}/kill"), json!({"tag": "ui", "reason": "x"})).await;
        assert_eq!(status.as_u16(), 422, "no flag left with the tag: {body}");
        let got = api.ok(Method::GET, &format!("{P}/flags/banner"), None, 200).await;
        assert!(got["archived_at"].is_string(), "{got}");

        // Edits are refused (409 archived); a kill is not: written, audited, not sent to SDKs.
        let (status, body) = api.post(&format!("{PROD}/flags/banner/toggle"), json!({"on": true})).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("archived")), "{body}");
        let config = json!({"version": 1, "on": true, "off_variant": "off", "fallthrough": {"variant": "on"}});
        let (status, body) = api.put(&format!("{PROD}/flags/banner"), config).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("archived")), "{body}");
        let (status, body) = api.call(Method::PATCH, &format!("{P}/flags/banner"), Some(json!({"name": "B"}))).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("archived")), "{body}");
        let prereq = json!({"version": 2, "on": true, "off_variant": "off", "fallthrough": {"variant": "on"},
            "prerequisites": [{"flag": "banner", "variant": "on"}]});
        let (status, body) = api.put(&format!("{PROD}/flags/upsell"), prereq).await;
        assert_eq!(status.as_u16(), 422, "an archived flag is no prerequisite: {body}");
        let killed =
            api.ok(Method::POST, &format!("{PROD}/flags/banner/kill"), Some(json!({"reason": "bad"})), 200).await;
        assert_eq!(killed["changed"], true, "{killed}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!holds(&client, "banner"), "the kill of an archived flag is not sent to SDKs");

        // Delete: only archived, reason required.
        let (status, body) = api.call(Method::DELETE, &format!("{P}/flags/checkout?reason=x"), None).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("not_archived")), "{body}");
        let (status, body) = api.call(Method::DELETE, &format!("{P}/flags/banner"), None).await;
        assert_eq!((status.as_u16(), body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");

        // Restore from the archive: back in every SDK, killed as it was left.
        let back = api
            .ok(Method::POST, &format!("{P}/flags/banner/unarchive"), Some(json!({"reason": "still needed"})), 200)
            .await;
        assert_eq!(back.get("archived_at"), None, "{back}");
        until_holds(&client, "banner", true).await;
        let detail = client.bool_detail("banner", &ctx, true);
        assert!(!detail.value, "restored killed: serves its off variant ({detail:?})");
        assert_eq!(
            keys(&api.ok(Method::GET, &format!("{P}/flags"), None, 200).await),
            ["banner", "checkout", "upsell"]
        );
        api.ok(Method::POST, &format!("{PROD}/flags/banner/toggle"), Some(json!({"on": true})), 200).await;

        // Archive again, then delete with a reason: gone.
        api.ok(Method::POST, &archive("banner"), Some(json!({"confirm": true, "reason": "done"})), 200).await;
        api.ok(Method::DELETE, &format!("{P}/flags/banner?reason=cleanup"), None, 204).await;
        api.ok(Method::GET, &format!("{P}/flags/banner"), None, 404).await;
        let actions = audit(&api, "banner").await;
        let lifecycle: Vec<(&str, Option<&str>)> = actions
            .iter()
            .filter(|(a, _)| matches!(a.as_str(), "flag.archive" | "flag.unarchive" | "flag.delete" | "flag.kill"))
            .map(|(a, r)| (a.as_str(), r.as_deref()))
            .collect();
        assert_eq!(
            lifecycle,
            [
                ("flag.archive", Some("shipped")),
                ("flag.kill", Some("bad")),
                ("flag.unarchive", Some("still needed")),
                ("flag.archive", Some("done")),
                ("flag.delete", Some("cleanup")),
            ]
        );
        drop((client, fresh));
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_whose_prerequisite_is_archived_is_not_restored_and_editors_may_not_archive() {
    for_each_store(|server| async move {
        let api = Api::new(&server, Some(&server.admin_token));
        seed(&api).await;
        let archive = |flag: &str| format!("{P}/flags/{flag}/archive");
        // Archive the dependant first, then its prerequisite: allowed.
        api.ok(Method::POST, &archive("upsell"), Some(json!({"confirm": true, "reason": "x"})), 200).await;
        api.ok(Method::POST, &archive("checkout"), Some(json!({"confirm": true, "reason": "x"})), 200).await;
        let (status, body) = api.post(&format!("{P}/flags/upsell/unarchive"), json!({})).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("prerequisite_archived")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("checkout"), "{body}");
        api.ok(Method::POST, &format!("{P}/flags/checkout/unarchive"), Some(json!({})), 200).await;
        api.ok(Method::POST, &format!("{P}/flags/upsell/unarchive"), Some(json!({})), 200).await;

        // Editors may edit flags but not archive, restore or delete them.
        let token = api
            .ok(Method::POST, "/api/v1/tokens", Some(json!({"name": "ed", "role": "editor", "project": "shop"})), 201)
            .await;
        let editor = Api::new(&server, token["secret"].as_str());
        let (status, _) = editor.post(&archive("banner"), json!({})).await;
        assert_eq!(status.as_u16(), 403);
        let (status, _) = editor.post(&format!("{P}/flags/banner/unarchive"), json!({})).await;
        assert_eq!(status.as_u16(), 403);
        let (status, _) = editor.call(Method::DELETE, &format!("{P}/flags/banner?reason=x"), None).await;
        assert_eq!(status.as_u16(), 403);
        server
    })
    .await;
}
