//! One delivery attempt: check the destination, connect only to the checked
//! addresses, sign, POST, classify the answer.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;

use super::guard::Refusal;
use super::{WorkerOptions, sign};
use crate::store::{WebhookEvent, WebhookTarget};

/// The outcome of one attempt.
#[derive(Debug)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered(u16),
    /// Worth retrying: connection error, timeout, unresolvable host, 408, 429, 5xx.
    Retry {
        /// What went wrong.
        error: String,
        /// The answer's status, if one came.
        status: Option<u16>,
        /// The receiver's `Retry-After` (seconds form), if any.
        retry_after: Option<Duration>,
    },
    /// Final: a refused destination or any other answer.
    Failed {
        /// What went wrong.
        error: String,
        /// The answer's status, if one came.
        status: Option<u16>,
    },
}

/// One delivery attempt: checks the destination (resolving its host),
/// connects only to the checked addresses, never follows redirects or uses
/// a proxy, and signs the body.
pub async fn send(
    target: &WebhookTarget,
    id: &str,
    event: WebhookEvent,
    body: &Bytes,
    options: &WorkerOptions,
) -> Attempt {
    let checked = match options.policy.check(&target.webhook.url).await {
        Ok(checked) => checked,
        Err(refusal @ Refusal::Unresolvable(_)) => {
            return Attempt::Retry { error: refusal.to_string(), status: None, retry_after: None };
        }
        Err(refusal) => return Attempt::Failed { error: refusal.to_string(), status: None },
    };
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(options.timeout)
        .timeout(options.timeout)
        .user_agent(concat!("switchyard-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(domain) = &checked.domain {
        client = client.resolve_to_addrs(domain, &checked.addrs);
    }
    let client = match client.build() {
        Ok(client) => client,
        Err(err) => return Attempt::Failed { error: format!("building the HTTP client: {err}"), status: None },
    };
    let request = client
        .post(checked.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-switchyard-event", event.as_str())
        .header("x-switchyard-delivery", id)
        .header("x-switchyard-timestamp", Utc::now().timestamp().to_string())
        .header("x-switchyard-signature", sign(&target.secret, body))
        .body(body.clone());
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let code = Some(status.as_u16());
            if status.is_success() {
                Attempt::Delivered(status.as_u16())
            } else if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Attempt::Retry { error: format!("receiver answered {status}"), status: code, retry_after }
            } else {
                Attempt::Failed { error: format!("receiver answered {status} (not retried)"), status: code }
            }
        }
        // Without the URL: its path and query may carry credentials.
        Err(err) => Attempt::Retry { error: error_chain(&err.without_url()), status: None, retry_after: None },
    }
}

/// The error with its causes ("error sending request: connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
