//! The SDK wire protocol, spelled once for the server and every SDK: the
//! API paths, the header names, the SSE event names and frames, the ETag
//! form of a revision, and the shapes of what travels (snapshot, change,
//! acknowledgement, the telemetry batch in [`telemetry`]). `docs/protocol.md` explains the semantics; this module
//! is the single source of the names and types it uses.
//!
//! Owns: names and serde shapes of the SDK protocol, and pure helpers to
//! format or parse them. Must not touch: IO, HTTP or SSE libraries (core
//! stays pure; the server and the SDK bring their own), evaluation, and the
//! admin API (its types live in the server).
//!
//! ```
//! use switchyard_core::protocol::{Event, etag, event, if_none_match};
//! assert_eq!(etag(42), "\"42\"");
//! assert_eq!(if_none_match("W/\"41\", \"42\""), Some(42));
//! let parsed = Event::parse(event::CHANGE, r#"{"revision":7}"#).unwrap();
//! assert!(matches!(parsed, Some(Event::Change(c)) if c.revision == 7));
//! // Unknown event names are not an error: SDKs ignore them.
//! assert!(Event::parse("future-event", "{}").unwrap().is_none());
//! ```

use serde::{Deserialize, Serialize};

pub use crate::model::{ChangeEvent, Snapshot};

pub mod telemetry;

/// `GET`: the environment's full [`Snapshot`]; `ETag` is [`etag`] of its
/// revision, `If-None-Match` gives `304` when unchanged.
pub const SNAPSHOT_PATH: &str = "/sdk/v1/snapshot";
/// `GET`: the Server-Sent Events stream (events named in [`event`]).
pub const STREAM_PATH: &str = "/sdk/v1/stream";
/// `POST`: an [`Ack`] of the revision an SDK instance applied (`204`).
pub const ACK_PATH: &str = "/sdk/v1/ack";
/// `POST`: a batch of SDK telemetry (evaluation counts, outcomes, events;
/// see `docs/protocol.md`).
pub const TELEMETRY_PATH: &str = "/sdk/v1/telemetry";

/// The authorization scheme of an SDK key: `Authorization: Bearer sdk_…`.
pub const AUTH_SCHEME: &str = "Bearer";

/// The `Authorization` header value for an SDK key.
pub fn authorization(sdk_key: &str) -> String {
    format!("{AUTH_SCHEME} {sdk_key}")
}

/// The `error` of `WWW-Authenticate: Bearer error="invalid_token"`, which
/// a `429` carries when the key itself is invalid (too many failed
/// attempts): treat it as a `401`.
pub const INVALID_TOKEN: &str = "invalid_token";

/// Header names (lower case, as HTTP/2 sends them; HTTP/1 compares them
/// case-insensitively).
pub mod header {
    /// Request header of the stream: resume after this revision.
    pub const LAST_EVENT_ID: &str = "last-event-id";
    /// Request header of the stream: a random id per SDK process, the
    /// `instance` of its [`Ack`](super::Ack)s (1 to [`MAX_INSTANCE_LEN`](super::MAX_INSTANCE_LEN) characters).
    pub const INSTANCE: &str = "x-switchyard-instance";
    /// Request header of the stream and of snapshot polls: the name of the
    /// service the SDK runs in (`checkout`), for the fleet view; 1 to
    /// [`MAX_LABEL_LEN`](super::MAX_LABEL_LEN) printable ASCII characters.
    pub const SERVICE: &str = "x-switchyard-service";
    /// Request header of the stream and of snapshot polls: that service's
    /// version (`1.4.2`), same limits as [`SERVICE`].
    pub const SERVICE_VERSION: &str = "x-switchyard-service-version";
    /// Request header of the stream and of snapshot polls: the SDK and its
    /// version (`switchyard-rust/0.1.0`), same limits as [`SERVICE`].
    pub const SDK: &str = "x-switchyard-sdk";
    /// Response header of the stream: the heartbeat interval in
    /// milliseconds. SDKs treat twice that much silence as a dead stream.
    pub const HEARTBEAT_MS: &str = "x-switchyard-heartbeat-ms";
    /// Response header of a polled snapshot, value [`RESET_VALUE`](super::RESET_VALUE): the
    /// snapshot replaces a newer one the client holds (the server's
    /// database went back).
    pub const RESET: &str = "x-switchyard-reset";
    /// Response header of the stream, value [`ACKS_ON_REQUEST`](super::ACKS_ON_REQUEST): the
    /// server asks for acknowledgements with [`event::ACK`](super::event::ACK) events; the SDK
    /// acknowledges only when asked (and after the hold the request
    /// advises). Without it (an older server) the SDK acknowledges every
    /// applied revision after its own configured hold.
    pub const ACKS: &str = "x-switchyard-acks";
}

/// The value of [`header::ACKS`].
pub const ACKS_ON_REQUEST: &str = "on-request";

/// The value of [`header::RESET`].
pub const RESET_VALUE: &str = "true";

/// The longest SDK instance id, in characters (a longer one would not fit
/// the notification that forwards acks between replicas).
pub const MAX_INSTANCE_LEN: usize = 64;

/// The longest service name, service version or SDK label, in characters.
pub const MAX_LABEL_LEN: usize = 64;

/// Whether `value` is a valid [`header::SERVICE`], [`header::SERVICE_VERSION`]
/// or [`header::SDK`] value: 1 to [`MAX_LABEL_LEN`] printable ASCII
/// characters (no control characters; spaces allowed inside).
pub fn valid_label(value: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&value.len())
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value.trim() == value
}

/// The content type of the stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The SSE event names. SDKs ignore any other name.
pub mod event {
    /// A full [`Snapshot`](super::Snapshot): replace what you hold unless it is older.
    pub const SNAPSHOT: &str = "snapshot";
    /// A full [`Snapshot`](super::Snapshot) that replaces what you hold whatever its
    /// revision (the server's database went back).
    pub const RESET: &str = "reset";
    /// A [`ChangeEvent`](super::ChangeEvent): apply it to the snapshot at `revision - 1`.
    pub const CHANGE: &str = "change";
    /// Data `{}`: reconnect without `Last-Event-ID`.
    pub const RESYNC: &str = "resync";
    /// Data `{}`: the server ends the stream on purpose; resume after the
    /// `retry:` delay with `Last-Event-ID`, without backing off.
    pub const GOAWAY: &str = "goaway";
    /// An [`AckRequest`](super::AckRequest): acknowledge the revision you hold once it
    /// is at least `revision`, after a jittered hold of up to `hold_ms`.
    /// Sent right after the change it asks about (in the same write) and
    /// after a new stream's first data.
    pub const ACK: &str = "ack";
    /// Every event name of the protocol.
    pub const ALL: [&str; 6] = [SNAPSHOT, RESET, CHANGE, RESYNC, GOAWAY, ACK];
}

/// A heartbeat: an SSE comment frame. Proves that every frame sent before
/// it has arrived.
pub const HEARTBEAT_FRAME: &str = ": heartbeat\n\n";

/// The delay (milliseconds) the `retry:` line before a `goaway` asks for.
pub const GOAWAY_RETRY_MS: u64 = 250;

/// The last frame of a stream the server ends on purpose.
pub const GOAWAY_FRAME: &str = "retry: 250\nevent: goaway\ndata: {}\n\n";

/// The data of [`event::RESYNC`] and [`event::GOAWAY`].
pub const EMPTY_DATA: &str = "{}";

/// Formats one SSE event with an id (`data` must be a single line, as
/// compact JSON is).
pub fn frame(event: &str, id: u64, data: &str) -> String {
    format!("id: {id}\nevent: {event}\ndata: {data}\n\n")
}

/// A `retry:` frame asking clients to wait `ms` before reconnecting.
pub fn retry_frame(ms: u64) -> String {
    format!("retry: {ms}\n\n")
}

/// The data of a signal event ([`event::RESYNC`], [`event::GOAWAY`]):
/// an empty object, unknown fields ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {}

/// A parsed stream event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// [`event::SNAPSHOT`].
    Snapshot(Snapshot),
    /// [`event::RESET`].
    Reset(Snapshot),
    /// [`event::CHANGE`].
    Change(ChangeEvent),
    /// [`event::RESYNC`].
    Resync,
    /// [`event::GOAWAY`].
    GoAway,
    /// [`event::ACK`].
    Ack(AckRequest),
}

impl Event {
    /// Parses an event's data by its name: `Ok(None)` for a name this
    /// protocol does not know (ignore it), `Err` for data that does not
    /// parse (keep the last good state and reconnect). The data of
    /// [`event::RESYNC`] and [`event::GOAWAY`] is not read (it is
    /// [`Signal`], `{}`).
    pub fn parse(name: &str, data: &str) -> Result<Option<Event>, serde_json::Error> {
        Ok(Some(match name {
            event::SNAPSHOT => Event::Snapshot(serde_json::from_str(data)?),
            event::RESET => Event::Reset(serde_json::from_str(data)?),
            event::CHANGE => Event::Change(serde_json::from_str(data)?),
            // A signal's data carries nothing: it is not read, so that a
            // client always acts on the signal.
            event::RESYNC => Event::Resync,
            event::GOAWAY => Event::GoAway,
            event::ACK => Event::Ack(serde_json::from_str(data)?),
            _ => return Ok(None),
        }))
    }

    /// The event's name on the wire.
    pub fn name(&self) -> &str {
        match self {
            Event::Snapshot(_) => event::SNAPSHOT,
            Event::Reset(_) => event::RESET,
            Event::Change(_) => event::CHANGE,
            Event::Resync => event::RESYNC,
            Event::GoAway => event::GOAWAY,
            Event::Ack(_) => event::ACK,
        }
    }
}

/// An SDK acknowledgement: the body of `POST /sdk/v1/ack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The instance id sent as `X-Switchyard-Instance` on the stream.
    pub instance: String,
    /// The revision now applied.
    pub revision: u64,
    /// How long the SDK held this acknowledgement after applying (ms); the
    /// apply time is the arrival time minus this.
    #[serde(default)]
    pub held_ms: f64,
}

/// The data of an [`event::ACK`] event: the server asks for an [`Ack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    /// Acknowledge once the revision you hold is at least this one (with
    /// the revision you hold then).
    pub revision: u64,
    /// Hold the acknowledgement for a random time between half this and
    /// this (ms), so that a fleet's acknowledgements do not compete with
    /// the fan-out of the change they acknowledge; report the time held
    /// as [`Ack::held_ms`].
    pub hold_ms: u64,
}

/// The frame of an [`event::ACK`] event (no `id:`: it is not a revision
/// a client holds).
pub fn ack_request_frame(request: &AckRequest) -> String {
    format!("event: {}\ndata: {{\"revision\":{},\"hold_ms\":{}}}\n\n", event::ACK, request.revision, request.hold_ms)
}

/// The `ETag` of a revision: the revision in quotes (`"42"`).
pub fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// The newest revision an `If-None-Match` value names (a list of, possibly
/// weak, [`etag`]s); `None` when it names none.
pub fn if_none_match(value: &str) -> Option<u64> {
    value.split(',').filter_map(|t| t.trim().trim_start_matches("W/").trim_matches('"').parse::<u64>().ok()).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_what_the_parsers_expect() {
        assert_eq!(frame(event::CHANGE, 7, "{}"), "id: 7\nevent: change\ndata: {}\n\n");
        assert_eq!(retry_frame(1000), "retry: 1000\n\n");
        assert_eq!(GOAWAY_FRAME, format!("retry: {GOAWAY_RETRY_MS}\nevent: {}\ndata: {EMPTY_DATA}\n\n", event::GOAWAY));
    }

    #[test]
    fn every_event_name_parses_back() {
        let data = |name| match name {
            event::RESYNC | event::GOAWAY => "{}",
            event::ACK => r#"{"revision":1,"hold_ms":100}"#,
            _ => r#"{"revision":1}"#,
        };
        for name in event::ALL {
            let event = Event::parse(name, data(name)).unwrap().unwrap();
            assert_eq!(event.name(), name);
        }
        assert!(Event::parse(event::CHANGE, "not json").is_err());
        assert_eq!(Event::parse(event::RESYNC, "").unwrap(), Some(Event::Resync));
        assert_eq!(serde_json::from_str::<Signal>(EMPTY_DATA).unwrap(), Signal {});
    }

    #[test]
    fn ack_request_frames_parse_back() {
        let request = AckRequest { revision: 9, hold_ms: 250 };
        let frame = ack_request_frame(&request);
        assert_eq!(frame, "event: ack\ndata: {\"revision\":9,\"hold_ms\":250}\n\n");
        let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        assert_eq!(Event::parse(event::ACK, data).unwrap(), Some(Event::Ack(request)));
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(if_none_match(&etag(17)), Some(17));
        assert_eq!(if_none_match("*"), None);
        assert_eq!(if_none_match(""), None);
    }

    #[test]
    fn ack_held_ms_is_optional() {
        let ack: Ack = serde_json::from_str(r#"{"instance":"a","revision":3}"#).unwrap();
        assert_eq!(ack, Ack { instance: "a".into(), revision: 3, held_ms: 0.0 });
    }
}
