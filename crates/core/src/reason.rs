//! Evaluation reasons and details as they appear on the wire.
//!
//! ```json
//! {"kind": "OFF"}
//! {"kind": "RULE_MATCH", "rule_index": 0, "rule_id": "r1"}
//! {"kind": "ERROR", "error": "TYPE_MISMATCH"}
//! {"kind": "PREREQUISITE_FAILED", "prerequisite": "checkout-v2", "cause": "KILLED"}
//! ```
//! The codes map onto OpenFeature's reasons and error codes
//! (`PREREQUISITE_FAILED` is served as the off variant, like `OFF`).
//!
//! Owns: `Reason`, `ErrorKind`, `Detail` and their JSON. Must not touch:
//! how a reason is chosen (`eval`).

use std::sync::Arc;

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an evaluation failed and the caller's default was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// The flag's kind differs from the type asked for (e.g. a bool asked of a string flag).
    TypeMismatch,
}

impl ErrorKind {
    /// The wire code, e.g. `TYPE_MISMATCH`.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::TypeMismatch => "TYPE_MISMATCH",
        }
    }
}

/// Why a prerequisite was not met, as seen from the flag that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrerequisiteCause {
    /// No flag with that key in the snapshot.
    Missing,
    /// The prerequisite flag is killed (it serves its off variant).
    Killed,
    /// The prerequisite flag's targeting is off.
    Off,
    /// The prerequisite flag itself failed one of its prerequisites.
    PrerequisiteFailed,
    /// The prerequisite flag served another variant for this context.
    NotMet,
    /// The required variant is not one of the prerequisite flag's variants.
    UnknownVariant,
    /// The chain of prerequisites is deeper than
    /// [`crate::compile::MAX_PREREQUISITE_DEPTH`], needs more than
    /// [`crate::compile::MAX_PREREQUISITE_EVALUATIONS`] evaluations, or
    /// loops back on itself.
    TooDeep,
}

impl PrerequisiteCause {
    /// The wire code, e.g. `KILLED`.
    pub fn code(&self) -> &'static str {
        match self {
            PrerequisiteCause::Missing => "MISSING",
            PrerequisiteCause::Killed => "KILLED",
            PrerequisiteCause::Off => "OFF",
            PrerequisiteCause::PrerequisiteFailed => "PREREQUISITE_FAILED",
            PrerequisiteCause::NotMet => "NOT_MET",
            PrerequisiteCause::UnknownVariant => "UNKNOWN_VARIANT",
            PrerequisiteCause::TooDeep => "TOO_DEEP",
        }
    }
}

/// Why a value was served.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No flag with that key: the caller's default was served.
    FlagNotFound,
    /// The flag is killed: its off variant was served.
    Killed,
    /// Targeting is off: the off variant was served.
    Off,
    /// A prerequisite was not met: the off variant was served.
    PrerequisiteFailed {
        /// Key of the first prerequisite flag not met.
        prerequisite: Arc<str>,
        /// Why it was not met.
        cause: PrerequisiteCause,
    },
    /// The context key is individually targeted.
    TargetMatch,
    /// A rule matched.
    RuleMatch {
        /// Index of the rule (0-based).
        rule_index: usize,
        /// The rule's stable id.
        rule_id: Arc<str>,
    },
    /// No target or rule matched: the fallthrough was served.
    Fallthrough,
    /// Evaluation failed: the caller's default was served.
    Error(ErrorKind),
}

impl Reason {
    /// The wire `kind`: `FLAG_NOT_FOUND`, `KILLED`, `OFF`,
    /// `PREREQUISITE_FAILED`, `TARGET_MATCH`, `RULE_MATCH`, `FALLTHROUGH` or
    /// `ERROR`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::FlagNotFound => "FLAG_NOT_FOUND",
            Reason::Killed => "KILLED",
            Reason::Off => "OFF",
            Reason::PrerequisiteFailed { .. } => "PREREQUISITE_FAILED",
            Reason::TargetMatch => "TARGET_MATCH",
            Reason::RuleMatch { .. } => "RULE_MATCH",
            Reason::Fallthrough => "FALLTHROUGH",
            Reason::Error(_) => "ERROR",
        }
    }

    /// `true` for `FLAG_NOT_FOUND` and `ERROR`, where the default was served.
    pub fn is_default(&self) -> bool {
        matches!(self, Reason::FlagNotFound | Reason::Error(_))
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = match self {
            Reason::RuleMatch { .. } | Reason::PrerequisiteFailed { .. } => 3,
            Reason::Error(_) => 2,
            _ => 1,
        };
        let mut st = s.serialize_struct("Reason", fields)?;
        st.serialize_field("kind", self.code())?;
        match self {
            Reason::RuleMatch { rule_index, rule_id } => {
                st.serialize_field("rule_index", rule_index)?;
                st.serialize_field("rule_id", rule_id)?;
            }
            Reason::PrerequisiteFailed { prerequisite, cause } => {
                st.serialize_field("prerequisite", prerequisite)?;
                st.serialize_field("cause", cause)?;
            }
            Reason::Error(e) => st.serialize_field("error", e)?,
            _ => {}
        }
        st.end()
    }
}

/// The flat wire shape, for deserialising.
#[derive(Deserialize)]
struct RawReason {
    kind: String,
    #[serde(default)]
    rule_index: Option<usize>,
    #[serde(default)]
    rule_id: Option<Arc<str>>,
    #[serde(default)]
    error: Option<ErrorKind>,
    #[serde(default)]
    prerequisite: Option<Arc<str>>,
    #[serde(default)]
    cause: Option<PrerequisiteCause>,
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawReason::deserialize(d)?;
        Ok(match raw.kind.as_str() {
            "FLAG_NOT_FOUND" => Reason::FlagNotFound,
            "KILLED" => Reason::Killed,
            "OFF" => Reason::Off,
            "TARGET_MATCH" => Reason::TargetMatch,
            "FALLTHROUGH" => Reason::Fallthrough,
            "RULE_MATCH" => Reason::RuleMatch {
                rule_index: raw.rule_index.ok_or_else(|| D::Error::missing_field("rule_index"))?,
                rule_id: raw.rule_id.ok_or_else(|| D::Error::missing_field("rule_id"))?,
            },
            "PREREQUISITE_FAILED" => Reason::PrerequisiteFailed {
                prerequisite: raw.prerequisite.ok_or_else(|| D::Error::missing_field("prerequisite"))?,
                cause: raw.cause.ok_or_else(|| D::Error::missing_field("cause"))?,
            },
            "ERROR" => Reason::Error(raw.error.ok_or_else(|| D::Error::missing_field("error"))?),
            other => {
                return Err(D::Error::unknown_variant(
                    other,
                    &[
                        "FLAG_NOT_FOUND",
                        "KILLED",
                        "OFF",
                        "PREREQUISITE_FAILED",
                        "TARGET_MATCH",
                        "RULE_MATCH",
                        "FALLTHROUGH",
                        "ERROR",
                    ],
                ));
            }
        })
    }
}

/// A value with the variant that produced it and the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail<T> {
    /// The value served (the caller's default on `FLAG_NOT_FOUND` / `ERROR`).
    pub value: T,
    /// The variant key, `None` when the default was served.
    pub variant: Option<Arc<str>>,
    /// Why.
    pub reason: Reason,
}

impl<T> Detail<T> {
    /// A detail serving the caller's default.
    pub fn default_with(value: T, reason: Reason) -> Self {
        Detail { value, variant: None, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_round_trip_on_the_wire() {
        let cases = [
            (Reason::Off, json!({"kind": "OFF"})),
            (Reason::FlagNotFound, json!({"kind": "FLAG_NOT_FOUND"})),
            (
                Reason::RuleMatch { rule_index: 0, rule_id: "r1".into() },
                json!({"kind": "RULE_MATCH", "rule_index": 0, "rule_id": "r1"}),
            ),
            (Reason::Error(ErrorKind::TypeMismatch), json!({"kind": "ERROR", "error": "TYPE_MISMATCH"})),
            (
                Reason::PrerequisiteFailed { prerequisite: "b".into(), cause: PrerequisiteCause::Killed },
                json!({"kind": "PREREQUISITE_FAILED", "prerequisite": "b", "cause": "KILLED"}),
            ),
        ];
        for (reason, wire) in cases {
            assert_eq!(serde_json::to_value(&reason).unwrap(), wire);
            assert_eq!(serde_json::from_value::<Reason>(wire).unwrap(), reason);
        }
        assert!(serde_json::from_value::<Reason>(json!({"kind": "NOPE"})).is_err());
        assert!(serde_json::from_value::<Reason>(json!({"kind": "RULE_MATCH"})).is_err());
        assert!(serde_json::from_value::<Reason>(json!({"kind": "PREREQUISITE_FAILED", "prerequisite": "b"})).is_err());
    }
}
