//! Validation of flags and segments. Every problem is collected (not just
//! the first) with a field path such as `rules[2].clauses[0].values[1]` and
//! a stable snake_case code, so that UIs can point at the exact input.
//!
//! | code | meaning |
//! |---|---|
//! | `invalid_key` | a flag, variant or segment key does not match `[a-z0-9][a-z0-9_.-]{0,127}` |
//! | `duplicate_key` | a variant, flag or segment key appears twice |
//! | `no_variants` | a flag has no variants |
//! | `type_mismatch` | a variant value does not match the flag kind |
//! | `missing_off_variant` | `off_variant` is empty |
//! | `unknown_variant` | a variant reference (off, fail-safe, target, serve, prerequisite) names no variant |
//! | `empty_id` / `duplicate_id` | a rule id is empty / repeated |
//! | `weights_sum` | rollout weights do not sum to exactly 100 000 |
//! | `invalid_attribute` | a clause (other than `in_segment`) or `bucket_by` names no attribute |
//! | `empty_values` / `too_many_values` / `unexpected_values` | wrong operand count (`equals` takes one, `exists` none, the rest at least one) |
//! | `invalid_value` | an operand has the wrong JSON type for its operator |
//! | `invalid_regex` | a `matches` operand does not compile (or exceeds 1 MiB compiled) |
//! | `invalid_semver` | a `semver_*` operand is not strict SemVer 2.0.0 (no leading `v`) |
//! | `invalid_datetime` | a `before`/`after` string is not RFC 3339 |
//! | `unknown_segment` | an `in_segment` operand names no segment |
//! | `segment_cycle` | segments reference each other in a cycle |
//! | `segment_too_deep` | segment references nest deeper than [`crate::segment::MAX_SEGMENT_DEPTH`] |
//! | `prerequisite_cycle` | a flag is its own prerequisite, directly or through others |
//! | `prerequisite_too_deep` | a prerequisite chain is longer than [`crate::compile::MAX_PREREQUISITE_DEPTH`] |
//! | `too_many_prerequisites` | over [`crate::compile::MAX_PREREQUISITES`] on one flag |
//! | `prerequisite_too_wide` | a flag's prerequisites would need over [`crate::compile::MAX_PREREQUISITE_EVALUATIONS`] evaluations |
//! | `unknown_flag` | a prerequisite names no flag of the environment |
//!
//! Owns: the validation entry points, error type and codes. Must not touch:
//! compilation or evaluation (validation only reports).

mod clause;
mod flag;
mod prereqs;
mod segments;

use std::fmt;

use serde::Serialize;

pub use flag::validate_flag;
pub use prereqs::{GRAPH_CODES, PrerequisiteNode, validate_prerequisite_graph};
pub use segments::validate_segments;

pub(crate) use clause::validate_clause;

/// Longest key accepted by [`validate_key`].
pub const MAX_KEY_LEN: usize = 128;

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// Field path, e.g. `rules[2].clauses[0].values[1]`.
    pub path: String,
    /// Stable snake_case code, e.g. `invalid_regex`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ValidationError {
    /// A new error.
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ValidationError { path: path.into(), code, message: message.into() }
    }

    /// The same error with `prefix.` in front of its path (e.g. `flags[3]`).
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", self.path) };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

impl std::error::Error for ValidationError {}

/// All problems found in one input; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
#[error("{}", Listing(.0))]
pub struct ValidationErrors(pub Vec<ValidationError>);

/// Display helper: `2 validation error(s): a: ... (code); b: ... (code)`.
struct Listing<'a>(&'a [ValidationError]);

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation error(s)", self.0.len())?;
        for (i, e) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(e: ValidationError) -> Self {
        ValidationErrors(vec![e])
    }
}

impl ValidationErrors {
    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &ValidationError> {
        self.0.iter()
    }
}

/// Checks a flag, variant or segment key: `[a-z0-9][a-z0-9_.-]{0,127}`.
pub fn validate_key(key: &str) -> Result<(), ValidationError> {
    let bytes = key.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok =
        bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && bytes.len() <= MAX_KEY_LEN {
        return Ok(());
    }
    let why = if bytes.is_empty() {
        "must not be empty".to_owned()
    } else if bytes.len() > MAX_KEY_LEN {
        format!("must be at most {MAX_KEY_LEN} characters")
    } else {
        "must match [a-z0-9][a-z0-9_.-]* (lowercase letters, digits, `_`, `.`, `-`; starting with a letter or digit)"
            .to_owned()
    };
    Err(ValidationError::new("key", "invalid_key", format!("key {key:?} {why}")))
}

/// Checks a key at `path`, pushing an `invalid_key` error.
pub(crate) fn check_key(key: &str, path: &str, errs: &mut Vec<ValidationError>) {
    if let Err(mut e) = validate_key(key) {
        e.path = path.to_owned();
        errs.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "0", "new-checkout", "a.b_c-d", &"a".repeat(128)] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "_a", ".a", "A", "aB", "a b", "ä", "a/b", &"a".repeat(129)] {
            let e = validate_key(bad).unwrap_err();
            assert_eq!((e.path.as_str(), e.code), ("key", "invalid_key"), "{bad}");
        }
    }
}
