//! Kill switches as a workflow: kill one flag, the panic button (kill a set
//! in one revision), restore, and waiting for the delivery receipt ("applied
//! by 312 / 312 connected SDK instances in 41 ms").
//!
//! Owns the order of a kill: **write** (one store transaction: state, audit,
//! revision, webhook outbox; committing hands the change to the hub),
//! **broadcast** (the hand-off to delivery: counted and logged; the hub
//! task serialises and fans it out off this request's path), **receipts**
//! (with a wait: until every connected SDK applied it; always: the receipt
//! recorded in the audit history, see [`super::applied`]). Each is a child
//! span of the `kill` span.
//!
//! Must not touch: HTTP types (the `?wait=` string is parsed by the
//! handler), SQL (the store does the write), the hub's internals.

use std::time::Duration;

use tracing::Instrument as _;

use super::applied::AppliedKill;
use super::{OpResult, check_emergency};
use crate::auth::Principal;
use crate::delivery::receipts::Receipt;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, FlagConfigRecord, KillRequest, ReceiptOf, Written};

pub use super::applied::{MAX_WAIT, Receipted};
pub use super::kill_requests::{KillOne, PanicRequest, UnkillRequest};

/// Kills `flag` in `(project, env)`: it serves its off variant whatever its
/// rules say. Idempotent (killing a killed flag changes nothing); not
/// subject to version checks.
pub async fn kill(
    state: &AppState,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    input: KillOne,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    check_emergency(&input.reason, input.incident.as_deref())?;
    let request = KillRequest {
        flags: vec![flag.into()],
        reason: input.reason,
        incident: input.incident,
        panic: false,
        detail: None,
    };
    kill_flags(state, principal.actor(), "api", (project, env), request, wait).await
}

/// The panic button: kills every flag of `input.flags` and of `input.tag`
/// in one revision. Flags already killed keep their kill (its reason and
/// author); 422 on `flags` when the set is empty.
pub async fn panic(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    input: PanicRequest,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    check_emergency(&input.reason, input.incident.as_deref())?;
    let flags = panic_flags(state, project, input.tag.as_deref(), input.flags).await?;
    let request = KillRequest { flags, reason: input.reason, incident: input.incident, panic: true, detail: None };
    kill_flags(state, principal.actor(), "api", (project, env), request, wait).await
}

/// The panic's undo: restores the flags with `tag` and the listed ones in
/// one revision (those not killed are left as they are).
pub async fn unpanic(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    input: PanicRequest,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    check_emergency(&input.reason, input.incident.as_deref())?;
    let flags = panic_flags(state, project, input.tag.as_deref(), input.flags).await?;
    restore_flags(
        state,
        principal,
        (project, env),
        flags,
        UnkillRequest { reason: input.reason, incident: input.incident },
        wait,
    )
    .await
}

/// The flags a panic (or its undo) names: `flags` and those with `tag`,
/// sorted, once each; 422 when none.
async fn panic_flags(
    state: &AppState,
    project: &str,
    tag: Option<&str>,
    mut flags: Vec<String>,
) -> OpResult<Vec<String>> {
    if let Some(tag) = tag {
        flags.extend(state.store.flags_with_tag(project, tag).await?);
    }
    flags.sort();
    flags.dedup();
    if flags.is_empty() {
        return Err(ApiError::invalid("flags", "empty", "no flags given or none carries the tag"));
    }
    Ok(flags)
}

/// The kill path shared by the single-flag kill, the panic button and alert
/// triggers: write (webhooks are told in the same transaction), count (by
/// `source`, the metric's label), wait for the receipt (with `wait`),
/// record it (see [`AppliedKill`]).
#[tracing::instrument(name = "kill", skip_all, fields(
    request_id = actor.request_id.as_deref(), actor = %actor.name, source = source, project = project, env = env,
    flag = %request.flags.join(","), panic = request.panic, revision = tracing::field::Empty,
))]
pub async fn kill_flags(
    state: &AppState,
    actor: Actor,
    source: &'static str,
    (project, env): (&str, &str),
    request: KillRequest,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    let request = KillRequest { detail: Some(break_glass(request.detail)), ..request };
    let (panic, incident) = (request.panic, request.incident.clone());
    let write = tracing::info_span!("write", flags = request.flags.len());
    // Opened before the commit, so that the hub's fan-out is inside it.
    let broadcast = tracing::info_span!("broadcast", changed = tracing::field::Empty, revision = tracing::field::Empty);
    let writing = state.store.kill_flags(&actor, project, env, request).instrument(write);
    // Never held: the SDKs acknowledge a kill at once (see `hub::urgent`).
    let written = crate::delivery::hub::within(broadcast.clone(), crate::delivery::hub::urgent(writing)).await?;
    if let Some(revision) = written.revision {
        tracing::Span::current().record("revision", revision);
        broadcast.record("revision", revision);
    }
    broadcast.record("changed", written.changed);
    broadcast.in_scope(|| {
        if written.changed {
            state.metrics.killed(source, written.value.len());
        }
        let flags: Vec<&str> = written.value.iter().map(|c| c.flag.as_str()).collect();
        let what = if panic { "panic: flags killed" } else { "flag killed" };
        tracing::info!(source, actor = %actor.name, project, env, ?flags, changed = written.changed, revision = ?written.revision, "{what}");
    });
    if written.changed {
        // In the background: a kill stops its flags' release plans.
        let flags = written.value.iter().map(|c| c.flag.clone()).collect();
        crate::ops::plan_halt::after_kill(state, (project, env), flags, &actor);
    }
    let receipts = tracing::info_span!("receipts", waited = wait.is_some());
    async {
        let receipted = with_receipt(state, project, env, written, wait).await?;
        if let (true, Some(revision)) = (receipted.written.changed, receipted.written.revision) {
            let flags = receipted.written.value.iter().map(|c| c.flag.clone()).collect();
            let of = ReceiptOf { revision, restore: false, incident };
            let kill = AppliedKill { actor, project: project.into(), env: env.into(), flags, of };
            kill.record(state, receipted.receipt.clone()).await;
        }
        Ok(receipted)
    }
    .instrument(receipts)
    .await
}

/// Restores a killed flag to its configuration (a no-op when it is not
/// killed).
#[tracing::instrument(name = "restore", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
    revision = tracing::field::Empty,
))]
pub async fn restore(
    state: &AppState,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    input: UnkillRequest,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    check_emergency(&input.reason, input.incident.as_deref())?;
    restore_flags(state, principal, (project, env), vec![flag.to_string()], input, wait).await
}

/// Restores `flags` in one revision (see [`restore`]).
async fn restore_flags(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    flags: Vec<String>,
    input: UnkillRequest,
    wait: Option<Duration>,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    let incident = input.incident;
    let actor = principal.actor();
    let writing = state.store.restore_flags(&actor, project, env, &flags, input.reason, incident.clone());
    let written = crate::delivery::hub::urgent(writing).await?;
    if let Some(revision) = written.revision {
        tracing::Span::current().record("revision", revision);
    }
    let what = if flags.len() == 1 { "flag restored" } else { "panic undone: flags restored" };
    tracing::info!(actor = %principal.name, project, env, ?flags, changed = written.changed, revision = ?written.revision, "{what}");
    let receipted = with_receipt(state, project, env, written, wait).await?;
    let revision = receipted.written.revision.filter(|_| receipted.written.changed);
    record_restore(state, actor, (project, env), &flags, (revision, incident), receipted.receipt.clone()).await;
    Ok(receipted)
}

/// A kill's audit `after` facts with `break_glass: true`: kills, panics,
/// trigger kills and guard rollbacks bypass every governance step
/// (approvals, schedules) and always say so.
fn break_glass(detail: Option<serde_json::Value>) -> serde_json::Value {
    let mut detail = detail.filter(serde_json::Value::is_object).unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = detail.as_object_mut() {
        map.insert("break_glass".into(), serde_json::Value::Bool(true));
    }
    detail
}

/// Records the delivery receipt of a restore made for an incident
/// (`flag.restore.applied`; see [`AppliedKill`]): `receipt` when one was
/// waited for, else awaited in the background. Nothing without a revision
/// (no change) or an incident.
pub async fn record_restore(
    state: &AppState,
    actor: Actor,
    (project, env): (&str, &str),
    flags: &[String],
    (revision, incident): (Option<u64>, Option<String>),
    receipt: Option<Receipt>,
) {
    let (Some(revision), Some(incident)) = (revision, incident) else { return };
    let of = ReceiptOf { revision, restore: true, incident: Some(incident) };
    let applied = AppliedKill { actor, project: project.into(), env: env.into(), flags: flags.to_vec(), of };
    applied.record(state, receipt).await;
}

/// Waits for the receipt of the write's revision (or, for a no-op, of the
/// environment's current revision: "is the fleet on the killed state?").
/// Without a wait, answers at once with no receipt.
pub async fn with_receipt<T>(
    state: &AppState,
    project: &str,
    env: &str,
    written: Written<T>,
    wait: Option<Duration>,
) -> OpResult<Receipted<T>> {
    let Some(wait) = wait else { return Ok(Receipted { written, receipt: None }) };
    let env = state.store.get_environment(project, env).await?;
    let revision = written.revision.unwrap_or(env.revision);
    let receipt = state.fleet.wait(&state.hub, env.id, revision, wait).await;
    Ok(Receipted { written, receipt: Some(receipt) })
}

/// The delivery receipt of `revision` now, counted over every replica.
#[tracing::instrument(name = "receipt", skip(state))]
pub async fn receipt(state: &AppState, project: &str, env: &str, revision: u64) -> OpResult<Receipt> {
    let env = state.store.get_environment(project, env).await?;
    Ok(state.fleet.receipt(&state.hub, env.id, revision).await)
}

/// The kill ops called directly (no HTTP) against a fresh SQLite store.
#[cfg(test)]
mod tests {
    use super::{KillOne, PanicRequest};
    use crate::auth::Principal;
    use crate::error::ApiError;
    use crate::ops::kill;
    use crate::store::{ActorKind, NewEnvironment, NewFlag, NewProject, Role};
    use crate::testing::{TestDb, TestServer};

    fn admin() -> Principal {
        Principal {
            name: "alice".into(),
            kind: ActorKind::User,
            role: Role::Admin,
            global_role: Role::Admin,
            project: None,
            request_id: Some("req-1".into()),
            client_addr: None,
            id: Some(1),
        }
    }

    /// A server on a fresh SQLite database with project `shop`, environment
    /// `production` and boolean flags `a`, `b`, `c`.
    async fn seeded() -> (TestServer, TestDb) {
        let db = TestDb::sqlite();
        let server = TestServer::start(&db.url()).await;
        let (store, actor) = (&server.state.store, admin().actor());
        let project = NewProject { key: "shop".into(), name: None, description: None, environments: None };
        store.create_project(&actor, project).await.expect("project");
        let env = NewEnvironment { key: "production".into(), name: None, ..Default::default() };
        store.create_environment(&actor, "shop", env).await.expect("environment");
        for key in ["a", "b", "c"] {
            let flag: NewFlag =
                serde_json::from_value(serde_json::json!({"key": key, "kind": "boolean"})).expect("flag");
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
        let first =
            kill::kill(state, &admin(), ("shop", "production", "a"), kill_of("first"), None).await.expect("kill");
        assert!(first.written.changed);
        assert!(first.written.revision.is_some());
        let again =
            kill::kill(state, &admin(), ("shop", "production", "a"), kill_of("second"), None).await.expect("kill");
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
        let empty =
            PanicRequest { tag: Some("nobody-has-it".into()), flags: vec![], reason: "r".into(), incident: None };
        let err = kill::panic(state, &admin(), ("shop", "production"), empty, None).await.expect_err("empty");
        assert!(matches!(&err, ApiError::Validation(e) if e.0[0].path == "flags"), "{err:?}");
        let blank = PanicRequest { tag: None, flags: vec!["a".into()], reason: " ".into(), incident: None };
        let err = kill::panic(state, &admin(), ("shop", "production"), blank, None).await.expect_err("blank");
        assert!(matches!(&err, ApiError::Validation(e) if e.0[0].path == "reason"), "{err:?}");
        server.stop().await;
        db.cleanup().await;
    }
}
