//! Ops called directly (no HTTP) against a fresh SQLite store.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::ops::kill::{self, KillOne, PanicRequest};
use crate::store::{ActorKind, NewEnvironment, NewFlag, NewProject, Role};
use crate::testing::{TestDb, TestServer};

fn admin() -> Principal {
    Principal {
        name: "alice".into(),
        kind: ActorKind::User,
        role: Role::Admin,
        project: None,
        request_id: Some("req-1".into()),
        client_addr: None,
    }
}

/// A server on a fresh SQLite database with project `shop`, environment
/// `production` and boolean flags `a`, `b`, `c`.
async fn seeded() -> (TestServer, TestDb) {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let (store, actor) = (&server.state.store, admin().actor());
    let project = NewProject { key: "shop".into(), name: None, description: None };
    store.create_project(&actor, project).await.expect("project");
    let env = NewEnvironment { key: "production".into(), name: None };
    store.create_environment(&actor, "shop", env).await.expect("environment");
    for key in ["a", "b", "c"] {
        let flag: NewFlag = serde_json::from_value(serde_json::json!({"key": key, "kind": "boolean"})).expect("flag");
        store.create_flag(&actor, "shop", flag).await.expect("flag");
    }
    (server, db)
}

fn kill_of(reason: &str) -> KillOne {
    KillOne { reason: reason.into(), incident: None }
}

fn reason_of(record: &crate::store::FlagConfigRecord) -> Option<&str> {
    record.config.kill.as_ref().map(|k| k.reason.as_str())
}

#[tokio::test]
async fn a_kill_is_idempotent() {
    let (server, db) = seeded().await;
    let state = &server.state;
    let first = kill::kill(state, &admin(), ("shop", "production", "a"), kill_of("first"), None).await.expect("kill");
    assert!(first.written.changed);
    assert!(first.written.revision.is_some());
    let again = kill::kill(state, &admin(), ("shop", "production", "a"), kill_of("second"), None).await.expect("kill");
    assert!(!again.written.changed, "killing a killed flag changes nothing");
    assert_eq!(again.written.revision, None);
    assert_eq!(reason_of(&again.written.value[0]), Some("first"), "the first kill's reason stays");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn panic_skips_flags_already_killed() {
    let (server, db) = seeded().await;
    let state = &server.state;
    kill::kill(state, &admin(), ("shop", "production", "a"), kill_of("first"), None).await.expect("kill");
    let request = PanicRequest {
        tag: None,
        flags: vec!["b".into(), "a".into(), "b".into()],
        reason: "panic".into(),
        incident: Some("INC-7".into()),
    };
    let done = kill::panic(state, &admin(), ("shop", "production"), request, None).await.expect("panic");
    assert!(done.written.changed);
    let reasons: Vec<(&str, Option<&str>)> =
        done.written.value.iter().map(|r| (r.flag.as_str(), reason_of(r))).collect();
    assert_eq!(reasons, [("a", Some("first")), ("b", Some("panic"))], "a keeps its own kill; duplicates collapse");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn panic_refuses_an_empty_set_and_a_blank_reason() {
    let (server, db) = seeded().await;
    let state = &server.state;
    let empty = PanicRequest { tag: Some("nobody-has-it".into()), flags: vec![], reason: "r".into(), incident: None };
    let err = kill::panic(state, &admin(), ("shop", "production"), empty, None).await.expect_err("empty");
    assert!(matches!(&err, ApiError::Validation(e) if e.0[0].path == "flags"), "{err:?}");
    let blank = PanicRequest { tag: None, flags: vec!["a".into()], reason: " ".into(), incident: None };
    let err = kill::panic(state, &admin(), ("shop", "production"), blank, None).await.expect_err("blank");
    assert!(matches!(&err, ApiError::Validation(e) if e.0[0].path == "reason"), "{err:?}");
    server.stop().await;
    db.cleanup().await;
}
