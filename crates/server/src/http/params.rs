//! Request parameters shared by several resources: the
//! `(project, env, flag)` path and `?wait=`. Parsing only; what the values
//! mean is up to the ops they are handed to.

use std::time::Duration;

use axum::extract::Path;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::ops::kill::MAX_WAIT;

/// `/projects/{project}/environments/{env}/flags/{flag}`.
pub(crate) type EnvFlag = Path<(String, String, String)>;

/// `?wait=5s`: answer once every connected SDK applied the change (or the wait expires).
#[derive(Debug, Default, Deserialize, IntoParams)]
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
