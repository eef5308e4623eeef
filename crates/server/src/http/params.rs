//! Request parameters shared by several resources: the
//! `(project, env, flag)` path, `?wait=`, and [`AppQuery`], the query
//! extractor of every admin route. Parsing only; what the values mean is up
//! to the ops they are handed to.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::ops::kill::MAX_WAIT;

/// `/projects/{project}/environments/{env}/flags/{flag}`.
pub(crate) type EnvFlag = Path<(String, String, String)>;

/// The query string as `T`. Unlike axum's `Query` (a 400 whose text the
/// client must read), a parameter that does not parse is a 400
/// `invalid_query` problem naming it in `errors[].path`. Unknown parameters
/// never get here on write routes (`query_guard`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(AppQuery).map_err(|err| {
            let message = err.inner().to_string();
            let name = match err.path().to_string() {
                root if root == "." => quoted_after(&message, "missing field `").unwrap_or("query").to_string(),
                name => name,
            };
            ApiError::bad_query(&name, "invalid_query", format!("`{name}`: {message}"))
        })
    }
}

/// The name serde quotes right after `prefix` in `message` (`missing field
/// `days``, `unknown field `projct``): serde's messages are fixed text.
pub(crate) fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// `?wait=5s`: answer once every connected SDK applied the change (or the wait expires).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// How long to wait for SDK acknowledgements, e.g. `500ms`, `5s` (max 30 s).
    #[param(pattern = r"^((30000|[12]?[0-9]{1,4})ms|(30|[12]?[0-9])s)$", example = "5s")]
    pub wait: Option<String>,
}

impl WaitQuery {
    /// The parsed duration.
    pub fn duration(&self) -> ApiResult<Option<Duration>> {
        let Some(text) = &self.wait else { return Ok(None) };
        let d = humantime::parse_duration(text)
            .map_err(|e| ApiError::invalid("wait", "invalid_duration", format!("`{text}`: {e}")))?;
        if d > MAX_WAIT {
            return Err(ApiError::invalid("wait", "too_long", "wait is at most 30s"));
        }
        Ok(Some(d))
    }
}
