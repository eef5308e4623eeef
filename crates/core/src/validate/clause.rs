//! Operator-specific checks of one clause.
//!
//! Owns: per-operator operand checks. Must not touch: compilation
//! (`crate::clause`), flag-level checks.

use serde_json::Value;

use super::ValidationError;
use crate::clause::{build_regex, parse_date_str};
use crate::model::{Clause, Operator};
use crate::version::Version;

/// Checks a clause at `path` (e.g. `rules[2].clauses[0]`), pushing every
/// problem. `segment_exists` answers whether an `in_segment` key is known.
pub(crate) fn validate_clause(
    clause: &Clause,
    path: &str,
    segment_exists: &dyn Fn(&str) -> bool,
    errs: &mut Vec<ValidationError>,
) {
    if clause.op != Operator::InSegment && clause.attribute.is_empty() {
        errs.push(ValidationError::new(
            format!("{path}.attribute"),
            "invalid_attribute",
            format!("operator `{}` needs an attribute name", op_name(clause.op)),
        ));
    }
    check_count(clause, path, errs);
    for (i, value) in clause.values.iter().enumerate() {
        if let Err((code, message)) = check_value(clause.op, value, segment_exists) {
            errs.push(ValidationError::new(format!("{path}.values[{i}]"), code, message));
        }
    }
}

fn check_count(clause: &Clause, path: &str, errs: &mut Vec<ValidationError>) {
    let n = clause.values.len();
    let problem = match clause.op {
        Operator::Exists if n > 0 => Some(("unexpected_values", "`exists` takes no values")),
        Operator::Exists => None,
        _ if n == 0 => Some(("empty_values", "at least one value is required")),
        Operator::Equals if n > 1 => {
            Some(("too_many_values", "`equals` takes exactly one value; use `in` for several"))
        }
        _ => None,
    };
    if let Some((code, message)) = problem {
        errs.push(ValidationError::new(format!("{path}.values"), code, message));
    }
}

type Problem = (&'static str, String);

fn check_value(op: Operator, value: &Value, segment_exists: &dyn Fn(&str) -> bool) -> Result<(), Problem> {
    let name = op_name(op);
    let wrong = |expected: &str| Err(("invalid_value", format!("`{name}` values must be {expected}")));
    match op {
        Operator::Equals | Operator::In => match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
            _ => wrong("strings, numbers or booleans"),
        },
        Operator::Contains | Operator::StartsWith | Operator::EndsWith => match value {
            Value::String(_) => Ok(()),
            _ => wrong("strings"),
        },
        Operator::Matches => match value {
            Value::String(p) => build_regex(p)
                .map(drop)
                .map_err(|e| ("invalid_regex", format!("invalid regex: {}", first_line(&e.to_string())))),
            _ => wrong("regex strings"),
        },
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => match value {
            Value::Number(_) => Ok(()),
            _ => wrong("numbers"),
        },
        Operator::SemverEq | Operator::SemverLt | Operator::SemverLte | Operator::SemverGt | Operator::SemverGte => {
            match value {
                // Both parsers must accept it: the crate is the reference, ours
                // runs at evaluation time.
                Value::String(s) if semver::Version::parse(s).is_ok() && Version::parse(s).is_some() => Ok(()),
                Value::String(s) => Err((
                    "invalid_semver",
                    format!("{s:?} is not a semantic version like 1.2.3 or 1.2.3-beta.1 (no leading `v`)"),
                )),
                _ => wrong("semantic version strings"),
            }
        }
        Operator::Before | Operator::After => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) if parse_date_str(s).is_some() => Ok(()),
            Value::String(s) => {
                Err(("invalid_datetime", format!("{s:?} is not an RFC 3339 date-time like 2025-01-31T12:00:00Z")))
            }
            _ => wrong("RFC 3339 strings or epoch milliseconds"),
        },
        Operator::Exists => Ok(()),
        Operator::InSegment => match value {
            Value::String(k) if segment_exists(k) => Ok(()),
            Value::String(k) => Err(("unknown_segment", format!("no segment `{k}`"))),
            _ => wrong("segment keys"),
        },
    }
}

fn first_line(s: &str) -> &str {
    // regex errors span several lines with a caret diagram; the summary is last.
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// The wire name of an operator (`starts_with`, `semver_lt`, ...).
pub(crate) fn op_name(op: Operator) -> &'static str {
    match op {
        Operator::Equals => "equals",
        Operator::In => "in",
        Operator::Contains => "contains",
        Operator::StartsWith => "starts_with",
        Operator::EndsWith => "ends_with",
        Operator::Matches => "matches",
        Operator::Lt => "lt",
        Operator::Lte => "lte",
        Operator::Gt => "gt",
        Operator::Gte => "gte",
        Operator::SemverEq => "semver_eq",
        Operator::SemverLt => "semver_lt",
        Operator::SemverLte => "semver_lte",
        Operator::SemverGt => "semver_gt",
        Operator::SemverGte => "semver_gte",
        Operator::Before => "before",
        Operator::After => "after",
        Operator::Exists => "exists",
        Operator::InSegment => "in_segment",
    }
}
