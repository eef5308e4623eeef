//! A scheduled change and a change request can set every field an ordinary
//! configuration write (PUT) can — `off_variant`, `prerequisites` and the
//! fail-safe variant too — validated the same way when asked for (an
//! unknown variant or flag: 422 at its path under `change.`; a prerequisite
//! loop: 409 `prerequisite_cycle`, as for PUT) and again when applied (a
//! loop closed in between fails the change, nothing written).

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Api, FLAG, PROD, admin, call, in_secs, ok, seed, wait_state};
use switchyard_server::testing::for_each_store;

const GATE: &str = "/api/v1/projects/shop/environments/production/flags/gate";

/// Flag `gate` (boolean), beside `checkout`.
async fn gate(api: &Api) {
    ok(api, Method::POST, "/api/v1/projects/shop/flags", Some(json!({"key": "gate", "kind": "boolean"})), 201).await;
}

/// Makes `gate` need `checkout` serving `on` (a PUT).
async fn gate_needs_checkout(api: &Api) {
    let config = ok(api, Method::GET, GATE, None, 200).await;
    let mut put = config["config"].clone();
    put["version"] = config["version"].clone();
    put["prerequisites"] = json!([{"flag": "checkout", "variant": "on"}]);
    ok(api, Method::PUT, GATE, Some(put), 200).await;
}

fn every_field() -> Value {
    json!({"off_variant": "on", "prerequisites": [{"flag": "gate", "variant": "on"}], "fail_safe_variant": "off"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_changes_and_requests_carry_every_field_of_a_config_write() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        gate(&api).await;
        let body = json!({"at": in_secs(1), "change": every_field()});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        wait_state(&api, id, "applied").await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await["config"].clone();
        assert_eq!(config["off_variant"], "on", "{config}");
        assert_eq!(config["prerequisites"], json!([{"flag": "gate", "variant": "on"}]), "{config}");
        assert_eq!(config["fail_safe_variant"], "off", "{config}");

        // `null` removes the fail-safe; `[]` the prerequisites.
        let body = json!({"at": in_secs(1), "change": {"fail_safe_variant": null, "prerequisites": []}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        wait_state(&api, id, "applied").await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await["config"].clone();
        assert!(config.get("fail_safe_variant").is_none() && config.get("prerequisites").is_none(), "{config}");

        // A change request too: its diff names each field, then and after.
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"change": every_field(), "reason": "gate it"});
        let opened = ok(&api, Method::POST, &format!("{FLAG}/change-requests"), Some(body), 201).await;
        let fields: Vec<&str> = opened["diff"].as_array().unwrap().iter().filter_map(|d| d["field"].as_str()).collect();
        for field in ["off_variant", "prerequisites", "fail_safe_variant"] {
            assert!(fields.contains(&field), "{field} in {opened}");
        }
        let one = format!("{PROD}/change-requests/{}", opened["id"]);
        let body = json!({"name": "reviewer", "role": "editor"});
        let secret = ok(&api, Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].clone();
        let reviewer = switchyard_server::client::Client::new(&server.base).with_token(secret.as_str().unwrap());
        ok(&reviewer, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        ok(&api, Method::POST, &format!("{one}/apply"), Some(json!({})), 200).await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await["config"].clone();
        assert_eq!((config["off_variant"].as_str(), config["fail_safe_variant"].as_str()), (Some("on"), Some("off")));
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn they_are_validated_like_a_config_write_when_asked_for_and_when_applied() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        gate(&api).await;
        let bad = [
            (json!({"off_variant": "blue"}), 422, "change.off_variant"),
            (json!({"fail_safe_variant": "blue"}), 422, "change.fail_safe_variant"),
            (json!({"prerequisites": [{"flag": "nope", "variant": "on"}]}), 422, "change.prerequisites"),
        ];
        for (change, status, path) in bad {
            for route in ["schedule", "change-requests"] {
                let body = if route == "schedule" {
                    json!({"at": in_secs(60), "change": change})
                } else {
                    json!({"change": change})
                };
                let (got, problem) = call(&api, Method::POST, &format!("{FLAG}/{route}"), Some(body)).await;
                assert_eq!(got, status, "{route} {change} → {problem}");
                let paths: Vec<&str> =
                    problem["errors"].as_array().unwrap().iter().filter_map(|e| e["path"].as_str()).collect();
                assert!(paths.iter().any(|p| p.starts_with(path)), "{route} {change} → {problem}");
            }
        }
        // A loop is refused when asked for, as PUT refuses it.
        gate_needs_checkout(&api).await;
        let loops = json!({"prerequisites": [{"flag": "gate", "variant": "on"}]});
        for route in ["schedule", "change-requests"] {
            let body = json!({"at": in_secs(60), "change": loops.clone()});
            let body = if route == "schedule" { body } else { json!({"change": loops.clone()}) };
            let (got, problem) = call(&api, Method::POST, &format!("{FLAG}/{route}"), Some(body)).await;
            assert_eq!((got, problem["code"].as_str()), (409, Some("prerequisite_cycle")), "{route} → {problem}");
        }
        assert_eq!(ok(&api, Method::GET, &format!("{PROD}/scheduled"), None, 200).await, json!([]));

        // And when applied: a loop closed after the change was scheduled fails it.
        let config = ok(&api, Method::GET, GATE, None, 200).await;
        let mut put = config["config"].clone();
        put["version"] = config["version"].clone();
        put["prerequisites"] = json!([]);
        ok(&api, Method::PUT, GATE, Some(put), 200).await;
        let body = json!({"at": in_secs(3), "change": loops});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        gate_needs_checkout(&api).await;
        let failed = wait_state(&api, id, "failed").await;
        assert!(failed["result"].as_str().is_some_and(|r| r.contains("loop") || r.contains("cycle")), "{failed}");
        let config = ok(&api, Method::GET, FLAG, None, 200).await["config"].clone();
        assert!(config.get("prerequisites").is_none(), "nothing written: {config}");
        server
    })
    .await;
}
