//! Wire types: flags, segments, snapshots and change events exactly as they
//! travel between the server, the SDKs and the store (JSON via serde).
//!
//! These are *descriptions*; [`crate::compile`] turns a [`Snapshot`] into the
//! immutable, pre-processed form that evaluation runs on.
//!
//! Owns: the serde shapes of flags, segments, snapshots and changes. Must
//! not touch: compiled forms, protocol names (`protocol`), storage or HTTP
//! concerns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of value a flag serves. Every variant of a flag has this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// `true` / `false`.
    Boolean,
    /// A UTF-8 string.
    String,
    /// A JSON number (f64).
    Number,
    /// Any JSON value.
    Json,
}

/// One named value a flag can serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Identifier, unique within the flag; matches the key pattern.
    pub key: String,
    /// The value served; its JSON type must match the flag's [`FlagKind`].
    pub value: Value,
    /// Optional human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Who killed a flag, when and why. A killed flag serves its off variant with
/// reason `KILLED`, whatever its other configuration says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    /// Why (free text, required).
    pub reason: String,
    /// Actor that killed it (user name, token name or trigger name).
    pub by: String,
    /// RFC 3339 time of the kill.
    pub at: String,
    /// Optional incident identifier, e.g. `INC-42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// Individual targeting: these context keys get this variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Variant key served.
    pub variant: String,
    /// Context keys that receive it.
    pub keys: Vec<String>,
}

/// Comparison operator of a [`Clause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Attribute equals the single value (same JSON type).
    Equals,
    /// Attribute equals one of the values (same JSON type).
    In,
    /// String attribute contains one of the values as a substring.
    Contains,
    /// String attribute starts with one of the values.
    StartsWith,
    /// String attribute ends with one of the values.
    EndsWith,
    /// String attribute matches one of the regexes (`regex` crate syntax, linear time).
    Matches,
    /// Number attribute `<` one of the values.
    Lt,
    /// Number attribute `<=` one of the values.
    Lte,
    /// Number attribute `>` one of the values.
    Gt,
    /// Number attribute `>=` one of the values.
    Gte,
    /// Semver attribute equals one of the values.
    SemverEq,
    /// Semver attribute `<` one of the values.
    SemverLt,
    /// Semver attribute `<=` one of the values.
    SemverLte,
    /// Semver attribute `>` one of the values.
    SemverGt,
    /// Semver attribute `>=` one of the values.
    SemverGte,
    /// RFC 3339 datetime attribute is before one of the values.
    Before,
    /// RFC 3339 datetime attribute is after one of the values.
    After,
    /// The attribute is present (values must be empty).
    Exists,
    /// The context is in one of the segments named by the values (segment keys).
    InSegment,
}

impl Operator {
    /// Every operator, in declaration order (handy for UIs and tests).
    pub const ALL: [Operator; 19] = [
        Operator::Equals,
        Operator::In,
        Operator::Contains,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Matches,
        Operator::Lt,
        Operator::Lte,
        Operator::Gt,
        Operator::Gte,
        Operator::SemverEq,
        Operator::SemverLt,
        Operator::SemverLte,
        Operator::SemverGt,
        Operator::SemverGte,
        Operator::Before,
        Operator::After,
        Operator::Exists,
        Operator::InSegment,
    ];
}

/// One condition of a rule. A rule's clauses are ANDed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clause {
    /// Attribute name; `key` means the context key. Ignored by `in_segment`.
    #[serde(default)]
    pub attribute: String,
    /// The operator.
    pub op: Operator,
    /// Operand values; the clause matches if the attribute matches any of them.
    #[serde(default)]
    pub values: Vec<Value>,
    /// Invert the result (see the evaluation docs for missing attributes).
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One arm of a percentage rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedVariant {
    /// Variant key served to this arm.
    pub variant: String,
    /// Share in units of 1/100 000 (so 100 000 = 100 %).
    pub weight: u32,
}

/// A percentage rollout: weights sum to exactly 100 000.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// Attribute whose value is hashed; `None` means the context key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_by: Option<String>,
    /// The arms, in order; bucket ranges are assigned in this order.
    pub variations: Vec<WeightedVariant>,
}

/// What a rule or the fallthrough serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Serve {
    /// One fixed variant: `{"variant": "on"}`.
    Variant(String),
    /// A percentage rollout: `{"rollout": {...}}`.
    Rollout(Rollout),
}

/// A targeting rule: if every clause matches, serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable identifier reported in `RULE_MATCH`.
    pub id: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Conditions, ANDed. An empty list matches every context.
    #[serde(default)]
    pub clauses: Vec<Clause>,
    /// What to serve on match.
    pub serve: Serve,
}

/// A prerequisite of a flag: the flag serves its off variant unless the
/// flag `flag` evaluates to `variant` for the same context.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Prerequisite {
    /// Key of the prerequisite flag (in the same environment).
    pub flag: String,
    /// The variant key that flag must serve.
    pub variant: String,
}

/// A flag as the SDK sees it in one environment: its definition (kind,
/// variants, salt) merged with that environment's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// Key, matching `[a-z0-9][a-z0-9_.-]{0,127}`.
    pub key: String,
    /// Value type.
    pub kind: FlagKind,
    /// The values this flag can serve.
    pub variants: Vec<Variant>,
    /// Rollout hash salt; defaults to the flag key when empty.
    #[serde(default)]
    pub salt: String,
    /// Version of this environment's configuration (increments on every write).
    #[serde(default)]
    pub version: u64,
    /// Targeting on/off.
    pub on: bool,
    /// Variant served when off or killed.
    pub off_variant: String,
    /// Present when the flag is killed in this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    /// Flags that must serve given variants for this flag to be evaluated
    /// past its off variant (checked after the kill and on/off, before
    /// targets), in order; the first unmet one is named in the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
    /// Individual targets, checked before rules.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Ordered rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Served when targeting is on and nothing else matched.
    pub fallthrough: Serve,
    /// Optional fail-safe variant that SDKs serve when they have no data or
    /// their data is older than their configured bound (fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_safe_variant: Option<String>,
}

/// A reusable set of contexts: explicit includes/excludes, then rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Key, matching the key pattern.
    pub key: String,
    /// Version (increments on every write).
    #[serde(default)]
    pub version: u64,
    /// Context keys always in the segment (checked after `excluded`).
    #[serde(default)]
    pub included: Vec<String>,
    /// Context keys never in the segment (wins over everything).
    #[serde(default)]
    pub excluded: Vec<String>,
    /// A context matching any rule is in the segment. Only `clauses` is
    /// used; `serve` is ignored for segments and may be omitted.
    #[serde(default)]
    pub rules: Vec<SegmentRule>,
}

/// A segment rule: its clauses are ANDed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRule {
    /// Stable identifier.
    #[serde(default)]
    pub id: String,
    /// Conditions, ANDed.
    #[serde(default)]
    pub clauses: Vec<Clause>,
}

/// Everything an SDK needs for one environment at one revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The environment revision this snapshot reflects.
    pub revision: u64,
    /// All flags of the environment.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// All segments visible to the environment.
    #[serde(default)]
    pub segments: Vec<Segment>,
}

/// One committed change to an environment, as streamed in `event: change`.
/// Applying it to the snapshot at `revision - 1` yields the snapshot at
/// `revision`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The new revision.
    pub revision: u64,
    /// Flags created or updated (full new state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    /// Keys of flags deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_flags: Vec<String>,
    /// Segments created or updated (full new state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    /// Keys of segments deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_segments: Vec<String>,
}

impl Snapshot {
    /// Applies a change in place. Returns `false` (and changes nothing) when
    /// the change's revision is not newer than the snapshot's.
    pub fn apply(&mut self, change: &ChangeEvent) -> bool {
        if change.revision <= self.revision {
            return false;
        }
        self.flags.retain(|f| !change.deleted_flags.contains(&f.key) && !change.flags.iter().any(|n| n.key == f.key));
        self.flags.extend(change.flags.iter().cloned());
        self.segments
            .retain(|s| !change.deleted_segments.contains(&s.key) && !change.segments.iter().any(|n| n.key == s.key));
        self.segments.extend(change.segments.iter().cloned());
        self.revision = change.revision;
        true
    }
}
