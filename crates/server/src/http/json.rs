//! `AppJson<T>`: the JSON extractor/response of every admin route. Unlike
//! axum's `Json`, its rejections are our problem bodies, it refuses
//! deeply nested documents *before* serde walks them (an Unleash advisory:
//! a 10 KB body nested 5,000 levels deep crashed a validation formatter),
//! and it applies the text policy ([`crate::text`]) to every string of the
//! body. [`refuse_bad_uri`] applies the same policy to path and query
//! parameters, so no handler ever sees a string the stores disagree on.

use axum::body::Bytes;
use axum::extract::{FromRequest, RawPathParams, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

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
        let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            let mime = ct.split(';').next().unwrap_or("").trim();
            mime == "application/json" || mime.ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request("unreadable_body", rejection.body_text())
            }
        })?;
        parse(&bytes).map(AppJson)
    }
}

/// Parses a JSON body with the depth limit and our error mapping. Two
/// steps: syntax first (400), then shape (422) — serde_json alone reports
/// some shape errors (e.g. a number where an enum is expected) as syntax.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    check_depth(bytes, MAX_JSON_DEPTH)?;
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request("malformed_json", format!("malformed JSON: {err}")))?;
    crate::text::check_value(&value).map_err(ApiError::InvalidText)?;
    serde::Deserialize::deserialize(value).map_err(|err| ApiError::invalid("body", "invalid_body", err.to_string()))
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
