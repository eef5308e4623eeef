//! Backend-neutral pieces of the SQL store: options, shared state, time and
//! id conversions, flag defaults and merging, validation helpers, cursors.
//!
//! Pure helpers: no SQL, no I/O. Must not depend on the body.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use switchyard_core::{Clause, Flag, FlagKind, Operator, Segment, Serve, ValidationError, ValidationErrors, Variant};
use tokio::sync::{Mutex, MutexGuard};

use crate::store::{ChangeSink, FlagConfig, FlagConfigRecord, FlagDefinition, NewFlag, Result, StoreError};

/// Tuning of a SQL store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Change-log revisions kept per environment (default 10 000). An SDK
    /// further behind than that gets `None` from `changes_since` and
    /// resyncs from a snapshot.
    pub change_log_retention: u64,
    /// Pool size (default 16 for Postgres, 8 for an SQLite file; an
    /// in-memory SQLite database always uses exactly one connection).
    pub max_connections: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { change_log_retention: 10_000, max_connections: None }
    }
}

/// State shared by both backends' store structs.
pub(super) struct Shared {
    pub sink: Arc<dyn ChangeSink>,
    pub options: StoreOptions,
    pub order: CommitOrder,
    /// SQLite only: held around every write transaction.
    pub write_lock: Option<Arc<Mutex<()>>>,
    /// Notified after a commit that wrote webhook outbox rows.
    pub outbox_wakeup: Arc<tokio::sync::Notify>,
    /// Names this store instance (this replica) in its change
    /// notifications, so that its own listener can ignore them.
    pub origin: Arc<str>,
}

impl Shared {
    pub fn new(sink: Arc<dyn ChangeSink>, options: StoreOptions, serialize_writes: bool) -> Shared {
        Shared {
            sink,
            options,
            order: CommitOrder::new(),
            write_lock: serialize_writes.then(|| Arc::new(Mutex::new(()))),
            outbox_wakeup: Arc::new(tokio::sync::Notify::new()),
            origin: uuid::Uuid::new_v4().simple().to_string()[..12].into(),
        }
    }
}

const STRIPES: usize = 64;

/// Keeps "commit, then publish" atomic per environment inside this process,
/// so that the sink sees each environment's revisions in order even when
/// two writers commit back to back (the database lock is released at
/// commit, before the first writer has published). Striped by environment
/// id; a writer takes its stripes in index order, just before commit, after
/// all database work, so it can never wait on a database lock while holding
/// one.
pub(super) struct CommitOrder {
    stripes: Box<[Mutex<()>]>,
}

impl CommitOrder {
    fn new() -> CommitOrder {
        CommitOrder { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }

    pub async fn lock(&self, environment_ids: impl Iterator<Item = i64>) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = environment_ids.map(|id| id.rem_euclid(STRIPES as i64) as usize).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for i in idx {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }
}

// ---- time and integers ----

/// Now, in unix epoch milliseconds (the stored form).
pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Stored milliseconds → time.
pub(super) fn to_time(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

/// Stored milliseconds → RFC 3339 (kill records).
pub(super) fn rfc3339(ms: i64) -> Result<String> {
    Ok(to_time(ms)?.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Stored (signed) version or revision → u64.
pub(super) fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative counter {v}")))
}

/// u64 → bindable i64 (saturating: no stored counter comes near).
pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

// ---- errors ----

pub(super) fn invalid(path: &str, code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Validation(ValidationErrors(vec![ValidationError {
        path: path.to_string(),
        code,
        message: message.into(),
    }]))
}

pub(super) fn not_found(what: &'static str, key: impl Into<String>) -> StoreError {
    StoreError::NotFound { what, key: key.into() }
}

pub(super) fn version_conflict(what: &str, key: &str, current: u64, expected: u64) -> StoreError {
    StoreError::Conflict {
        code: "version_conflict",
        message: format!("{what} `{key}` is at version {current}, not {expected}: reload and retry"),
        current_version: Some(current),
    }
}

/// Unique violation → `AlreadyExists`, anything else → `Database`.
pub(super) fn unique_or(err: sqlx::Error, what: &'static str, key: &str) -> StoreError {
    if let Some(db) = err.as_database_error()
        && db.is_unique_violation()
    {
        return StoreError::AlreadyExists { what, key: key.to_string() };
    }
    StoreError::Database(err)
}

/// Prefixes every path (`rules[0]` → `changes[2].config.rules[0]`).
pub(super) fn prefixed(errors: ValidationErrors, prefix: &str) -> ValidationErrors {
    ValidationErrors(
        errors
            .0
            .into_iter()
            .map(|mut e| {
                e.path = if e.path.is_empty() {
                    prefix.trim_end_matches('.').to_string()
                } else {
                    format!("{prefix}{}", e.path)
                };
                e
            })
            .collect(),
    )
}

/// Validates a key; errors are reported at `path`.
pub(super) fn check_key(key: &str, path: &str) -> Result<()> {
    switchyard_core::validate_key(key).map_err(|mut e| {
        e.path = path.to_string();
        StoreError::Validation(ValidationErrors(vec![e]))
    })
}

/// Validates a merged flag against the project's segment keys.
pub(super) fn check_flag(flag: &Flag, segments: &HashSet<String>) -> std::result::Result<(), ValidationErrors> {
    switchyard_core::validate_flag(flag, &|key: &str| segments.contains(key))
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(format!("serialising: {e}")))
}

// ---- flags ----

/// Stored text of a kind.
pub(super) fn kind_str(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Boolean => "boolean",
        FlagKind::String => "string",
        FlagKind::Number => "number",
        FlagKind::Json => "json",
    }
}

pub(super) fn parse_kind(s: &str) -> Result<FlagKind> {
    Ok(match s {
        "boolean" => FlagKind::Boolean,
        "string" => FlagKind::String,
        "number" => FlagKind::Number,
        "json" => FlagKind::Json,
        other => return Err(StoreError::Corrupt(format!("unknown flag kind `{other}`"))),
    })
}

/// A stored flag definition with its row ids and configuration defaults.
#[derive(Debug, Clone)]
pub(super) struct FlagRow {
    pub id: i64,
    pub def: FlagDefinition,
    /// Preferred off variant for configurations created later.
    pub off_variant: String,
    /// Preferred on variant (fallthrough) for configurations created later.
    pub on_variant: String,
}

impl FlagRow {
    /// The default (off) configuration for a new environment.
    pub fn default_config(&self) -> FlagConfig {
        let (off, on) = resolve_defaults(&self.def.variants, Some(&self.off_variant), Some(&self.on_variant));
        default_config(off, on)
    }
}

/// Variants and (off, on) variant keys of a new flag.
pub(super) fn new_flag_defaults(new: &NewFlag) -> (Vec<Variant>, String, String) {
    let variants = if new.kind == FlagKind::Boolean && new.variants.is_empty() {
        vec![
            Variant { key: "on".into(), value: Value::Bool(true), name: None, description: None },
            Variant { key: "off".into(), value: Value::Bool(false), name: None, description: None },
        ]
    } else {
        new.variants.clone()
    };
    let off = new.off_variant.clone().unwrap_or_else(|| variants.last().map(|v| v.key.clone()).unwrap_or_default());
    let on = new.on_variant.clone().unwrap_or_else(|| variants.first().map(|v| v.key.clone()).unwrap_or_default());
    (variants, off, on)
}

/// The preferred (off, on) keys when they still exist, else last/first variant.
pub(super) fn resolve_defaults(variants: &[Variant], off: Option<&str>, on: Option<&str>) -> (String, String) {
    let has = |k: &str| variants.iter().any(|v| v.key == k);
    let off = match off {
        Some(k) if has(k) => k.to_string(),
        _ => variants.last().map(|v| v.key.clone()).unwrap_or_default(),
    };
    let on = match on {
        Some(k) if has(k) => k.to_string(),
        _ => variants.first().map(|v| v.key.clone()).unwrap_or_default(),
    };
    (off, on)
}

pub(super) fn default_config(off_variant: String, on_variant: String) -> FlagConfig {
    FlagConfig {
        on: false,
        off_variant,
        prerequisites: Vec::new(),
        kill: None,
        targets: Vec::new(),
        rules: Vec::new(),
        fallthrough: Serve::Variant(on_variant),
        fail_safe_variant: None,
    }
}

/// The flag as SDKs see it: definition + one environment's configuration.
pub(super) fn merge(def: &FlagDefinition, version: u64, config: &FlagConfig) -> Flag {
    Flag {
        key: def.key.clone(),
        kind: def.kind,
        variants: def.variants.clone(),
        salt: def.salt.clone(),
        version,
        on: config.on,
        off_variant: config.off_variant.clone(),
        kill: config.kill.clone(),
        prerequisites: config.prerequisites.clone(),
        targets: config.targets.clone(),
        rules: config.rules.clone(),
        fallthrough: config.fallthrough.clone(),
        fail_safe_variant: config.fail_safe_variant.clone(),
    }
}

/// A stored configuration row.
#[derive(Debug, Clone)]
pub(super) struct ConfigRow {
    pub version: u64,
    pub config: FlagConfig,
    pub updated_at: i64,
    pub updated_by: String,
}

impl ConfigRow {
    pub fn record(&self, flag: &str, environment: &str) -> Result<FlagConfigRecord> {
        Ok(FlagConfigRecord {
            flag: flag.to_string(),
            environment: environment.to_string(),
            version: self.version,
            config: self.config.clone(),
            updated_at: to_time(self.updated_at)?,
            updated_by: self.updated_by.clone(),
        })
    }
}

pub(super) fn random_salt() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub(super) fn new_group_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

// ---- segment references ----

fn clauses_reference(clauses: &[Clause], segment: &str) -> bool {
    clauses.iter().any(|c| c.op == Operator::InSegment && c.values.iter().any(|v| v.as_str() == Some(segment)))
}

pub(super) fn config_references(config: &FlagConfig, segment: &str) -> bool {
    config.rules.iter().any(|r| clauses_reference(&r.clauses, segment))
}

pub(super) fn segment_references(other: &Segment, segment: &str) -> bool {
    other.rules.iter().any(|r| clauses_reference(&r.clauses, segment))
}

// ---- pagination ----

/// Page size: default 100, between 1 and 1000.
pub(super) fn page_limit(limit: Option<u32>) -> usize {
    limit.unwrap_or(100).clamp(1, 1000) as usize
}

pub(super) fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

pub(super) fn decode_cursor(cursor: &str) -> Result<String> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid("cursor", "invalid_cursor", "the cursor is not one this server issued"))
}
