//! The client's one error type.

use reqwest::StatusCode;
use serde_json::Value;

use crate::error::Problem;

/// Why a call of the admin API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// The request body could not be encoded.
    #[error("encoding the request: {0}")]
    Encode(#[source] serde_json::Error),
    /// No complete answer: the server is unreachable, the connection broke,
    /// or the request timed out.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server refused: a non-2xx status with its problem+json body (a
    /// body that is not one is kept whole in `detail`).
    #[error("{status}: {} {}", problem.detail, fields(problem))]
    Problem {
        /// The status.
        status: StatusCode,
        /// The problem body.
        problem: Box<Problem>,
    },
    /// A 2xx answer whose body is not the expected type.
    #[error("unexpected answer ({status}): {source}: {body}")]
    Decode {
        /// The status.
        status: StatusCode,
        /// The cause.
        #[source]
        source: serde_json::Error,
        /// The body.
        body: String,
    },
}

fn fields(problem: &Problem) -> String {
    let fields: Vec<String> = problem
        .errors
        .iter()
        .map(|e| format!("{}: {}", Value::from(e.path.as_str()), Value::from(e.message.as_str())))
        .collect();
    fields.join("; ")
}

impl Error {
    /// The error of a non-2xx answer with `body`.
    pub fn problem(status: StatusCode, body: Value) -> Error {
        let problem = serde_json::from_value::<Problem>(body.clone()).unwrap_or_else(|_| Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("").into(),
            status: status.as_u16(),
            code: String::new(),
            detail: match body {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            },
            errors: Vec::new(),
            current_version: None,
        });
        Error::Problem { status, problem: Box::new(problem) }
    }

    /// The status of a refusal.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Problem { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem's stable `code` of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Problem { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }
}
