//! The OFREP request body and error shapes.
//!
//! A body is `{"context": {"targetingKey": "user-1", "plan": "pro", …}}`.
//! The targeting key becomes the context key; the other properties become
//! attributes: strings, numbers, booleans and lists of strings (what
//! Switchyard's rules compare). `null` properties are skipped; a nested
//! object or a list of anything but strings is `INVALID_CONTEXT` naming the
//! property. A `key` property is ignored: the key is the targeting key.
//!
//! The route parses the body with the same checks as every JSON body of
//! the server (nesting depth, the text policy: `http::json::parse`);
//! [`refused`] answers its errors in OFREP's shape: malformed JSON is
//! `PARSE_ERROR`, a refused string `INVALID_CONTEXT` naming its field.

use std::borrow::Cow;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use switchyard_core::Context;
use switchyard_core::context::{AttrValue, KEY_ATTRIBUTE};

use crate::error::ApiError;

/// An OFREP error code (`evaluationFailure.errorCode`, `flagNotFound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The body is not JSON, or not an object with a `context`.
    ParseError,
    /// The context has no (non-empty) `targetingKey`.
    TargetingKeyMissing,
    /// The context holds something Switchyard cannot evaluate with.
    InvalidContext,
    /// Anything else.
    General,
    /// No flag with that key (404).
    FlagNotFound,
}

/// A failed evaluation: `evaluationFailure` / `flagNotFound` (with `key`)
/// or `bulkEvaluationFailure` (without).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The flag, for single evaluations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The code.
    pub error_code: ErrorCode,
    /// A human-readable description.
    pub error_details: String,
}

impl Failure {
    /// A failure of the whole request (no flag key yet).
    pub fn new(error_code: ErrorCode, error_details: impl Into<String>) -> Failure {
        Failure { key: None, error_code, error_details: error_details.into() }
    }

    /// The same failure, about flag `key`.
    pub fn for_flag(mut self, key: &str) -> Failure {
        self.key = Some(key.to_string());
        self
    }

    /// 404 for `FLAG_NOT_FOUND`, 500 for `GENERAL`, 400 otherwise.
    pub fn status(&self) -> StatusCode {
        match self.error_code {
            ErrorCode::FlagNotFound => StatusCode::NOT_FOUND,
            ErrorCode::General => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (self.status(), [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// A body the JSON parser refused, in OFREP's shape.
pub fn refused(err: ApiError) -> Failure {
    match err {
        ApiError::InvalidText(text) => Failure::new(ErrorCode::InvalidContext, text.to_string()),
        other => Failure::new(ErrorCode::ParseError, other.to_string()),
    }
}

/// The evaluation context of a parsed request body.
pub fn context(value: Value) -> Result<Context<'static>, Failure> {
    let Value::Object(mut body) = value else {
        return Err(Failure::new(ErrorCode::ParseError, "the body must be a JSON object `{\"context\": {…}}`"));
    };
    let context = match body.remove("context") {
        None => serde_json::Map::new(),
        Some(Value::Object(context)) => context,
        Some(_) => return Err(Failure::new(ErrorCode::ParseError, "`context` must be an object")),
    };
    context_from(context)
}

/// The context of an OFREP `context` object.
fn context_from(mut fields: serde_json::Map<String, Value>) -> Result<Context<'static>, Failure> {
    let key = match fields.remove("targetingKey") {
        Some(Value::String(key)) if !key.is_empty() => key,
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(Failure::new(ErrorCode::TargetingKeyMissing, "the context has no `targetingKey`"));
        }
        Some(_) => return Err(Failure::new(ErrorCode::InvalidContext, "`targetingKey` must be a string")),
    };
    let mut context = Context::new(key);
    for (name, value) in fields {
        if name == KEY_ATTRIBUTE {
            continue;
        }
        let value = match value {
            Value::Null => continue,
            Value::String(s) => AttrValue::String(Cow::Owned(s)),
            Value::Bool(b) => AttrValue::Bool(b),
            Value::Number(n) => match n.as_f64() {
                Some(n) => AttrValue::Number(n),
                None => return Err(invalid(&name, "a number out of range")),
            },
            Value::Array(items) => {
                let strings: Option<Vec<Cow<'static, str>>> = items
                    .into_iter()
                    .map(|v| if let Value::String(s) = v { Some(Cow::Owned(s)) } else { None })
                    .collect();
                AttrValue::List(strings.ok_or_else(|| invalid(&name, "a list of anything but strings"))?)
            }
            Value::Object(_) => return Err(invalid(&name, "an object")),
        };
        context.set(name, value);
    }
    Ok(context)
}

fn invalid(name: &str, what: &str) -> Failure {
    Failure::new(
        ErrorCode::InvalidContext,
        format!("context property `{name}` is {what}: attributes are strings, numbers, booleans or lists of strings"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> Result<Context<'static>, Failure> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| Failure::new(ErrorCode::ParseError, e.to_string()))?;
        crate::text::check_value(&value).map_err(|e| refused(ApiError::InvalidText(e)))?;
        context(value)
    }

    fn code(body: &str) -> ErrorCode {
        parse(body.as_bytes()).unwrap_err().error_code
    }

    #[test]
    fn a_context_becomes_key_and_attributes() {
        let ctx =
            parse(br#"{"context":{"targetingKey":"u1","plan":"pro","n":3,"b":true,"tags":["a"],"x":null,"key":"k"}}"#)
                .unwrap();
        assert_eq!(ctx.key(), "u1");
        assert_eq!(ctx.get("plan").and_then(|v| v.as_str()), Some("pro"));
        assert_eq!(ctx.get("n").and_then(|v| v.as_f64()), Some(3.0));
        assert_eq!(ctx.get("b").and_then(|v| v.as_bool()), Some(true));
        assert!(ctx.get("x").is_none());
    }

    #[test]
    fn errors_have_their_codes() {
        assert_eq!(code("{nope"), ErrorCode::ParseError);
        assert_eq!(code("[]"), ErrorCode::ParseError);
        assert_eq!(code(r#"{"context":1}"#), ErrorCode::ParseError);
        assert_eq!(code("{}"), ErrorCode::TargetingKeyMissing);
        assert_eq!(code(r#"{"context":{"targetingKey":""}}"#), ErrorCode::TargetingKeyMissing);
        assert_eq!(code(r#"{"context":{"targetingKey":7}}"#), ErrorCode::InvalidContext);
        assert_eq!(code(r#"{"context":{"targetingKey":"u","o":{"a":1}}}"#), ErrorCode::InvalidContext);
        assert_eq!(code(r#"{"context":{"targetingKey":"u","l":[1]}}"#), ErrorCode::InvalidContext);
        let nul = parse(br#"{"context":{"targetingKey":"u","plan":"a\u0000"}}"#).unwrap_err();
        assert_eq!(nul.error_code, ErrorCode::InvalidContext);
        assert!(nul.error_details.contains("context.plan"), "{}", nul.error_details);
    }
}
