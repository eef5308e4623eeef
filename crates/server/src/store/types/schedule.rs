//! Scheduled changes (issue 19 §2): a change to one flag's configuration in
//! one environment, applied at a time by the durable scheduler. The shapes
//! the store writes and reads; the workflow is `crate::ops::schedule`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{Prerequisite, Rule, Serve, Target};

use super::{FlagConfig, Requester};

/// The fields a scheduled change or a change request sets: any field of
/// a configuration write (`FlagConfig`, PUT …/flags/{flag}) but the kill,
/// each replaced as a whole; the others keep whatever value they have when
/// it is applied (so a change made in between is not undone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// Targeting on or off (a scheduled toggle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
    /// Variant served when targeting is off (or the flag killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// Flags that must serve the given variants for this one to be
    /// evaluated past its off variant (`[]` removes them). Checked against
    /// the environment's prerequisite graph when asked for and when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<Vec<Prerequisite>>,
    /// Individual targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Target>>,
    /// Rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    /// What is served when nothing else matched (a variant, or a
    /// percentage rollout: a scheduled rollout step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallthrough: Option<Serve>,
    /// Variant SDKs serve when they have no or too-old data; `null`
    /// removes it.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    pub fail_safe_variant: Option<Option<String>>,
}

/// A present field (`null` included) is `Some`, an absent one `None`.
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl ConfigPatch {
    /// Sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == ConfigPatch::default()
    }

    /// Only turns targeting on or off (applied and audited as a toggle).
    pub fn is_toggle(&self) -> bool {
        self.on.is_some() && ConfigPatch { on: None, ..self.clone() }.is_empty()
    }

    /// `config` with the fields this sets replaced; its kill is kept (a
    /// configuration write never changes it). Spelled without `..` on both
    /// sides, so that a field added to `FlagConfig` or to this type cannot
    /// be forgotten here.
    pub fn apply_to(&self, config: &FlagConfig) -> FlagConfig {
        let ConfigPatch { on, off_variant, prerequisites, targets, rules, fallthrough, fail_safe_variant } =
            self.clone();
        let FlagConfig {
            on: was_on,
            off_variant: was_off,
            prerequisites: were_prerequisites,
            kill,
            targets: were_targets,
            rules: were_rules,
            fallthrough: was_fallthrough,
            fail_safe_variant: was_fail_safe,
        } = config.clone();
        FlagConfig {
            on: on.unwrap_or(was_on),
            off_variant: off_variant.unwrap_or(was_off),
            prerequisites: prerequisites.unwrap_or(were_prerequisites),
            kill,
            targets: targets.unwrap_or(were_targets),
            rules: rules.unwrap_or(were_rules),
            fallthrough: fallthrough.unwrap_or(was_fallthrough),
            fail_safe_variant: fail_safe_variant.unwrap_or(was_fail_safe),
        }
    }

    /// The top-level configuration fields this sets, by their JSON names.
    pub fn fields(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every field a configuration write takes (all but the read-only
    /// kill) is a field of a patch, under the same name and shape: the
    /// whole written configuration read as a patch and applied to another
    /// gives it back.
    #[test]
    fn a_patch_carries_every_field_of_a_configuration_write() {
        let written = json!({
            "on": true, "off_variant": "off", "prerequisites": [{"flag": "gate", "variant": "on"}],
            "targets": [{"variant": "on", "keys": ["u1"]}],
            "rules": [{"id": "r", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}], "serve": {"variant": "on"}}],
            "fallthrough": {"variant": "on"}, "fail_safe_variant": "off",
        });
        let config: FlagConfig = serde_json::from_value(written.clone()).unwrap();
        let mut want: Vec<String> = written.as_object().unwrap().keys().cloned().collect();
        want.sort();
        let full = serde_json::to_value(&config).unwrap();
        let mut keys: Vec<String> = full.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, want, "the fixture sets every field a write takes");
        let patch: ConfigPatch = serde_json::from_value(full).expect("every field is a patch field");
        let other: FlagConfig =
            serde_json::from_value(json!({"on": false, "off_variant": "on", "fallthrough": {"variant": "off"}}))
                .unwrap();
        assert_eq!(patch.apply_to(&other), config);
        let mut fields = patch.fields();
        fields.sort();
        assert_eq!(fields, want);
        // `null` removes the fail-safe; absent keeps it.
        let clear: ConfigPatch = serde_json::from_value(json!({"fail_safe_variant": null})).unwrap();
        assert_eq!(clear.apply_to(&config).fail_safe_variant, None);
        assert_eq!(
            ConfigPatch { on: Some(false), ..ConfigPatch::default() }.apply_to(&config).fail_safe_variant,
            config.fail_safe_variant
        );
    }
}

/// Where a scheduled change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    /// Waiting for its time; may be edited or cancelled.
    Pending,
    /// Applied by the scheduler.
    Applied,
    /// Cancelled before it was due.
    Cancelled,
    /// Could not be applied (`result` says why); nothing was written.
    Failed,
}

impl ScheduleState {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Pending => "pending",
            ScheduleState::Applied => "applied",
            ScheduleState::Cancelled => "cancelled",
            ScheduleState::Failed => "failed",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<ScheduleState> {
        Some(match s {
            "pending" => ScheduleState::Pending,
            "applied" => ScheduleState::Applied,
            "cancelled" => ScheduleState::Cancelled,
            "failed" => ScheduleState::Failed,
            _ => return None,
        })
    }
}

/// A change to schedule (the body of `POST …/flags/{flag}/schedule`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScheduledChange {
    /// When to apply it (RFC 3339); at most a minute in the past (then it
    /// is applied at the scheduler's next tick).
    pub at: DateTime<Utc>,
    /// What to set.
    pub change: ConfigPatch,
    /// Why (kept on the change and in the audit of its write).
    #[serde(default)]
    pub reason: Option<String>,
}

/// An edit of a pending change (the body of `PATCH …/scheduled/{id}`):
/// absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEdit {
    /// A new time.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// A new change (replaces the whole change).
    #[serde(default)]
    pub change: Option<ConfigPatch>,
    /// A new reason.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A scheduled change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledChange {
    /// Id (unique across projects).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// What it sets.
    pub change: ConfigPatch,
    /// When it is (or was) due.
    pub at: DateTime<Utc>,
    /// Where it is.
    pub state: ScheduleState,
    /// Why.
    pub reason: Option<String>,
    /// The user or token that scheduled it (the requester in the audit of
    /// its write, whose actor is `scheduler`).
    pub requested_by: String,
    /// That user or token by kind and id (none: scheduled before requesters
    /// were recorded and not identifiable by name). When the change is due,
    /// it must still exist, be usable and be an editor in the project, or
    /// the change fails (`result` says why).
    pub requester: Option<Requester>,
    /// The environment revision its write produced (applied; none when the
    /// flag already served it).
    pub revision: Option<u64>,
    /// What happened when it was due: why it failed, or that the flag
    /// already served it.
    pub result: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last state change or edit.
    pub updated_at: DateTime<Utc>,
}
