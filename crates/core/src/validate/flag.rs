//! Validation of one flag; paths are relative to the flag.
//!
//! Owns: flag-level checks (variants, targets, rules, rollouts). Must not
//! touch: compilation, segment checks.

use std::collections::HashSet;

use serde_json::Value;

use super::{ValidationError, ValidationErrors, check_key, validate_clause};
use crate::hash::BUCKETS;
use crate::model::{Flag, FlagKind, Serve};
use crate::prereq::MAX_PREREQUISITES;

/// Validates a flag, collecting every problem. `segment_exists` answers
/// whether a segment key used by `in_segment` exists in the snapshot.
///
/// Paths are relative to the flag: `key`, `variants[0].value`,
/// `rules[2].clauses[0].values[1]`, `fallthrough.rollout.variations`, ...
pub fn validate_flag(flag: &Flag, segment_exists: &dyn Fn(&str) -> bool) -> Result<(), ValidationErrors> {
    let mut errs = Vec::new();
    check_key(&flag.key, "key", &mut errs);
    check_variants(flag, &mut errs);
    let known = |k: &str| flag.variants.iter().any(|v| v.key == k);
    let mut variant_ref = |path: String, k: &str, errs: &mut Vec<ValidationError>| {
        if !known(k) {
            errs.push(ValidationError::new(path, "unknown_variant", format!("no variant `{k}`")));
        }
    };
    if flag.off_variant.is_empty() {
        errs.push(ValidationError::new("off_variant", "missing_off_variant", "an off variant is required"));
    } else {
        variant_ref("off_variant".into(), &flag.off_variant, &mut errs);
    }
    if let Some(k) = &flag.fail_safe_variant {
        variant_ref("fail_safe_variant".into(), k, &mut errs);
    }
    check_prerequisites(flag, &mut errs);
    for (i, t) in flag.targets.iter().enumerate() {
        variant_ref(format!("targets[{i}].variant"), &t.variant, &mut errs);
    }
    let mut ids = HashSet::new();
    for (i, rule) in flag.rules.iter().enumerate() {
        let path = format!("rules[{i}].id");
        if rule.id.is_empty() {
            errs.push(ValidationError::new(path, "empty_id", "a rule needs an id"));
        } else if !ids.insert(rule.id.as_str()) {
            errs.push(ValidationError::new(path, "duplicate_id", format!("rule id `{}` is used twice", rule.id)));
        }
        for (c, clause) in rule.clauses.iter().enumerate() {
            validate_clause(clause, &format!("rules[{i}].clauses[{c}]"), segment_exists, &mut errs);
        }
        check_serve(&rule.serve, &format!("rules[{i}].serve"), &mut variant_ref, &mut errs);
    }
    check_serve(&flag.fallthrough, "fallthrough", &mut variant_ref, &mut errs);
    ValidationErrors(errs).into_result()
}

/// Keys well formed, no flag named twice. Whether the named flags and
/// variants exist, and whether the graph has cycles (the flag itself
/// included), is a property of the environment:
/// [`super::validate_prerequisite_graph`].
fn check_prerequisites(flag: &Flag, errs: &mut Vec<ValidationError>) {
    if flag.prerequisites.len() > MAX_PREREQUISITES {
        errs.push(ValidationError::new(
            "prerequisites",
            "too_many_prerequisites",
            format!("at most {MAX_PREREQUISITES} prerequisites per flag"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, p) in flag.prerequisites.iter().enumerate() {
        let path = format!("prerequisites[{i}].flag");
        check_key(&p.flag, &path, errs);
        check_key(&p.variant, &format!("prerequisites[{i}].variant"), errs);
        if !seen.insert(p.flag.as_str()) {
            errs.push(ValidationError::new(
                path,
                "duplicate_key",
                format!("flag `{}` is a prerequisite twice", p.flag),
            ));
        }
    }
}

fn check_variants(flag: &Flag, errs: &mut Vec<ValidationError>) {
    if flag.variants.is_empty() {
        errs.push(ValidationError::new("variants", "no_variants", "a flag needs at least one variant"));
    }
    let mut seen = HashSet::new();
    for (i, v) in flag.variants.iter().enumerate() {
        let path = format!("variants[{i}].key");
        check_key(&v.key, &path, errs);
        if !seen.insert(v.key.as_str()) {
            errs.push(ValidationError::new(path, "duplicate_key", format!("variant key `{}` is used twice", v.key)));
        }
        if !value_fits(flag.kind, &v.value) {
            errs.push(ValidationError::new(
                format!("variants[{i}].value"),
                "type_mismatch",
                format!("a {} flag needs {} values", kind_name(flag.kind), kind_value(flag.kind)),
            ));
        }
    }
}

fn value_fits(kind: FlagKind, value: &Value) -> bool {
    match kind {
        FlagKind::Boolean => value.is_boolean(),
        FlagKind::String => value.is_string(),
        FlagKind::Number => value.is_number(),
        FlagKind::Json => true,
    }
}

fn kind_name(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Boolean => "boolean",
        FlagKind::String => "string",
        FlagKind::Number => "number",
        FlagKind::Json => "json",
    }
}

fn kind_value(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Boolean => "true/false",
        FlagKind::String => "string",
        FlagKind::Number => "number",
        FlagKind::Json => "JSON",
    }
}

fn check_serve(
    serve: &Serve,
    path: &str,
    variant_ref: &mut dyn FnMut(String, &str, &mut Vec<ValidationError>),
    errs: &mut Vec<ValidationError>,
) {
    let rollout = match serve {
        Serve::Variant(v) => return variant_ref(format!("{path}.variant"), v, errs),
        Serve::Rollout(r) => r,
    };
    if rollout.bucket_by.as_deref() == Some("") {
        errs.push(ValidationError::new(
            format!("{path}.rollout.bucket_by"),
            "invalid_attribute",
            "bucket_by must name an attribute (omit it to bucket by the context key)",
        ));
    }
    for (j, wv) in rollout.variations.iter().enumerate() {
        variant_ref(format!("{path}.rollout.variations[{j}].variant"), &wv.variant, errs);
    }
    let sum: u64 = rollout.variations.iter().map(|w| u64::from(w.weight)).sum();
    if sum != u64::from(BUCKETS) {
        errs.push(ValidationError::new(
            format!("{path}.rollout.variations"),
            "weights_sum",
            format!("weights sum to {sum}; they must sum to exactly {BUCKETS} (100 %)"),
        ));
    }
}
