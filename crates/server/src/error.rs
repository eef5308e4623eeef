//! The API error type: every failure leaves the server as an
//! `application/problem+json` body with a stable `code`. Status mapping
//! lives here and nowhere else; 5xx details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchyard_core::ValidationErrors;
use utoipa::ToSchema;

use crate::store::StoreError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad query string…).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// 400: a string the text policy refuses (see [`crate::text`]), with
    /// its field path in `errors`.
    #[error("{0}")]
    InvalidText(crate::text::TextError),
    /// 400: a query parameter that does not parse, is out of range or is
    /// unknown, named in `errors[].path` (with the same code).
    #[error("{}", .0.message)]
    InvalidQuery(switchyard_core::ValidationError),
    /// 401: no or invalid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404.
    #[error("{what} `{key}` not found")]
    NotFound {
        /// Kind of object.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// 409.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
        /// Current version for stale writes.
        current_version: Option<u64>,
    },
    /// 409 naming the fields in the way.
    #[error("{message}")]
    FieldConflict {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
        /// One entry per field.
        fields: ValidationErrors,
    },
    /// 422 with field paths.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415.
    #[error("expected `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 405.
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    /// 429.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 429 for a failed authentication over its limit (see
    /// `auth::credentials`): the credential is bad, so it also carries
    /// `WWW-Authenticate: Bearer error="invalid_token"` — a client must treat
    /// it as a 401 that also asks it to wait.
    #[error("too many failed authentications from this address or with this credential; the credential is not valid")]
    AuthFailuresLimited {
        /// Seconds until a failure is counted again instead of refused.
        retry_after: u64,
    },
    /// 503: not ready (e.g. shutting down).
    #[error("{0}")]
    Unavailable(&'static str),
    /// 500: logged with details, answered without them.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    /// A 400 with `code` naming the query parameter `name` in `errors[].path`.
    pub fn bad_query(name: &str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::InvalidQuery(switchyard_core::ValidationError {
            path: name.to_string(),
            code,
            message: message.into(),
        })
    }

    /// A 422 for one field.
    pub fn invalid(path: &str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors(vec![switchyard_core::ValidationError {
            path: path.to_string(),
            code,
            message: message.into(),
        }]))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } | ApiError::InvalidText(_) | ApiError::InvalidQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::FieldConflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } | ApiError::AuthFailuresLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::FieldConflict { code, .. } => code,
            ApiError::InvalidText(_) => "invalid_text",
            ApiError::InvalidQuery(e) => e.code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Validation(_) => "validation_failed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooManyRequests { .. } | ApiError::AuthFailuresLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// One invalid field of a 422.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `rules[2].clauses[0].values[1]`.
    pub path: String,
    /// Stable code, e.g. `invalid_regex`.
    pub code: String,
    /// Human message.
    pub message: String,
}

/// The RFC 9457 problem body of every error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Problem type URI (`about:blank`-style stable identifier).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    /// Human detail.
    pub detail: String,
    /// Invalid fields (422, and 400 `invalid_text` and `invalid_query`), or the fields in the way
    /// of a write (409 `undo_conflict`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    /// Current version (409 on a stale write).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub current_version: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(details) => {
                tracing::error!(error = %details, "internal error");
                "internal server error; see the server log".to_string()
            }
            other => other.to_string(),
        };
        let errors = match &self {
            ApiError::Validation(errs) | ApiError::FieldConflict { fields: errs, .. } => errs
                .0
                .iter()
                .map(|e| FieldError { path: e.path.clone(), code: e.code.to_string(), message: e.message.clone() })
                .collect(),
            ApiError::InvalidQuery(e) => {
                vec![FieldError { path: e.path.clone(), code: e.code.to_string(), message: e.message.clone() }]
            }
            ApiError::InvalidText(err) => vec![FieldError {
                path: err.path.clone(),
                code: err.refusal.code().to_string(),
                message: err.to_string(),
            }],
            _ => Vec::new(),
        };
        let current_version = match &self {
            ApiError::Conflict { current_version, .. } => *current_version,
            _ => None,
        };
        let problem = Problem {
            kind: format!("https://switchyard.dev/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            code: self.code().to_string(),
            detail,
            errors,
            current_version,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let ApiError::TooManyRequests { retry_after } | ApiError::AuthFailuresLimited { retry_after } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if matches!(self, ApiError::AuthFailuresLimited { .. }) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what, key } => ApiError::NotFound { what, key },
            StoreError::AlreadyExists { what, key } => ApiError::Conflict {
                code: "already_exists",
                message: format!("{what} `{key}` already exists"),
                current_version: None,
            },
            StoreError::Conflict { code, message, current_version } => {
                ApiError::Conflict { code, message, current_version }
            }
            StoreError::FieldConflict { code, message, fields } => ApiError::FieldConflict { code, message, fields },
            StoreError::Validation(errs) => ApiError::Validation(errs),
            StoreError::InvalidText(err) => ApiError::InvalidText(err),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errs: ValidationErrors) -> Self {
        ApiError::Validation(errs)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
