//! Misspelt fields are refused, not silently dropped, on every admin
//! request body (a new-user review: a flag created with `"descripton"` got
//! 201 and no description; a rule sent with `"clause"` instead of
//! `"clauses"` had no clause, so it matched everyone). 422 problem+json,
//! code `unknown_field` with the field's path in `errors[].path`, at any
//! depth, and nothing written. Tokens, users and toggles were refused
//! before (`accounts::misspelt_fields_are_refused_not_ignored`); the SDK's
//! wire bodies still ignore unknown fields (`telemetry.rs`: forward
//! compatible). Real server, real sockets, SQLite and Postgres.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, for_each_store};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn audit_len(admin: &Api) -> usize {
    admin.ok(Method::GET, &format!("{P}/audit?limit=1000"), None, 200).await["items"].as_array().unwrap().len()
}

/// The configuration of `checkout` in production as a PUT body, with `edit` applied.
async fn config_body(admin: &Api, edit: impl FnOnce(&mut Value)) -> Value {
    let record = admin.ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200).await;
    let mut body = record["config"].clone();
    body["version"] = record["version"].clone();
    edit(&mut body);
    body
}

#[tokio::test]
async fn a_misspelt_field_is_refused_on_every_admin_body() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
        admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
        admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
        let segment = admin.ok(Method::POST, &format!("{P}/segments"), Some(json!({"key": "beta"})), 201).await;
        let before = audit_len(&admin).await;

        let clause = json!([{"attribute": "country", "op": "in", "values": ["SE"]}]);
        let misspelt_rule = json!([{"id": "r1", "clause": clause, "serve": {"variant": "on"}}]);
        let put_rule = config_body(&admin, |c| c["rules"] = misspelt_rule.clone()).await;
        let put_top = config_body(&admin, |c| c["fallthru"] = json!({"variant": "on"})).await;
        let mut change = config_body(&admin, |c| c["offvariant"] = json!("off")).await;
        let version = change.as_object_mut().unwrap().remove("version").unwrap();
        let change_set =
            json!({"changes": [{"flag": "checkout", "version": version, "config": change}], "reason": "x"});
        let variants = json!([{"key": "on", "value": true, "nmae": "On"}, {"key": "off", "value": false}]);
        let cases: Vec<(Method, String, Value, &str)> = vec![
            (Method::POST, "/api/v1/projects".into(), json!({"key": "p2", "nmae": "x"}), "nmae"),
            (Method::POST, format!("{P}/environments"), json!({"key": "staging", "nmae": "x"}), "nmae"),
            (
                Method::POST,
                format!("{P}/flags"),
                json!({"key": "f2", "kind": "boolean", "descripton": "x"}),
                "descripton",
            ),
            (Method::PATCH, format!("{P}/flags/checkout"), json!({"nmae": "x"}), "nmae"),
            (Method::PATCH, format!("{P}/flags/checkout"), json!({"variants": variants}), "variants[0].nmae"),
            (Method::PUT, format!("{PROD}/flags/checkout"), put_top, "fallthru"),
            (Method::PUT, format!("{PROD}/flags/checkout"), put_rule, "rules[0].clause"),
            (Method::POST, format!("{PROD}/changes"), change_set, "changes[0].config.offvariant"),
            (Method::POST, format!("{PROD}/flags/checkout/toggle"), json!({"on": true, "reasn": "x"}), "reasn"),
            (
                Method::POST,
                format!("{PROD}/flags/checkout/kill"),
                json!({"reason": "x", "incident_id": "I-1"}),
                "incident_id",
            ),
            (Method::POST, format!("{PROD}/kill"), json!({"flags": ["checkout"], "reason": "x", "tags": "t"}), "tags"),
            (
                Method::DELETE,
                format!("{PROD}/flags/checkout/kill"),
                json!({"reason": "x", "incidnet": "I-1"}),
                "incidnet",
            ),
            (Method::POST, format!("{P}/segments"), json!({"key": "s2", "inculded": ["u1"]}), "inculded"),
            (
                Method::PUT,
                format!("{P}/segments/beta"),
                json!({"key": "beta", "version": segment["version"], "inculded": ["u1"]}),
                "inculded",
            ),
            (Method::POST, format!("{PROD}/sdk-keys"), json!({"name": "k", "rol": "x"}), "rol"),
            (Method::POST, format!("{P}/webhooks"), json!({"url": "https://example.com/h", "evnts": []}), "evnts"),
            (
                Method::POST,
                format!("{PROD}/flags/checkout/triggers"),
                json!({"name": "t", "action": "kill", "restore": true}),
                "restore",
            ),
            (Method::PUT, format!("{PROD}/approval-policy"), json!({"approvals": 1, "aprovers": "admin"}), "aprovers"),
            (Method::POST, format!("{PROD}/evaluate"), json!({"context": {"key": "u1"}, "flag": ["checkout"]}), "flag"),
            (Method::POST, "/api/v1/tokens".into(), json!({"name": "t", "role": "viewer", "projct": "shop"}), "projct"),
        ];
        for (method, path, body, field) in cases {
            let what = format!("{method} {path} with `{field}`");
            let (status, problem) = admin.call(method, &path, Some(body)).await;
            assert_eq!(status, 422, "{what}: {problem}");
            assert_eq!(problem["code"], "validation_failed", "{what}: {problem}");
            assert_eq!(problem["errors"][0]["code"], "unknown_field", "{what}: {problem}");
            assert_eq!(problem["errors"][0]["path"], field, "{what}: {problem}");
        }
        assert_eq!(audit_len(&admin).await, before, "a refused body wrote something");

        // Spelt right, the same bodies are taken: the rule has its clause.
        let rule = json!([{"id": "r1", "clauses": clause, "serve": {"variant": "on"}}]);
        let put = config_body(&admin, |c| c["rules"] = rule).await;
        let written = admin.ok(Method::PUT, &format!("{PROD}/flags/checkout"), Some(put), 200).await;
        assert_eq!(written["value"]["config"]["rules"][0]["clauses"][0]["values"], json!(["SE"]), "{written}");
        let toggle = json!({"on": true, "reason": "spelt right"});
        admin.ok(Method::POST, &format!("{PROD}/flags/checkout/toggle"), Some(toggle), 200).await;
        server
    })
    .await;
}
