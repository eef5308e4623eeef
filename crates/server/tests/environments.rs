//! Issue 19 §6 over real HTTP, on SQLite and Postgres: a new project's
//! environments (listed in the body, else the server's
//! `SWITCHYARD_DEFAULT_ENVIRONMENTS`, else none), each environment's colour
//! and position (validated, edited by admins only, audited, no revision),
//! lists ordered by position; misspelt fields refused.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store};

const SHOP: &str = "/api/v1/projects/shop";

fn keys(envs: &Value) -> Vec<&str> {
    envs.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect()
}

fn field_error(status: reqwest::StatusCode, problem: &Value, path: &str, code: &str) {
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], path, "{problem}");
    assert_eq!(problem["errors"][0]["code"], code, "{problem}");
}

async fn token(admin: &Api, role: &str, project: &str) -> String {
    let body = json!({"name": format!("{role}-{project}"), "role": role, "project": project});
    admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_new_project_gets_the_environments_it_lists_in_order_with_colours() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        let body = json!({"key": "shop", "environments": ["development", "staging", "production", "perf"]});
        admin.ok(Method::POST, "/api/v1/projects", Some(body), 201).await;
        let envs = admin.ok(Method::GET, &format!("{SHOP}/environments"), None, 200).await;
        assert_eq!(keys(&envs), ["development", "staging", "production", "perf"], "{envs}");
        let colors: Vec<&Value> = envs.as_array().unwrap().iter().map(|e| &e["color"]).collect();
        assert_eq!(colors, [&json!("#2e7d32"), &json!("#ef6c00"), &json!("#c62828"), &Value::Null]);
        assert_eq!(envs[2]["position"], 2);
        assert_eq!(envs[2]["revision"], 1);
        // each creation audited, in the project's log
        let audit = admin.ok(Method::GET, &format!("{SHOP}/audit?limit=20"), None, 200).await;
        let creates = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "environment.create").count();
        assert_eq!(creates, 4, "{audit}");
        // a flag created afterwards is configured in every one
        let flag = json!({"key": "checkout", "kind": "boolean"});
        admin.ok(Method::POST, &format!("{SHOP}/flags"), Some(flag), 201).await;
        admin.ok(Method::GET, &format!("{SHOP}/environments/perf/flags/checkout"), None, 200).await;

        // `[]` and absent (no server default): none; an environment added later goes last
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "bare", "environments": []})), 201).await;
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "plain"})), 201).await;
        for p in ["bare", "plain"] {
            assert_eq!(
                admin.ok(Method::GET, &format!("/api/v1/projects/{p}/environments"), None, 200).await,
                json!([])
            );
        }
        let env = admin.ok(Method::POST, &format!("{SHOP}/environments"), Some(json!({"key": "qa2"})), 201).await;
        assert_eq!(env["position"], 4, "{env}");

        // refused before anything is written: bad key, duplicate, misspelt field
        let cases = [
            (json!({"key": "p1", "environments": ["dev", "Not A Key"]}), "environments[1]", "invalid_key"),
            (json!({"key": "p2", "environments": ["dev", "dev"]}), "environments[1]", "duplicate_environment"),
        ];
        for (body, path, code) in cases {
            let (status, problem) = admin.post("/api/v1/projects", body).await;
            field_error(status, &problem, path, code);
        }
        let (status, problem) = admin.post("/api/v1/projects", json!({"key": "p3", "enviroments": ["dev"]})).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem.to_string().contains("enviroments"), "{problem}");
        for p in ["p1", "p2", "p3"] {
            assert_eq!(admin.get(&format!("/api/v1/projects/{p}")).await.0, 404, "{p} was not created");
        }
        server
    })
    .await;
}

#[tokio::test]
async fn the_servers_default_environments_apply_when_the_body_names_none() {
    for db in TestDb::all().await {
        let mut config = ServeConfig::for_tests(db.url());
        config.default_environments = vec!["dev".into(), "".into(), "prod".into()];
        let server = TestServer::start_with(config).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
        let envs = admin.ok(Method::GET, &format!("{SHOP}/environments"), None, 200).await;
        assert_eq!(keys(&envs), ["dev", "prod"], "{}: {envs}", db.label());
        assert_eq!(envs[1]["color"], "#c62828");
        let body = json!({"key": "solo", "environments": ["only"]});
        admin.ok(Method::POST, "/api/v1/projects", Some(body), 201).await;
        let envs = admin.ok(Method::GET, "/api/v1/projects/solo/environments", None, 200).await;
        assert_eq!(keys(&envs), ["only"], "the body wins: {envs}");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn admins_colour_and_order_environments_and_nothing_else_changes() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        let body = json!({"key": "shop", "environments": ["development", "staging", "production"]});
        admin.ok(Method::POST, "/api/v1/projects", Some(body), 201).await;
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "other", "environments": ["prod"]})), 201).await;
        let prod = format!("{SHOP}/environments/production");
        let before = admin.ok(Method::GET, &prod, None, 200).await;

        // production first, a custom colour (stored lower case), a new name
        let patch = json!({"position": 0, "color": "#AA0000", "name": "Production (EU)"});
        let after = admin.ok(Method::PATCH, &prod, Some(patch), 200).await;
        assert_eq!((after["color"].as_str(), after["name"].as_str()), (Some("#aa0000"), Some("Production (EU)")));
        assert_eq!(after["revision"], before["revision"], "SDKs see none of it: no revision");
        admin.ok(Method::PATCH, &format!("{SHOP}/environments/development"), Some(json!({"position": 5})), 200).await;
        let envs = admin.ok(Method::GET, &format!("{SHOP}/environments"), None, 200).await;
        assert_eq!(keys(&envs), ["production", "staging", "development"], "{envs}");
        // null removes the colour; absent keeps it
        let cleared = admin.ok(Method::PATCH, &prod, Some(json!({"color": null})), 200).await;
        assert_eq!(cleared["color"], Value::Null);
        assert_eq!(cleared["name"], "Production (EU)");

        // audited with before and after
        let audit = admin.ok(Method::GET, &format!("{SHOP}/audit?limit=5"), None, 200).await;
        let update = &audit["items"][1];
        assert_eq!(update["action"], "environment.update", "{audit}");
        assert_eq!(update["environment"], "development");
        let first = audit["items"].as_array().unwrap().iter().rev().find(|e| e["action"] == "environment.update");
        let first = first.unwrap();
        assert_eq!((first["before"]["position"].clone(), first["after"]["position"].clone()), (json!(2), json!(0)));
        assert_eq!(first["after"]["color"], "#aa0000");

        // refused: a bad colour, a misspelt field, a negative position; nothing written
        for (patch, path, code) in [
            (json!({"color": "red"}), "color", "invalid_color"),
            (json!({"color": "#12345g"}), "color", "invalid_color"),
            (json!({"color": "#1234567"}), "color", "invalid_color"),
        ] {
            let (status, problem) = admin.call(Method::PATCH, &prod, Some(patch)).await;
            field_error(status, &problem, path, code);
        }
        for patch in [json!({"colour": "#000000"}), json!({"position": -1}), json!({"position": "first"})] {
            let (status, problem) = admin.call(Method::PATCH, &prod, Some(patch)).await;
            assert_eq!(status, 422, "{problem}");
        }
        assert_eq!(admin.ok(Method::GET, &prod, None, 200).await["color"], Value::Null);
        let (status, _) = admin.call(Method::PATCH, &format!("{SHOP}/environments/nope"), Some(json!({}))).await;
        assert_eq!(status, 404);

        // editors may not; another project's admin does not see it
        for (token, want) in
            [(token(&admin, "editor", "shop").await, 403), (token(&admin, "admin", "other").await, 404)]
        {
            let (status, problem) =
                Api::new(&server, Some(&token)).call(Method::PATCH, &prod, Some(json!({"position": 9}))).await;
            assert_eq!(status, want, "{problem}");
        }
        assert_eq!(admin.ok(Method::GET, &prod, None, 200).await["position"], 0);
        server
    })
    .await;
}
