//! SSE framing: the exact bytes streams send (events, comments, hints).
//!
//! Owns the encoding of frames only; what is sent when belongs to
//! [`super::hub`] and [`super::stream`]. Must not touch the store or HTTP.

use bytes::Bytes;
use switchyard_core::protocol::{self, AckRequest};

use crate::store::ChangeEvent;

/// Reconnection delay hinted to SSE clients.
pub const RETRY_MS: u64 = 1000;

/// A frame on an environment channel: its revision (0 for heartbeats and
/// control frames) and the complete, pre-serialised SSE bytes.
pub type Frame = (u64, Bytes);

/// Serialises a change into its complete SSE frame.
pub fn change_frame(event: &ChangeEvent) -> Bytes {
    sse_frame(protocol::event::CHANGE, event.revision, &serde_json::to_string(event).unwrap_or_default())
}

/// A change's frame followed by a request to acknowledge it, as one
/// buffer (one write per stream).
pub fn change_frame_asking(event: &ChangeEvent, request: &AckRequest) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_default();
    let mut frame = protocol::frame(protocol::event::CHANGE, event.revision, &data);
    frame.push_str(&protocol::ack_request_frame(request));
    Bytes::from(frame)
}

/// An acknowledgement request alone (after a new stream's first data).
pub fn ack_request(request: &AckRequest) -> Bytes {
    Bytes::from(protocol::ack_request_frame(request))
}

/// Formats one SSE event (`data` must be a single line, as JSON is).
pub fn sse_frame(event: &str, id: u64, data: &str) -> Bytes {
    Bytes::from(protocol::frame(event, id, data))
}

/// The first frame of every stream: the reconnection delay.
pub fn retry_hint() -> Bytes {
    Bytes::from(protocol::retry_frame(RETRY_MS))
}

/// The heartbeat comment.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(protocol::HEARTBEAT_FRAME.as_bytes())
}

/// The last frame of a stream the server ends on purpose.
pub fn goaway() -> Bytes {
    Bytes::from_static(protocol::GOAWAY_FRAME.as_bytes())
}
