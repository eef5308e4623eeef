//! The text policy: which strings the server accepts from clients and
//! writes to a store. One policy, applied at two places:
//!
//! - the HTTP edge: every string (and object key) of every JSON body
//!   (`AppJson`), every query parameter and every path parameter
//!   (`http::json::refuse_bad_uri`), answered with a 400 problem+json,
//!   code `invalid_text`, naming the field path (`reason`,
//!   `rules[0].clauses[1].values[2]`);
//! - the store boundary (defence in depth): every text argument of every
//!   store method, before any SQL runs, so that both backends refuse the
//!   same inputs in the same way (`StoreError::InvalidText`).
//!
//! ## What is refused, and why
//! - **U+0000 (NUL)**: Postgres `text` and `jsonb` cannot hold it (an error,
//!   so a 500, and a kill whose reason held one was lost), while SQLite
//!   stores it. Code `nul_character`.
//! - **Other control characters**: C0 (U+0001–U+001F) except tab, line
//!   feed and carriage return; DEL (U+007F); C1 (U+0080–U+009F). They have
//!   no meaning in names, reasons, keys or values, and ESC/CSI sequences in
//!   a reason would be interpreted by the terminal that shows the audit log
//!   (`switchyard` CLI, `psql`). Code `control_character`.
//!
//! ## What is accepted, byte for byte, on both stores
//! Every other Unicode scalar value: emoji, right-to-left text and the
//! bidirectional controls (U+202A–U+202E, U+2066–U+2069), zero-width
//! characters. The web UI renders text with `textContent`, never as HTML.
//! Lone surrogates cannot reach here: a Rust string cannot hold one, and the
//! JSON parser refuses `"\ud800"` (400 `malformed_json`). Length is bounded
//! by the request body limit, by the per-field limits of the validators
//! (keys, names) and, for the free text of the audit history (reasons,
//! change-request comments, incident ids), by [`MAX_REASON`] and
//! [`MAX_INCIDENT`] (422 `too_long`, [`check_length`]): checked by the ops
//! before any work, and by the store on every audit event it writes.

use serde::Serialize;
use serde_json::Value;

/// Longest `reason` of a write (and comment on a change request, which the
/// audit history keeps as its reason), in characters: the audit history,
/// webhooks and every screen that shows it. Alert triggers truncate theirs
/// to 500.
pub const MAX_REASON: usize = 1000;
/// Longest incident id, in characters (the same as a trigger's).
pub const MAX_INCIDENT: usize = 128;

/// A 422 field error `too_long` on `path` when `text` has more than `max`
/// characters (Unicode scalar values, as the UI counts them).
pub fn check_length(path: &str, text: &str, max: usize) -> Result<(), switchyard_core::ValidationError> {
    let n = text.chars().count();
    if n <= max {
        return Ok(());
    }
    Err(switchyard_core::ValidationError {
        path: path.to_string(),
        code: "too_long",
        message: format!("`{path}` is at most {max} characters; this one has {n}"),
    })
}

/// `text` cut to at most `max` characters (for text the server composes
/// around a client's, e.g. a plan stopped by a kill quoting its reason).
pub fn truncate(text: &str, max: usize) -> String {
    match text.chars().nth(max) {
        Some(_) => text.chars().take(max.saturating_sub(1)).chain(['…']).collect(),
        None => text.to_string(),
    }
}

/// Why a string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// U+0000.
    Nul,
    /// Another control character (the code point).
    Control(char),
}

impl Refusal {
    /// Stable code of the field error.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Nul => "nul_character",
            Refusal::Control(_) => "control_character",
        }
    }
}

/// A refused string: where it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` {}", self.describe())]
pub struct TextError {
    /// Field path, e.g. `rules[0].clauses[1].values[2]`.
    pub path: String,
    /// What was wrong.
    pub refusal: Refusal,
}

impl TextError {
    fn describe(&self) -> String {
        match self.refusal {
            Refusal::Nul => "contains a NUL character (U+0000), which is never accepted".to_string(),
            Refusal::Control(c) => format!(
                "contains the control character U+{:04X}; only tab, line feed and carriage return are accepted",
                c as u32
            ),
        }
    }
}

/// The first refused character of `s`, if any.
pub fn check(s: &str) -> Result<(), Refusal> {
    match s.chars().find(|&c| refused(c)) {
        None => Ok(()),
        Some('\0') => Err(Refusal::Nul),
        Some(c) => Err(Refusal::Control(c)),
    }
}

fn refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Checks every string and object key of a JSON document; the path of an
/// object's field is `parent.field`, of an array item `parent[i]` (no
/// leading dot at the root).
pub fn check_value(value: &Value) -> Result<(), TextError> {
    walk(value, &mut String::new())
}

fn walk(value: &Value, path: &mut String) -> Result<(), TextError> {
    let at = |path: &str, refusal| TextError { path: path.to_string(), refusal };
    match value {
        Value::String(s) => check(s).map_err(|r| at(path, r)),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let result = walk(item, path);
            path.truncate(len);
            result
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            // The key is echoed in the error: never echo what was refused.
            path.extend(key.chars().flat_map(char::escape_default));
            let result = check(key).map_err(|r| at(path, r)).and_then(|()| walk(item, path));
            path.truncate(len);
            result
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Checks a named argument of any serialisable type: a struct's fields are
/// named by their own paths (`reason`, `flags[0]`), anything else by `name`.
pub fn check_arg<T: Serialize + ?Sized>(name: &str, arg: &T) -> Result<(), TextError> {
    match serde_json::to_value(arg) {
        Ok(value @ Value::Object(_)) => check_value(&value),
        Ok(value) => walk(&value, &mut name.to_string()),
        // Serialising our own input types cannot fail (string keys only).
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy() {
        for ok in ["", "plain", "tab\tline\nreturn\r", "🔥 kill", "שלום", "\u{202E}txt.exe", "zero\u{200B}width"]
        {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check("a\0b"), Err(Refusal::Nul));
        for (bad, c) in [("\u{1b}[31m", '\u{1b}'), ("\u{7f}", '\u{7f}'), ("\u{9b}", '\u{9b}'), ("\u{1}", '\u{1}')] {
            assert_eq!(check(bad), Err(Refusal::Control(c)), "{bad:?}");
        }
    }

    #[test]
    fn paths_name_the_field() {
        let doc = json!({"rules": [{"clauses": [{}, {"values": ["a", 1, "b\u{0}"]}]}]});
        let err = check_value(&doc).unwrap_err();
        assert_eq!((err.path.as_str(), err.refusal), ("rules[0].clauses[1].values[2]", Refusal::Nul));
        let err = check_value(&json!({"context": {"pl\u{0}an": "x"}})).unwrap_err();
        assert_eq!(err.path, "context.pl\\u{0}an");
        assert_eq!(check_value(&json!(["\u{1b}"])).unwrap_err().path, "[0]");
        assert_eq!(check_arg("project", "sh\0p").unwrap_err().path, "project");
        assert_eq!(check_arg("kill", &json!({"reason": "\0"})).unwrap_err().path, "reason");
        assert!(!err.to_string().contains('\0'));
    }
}
