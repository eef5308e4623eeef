//! The shared evaluation vectors (`tests/vectors/evaluation.json`) through
//! the server, against SQLite and Postgres (both in CI): every case's flag,
//! segments and kill are written with the admin API, then
//! - the snapshot served to SDKs (`/sdk/v1/snapshot`) must evaluate every
//!   case exactly as the vectors say (typed, through core), which proves the
//!   store keeps salts, rules, targets, segments and kills intact, numbers
//!   included (Postgres `JSONB`);
//! - the "evaluate as" endpoint must give the expected value, variant and
//!   reason for every case that does not test a type mismatch (it is untyped).

use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde_json::json;
use switchyard_core::Snapshot;
use switchyard_core::vectors::{EVALUATION_VECTORS_PATH, VectorCase, VectorFile, json_eq, run_case};
use switchyard_server::testing::{Api, TestDb, TestServer};

/// Writes one case into project `project` (environment `prod`) and returns
/// an SDK key of that environment.
async fn seed(admin: &Api, project: &str, case: &VectorCase) -> String {
    let p = format!("/api/v1/projects/{project}");
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": project})), 201).await;
    admin.ok(Method::POST, &format!("{p}/environments"), Some(json!({"key": "prod"})), 201).await;
    for segment in &case.segments {
        let body = json!({"key": segment.key, "included": segment.included, "excluded": segment.excluded,
            "rules": segment.rules});
        admin.ok(Method::POST, &format!("{p}/segments"), Some(body), 201).await;
    }
    if let Some(flag) = &case.flag {
        let body = json!({"key": flag.key, "kind": flag.kind, "variants": flag.variants, "salt": flag.salt,
            "off_variant": flag.off_variant});
        admin.ok(Method::POST, &format!("{p}/flags"), Some(body), 201).await;
        let config = format!("{p}/environments/prod/flags/{}", flag.key);
        let current = admin.ok(Method::GET, &config, None, 200).await;
        let body = json!({"version": current["version"], "on": flag.on, "off_variant": flag.off_variant,
            "targets": flag.targets, "rules": flag.rules, "fallthrough": flag.fallthrough});
        admin.ok(Method::PUT, &config, Some(body), 200).await;
        if let Some(kill) = &flag.kill {
            admin.ok(Method::POST, &format!("{config}/kill"), Some(json!({"reason": kill.reason})), 200).await;
        }
    }
    let created =
        admin.ok(Method::POST, &format!("{p}/environments/prod/sdk-keys"), Some(json!({"name": "vectors"})), 201).await;
    created["secret"].as_str().expect("secret").to_string()
}

/// The case's key (its flag's, or `flag_key` for `FLAG_NOT_FOUND` cases).
fn key_of(case: &VectorCase) -> &str {
    case.flag_key.as_deref().or(case.flag.as_ref().map(|f| f.key.as_str())).expect("a case names a flag")
}

/// Runs `case` on what the server serves; returns a failure message.
async fn check(server: &TestServer, admin: &Api, project: &str, case: &VectorCase, sdk_key: &str) -> Vec<String> {
    let mut failures = Vec::new();
    // 1. The SDK snapshot, evaluated typed by core.
    let resp = reqwest::Client::new()
        .get(server.url("/sdk/v1/snapshot"))
        .bearer_auth(sdk_key)
        .send()
        .await
        .expect("snapshot request");
    assert_eq!(resp.status(), 200);
    let snapshot: Snapshot = resp.json().await.expect("snapshot json");
    assert_eq!(snapshot.flags.len(), usize::from(case.flag.is_some()), "{}", case.name);
    let served = VectorCase {
        flag: snapshot.flags.into_iter().next().map(|mut served| {
            // The kill's actor and time are the server's; what matters is that it is killed.
            if let (Some(k), Some(want)) = (served.kill.as_mut(), case.flag.as_ref().and_then(|f| f.kill.as_ref())) {
                k.clone_from(want);
            }
            served
        }),
        segments: snapshot.segments,
        ..case.clone()
    };
    if let Err(e) = run_case(&served) {
        failures.push(format!("{} (snapshot): {e}", case.name));
    }

    // 2. The untyped "evaluate as" endpoint.
    if case.expected.reason.code() != "ERROR" {
        let key = key_of(case);
        let body = json!({"context": case.context, "flags": [key]});
        let got = admin
            .ok(Method::POST, &format!("/api/v1/projects/{project}/environments/prod/evaluate"), Some(body), 200)
            .await;
        let got = &got["results"][key];
        let want_reason = serde_json::to_value(&case.expected.reason).expect("reason");
        let value_ok = case.expected.variant.is_none() || json_eq(&got["value"], &case.expected.value);
        if got["reason"] != want_reason || got["variant"] != json!(case.expected.variant) || !value_ok {
            failures.push(format!("{} (evaluate): got {got}, expected {:?}", case.name, case.expected));
        }
    }
    failures
}

#[tokio::test]
async fn the_server_serves_every_vector_exactly() {
    let file = VectorFile::from_json(&std::fs::read_to_string(EVALUATION_VECTORS_PATH).expect("vectors"))
        .expect("vectors parse");
    assert!(file.cases.len() > 250, "the vectors file lost cases");
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        // Eight cases at a time: each has its own project.
        let failures: Vec<String> = stream::iter(file.cases.iter().enumerate())
            .map(|(i, case)| {
                let (server, admin) = (&server, &admin);
                async move {
                    let project = format!("v{i}");
                    let sdk_key = seed(admin, &project, case).await;
                    check(server, admin, &project, case, &sdk_key).await
                }
            })
            .buffer_unordered(8)
            .flat_map(stream::iter)
            .collect()
            .await;
        assert!(
            failures.is_empty(),
            "{}: {} of {} cases failed:\n{}",
            db.label(),
            failures.len(),
            file.cases.len(),
            failures.join("\n")
        );
        server.stop().await;
        db.cleanup().await;
    }
}
