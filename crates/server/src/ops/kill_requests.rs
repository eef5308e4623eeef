//! What a kill, a restore and the panic button (and its undo) are asked
//! with; the workflow is [`crate::ops::kill`].

use serde::Deserialize;

/// A kill of one flag.
#[derive(Debug, Deserialize)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct KillOne {
    /// Why (required).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// A restore after a kill.
#[derive(Debug, Deserialize)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct UnkillRequest {
    /// Why (required).
    pub reason: String,
    /// Incident id (the restore, and its delivery receipt, join the
    /// incident's timeline).
    #[serde(default)]
    pub incident: Option<String>,
}

/// The panic button.
#[derive(Debug, Deserialize)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct PanicRequest {
    /// Kill every flag with this tag…
    #[serde(default)]
    pub tag: Option<String>,
    /// …or these flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Why (required).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}
