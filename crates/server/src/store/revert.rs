//! Going back on one flag: **undo this change** (the inverse of one audited
//! change, field by field) and **restore this version** (a whole earlier
//! state) — their requests, the exact diff either would apply (what a dry
//! run answers and the UI shows), and the pure field arithmetic behind them.
//!
//! A configuration's *fields* are the top-level keys of [`FlagConfig`]:
//! `on`, `off_variant`, `targets`, `rules`, `fallthrough`,
//! `fail_safe_variant` (and `kill`, which neither action changes: the kill
//! switch owns it). Working on the JSON keys keeps this correct when a field
//! is added to the configuration.
//!
//! Pure: no SQL, no I/O (the writes are `HistoryStore`'s, in
//! `sql/body/history.rs`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{FlagConfig, FlagConfigRecord, Result, StoreError};

/// The one field neither undo nor restore touches.
const KILL: &str = "kill";

/// Restore one flag to an earlier version, as a new version.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreVersion {
    /// The version whose configuration is written again.
    pub to_version: u64,
    /// Why (required unless `dry_run`).
    pub reason: Option<String>,
    /// Compute the diff only; write nothing.
    pub dry_run: bool,
}

/// Undo one change: the one that produced `version`.
#[derive(Debug, Clone, Serialize)]
pub struct UndoChange {
    /// The version the change produced (an audit event's `after.version`).
    pub version: u64,
    /// Why (required unless `dry_run`).
    pub reason: Option<String>,
    /// Compute the diff only; write nothing.
    pub dry_run: bool,
}

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Top-level configuration field, e.g. `on`, `rules`.
    pub field: String,
    /// Its value now (`null`: absent).
    pub before: Value,
    /// Its value afterwards.
    pub after: Value,
}

/// Exactly what an undo or a restore applies (or would apply) to a flag.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigDiff {
    /// Flag key.
    pub flag: String,
    /// Environment key.
    pub environment: String,
    /// The current version (the write makes `from_version + 1`).
    pub from_version: u64,
    /// Every field that changes, with its value before and after.
    pub changes: Vec<FieldChange>,
    /// The configuration now.
    pub before: FlagConfig,
    /// The configuration afterwards.
    pub after: FlagConfig,
    /// Whether what the flag serves switches: `on` or the kill changes.
    pub serving_state_changes: bool,
    /// Whether the environment looks like production (see [`production_like`]).
    pub production_like: bool,
    /// Set when serving state changes in a production-like environment:
    /// say it loudly before confirming.
    pub warning: Option<String>,
}

/// The answer of an undo or a restore (`Written` plus the diff).
#[derive(Debug, Clone, Serialize)]
pub struct Reverted {
    /// The configuration after the write (a dry run: the current one, unchanged).
    pub value: FlagConfigRecord,
    /// Whether anything was written.
    pub changed: bool,
    /// The new environment revision, when written.
    pub revision: Option<u64>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// What was (or would be) applied.
    pub diff: ConfigDiff,
}

/// An environment is production-like when its key or name says so
/// (`prod…`, `…production…`, `live`, `prd`): undo and restore warn there.
pub fn production_like(key: &str, name: &str) -> bool {
    [key, name].iter().any(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("prod") || s.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "live" || w == "prd")
    })
}

fn fields(config: &FlagConfig) -> Result<Map<String, Value>> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Corrupt("a configuration is not a JSON object".into())),
        Err(e) => Err(StoreError::Corrupt(format!("configuration: {e}"))),
    }
}

/// Every field whose value differs, sorted, `kill` included.
pub fn field_changes(before: &FlagConfig, after: &FlagConfig) -> Result<Vec<FieldChange>> {
    let (b, a) = (fields(before)?, fields(after)?);
    let mut names: Vec<&String> = b.keys().chain(a.keys()).collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let (x, y) = (b.get(name).cloned().unwrap_or(Value::Null), a.get(name).cloned().unwrap_or(Value::Null));
            (x != y).then(|| FieldChange { field: name.clone(), before: x, after: y })
        })
        .collect())
}

/// The fields (not `kill`) that differ between two configurations.
pub fn changed_fields(before: &FlagConfig, after: &FlagConfig) -> Result<Vec<String>> {
    Ok(field_changes(before, after)?.into_iter().map(|c| c.field).filter(|f| f != KILL).collect())
}

/// `base` with each of `names` set to its value in `from`.
pub fn with_fields(base: &FlagConfig, from: &FlagConfig, names: &[String]) -> Result<FlagConfig> {
    let (mut out, from) = (fields(base)?, fields(from)?);
    for name in names {
        match from.get(name) {
            Some(v) => out.insert(name.clone(), v.clone()),
            None => out.remove(name),
        };
    }
    serde_json::from_value(Value::Object(out)).map_err(|e| StoreError::Corrupt(format!("configuration: {e}")))
}

/// The diff of `before` → `after` of one flag in one environment.
pub fn config_diff(current: &FlagConfigRecord, after: FlagConfig, env_name: &str) -> Result<ConfigDiff> {
    let before = &current.config;
    let changes = field_changes(before, &after)?;
    let serving_state_changes = before.on != after.on || before.kill.is_some() != after.kill.is_some();
    let production_like = production_like(&current.environment, env_name);
    let warning = (serving_state_changes && production_like).then(|| {
        let to = if after.on { "ON" } else { "OFF" };
        let flag = &current.flag;
        if after.kill.is_some() {
            format!(
                "This turns `{flag}` {to} in {env_name}, a production environment. It stays killed: \
                 it serves its off variant until restored, then {to}."
            )
        } else {
            format!(
                "This turns `{flag}` {to} in {env_name}, a production environment: SDKs apply it within milliseconds."
            )
        }
    });
    Ok(ConfigDiff {
        flag: current.flag.clone(),
        environment: current.environment.clone(),
        from_version: current.version,
        changes,
        before: before.clone(),
        after,
        serving_state_changes,
        production_like,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(on: bool) -> FlagConfig {
        serde_json::from_value(serde_json::json!({"on": on, "off_variant": "off", "fallthrough": {"variant": "on"}}))
            .expect("config")
    }

    #[test]
    fn fields_are_compared_and_copied_one_by_one() {
        let a = config(false);
        let mut b = config(true);
        b.fail_safe_variant = Some("off".into());
        assert_eq!(changed_fields(&a, &b).unwrap(), ["fail_safe_variant", "on"]);
        let back = with_fields(&b, &a, &["fail_safe_variant".to_string()]).unwrap();
        assert_eq!((back.on, back.fail_safe_variant), (true, None), "only the named field went back");
    }

    #[test]
    fn production_like_names() {
        for (key, name) in [("production", ""), ("prod-eu", ""), ("x", "Live"), ("prd", "")] {
            assert!(production_like(key, name), "{key}/{name}");
        }
        for (key, name) in [("staging", "Staging"), ("dev", "Delivery"), ("qa", "olive")] {
            assert!(!production_like(key, name), "{key}/{name}");
        }
    }
}
