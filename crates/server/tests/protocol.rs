//! What the server emits parses with `switchyard_core::protocol`: a real
//! server on each store, a real SSE connection opened at the protocol's
//! path with its headers, then a toggle, a kill and segment changes; every
//! event's name is a protocol constant and its data deserialises into the
//! protocol type. Also the polled snapshot (ETag form), the ack shape, the
//! `reset` event and the `goaway` a graceful shutdown ends streams with.
//! Every change (and a new stream's first data) is followed by an `ack`
//! request naming its revision.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use switchyard_core::protocol::{self, Event, event, header};
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store};

const PROJECT: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

/// Creates a project, an environment, a flag and an SDK key; returns the key.
async fn setup(api: &Api) -> String {
    api.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    api.ok(Method::POST, &format!("{PROJECT}/environments"), Some(json!({"key": "production"})), 201).await;
    api.ok(Method::POST, &format!("{PROJECT}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
    let key = api.ok(Method::POST, &format!("{PROD}/sdk-keys"), Some(json!({"name": "svc"})), 201).await;
    key["secret"].as_str().expect("secret").to_string()
}

/// A raw SSE reader: `(event name, id, data)` per event; comments and
/// `retry:` lines are skipped.
struct RawEvents {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl RawEvents {
    /// Opens the stream as an SDK does, checking the response headers.
    async fn open(server: &TestServer, sdk_key: &str, last_event_id: Option<u64>) -> RawEvents {
        let mut req = reqwest::Client::new()
            .get(server.url(protocol::STREAM_PATH))
            .header(reqwest::header::AUTHORIZATION, protocol::authorization(sdk_key))
            .header(reqwest::header::ACCEPT, protocol::EVENT_STREAM)
            .header(header::INSTANCE, "protocol-test");
        if let Some(id) = last_event_id {
            req = req.header(header::LAST_EVENT_ID, id.to_string());
        }
        let resp = req.send().await.expect("stream request");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[reqwest::header::CONTENT_TYPE], protocol::EVENT_STREAM);
        let heartbeat = resp.headers()[header::HEARTBEAT_MS].to_str().unwrap();
        assert!(heartbeat.parse::<u64>().is_ok(), "heartbeat header {heartbeat:?}");
        assert_eq!(resp.headers()[header::ACKS], protocol::ACKS_ON_REQUEST, "the server asks for acks");
        RawEvents { body: Box::pin(resp.bytes_stream()), buf: String::new() }
    }

    async fn next(&mut self) -> Option<(String, Option<u64>, String)> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.to_string();
                    }
                }
                if let Some(name) = name {
                    return Some((name, id, data));
                }
            }
            match tokio::time::timeout(Duration::from_secs(10), self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).expect("UTF-8")),
                _ => return None,
            }
        }
    }

    /// The next event, checked against the protocol: a known name, an id
    /// on data events, data that parses into the protocol type.
    async fn parsed(&mut self) -> Event {
        let (name, id, data) = self.next().await.expect("an event");
        assert!(event::ALL.contains(&name.as_str()), "unknown event name {name:?}");
        let parsed = Event::parse(&name, &data)
            .unwrap_or_else(|e| panic!("{name} data does not parse: {e}: {data}"))
            .expect("a protocol event");
        assert_eq!(parsed.name(), name);
        match &parsed {
            Event::Snapshot(s) | Event::Reset(s) => assert_eq!(id, Some(s.revision), "{name} id"),
            Event::Change(c) => assert_eq!(id, Some(c.revision), "change id"),
            Event::Resync | Event::GoAway => {
                serde_json::from_str::<protocol::Signal>(&data).expect("signal data");
            }
            Event::Ack(_) => assert_eq!(id, None, "an ack request names no revision held"),
        }
        parsed
    }

    /// The next event, which must be a request to acknowledge `revision`
    /// (with the default least hold advised, or for an urgent change such
    /// as a kill the urgent hold: 0 ms for this one stream); returns its hold.
    async fn ack_request(&mut self, revision: u64, urgent: bool) -> u64 {
        match self.parsed().await {
            Event::Ack(request) => {
                assert_eq!(request.revision, revision, "the ack request names the revision just sent");
                if urgent {
                    assert_eq!(request.hold_ms, 0, "a kill's acks are not held (one stream): {request:?}");
                } else {
                    assert!(request.hold_ms >= 100, "the advised hold is at least the configured 100 ms: {request:?}");
                }
                request.hold_ms
            }
            other => panic!("expected an ack request, got {other:?}"),
        }
    }

    /// The next event, which must be a change followed by the request to
    /// acknowledge it; returns the change.
    async fn change(&mut self) -> protocol::ChangeEvent {
        match self.parsed().await {
            Event::Change(change) => {
                let urgent = change.flags.iter().any(|flag| flag.kill.is_some());
                self.ack_request(change.revision, urgent).await;
                change
            }
            other => panic!("expected a change, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn emitted_events_parse_with_the_protocol() {
    for_each_store(|server| async move {
        let api = Api::new(&server, Some(&server.admin_token));
        let sdk_key = setup(&api).await;
        let mut stream = RawEvents::open(&server, &sdk_key, None).await;
        let Event::Snapshot(first) = stream.parsed().await else { panic!("the stream starts with a snapshot") };
        // A new stream's first data is acknowledged too (it counts as applied).
        stream.ack_request(first.revision, false).await;
        assert_eq!(first.flags.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["checkout"]);

        let toggle = json!({"on": true});
        api.ok(Method::POST, &format!("{PROD}/flags/checkout/toggle"), Some(toggle), 200).await;
        let change = stream.change().await;
        assert_eq!(change.revision, first.revision + 1);
        assert!(change.flags[0].on);

        let kill = json!({"reason": "protocol test"});
        api.ok(Method::POST, &format!("{PROD}/flags/checkout/kill"), Some(kill), 200).await;
        let change = stream.change().await;
        assert_eq!(change.flags[0].kill.as_ref().map(|k| k.reason.as_str()), Some("protocol test"));

        let segment = json!({"key": "beta", "included": ["user-1"]});
        api.ok(Method::POST, &format!("{PROJECT}/segments"), Some(segment), 201).await;
        let change = stream.change().await;
        assert_eq!(change.segments[0].included, ["user-1"]);
        let segment = json!({"key": "beta", "included": ["user-2"], "version": change.segments[0].version});
        api.ok(Method::PUT, &format!("{PROJECT}/segments/beta"), Some(segment), 200).await;
        let change = stream.change().await;
        assert_eq!(change.segments[0].included, ["user-2"]);
        api.ok(Method::DELETE, &format!("{PROJECT}/segments/beta"), None, 204).await;
        let change = stream.change().await;
        assert_eq!(change.deleted_segments, ["beta"]);
        let current = change.revision;

        // A client ahead of the server (its database went back) gets `reset`.
        let mut ahead = RawEvents::open(&server, &sdk_key, Some(current + 100)).await;
        let Event::Reset(reset) = ahead.parsed().await else { panic!("a client ahead gets reset") };
        assert_eq!(reset.revision, current);

        poll_and_ack(&server, &sdk_key, current).await;
        server
    })
    .await;
}

/// The polled snapshot's ETag and the ack shape, both from the protocol.
async fn poll_and_ack(server: &TestServer, sdk_key: &str, current: u64) {
    let http = reqwest::Client::new();
    let auth = protocol::authorization(sdk_key);
    let resp = http
        .get(server.url(protocol::SNAPSHOT_PATH))
        .header(reqwest::header::AUTHORIZATION, &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[reqwest::header::ETAG], protocol::etag(current).as_str());
    let snapshot: protocol::Snapshot = resp.json().await.expect("snapshot body");
    assert_eq!(snapshot.revision, current);
    let resp = http
        .get(server.url(protocol::SNAPSHOT_PATH))
        .header(reqwest::header::AUTHORIZATION, &auth)
        .header(reqwest::header::IF_NONE_MATCH, protocol::etag(current))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    let ack = protocol::Ack { instance: "protocol-test".into(), revision: current, held_ms: 1.5 };
    let resp =
        http.post(server.url(protocol::ACK_PATH)).header(reqwest::header::AUTHORIZATION, &auth).json(&ack).send().await;
    assert_eq!(resp.unwrap().status(), 204);
}

#[tokio::test]
async fn a_graceful_shutdown_ends_streams_with_a_protocol_goaway() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let api = Api::new(&server, Some(&server.admin_token));
        let sdk_key = setup(&api).await;
        let mut stream = RawEvents::open(&server, &sdk_key, None).await;
        let Event::Snapshot(first) = stream.parsed().await else { panic!("the stream starts with a snapshot") };
        stream.ack_request(first.revision, false).await;
        server.stop_gracefully().await;
        assert_eq!(stream.parsed().await, Event::GoAway, "{}", db.label());
        assert!(stream.next().await.is_none(), "nothing after goaway");
        db.cleanup().await;
    }
}
