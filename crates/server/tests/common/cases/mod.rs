//! The conformance cases and their helpers. Each case is
//! `pub async fn name(ctx: Ctx)` and must pass on every backend.

mod accounts;
mod alerting;
mod approvals;
mod configs;
mod definitions;
mod history;
mod insights;
mod listing;
mod members;
mod receipts;
mod release;
mod revert;
mod schedule;
mod sdk;
mod segments;
mod telemetry;
mod text;

pub use accounts::*;
pub use alerting::*;
pub use approvals::*;
pub use configs::*;
pub use definitions::*;
pub use history::*;
pub use insights::*;
pub use listing::*;
pub use members::*;
pub use receipts::*;
pub use release::*;
pub use revert::*;
pub use schedule::*;
pub use sdk::*;
pub use segments::*;
pub use telemetry::*;
pub use text::*;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use switchyard_core::{Clause, FlagKind, Operator, Rule, Serve, Snapshot, Variant};
use switchyard_server::store::{
    AuditQuery, ChangeSetRequest, ConfigChange, DynStore, EnvironmentPatch, FlagConfig, FlagPatch, FlagQuery,
    KillRequest, NewApiToken, NewEnvironment, NewFlag, NewProject, NewSdkKey, NewUser, RestoreRequest, Role,
    SegmentInput, StoreError, StoreOptions,
};

pub use crate::common::{Ctx, RecordingSink, user};

// ---- helpers ----

fn new_flag(key: &str) -> NewFlag {
    NewFlag {
        key: key.into(),
        name: None,
        description: None,
        kind: FlagKind::Boolean,
        variants: Vec::new(),
        tags: Vec::new(),
        owner: None,
        temporary: true,
        expires_at: None,
        off_variant: None,
        on_variant: None,
        salt: None,
    }
}

fn string_flag(key: &str, variants: &[&str]) -> NewFlag {
    NewFlag {
        kind: FlagKind::String,
        variants: variants
            .iter()
            .map(|v| Variant { key: (*v).into(), value: json!(v), name: None, description: None })
            .collect(),
        ..new_flag(key)
    }
}

fn rule(id: &str, attribute: &str, value: &str, serve: &str) -> Rule {
    Rule {
        id: id.into(),
        description: None,
        clauses: vec![Clause {
            attribute: attribute.into(),
            op: Operator::Equals,
            values: vec![json!(value)],
            negate: false,
        }],
        serve: Serve::Variant(serve.into()),
    }
}

fn segment_rule(id: &str, segment: &str, serve: &str) -> Rule {
    Rule {
        id: id.into(),
        description: None,
        clauses: vec![Clause {
            attribute: String::new(),
            op: Operator::InSegment,
            values: vec![json!(segment)],
            negate: false,
        }],
        serve: Serve::Variant(serve.into()),
    }
}

fn segment(key: &str, included: &[&str]) -> SegmentInput {
    SegmentInput {
        key: key.into(),
        name: Some(format!("Segment {key}")),
        description: None,
        included: included.iter().map(|s| (*s).into()).collect(),
        excluded: Vec::new(),
        rules: Vec::new(),
    }
}

/// Project `shop` with environments `dev` and `prod` and boolean flags.
async fn setup(store: &DynStore, flags: &[&str]) {
    let admin = user("admin");
    store
        .create_project(
            &admin,
            NewProject { key: "shop".into(), name: Some("Shop".into()), description: None, environments: None },
        )
        .await
        .expect("project");
    for env in ["dev", "prod"] {
        store
            .create_environment(&admin, "shop", NewEnvironment { key: env.into(), name: None, ..Default::default() })
            .await
            .expect("env");
    }
    for flag in flags {
        store.create_flag(&admin, "shop", new_flag(flag)).await.expect("flag");
    }
}

async fn revision(store: &DynStore, env: &str) -> u64 {
    store.get_environment("shop", env).await.expect("environment").revision
}

async fn audit_count(store: &DynStore) -> usize {
    let q = AuditQuery { limit: Some(1000), ..AuditQuery::default() };
    store.list_audit("shop", &q).await.expect("audit").items.len()
}

async fn config(store: &DynStore, env: &str, flag: &str) -> (u64, FlagConfig) {
    let r = store.get_flag_config("shop", env, flag).await.expect("config");
    (r.version, r.config)
}

fn kill(flags: &[&str], reason: &str) -> KillRequest {
    KillRequest {
        flags: flags.iter().map(|f| (*f).into()).collect(),
        reason: reason.into(),
        incident: Some("INC-7".into()),
        panic: false,
        detail: None,
    }
}

fn paths(err: StoreError) -> Vec<(String, &'static str)> {
    match err {
        StoreError::Validation(v) => v.0.into_iter().map(|e| (e.path, e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn assert_conflict(err: StoreError, code: &str) -> Option<u64> {
    match err {
        StoreError::Conflict { code: c, current_version, .. } if c == code => current_version,
        other => panic!("expected conflict {code}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(res: Result<T, StoreError>, what: &str) {
    match res {
        Err(StoreError::NotFound { what: w, .. }) if w == what => {}
        other => panic!("expected {what} not found, got {other:?}"),
    }
}

fn assert_already_exists<T: std::fmt::Debug>(res: Result<T, StoreError>) {
    match res {
        Err(StoreError::AlreadyExists { .. }) => {}
        other => panic!("expected already exists, got {other:?}"),
    }
}

async fn pause() {
    tokio::time::sleep(Duration::from_millis(15)).await;
}
