//! The refetch stream (OFREP ADR-0008) and the receipts of OFREP clients.
//!
//! A bulk response names `GET /ofrep/v1/streams/{secret}`, where the secret
//! is the SHA-256 of the SDK key (what the store looks keys up by: it
//! authenticates the stream, which a browser's `EventSource` opens without
//! headers, and it is not the key: it evaluates nothing). The stream
//! subscribes to the environment's hub channel — the same broadcast the
//! SDKs' streams read — and sends one event per new revision:
//!
//! ```text
//! id: 18
//! event: message
//! data: {"type":"refetchEvaluation","etag":"18.ofrep-3f2a…"}
//! ```
//!
//! and one at once when it opens (whatever the client fetched before it
//! connected, a change may have landed in between). The provider refetches
//! the bulk evaluation with `flagConfigEtag=18.ofrep-3f2a…`: that request
//! names the stream's client id, so the client counts in the environment's
//! [receipts](crate::delivery::receipts) like an SDK instance — connected while its
//! stream is open, applied at the revision its refetch was served. A lagging
//! stream is told to refetch (never silently skipped); heartbeats are
//! forwarded as SSE comments. Clients that poll without a stream have no
//! connection to count, so receipts do not include them.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures_util::{StreamExt, stream};
use tokio::sync::{broadcast, watch};

use crate::delivery::acks::AckError;
use crate::delivery::channel::EnvChannel;
use crate::delivery::frames::Frame;
use crate::delivery::listener::AckNotice;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::SdkKey;

/// Client ids of OFREP streams start with this.
const CLIENT_PREFIX: &str = "ofrep-";

/// The stream's path for the SDK key whose secret hashes to `hash`.
pub fn path(hash: &str) -> String {
    format!("/ofrep/v1/streams/{hash}")
}

/// Opens the refetch stream of `key`'s environment.
pub fn open(state: &AppState, key: &SdkKey) -> Response {
    let channel = state.hub.channel(key.environment_id);
    let rx = channel.subscribe();
    let sent = channel.revision();
    let client = format!("{CLIENT_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let identity = crate::delivery::roster::Identity::default();
    channel.receipts.connect_as(&client, identity, crate::delivery::roster::Transport::Ofrep);
    let first = [crate::delivery::frames::retry_hint(), refetch(sent, &client)];
    let live =
        Refetch { rx, sent, revoked: state.sdk_keys.revocation(key.id), closing: state.hub.closing(), client, channel };
    let body = stream::iter(first.map(Ok::<_, std::convert::Infallible>)).chain(live.into_stream());
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A `refetchEvaluation` event for `revision`, naming the stream's client.
fn refetch(revision: u64, client: &str) -> Bytes {
    Bytes::from(format!(
        "id: {revision}\nevent: message\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"{revision}.{client}\"}}\n\n"
    ))
}

/// A bulk evaluation served at `served`: when a refetch event triggered it
/// (`flagConfigEtag` names a stream's client), that client has applied
/// `served`. The stream may be held by another replica: the
/// acknowledgement is forwarded as an SDK's would be.
pub async fn refetched(
    state: &AppState,
    environment_id: i64,
    flag_config_etag: Option<&str>,
    served: u64,
) -> ApiResult<()> {
    let client = flag_config_etag.and_then(|t| t.split_once('.')).map(|(_, client)| client);
    let Some(client) = client.filter(|c| c.starts_with(CLIENT_PREFIX) && c.len() <= 64) else { return Ok(()) };
    let ack = AckNotice { environment_id, instance: client.to_string(), revision: served, held_ms: 0.0 };
    match crate::delivery::acks::accept(&state.hub, state.store.as_ref(), ack).await {
        // `served` was read from the store for this request: it exists.
        Ok(()) | Err(AckError::UnknownRevision { .. }) => {}
        Err(AckError::Store(err)) => return Err(err.into()),
    }
    Ok(())
}

/// The live part of a refetch stream; leaving the receipts when dropped.
struct Refetch {
    rx: broadcast::Receiver<Frame>,
    sent: u64,
    revoked: watch::Receiver<bool>,
    closing: watch::Receiver<bool>,
    client: String,
    channel: Arc<EnvChannel>,
}

impl Drop for Refetch {
    fn drop(&mut self) {
        self.channel.receipts.disconnect(&self.client);
    }
}

impl Refetch {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
        stream::unfold(self, |mut live| async move {
            loop {
                let frame = tokio::select! {
                    biased;
                    // Err: the hub dropped the signal, which it does on revocation.
                    _ = live.revoked.wait_for(|revoked| *revoked) => return None,
                    Ok(_) = live.closing.wait_for(|closing| *closing) => return None,
                    frame = live.rx.recv() => frame,
                };
                let revision = match frame {
                    Ok((0, bytes)) if bytes.starts_with(b":") => return Some((Ok(bytes), live)),
                    Ok((revision, _)) if revision <= live.sent => continue,
                    Ok((revision, _)) => revision,
                    // Missed some: one refetch covers them all.
                    Err(broadcast::error::RecvError::Lagged(_)) => live.sent.max(live.channel.revision()),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                live.sent = revision;
                let event = refetch(revision, &live.client);
                return Some((Ok(event), live));
            }
        })
    }
}
