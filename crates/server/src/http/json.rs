//! `AppJson<T>`: the JSON extractor/response of every admin route. Unlike
//! axum's `Json`, its rejections are our problem bodies, it refuses
//! deeply nested documents *before* serde walks them (an Unleash advisory:
//! a 10 KB body nested 5,000 levels deep crashed a validation formatter),
//! it applies the text policy ([`crate::text`]) to every string of the
//! body, and it refuses every field the request type does not read, at any
//! depth (422, code `unknown_field`, its path in `errors[].path`): a
//! misspelt `"projct"` or a rule's `"clause"` must not be silently dropped
//! (a token valid on every project, a rule matching everyone).
//! [`refuse_bad_uri`] applies the text policy to path and query
//! parameters, so no handler ever sees a string the stores disagree on.
//!
//! `WireJson<T>` is the same but ignores unknown fields: the SDK's wire
//! bodies (telemetry batches, acks) only. An SDK newer than the server may
//! send a field the server does not know yet; refusing it would lose the
//! whole batch (or ack) for every old server, so the SDK protocol stays
//! forward compatible (as OFREP's, whose bodies are read as plain JSON).

use axum::body::Bytes;
use axum::extract::{FromRequest, RawPathParams, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_core::{ValidationError, ValidationErrors};

use crate::error::ApiError;
use crate::http::params::quoted_after;

/// Maximum nesting of arrays/objects accepted in a request body.
pub const MAX_JSON_DEPTH: usize = 32;

/// JSON body extractor and response wrapper.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        parse_as(&body(req, state).await?, Unknown::Refuse).map(AppJson)
    }
}

/// The JSON body of an SDK wire request: [`AppJson`] less the refusal of
/// unknown fields (see the module docs for why).
#[derive(Debug, Clone, Copy, Default)]
pub struct WireJson<T>(pub T);

impl<S, T> FromRequest<S> for WireJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        parse_as(&body(req, state).await?, Unknown::Ignore).map(WireJson)
    }
}

/// The bytes of a JSON request body (415 for another content type).
async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or("").trim();
        mime == "application/json" || mime.ends_with("+json")
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::bad_request("unreadable_body", rejection.body_text())
        }
    })
}

/// What a body's fields that its type does not read get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// 422 `unknown_field`, each named (every admin body).
    Refuse,
    /// Nothing (the SDK's wire bodies: forward compatible).
    Ignore,
}

/// Parses an admin JSON body ([`parse_as`] refusing unknown fields).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_as(bytes, Unknown::Refuse)
}

/// Parses a JSON body with the depth limit and our error mapping. Two
/// steps: syntax first (400), then shape (422, each error at its field's
/// path) — serde_json alone reports some shape errors (e.g. a number where
/// an enum is expected) as syntax.
pub fn parse_as<T: DeserializeOwned>(bytes: &[u8], unknown: Unknown) -> Result<T, ApiError> {
    check_depth(bytes, MAX_JSON_DEPTH)?;
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request("malformed_json", format!("malformed JSON: {err}")))?;
    crate::text::check_value(&value).map_err(ApiError::InvalidText)?;
    shape(value, unknown).map_err(|errors| ApiError::Validation(ValidationErrors(errors)))
}

/// `value` as `T`: a type error at its field's path (`invalid_body`), and
/// with [`Unknown::Refuse`] every field `T` did not read (`unknown_field`),
/// at any depth. Serde's `deny_unknown_fields` types fail on the first one;
/// for the others `serde_ignored` reports what the derive skipped.
pub fn shape<T: DeserializeOwned>(value: serde_json::Value, unknown: Unknown) -> Result<T, Vec<ValidationError>> {
    let mut ignored = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| ignored.push(render(&path));
    let result: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut note));
    match result {
        Err(err) => Err(vec![field_error(&err.path().to_string(), &err.inner().to_string())]),
        Ok(_) if unknown == Unknown::Refuse && !ignored.is_empty() => {
            Err(ignored.into_iter().map(|path| unknown_field(path, None)).collect())
        }
        Ok(value) => Ok(value),
    }
}

/// For a request type that flattens another (`#[serde(flatten)]` hides the
/// flattened part's unknown fields from [`shape`]): its own field `key`
/// out of `map` (absent: the default).
pub fn take<T: DeserializeOwned + Default>(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<T, String> {
    match map.remove(key) {
        None => Ok(T::default()),
        Some(value) => serde_json::from_value(value).map_err(|e| format!("{key}: {e}")),
    }
}

/// …and the flattened part: the rest of `map` through [`shape`], refusing
/// unknown fields; its first error as serde's message (the caller's
/// `TryFrom` error), which [`field_error`] reads back.
pub fn rest<T: DeserializeOwned>(map: serde_json::Map<String, serde_json::Value>) -> Result<T, String> {
    shape(serde_json::Value::Object(map), Unknown::Refuse).map_err(|errors| match errors.into_iter().next() {
        Some(e) if e.code == "unknown_field" => format!("unknown field `{}`", e.path),
        Some(e) => format!("{}: {}", e.path, e.message),
        None => "invalid body".to_string(),
    })
}

/// A shape error at `path` (`.` for the root), as serde put it.
fn field_error(path: &str, message: &str) -> ValidationError {
    let at = if path == "." { "" } else { path };
    // serde_path_to_error's path already ends with the unknown key; one
    // from `rest` (a flattened part) is the whole path in the message.
    match quoted_after(message, "unknown field `") {
        Some(name) if at.is_empty() => unknown_field(name.to_string(), Some(message)),
        Some(name) if at == name || at.ends_with(&format!(".{name}")) => unknown_field(at.to_string(), Some(message)),
        Some(name) => unknown_field(format!("{at}.{name}"), Some(message)),
        None => ValidationError {
            path: if at.is_empty() { "body" } else { at }.to_string(),
            code: "invalid_body",
            message: message.to_string(),
        },
    }
}

/// The error of a field no request type reads (with serde's message, which
/// lists the expected fields, when there is one).
fn unknown_field(path: String, message: Option<&str>) -> ValidationError {
    let message = match message {
        Some(m) => format!("{m}: misspelt, or not a field of this request; nothing was done"),
        None => format!("unknown field `{path}`: misspelt, or not a field of this request; nothing was done"),
    };
    ValidationError { path, code: "unknown_field", message }
}

/// A `serde_ignored` path in our notation: `rules[0].clauses[1].op`.
fn render(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render(parent)),
        Path::Map { parent, key } => match render(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => render(parent),
    }
}

/// Route middleware: the text policy on the (percent-decoded) path
/// parameters, named by their route names (`flag`), and on the query
/// parameters (`reason`). Runs after routing, before any extractor.
pub async fn refuse_bad_uri(
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let params = match params {
        Ok(params) => params,
        Err(rejection) => return ApiError::bad_request("invalid_path", rejection.body_text()).into_response(),
    };
    let refused = params
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .chain(
            form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned())),
        )
        .find_map(|(name, value)| {
            let refused = crate::text::check(&name).err().or_else(|| crate::text::check(&value).err())?;
            Some(crate::text::TextError {
                path: name.chars().flat_map(char::escape_default).collect(),
                refusal: refused,
            })
        });
    match refused {
        Some(err) => ApiError::InvalidText(err).into_response(),
        None => next.run(request).await,
    }
}

/// Rejects documents nested deeper than `max`. A linear scan that tracks
/// strings so brackets inside them do not count; hand-written because it
/// must run before any recursive parser sees the input.
fn check_depth(bytes: &[u8], max: usize) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::bad_request(
                        "json_too_deep",
                        format!("JSON nesting deeper than {max} levels"),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(err) => ApiError::Internal(format!("serialising response: {err}")).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_counts_only_structure() {
        assert!(check_depth(br#"{"a":[1,2,{"b":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]}"#, 4).is_ok());
        let deep = "[".repeat(33) + &"]".repeat(33);
        assert!(check_depth(deep.as_bytes(), 32).is_err());
        assert!(check_depth(br#"{"s":"\"[[["}"#, 1).is_ok());
    }

    #[test]
    fn syntax_is_400_and_shape_is_422() {
        let err = parse::<serde_json::Value>(b"{nope").unwrap_err();
        assert_eq!(err.status(), 400);
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            on: bool,
        }
        let err = parse::<Body>(br#"{"on":"yes"}"#).unwrap_err();
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn refused_text_is_400_naming_the_field() {
        let err = parse::<serde_json::Value>(br#"{"flags":["a"],"reason":"x\u0000y"}"#).unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (400, "invalid_text"));
        match err {
            ApiError::InvalidText(e) => assert_eq!(e.path, "reason"),
            other => panic!("{other:?}"),
        }
        let err = parse::<serde_json::Value>(br#"{"reason":"\ud800"}"#).unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (400, "malformed_json"));
    }
}
