//! [`RawStream`]: a raw SSE reader over reqwest (no SDK).

use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// One SSE event of a [`RawStream`].
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// `snapshot`, `change`, `resync`, `goaway`.
    pub event: String,
    /// The `id:` (the revision).
    pub id: u64,
    /// The JSON data.
    pub data: Value,
}

/// A raw SSE reader over reqwest (no SDK): reads only when asked.
pub struct RawStream {
    body: ByteStream,
    buf: String,
}

/// How reading a [`RawStream`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RawEnd {
    /// The server ended the response cleanly.
    Closed,
    /// The connection broke (reset, or closed mid-response).
    Broken,
    /// Nothing within the wait.
    Silent,
}

impl RawStream {
    /// Opens `GET /sdk/v1/stream` (as SDK instance `instance`).
    pub async fn open(base: &str, sdk_key: &str, instance: &str, last_event_id: Option<u64>) -> RawStream {
        let http = reqwest::Client::builder().tcp_nodelay(true).build().expect("http client");
        let mut req =
            http.get(format!("{base}/sdk/v1/stream")).bearer_auth(sdk_key).header("x-switchyard-instance", instance);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.expect("stream request");
        assert_eq!(resp.status(), 200, "GET /sdk/v1/stream");
        RawStream { body: Box::pin(resp.bytes_stream()), buf: String::new() }
    }

    /// The next event (heartbeats, `retry:` and ack requests skipped), or how it ended.
    pub async fn next(&mut self, wait: Duration) -> Result<RawEvent, RawEnd> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), 0, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.into();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().expect("numeric id");
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.into();
                    }
                }
                // Ack requests skipped: raw streams acknowledge on their
                // own, as an SDK older than ack requests does.
                if !event.is_empty() && event != switchyard_core::protocol::event::ACK {
                    let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("bad {event} data: {e}"));
                    return Ok(RawEvent { event, id, data });
                }
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).expect("utf-8")),
                Ok(Some(Err(_))) => return Err(RawEnd::Broken),
                Ok(None) => return Err(RawEnd::Closed),
                Err(_) => return Err(RawEnd::Silent),
            }
        }
    }
}
