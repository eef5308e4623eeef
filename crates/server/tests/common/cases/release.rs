//! Release plans and the job queue: templates, one active plan per flag
//! and environment, state and stage compare-and-set, job claims that are
//! disjoint and leases that lapse.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use switchyard_server::store::{
    NewJob, NewReleasePlan, NewReleaseTemplate, PlanState, PlanStateChange, ReleaseGuards, ReleaseStage, StageClose,
    StageRecord, StoreError,
};

use super::{Ctx, assert_already_exists, assert_not_found, setup, user};

fn job(key: &str) -> NewJob {
    NewJob { kind: "test".into(), key: key.into(), payload: json!({"k": key}), due_at: Utc::now() }
}

fn plan() -> NewReleasePlan {
    NewReleasePlan {
        flag: "checkout".into(),
        template: None,
        control: "off".into(),
        treatment: "on".into(),
        stages: vec![ReleaseStage { percent: 10.0, min_duration_seconds: 0, min_sample: 0 }],
        guards: ReleaseGuards::default(),
        reason: Some("go".into()),
        approval: None,
    }
}

fn record(from: Option<u32>, to: u32) -> StageRecord {
    let close =
        from.map(|s| StageClose { verdict: "continue", summary: format!("left {s}"), guard: Some(json!({"n": s})) });
    StageRecord {
        from,
        to,
        percent: f64::from(to + 1) * 10.0,
        close,
        finish: false,
        summary: format!("stage {to}"),
        done: None,
        next: None,
    }
}

pub async fn release_plans_lifecycle(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout"]).await;
    let stages = vec![ReleaseStage { percent: 5.0, min_duration_seconds: 60, min_sample: 100 }];
    let template = NewReleaseTemplate { key: "std".into(), name: None, stages, guards: ReleaseGuards::default() };
    store.create_release_template(&admin, "shop", template.clone()).await.unwrap();
    assert_already_exists(store.create_release_template(&admin, "shop", template).await);
    assert_eq!(store.list_release_templates("shop").await.unwrap()[0].stages[0].min_sample, 100);
    store.delete_release_template(&admin, "shop", "std").await.unwrap();
    assert_not_found(store.get_release_template("shop", "std").await, "release template");

    // A flag that never had a plan: an empty list (the UI's question), a NotFound for the newest.
    assert!(store.list_plans("shop", "prod", "checkout").await.unwrap().is_empty());
    assert_not_found(store.latest_plan("shop", "prod", "checkout").await, "release plan");
    let first = NewJob { key: "release:{plan}:0".into(), payload: json!({"plan": "{plan}"}), ..job("x") };
    let created = store.create_plan(&admin, ("shop", "prod"), plan(), first).await.unwrap();
    assert_eq!((created.state, created.stage), (PlanState::Running, None));
    let scheduled = store.job(&format!("release:{}:0", created.id)).await.unwrap().expect("first step");
    assert_eq!(scheduled.payload, json!({"plan": created.id}));
    match store.create_plan(&admin, ("shop", "prod"), plan(), job("y")).await {
        Err(StoreError::Conflict { code: "plan_active", .. }) => {}
        other => panic!("expected plan_active, got {other:?}"),
    }
    // Another environment is another plan.
    store.create_plan(&admin, ("shop", "dev"), plan(), job("z")).await.unwrap();
    let listed = store.list_plans("shop", "prod", "checkout").await.unwrap();
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![created.id]);

    // The stage moves by compare-and-set: a second record of one step is refused.
    assert!(store.record_stage(created.id, record(None, 0)).await.unwrap());
    assert!(!store.record_stage(created.id, record(None, 0)).await.unwrap());
    let at = store.latest_plan("shop", "prod", "checkout").await.unwrap();
    assert_eq!((at.stage, at.summary.as_deref()), (Some(0), Some("stage 0")));
    assert_eq!(at.history.len(), 1);
    assert_eq!((at.history[0].stage, at.history[0].percent, at.history[0].ended_at), (0, 10.0, None));
    assert_eq!(Some(at.history[0].started_at), at.stage_started_at);
    // Each stage's start and the verdict that ended it are kept.
    assert!(store.record_stage(created.id, record(Some(0), 1)).await.unwrap());
    assert!(!store.record_stage(created.id, record(Some(0), 1)).await.unwrap());
    let at = store.latest_plan("shop", "prod", "checkout").await.unwrap();
    let (h0, h1) = (&at.history[0], &at.history[1]);
    assert_eq!(at.history.len(), 2, "{:?}", at.history);
    assert_eq!((h0.verdict.as_deref(), h0.summary.as_deref()), (Some("continue"), Some("left 0")));
    assert_eq!((h0.ended_at, h0.guard.clone()), (Some(h1.started_at), Some(json!({"n": 0}))));
    assert_eq!((h1.stage, h1.percent, h1.ended_at), (1, 20.0, None));

    let pause = |from: &'static [PlanState]| PlanStateChange {
        from,
        to: PlanState::Paused,
        action: "release.pause",
        reason: None,
        job: None,
        close: None,
    };
    store.set_plan_state(&admin, created.id, pause(&[PlanState::Running])).await.unwrap();
    match store.set_plan_state(&admin, created.id, pause(&[PlanState::Running])).await {
        Err(StoreError::Conflict { code: "plan_state", .. }) => {}
        other => panic!("expected plan_state, got {other:?}"),
    }
    assert!(!store.record_stage(created.id, record(Some(1), 2)).await.unwrap(), "a paused plan does not move");
    // A state change can end the applied stage: its verdict becomes the plan's summary.
    let close = StageClose { verdict: "aborted", summary: "stopped: errors".into(), guard: None };
    let abort = PlanStateChange {
        from: &[PlanState::Paused],
        to: PlanState::Aborted,
        action: "release.abort",
        reason: Some("errors".into()),
        job: None,
        close: Some(close),
    };
    let aborted = store.set_plan_state(&admin, created.id, abort).await.unwrap();
    assert_eq!((aborted.state, aborted.summary.as_deref()), (PlanState::Aborted, Some("stopped: errors")));
    assert_eq!(aborted.history[1].verdict.as_deref(), Some("aborted"));
    assert!(aborted.history[1].ended_at.is_some());
}

pub async fn job_claims_are_disjoint_and_leases_lapse(ctx: Ctx) {
    let store = ctx.store().await;
    for i in 0..24 {
        store.schedule_job(job(&format!("job:{i}"))).await.unwrap();
    }
    let claimers = (0..4).map(|w| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let claimed = store.claim_jobs(&format!("w{w}"), Utc::now(), Duration::from_secs(60), 2).await.unwrap();
                if claimed.is_empty() {
                    return ids;
                }
                ids.extend(claimed.iter().map(|c| c.id));
            }
        })
    });
    let mut ids = Vec::new();
    for claimer in claimers.collect::<Vec<_>>() {
        ids.extend(claimer.await.unwrap());
    }
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!((total, ids.len()), (24, 24), "every job claimed exactly once");

    // Only the holder finishes; a lapsed lease is claimable again.
    let held = store.job("job:0").await.unwrap().unwrap();
    let holder = (0..4).map(|w| format!("w{w}"));
    let later = Utc::now() + chrono::Duration::seconds(120);
    let again = store.claim_jobs("late", later, Duration::from_secs(60), 100).await.unwrap();
    assert_eq!(again.len(), 24, "every lease lapsed by then");
    let mut finished = 0;
    for w in holder {
        finished += usize::from(store.finish_job(held.id, &w).await.unwrap());
    }
    assert_eq!(finished, 0, "the old holders lost the job");
    assert!(store.finish_job(held.id, "late").await.unwrap());
    assert_eq!(store.job("job:0").await.unwrap().unwrap().state, "done");
    // Not due yet: given back without counting the claim.
    let one = &again[1];
    store.retry_job(one.id, "late", later, None, 3).await.unwrap();
    let back = store.job(&one.key).await.unwrap().unwrap();
    assert_eq!((back.state.as_str(), back.attempts), ("pending", 1));
    // A job scheduled again is pending with a fresh count.
    store.schedule_job(job("job:0")).await.unwrap();
    assert_eq!(store.job("job:0").await.unwrap().unwrap().attempts, 0);
}
