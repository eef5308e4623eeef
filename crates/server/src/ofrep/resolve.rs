//! Evaluation → OFREP's success shapes: the reason mapping (see the table
//! in [`crate::ofrep`]), the flag metadata, the bulk body and its ETag.
//! Everything borrows from the compiled snapshot: a bulk response of 100
//! flags serialises without copying a value.

use serde::Serialize;
use serde_json::Value;
use switchyard_core::{CompiledSnapshot, Context, EvalReason, Evaluation, Flag, Serve};

/// A successful evaluation (`evaluationSuccess`).
#[derive(Debug, Serialize)]
pub struct Resolved<'a> {
    /// The flag key.
    pub key: &'a str,
    /// The value of the variant served.
    pub value: &'a Value,
    /// `STATIC`, `TARGETING_MATCH`, `SPLIT` or `DISABLED`.
    pub reason: &'static str,
    /// The variant served.
    pub variant: &'a str,
    /// Switchyard's own view of the evaluation.
    pub metadata: Metadata<'a>,
}

/// Flag metadata (`metadata`: string, number and boolean values only).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata<'a> {
    /// Switchyard's reason: `KILLED`, `OFF`, `TARGET_MATCH`, `RULE_MATCH`, `FALLTHROUGH`.
    pub reason: &'static str,
    /// The matched rule's id (`RULE_MATCH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<&'a str>,
    /// Whether the flag is killed (its kill's variant is served).
    pub killed: bool,
    /// The flag's configuration version.
    pub flag_version: u64,
    /// The environment revision evaluated.
    pub revision: u64,
}

/// Evaluates `key`; `None` when the snapshot has no such flag.
pub fn resolve<'a>(snapshot: &'a CompiledSnapshot, key: &str, ctx: &Context<'_>) -> Option<Resolved<'a>> {
    let evaluation = snapshot.evaluate(key, ctx)?;
    Some(shape(snapshot, &evaluation))
}

/// Every flag of the snapshot, in key order.
pub fn resolve_all<'a>(snapshot: &'a CompiledSnapshot, ctx: &Context<'_>) -> Vec<Resolved<'a>> {
    (0..snapshot.len()).filter_map(|i| snapshot.evaluate_at(i, ctx)).map(|e| shape(snapshot, &e)).collect()
}

fn shape<'a>(snapshot: &'a CompiledSnapshot, evaluation: &Evaluation<'a>) -> Resolved<'a> {
    let flag = evaluation.flag;
    let (reason, native) = match evaluation.reason {
        EvalReason::Killed => ("DISABLED", "KILLED"),
        EvalReason::Off => ("DISABLED", "OFF"),
        EvalReason::PrerequisiteFailed { .. } => ("DISABLED", "PREREQUISITE_FAILED"),
        EvalReason::TargetMatch => ("TARGETING_MATCH", "TARGET_MATCH"),
        EvalReason::RuleMatch { rule_index } => {
            let serve = snapshot.flag_source(flag.key()).and_then(|f| f.rules.get(rule_index)).map(|r| &r.serve);
            (if is_rollout(serve) { "SPLIT" } else { "TARGETING_MATCH" }, "RULE_MATCH")
        }
        EvalReason::Fallthrough => {
            let serve = snapshot.flag_source(flag.key()).map(|f: &Flag| &f.fallthrough);
            (if is_rollout(serve) { "SPLIT" } else { "STATIC" }, "FALLTHROUGH")
        }
    };
    Resolved {
        key: flag.key(),
        value: evaluation.value(),
        reason,
        variant: evaluation.variant_key(),
        metadata: Metadata {
            reason: native,
            rule_id: evaluation.rule_id(),
            killed: flag.is_killed(),
            flag_version: flag.version(),
            revision: snapshot.revision(),
        },
    }
}

fn is_rollout(serve: Option<&Serve>) -> bool {
    matches!(serve, Some(Serve::Rollout(_)))
}

/// The bulk response (`bulkEvaluationSuccess`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bulk<'a> {
    /// Every flag's evaluation.
    pub flags: Vec<Resolved<'a>>,
    /// `{"revision": R}`.
    pub metadata: BulkMetadata,
    /// The refetch stream of this SDK key's environment.
    pub event_streams: [EventStream; 1],
}

/// The flag set's metadata.
#[derive(Debug, Serialize)]
pub struct BulkMetadata {
    /// The environment revision evaluated.
    pub revision: u64,
}

/// An `eventStreams` entry: SSE at a path of this server.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventStream {
    /// Always `sse`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The path (the provider prefixes its configured origin).
    pub endpoint: Endpoint,
    /// Close the stream after this long in the background (browsers).
    pub inactivity_delay_sec: u32,
}

/// `eventStreamEndpoint`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// `/ofrep/v1/streams/{secret}`.
    pub request_uri: String,
}

impl EventStream {
    /// The stream at `request_uri`.
    pub fn sse(request_uri: String) -> EventStream {
        EventStream { kind: "sse", endpoint: Endpoint { request_uri }, inactivity_delay_sec: 120 }
    }
}

/// The ETag of a bulk evaluation: the environment's revision and a hash of
/// the environment and the context (the same revision evaluated for
/// another context is another result), quoted.
pub fn etag(environment_id: i64, revision: u64, ctx: &Context<'_>) -> String {
    let mut attrs: Vec<(&str, String)> = ctx.attributes().map(|(n, v)| (n, v.to_json().to_string())).collect();
    attrs.sort_unstable();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&environment_id.to_le_bytes());
    hasher.update(ctx.key().as_bytes());
    for (name, value) in attrs {
        hasher.update(&[0]);
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(value.as_bytes());
    }
    format!("\"{revision}-{:016x}\"", hasher.digest())
}

/// Whether `If-None-Match` (a list of ETags, weak or strong, or `*`) matches `etag`.
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match
        .is_some_and(|v| v.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_depends_on_revision_environment_and_context() {
        let a = Context::new("u1").with("plan", "pro").with("country", "SE");
        let same = Context::new("u1").with("country", "SE").with("plan", "pro");
        assert_eq!(etag(1, 5, &a), etag(1, 5, &same));
        assert_ne!(etag(1, 5, &a), etag(1, 6, &a));
        assert_ne!(etag(1, 5, &a), etag(2, 5, &a));
        assert_ne!(etag(1, 5, &a), etag(1, 5, &Context::new("u2").with("plan", "pro").with("country", "SE")));
        assert!(etag(1, 5, &a).starts_with("\"5-"));
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(not_modified(Some("\"1\", W/\"5-ab\""), "\"5-ab\""));
        assert!(not_modified(Some("*"), "\"5-ab\""));
        assert!(!not_modified(Some("\"5-ac\""), "\"5-ab\""));
        assert!(!not_modified(None, "\"5-ab\""));
    }
}
