//! The shared evaluation vectors (`tests/vectors/evaluation.json`) through
//! the server, against SQLite and Postgres (both in CI): every case's flag,
//! segments and kill are written with the admin API, then
//! - the snapshot served to SDKs (`/sdk/v1/snapshot`) must evaluate every
//!   case exactly as the vectors say (typed, through core), which proves the
//!   store keeps salts, rules, targets, segments and kills intact, numbers
//!   included (Postgres `JSONB`);
//! - the "evaluate as" endpoint must give the expected value, variant and
//!   reason for every case that does not test a type mismatch (it is untyped).

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde_json::json;
use switchyard_core::vectors::{EVALUATION_VECTORS_PATH, VectorCase, VectorFile, json_eq, run_case};
use switchyard_core::{Flag, Snapshot};
use switchyard_server::testing::{Api, TestDb, TestServer};

/// Writes one flag (definition, configuration, kill) into `p`. `Err` with
/// the refusal's code when the server refuses its configuration.
async fn seed_flag(admin: &Api, p: &str, flag: &Flag) -> Result<(), String> {
    let body = json!({"key": flag.key, "kind": flag.kind, "variants": flag.variants, "salt": flag.salt,
        "off_variant": flag.off_variant});
    admin.ok(Method::POST, &format!("{p}/flags"), Some(body), 201).await;
    let config = format!("{p}/environments/prod/flags/{}", flag.key);
    let current = admin.ok(Method::GET, &config, None, 200).await;
    let body = json!({"version": current["version"], "on": flag.on, "off_variant": flag.off_variant,
        "targets": flag.targets, "rules": flag.rules, "fallthrough": flag.fallthrough,
        "prerequisites": flag.prerequisites});
    let (status, answer) = admin.put(&config, body).await;
    if status != 200 {
        let code = answer["errors"][0]["code"].as_str().or(answer["code"].as_str()).unwrap_or_default();
        assert!(status == 409 || status == 422, "{status} {answer}");
        return Err(code.to_string());
    }
    if let Some(kill) = &flag.kill {
        admin.ok(Method::POST, &format!("{config}/kill"), Some(json!({"reason": kill.reason})), 200).await;
    }
    Ok(())
}

/// Writes one case into project `project` (environment `prod`) and returns
/// an SDK key of that environment, or the code of the server's refusal
/// (a case whose prerequisites the server would never let exist).
async fn seed(admin: &Api, project: &str, case: &VectorCase) -> Result<String, String> {
    let p = format!("/api/v1/projects/{project}");
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": project})), 201).await;
    admin.ok(Method::POST, &format!("{p}/environments"), Some(json!({"key": "prod"})), 201).await;
    for segment in &case.segments {
        let body = json!({"key": segment.key, "included": segment.included, "excluded": segment.excluded,
            "rules": segment.rules});
        admin.ok(Method::POST, &format!("{p}/segments"), Some(body), 201).await;
    }
    for flag in case.others.iter().chain(&case.flag) {
        seed_flag(admin, &p, flag).await?;
    }
    let created =
        admin.ok(Method::POST, &format!("{p}/environments/prod/sdk-keys"), Some(json!({"name": "vectors"})), 201).await;
    Ok(created["secret"].as_str().expect("secret").to_string())
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
    assert_eq!(snapshot.flags.len(), case.others.len() + usize::from(case.flag.is_some()), "{}", case.name);
    // The kill's actor and time are the server's; what matters is that it is killed.
    let written: Vec<&Flag> = case.others.iter().chain(&case.flag).collect();
    let mut flags = snapshot.flags;
    for served in &mut flags {
        let want = written.iter().find(|f| f.key == served.key).and_then(|f| f.kill.as_ref());
        if let (Some(k), Some(want)) = (served.kill.as_mut(), want) {
            k.clone_from(want);
        }
    }
    let flag_key = case.flag.as_ref().map(|f| f.key.as_str());
    let (flag, others): (Vec<Flag>, Vec<Flag>) = flags.into_iter().partition(|f| Some(f.key.as_str()) == flag_key);
    let served = VectorCase { flag: flag.into_iter().next(), others, segments: snapshot.segments, ..case.clone() };
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

/// Codes of a configuration refused for its prerequisites.
const REFUSED: [&str; 4] = ["unknown_flag", "unknown_variant", "prerequisite_cycle", "prerequisite_too_deep"];

#[tokio::test]
async fn the_server_serves_every_vector_exactly() {
    let file = VectorFile::from_json(&std::fs::read_to_string(EVALUATION_VECTORS_PATH).expect("vectors"))
        .expect("vectors parse");
    assert!(file.cases.len() > 250, "the vectors file lost cases");
    let refused = AtomicUsize::new(0);
    let refused = &refused;
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        // Eight cases at a time: each has its own project. A case the
        // server refuses to write (a prerequisite missing, a loop, a chain
        // too deep: the engine's fallbacks for data no writer makes) must
        // be refused for its prerequisites.
        let failures: Vec<String> = stream::iter(file.cases.iter().enumerate())
            .map(|(i, case)| {
                let (server, admin) = (&server, &admin);
                async move {
                    let project = format!("v{i}");
                    match seed(admin, &project, case).await {
                        Ok(sdk_key) => check(server, admin, &project, case, &sdk_key).await,
                        Err(code) if REFUSED.contains(&code.as_str()) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            Vec::new()
                        }
                        Err(code) => vec![format!("{}: refused with {code}", case.name)],
                    }
                }
            })
            .buffer_unordered(8)
            .flat_map(stream::iter)
            .collect()
            .await;
        // missing (5), unknown variant, nine hops, two loops.
        assert_eq!(refused.swap(0, Ordering::Relaxed), 9, "{}: cases refused for their prerequisites", db.label());
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
