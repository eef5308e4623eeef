//! Release plans and the job queue: templates, one active plan per flag
//! and environment, state and stage compare-and-set, job claims that are
//! disjoint and leases that lapse.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use switchyard_server::store::{
    NewJob, NewReleasePlan, NewReleaseTemplate, PlanState, PlanStateChange, ReleaseGuards, ReleaseStage, StageRecord,
    StoreError,
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
    }
}

fn record(from: Option<u32>, to: u32) -> StageRecord {
    StageRecord { from, to, finish: false, summary: format!("stage {to}"), done: None, next: None }
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

    // The stage moves by compare-and-set: a second record of one step is refused.
    assert!(store.record_stage(created.id, record(None, 0)).await.unwrap());
    assert!(!store.record_stage(created.id, record(None, 0)).await.unwrap());
    let at = store.latest_plan("shop", "prod", "checkout").await.unwrap();
    assert_eq!((at.stage, at.summary.as_deref()), (Some(0), Some("stage 0")));

    let pause = |from: &'static [PlanState]| PlanStateChange {
        from,
        to: PlanState::Paused,
        action: "release.pause",
        reason: None,
        job: None,
    };
    store.set_plan_state(&admin, created.id, pause(&[PlanState::Running])).await.unwrap();
    match store.set_plan_state(&admin, created.id, pause(&[PlanState::Running])).await {
        Err(StoreError::Conflict { code: "plan_state", .. }) => {}
        other => panic!("expected plan_state, got {other:?}"),
    }
    assert!(!store.record_stage(created.id, record(Some(0), 1)).await.unwrap(), "a paused plan does not move");
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
