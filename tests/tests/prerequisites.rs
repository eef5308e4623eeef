//! Prerequisite flags end to end, on SQLite and Postgres: the server
//! refuses at write time what the engine would only survive (a loop, a
//! chain too deep, an unknown flag or variant, archiving a flag or removing a variant
//! that is a prerequisite), in the write's own transaction, so two
//! concurrent edits cannot close a loop between them; and real SDK clients
//! on the real stream evaluate prerequisites locally: killing a
//! prerequisite turns its dependants off with no event of their own.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard::{Client, Context, PrerequisiteCause, Reason};
use switchyard_e2e::{Admin, ENV_PATH, FlagSpec, Server, TestDb, flag_path, sdk, seed};

/// Writes `flag`'s prerequisites (`[(flag, variant)]`) at its current version.
async fn needs(admin: &Admin, flag: &str, prerequisites: &[(&str, &str)]) -> (StatusCode, Value) {
    let current = admin.config(flag).await;
    let mut body = current["config"].clone();
    body["version"] = current["version"].clone();
    body["prerequisites"] = prerequisites.iter().map(|(f, v)| json!({"flag": f, "variant": v})).collect();
    admin.call(Method::PUT, &flag_path(flag), Some(body)).await
}

/// Asserts a refusal: status, top-level code and the first field error's code.
fn refused(answer: &(StatusCode, Value), status: u16, code: &str, field_code: &str) {
    let (got, body) = answer;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!((body["code"].as_str(), body["errors"][0]["code"].as_str()), (Some(code), Some(field_code)), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prerequisites_are_checked_when_written() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let flags: Vec<FlagSpec> = ["a", "b", "c", "d"].into_iter().map(FlagSpec::boolean).collect();
        let chain: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
        let specs: Vec<FlagSpec> = flags.into_iter().chain(chain.iter().map(|k| FlagSpec::boolean(k))).collect();
        seed(&admin, &specs).await;

        assert_eq!(needs(&admin, "a", &[("b", "on")]).await.0, 200);
        let shown = admin.config("a").await;
        assert_eq!(shown["config"]["prerequisites"], json!([{"flag": "b", "variant": "on"}]));

        // Loops, direct and through another flag: 409, the loop named.
        let back = needs(&admin, "b", &[("a", "on")]).await;
        refused(&back, 409, "prerequisite_cycle", "prerequisite_cycle");
        assert_eq!(back.1["errors"][0]["message"], "prerequisites loop: b -> a -> b", "{}", back.1);
        refused(&needs(&admin, "a", &[("a", "on")]).await, 409, "prerequisite_cycle", "prerequisite_cycle");
        // Unknown flag or variant: 422 at the field.
        let unknown = needs(&admin, "a", &[("zzz", "on")]).await;
        refused(&unknown, 422, "validation_failed", "unknown_flag");
        assert_eq!(unknown.1["errors"][0]["path"], "prerequisites[0].flag");
        let variant = needs(&admin, "a", &[("b", "maybe")]).await;
        refused(&variant, 422, "validation_failed", "unknown_variant");
        assert_eq!(variant.1["errors"][0]["path"], "prerequisites[0].variant");
        // Nothing of the refused writes landed.
        assert_eq!(admin.config("a").await["version"], shown["version"]);

        // A prerequisite cannot be archived (so not deleted: only archived
        // flags are), nor its required variant removed.
        let archive = json!({"confirm": true, "reason": "retire"});
        let (status, body) = admin.call(Method::POST, "/api/v1/projects/shop/flags/b/archive", Some(archive)).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("prerequisite_in_use")), "{body}");
        assert!(body["detail"].as_str().unwrap_or_default().contains("flag `a` in `production`"), "{body}");
        let patch = json!({"variants": [{"key": "yes", "value": true}, {"key": "off", "value": false}]});
        let (status, body) = admin.call(Method::PATCH, "/api/v1/projects/shop/flags/b", Some(patch)).await;
        assert_eq!(status.as_u16(), 422, "{body}");
        let in_use = body["errors"].as_array().expect("errors").iter().any(|e| {
            e["code"] == "variant_in_use"
                && e["message"].as_str().unwrap_or_default().contains("prerequisite of flag `a`")
        });
        assert!(in_use, "{body}");

        // A change set closing a loop between two of its own changes.
        let (c, d) = (admin.config("c").await, admin.config("d").await);
        let change = |flag: &str, record: &Value, other: &str| {
            let mut config = record["config"].clone();
            config["prerequisites"] = json!([{"flag": other, "variant": "on"}]);
            json!({"flag": flag, "version": record["version"], "config": config})
        };
        let set = json!({"changes": [change("c", &c, "d"), change("d", &d, "c")]});
        let (status, body) = admin.call(Method::POST, &format!("{ENV_PATH}/changes"), Some(set)).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("prerequisite_cycle")), "{body}");
        assert_eq!(body["errors"][0]["path"], "flags.c.prerequisites", "{body}");

        // Eight hops are allowed; the ninth is refused, from either end.
        for i in (1..9).rev() {
            let next = format!("f{}", i + 1);
            assert_eq!(needs(&admin, &chain[i], &[(next.as_str(), "on")]).await.0, 200, "f{i}");
        }
        refused(&needs(&admin, "f0", &[("f1", "on")]).await, 409, "prerequisite_too_deep", "prerequisite_too_deep");
        assert_eq!(needs(&admin, "f0", &[("f2", "on")]).await.0, 200, "f0 -> f2 .. f9 is eight hops");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_cannot_close_a_loop() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let rounds = 8;
        let specs: Vec<FlagSpec> = (0..rounds)
            .flat_map(|i| [FlagSpec::boolean(&format!("x{i}")), FlagSpec::boolean(&format!("y{i}"))])
            .collect();
        seed(&admin, &specs).await;
        for i in 0..rounds {
            let (x, y) = (format!("x{i}"), format!("y{i}"));
            // Each edit reads its own flag's version first, then both race.
            let (x_needs_y, y_needs_x) = ([(y.as_str(), "on")], [(x.as_str(), "on")]);
            let (one, other) = tokio::join!(needs(&admin, &x, &x_needs_y), needs(&admin, &y, &y_needs_x));
            let statuses = [one.0.as_u16(), other.0.as_u16()];
            assert!(statuses.contains(&200) && statuses.contains(&409), "round {i}: {one:?} {other:?}");
            let loser = if one.0 == 200 { &other.1 } else { &one.1 };
            assert_eq!(loser["code"], "prerequisite_cycle", "round {i}: {loser}");
            let stored = [admin.config(&x).await, admin.config(&y).await];
            let linked =
                stored.iter().filter(|r| r["config"]["prerequisites"].as_array().is_some_and(|p| !p.is_empty()));
            assert_eq!(linked.count(), 1, "round {i}: exactly one edge stored");
        }
        server.stop().await;
        db.cleanup().await;
    }
}

/// `flag`'s detail in `client` for user-1.
fn detail(client: &Client, flag: &str) -> switchyard::Detail<bool> {
    client.bool_detail(flag, &Context::new("user-1"), true)
}

/// Waits (`?wait=30s` receipts make this immediate) until `client` holds `revision`.
async fn at(client: &Client, revision: u64) {
    switchyard_e2e::eventually("the SDK applies the revision", || async move {
        detail(client, "new-ui").revision >= revision
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_prerequisite_turns_its_dependants_off_in_the_sdk() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let specs = [FlagSpec::boolean("checkout"), FlagSpec::boolean("new-ui"), FlagSpec::boolean("banner")];
        let seeded = seed(&admin, &specs).await;
        for flag in ["checkout", "new-ui", "banner"] {
            admin.toggle(flag, true).await.expect("a revision");
        }
        // banner needs new-ui needs checkout.
        assert_eq!(needs(&admin, "new-ui", &[("checkout", "on")]).await.0, 200);
        assert_eq!(needs(&admin, "banner", &[("new-ui", "on")]).await.0, 200);
        let client = sdk(&server.base, &seeded.sdk_key);
        client.wait_until_ready(Duration::from_secs(60)).await.expect("SDK ready");
        for flag in ["new-ui", "banner"] {
            let d = detail(&client, flag);
            assert_eq!((d.value, &d.reason), (true, &Reason::Fallthrough), "{flag}: {d:?}");
        }

        // Kill the prerequisite: one revision, one event (the kill's own),
        // and both dependants serve off, saying why.
        let before = admin.revision().await;
        let path = format!("{}/kill?wait=30s", flag_path("checkout"));
        let killed = admin.expect(Method::POST, &path, Some(json!({"reason": "errors"})), 200).await;
        let revision = killed["revision"].as_u64().expect("revision");
        assert_eq!(revision, before + 1, "the kill is the only change");
        at(&client, revision).await;
        let d = detail(&client, "new-ui");
        let want = Reason::PrerequisiteFailed { prerequisite: "checkout".into(), cause: PrerequisiteCause::Killed };
        assert_eq!((d.value, d.variant.as_deref(), &d.reason), (false, Some("off"), &want), "{d:?}");
        let d = detail(&client, "banner");
        let want =
            Reason::PrerequisiteFailed { prerequisite: "new-ui".into(), cause: PrerequisiteCause::PrerequisiteFailed };
        assert_eq!((d.value, &d.reason), (false, &want), "{d:?}");

        // Restore: back on. Toggle the prerequisite off: off again, cause OFF.
        let path = format!("{}/kill?wait=30s", flag_path("checkout"));
        let restored = admin.expect(Method::DELETE, &path, Some(json!({"reason": "fixed"})), 200).await;
        at(&client, restored["revision"].as_u64().expect("revision")).await;
        assert_eq!(detail(&client, "banner").reason, Reason::Fallthrough);
        let off = admin.toggle("checkout", false).await.expect("a revision");
        at(&client, off).await;
        let want = Reason::PrerequisiteFailed { prerequisite: "checkout".into(), cause: PrerequisiteCause::Off };
        assert_eq!(detail(&client, "new-ui").reason, want);

        // The server's own evaluation agrees.
        let body = json!({"context": {"key": "user-1"}, "flags": ["new-ui"]});
        let got = admin.expect(Method::POST, &format!("{ENV_PATH}/evaluate"), Some(body), 200).await;
        let reason = &got["results"]["new-ui"]["reason"];
        assert_eq!(reason, &json!({"kind": "PREREQUISITE_FAILED", "prerequisite": "checkout", "cause": "OFF"}));
        drop(client);
        server.stop().await;
        db.cleanup().await;
    }
}
