//! Scheduled changes: stored with their job; applied once, by one
//! transaction, however often the job runs; not before their time;
//! compare-and-set edits (which move the job) and cancellations; refused
//! when empty or invalid against the configuration.

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchyard_core::Serve;
use switchyard_server::store::{Actor, ConfigPatch, NewScheduledChange, ScheduleEdit, ScheduleState, StoreError};

use super::{Ctx, assert_not_found, config, revision, setup, user};

const KIND: &str = "change.apply";

fn change(on: bool, at: DateTime<Utc>) -> NewScheduledChange {
    NewScheduledChange {
        at,
        change: ConfigPatch { on: Some(on), ..ConfigPatch::default() },
        reason: Some("later".into()),
    }
}

fn assert_conflict<T: std::fmt::Debug>(res: Result<T, StoreError>) {
    match res {
        Err(StoreError::Conflict { code: "schedule_state", .. }) => {}
        other => panic!("expected a schedule_state conflict, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(res: Result<T, StoreError>, path: &str) {
    match res {
        Err(StoreError::Validation(errors)) if errors.0[0].path.starts_with(path) => {}
        other => panic!("expected a validation error on {path}, got {other:?}"),
    }
}

pub async fn scheduled_changes_apply_once_and_compare_and_set(ctx: Ctx) {
    let store = ctx.store().await;
    let (admin, scheduler) = (user("admin"), Actor { name: "scheduler".into(), ..Actor::system() });
    setup(&store, &["checkout"]).await;
    let place = ("shop", "prod", "checkout");
    let now = Utc::now();
    let due = store.schedule_change(&admin, place, change(true, now), KIND).await.unwrap();
    assert_eq!((due.state, due.requested_by.as_str()), (ScheduleState::Pending, "admin"));
    assert_not_found(store.get_scheduled_change("shop", "dev", due.id).await, "scheduled change");

    // Applied by the claim holder; a second run (after a crash) writes nothing more.
    let claimed = store.claim_jobs("w1", Utc::now(), Duration::from_secs(60), 10).await.unwrap();
    let job = claimed.iter().find(|j| j.key == format!("change:{}", due.id)).expect("the change's job");
    assert_eq!(job.kind, KIND);
    let before = revision(&store, "prod").await;
    let applied = store.apply_scheduled_change(&scheduler, due.id, (job.id, "w1"), None).await.unwrap();
    assert_eq!((applied.state, applied.revision), (ScheduleState::Applied, Some(before + 1)));
    assert!(config(&store, "prod", "checkout").await.1.on);
    let again = store.apply_scheduled_change(&scheduler, due.id, (job.id, "w1"), None).await.unwrap();
    assert_eq!((again.state, again.revision), (ScheduleState::Applied, Some(before + 1)));
    assert_eq!(revision(&store, "prod").await, before + 1, "applied once");
    assert_eq!(store.job(&job.key).await.unwrap().unwrap().state, "done", "finished with the write");
    assert_conflict(store.cancel_scheduled_change(&admin, ("shop", "prod", due.id), None).await);
    assert_conflict(store.edit_scheduled_change(&admin, ("shop", "prod", due.id), ScheduleEdit::default()).await);

    // Not applied before its time; an edit moves its job; a cancellation ends it.
    let later =
        store.schedule_change(&admin, place, change(false, now + chrono::Duration::hours(1)), KIND).await.unwrap();
    let early = store.apply_scheduled_change(&scheduler, later.id, (0, "w1"), None).await.unwrap();
    assert_eq!(early.state, ScheduleState::Pending);
    let at = now + chrono::Duration::hours(2);
    let edit = ScheduleEdit { at: Some(at), ..ScheduleEdit::default() };
    let edited = store.edit_scheduled_change(&admin, ("shop", "prod", later.id), edit).await.unwrap();
    assert_eq!(edited.at.timestamp_millis(), at.timestamp_millis());
    let job = store.job(&format!("change:{}", later.id)).await.unwrap().expect("its job");
    assert_eq!((job.state.as_str(), job.due_at.timestamp_millis()), ("pending", at.timestamp_millis()));
    let cancelled = store.cancel_scheduled_change(&admin, ("shop", "prod", later.id), Some("no".into())).await.unwrap();
    assert_eq!(cancelled.state, ScheduleState::Cancelled);
    assert_eq!(store.job(&job.key).await.unwrap().unwrap().state, "done");
    assert!(config(&store, "prod", "checkout").await.1.on, "the cancelled change wrote nothing");

    // Refused: empty, or invalid against the configuration; nothing stored.
    let empty = NewScheduledChange { at: now, change: ConfigPatch::default(), reason: None };
    assert_invalid(store.schedule_change(&admin, place, empty, KIND).await, "change");
    let blue = ConfigPatch { fallthrough: Some(Serve::Variant("blue".into())), ..ConfigPatch::default() };
    let bad = NewScheduledChange { at: now, change: blue, reason: None };
    assert_invalid(store.schedule_change(&admin, place, bad, KIND).await, "change.fallthrough");
    assert_eq!(store.list_scheduled_changes("shop", "prod").await.unwrap().len(), 2);
    assert!(store.list_scheduled_changes("shop", "dev").await.unwrap().is_empty());
}
