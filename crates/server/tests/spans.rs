//! Tracing spans of the ops layer, seen from outside: a capturing
//! `tracing_subscriber` layer (installed as the global subscriber of this
//! test binary, so the server's tasks report to it) records every span's
//! name, parent and fields; a kill over real HTTP must produce one `kill`
//! span naming the flag, environment, actor, request id and revision, with
//! the child spans `write`, `broadcast`, `receipts` in that order, and the
//! hub's `fan_out` of the change inside `broadcast`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::{Api, for_each_store};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as created (and later recorded into).
#[derive(Debug, Clone)]
struct Captured {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Spans {
    all: Vec<Captured>,
    /// Index in `all` of the live span with each id (ids are reused after a span closes).
    live: BTreeMap<u64, usize>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
}

struct Capture(Arc<Mutex<Spans>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx.span(id).and_then(|span| span.parent()).map(|p| p.id().into_u64());
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap();
        let span = Captured { id: id.into_u64(), name: attrs.metadata().name(), parent, fields };
        spans.all.push(span);
        let index = spans.all.len() - 1;
        spans.live.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some(&index) = spans.live.get(&id.into_u64()) {
            values.record(&mut Fields(&mut spans.all[index].fields));
        }
    }
}

/// The captured spans (the global subscriber is installed on first use).
fn spans() -> Arc<Mutex<Spans>> {
    static SPANS: OnceLock<Arc<Mutex<Spans>>> = OnceLock::new();
    SPANS
        .get_or_init(|| {
            let spans = Arc::new(Mutex::new(Spans::default()));
            let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&spans)));
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
            spans
        })
        .clone()
}

#[tokio::test]
async fn a_kill_over_http_is_a_kill_span_with_write_broadcast_receipts() {
    let spans = spans();
    for_each_store(|server| {
        let spans = Arc::clone(&spans);
        async move {
            let admin = Api::new(&server, Some(&server.admin_token));
            admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
            let envs = "/api/v1/projects/shop/environments";
            admin.ok(Method::POST, envs, Some(json!({"key": "production"})), 201).await;
            let flag = json!({"key": "checkout", "kind": "boolean"});
            admin.ok(Method::POST, "/api/v1/projects/shop/flags", Some(flag), 201).await;
            *spans.lock().unwrap() = Spans::default();

            let kill = format!("{envs}/production/flags/checkout/kill?wait=1s");
            let body = json!({"reason": "checkout errors spiking"});
            let killed = admin.ok(Method::POST, &kill, Some(body), 200).await;
            let revision = killed["revision"].as_u64().expect("a kill that changed something has a revision");

            let all = spans.lock().unwrap().all.clone();
            let (at, span) =
                all.iter().enumerate().find(|(_, s)| s.name == "kill").unwrap_or_else(|| {
                    panic!("no kill span among {:?}", all.iter().map(|s| s.name).collect::<Vec<_>>())
                });
            assert_eq!(span.fields.get("flag").map(String::as_str), Some("checkout"), "{span:?}");
            assert_eq!(span.fields.get("env").map(String::as_str), Some("production"), "{span:?}");
            assert_eq!(span.fields.get("project").map(String::as_str), Some("shop"), "{span:?}");
            assert_eq!(span.fields.get("actor").map(String::as_str), Some("admin"), "{span:?}");
            assert_eq!(span.fields.get("revision"), Some(&revision.to_string()), "{span:?}");
            assert!(span.fields.get("request_id").is_some_and(|id| !id.is_empty()), "{span:?}");

            // The kill's children, in the order they were opened (up to the
            // point its id could be reused by a later span).
            let after = &all[at + 1..];
            let end = after.iter().position(|s| s.id == span.id).unwrap_or(after.len());
            let children: Vec<&str> =
                after[..end].iter().filter(|s| s.parent == Some(span.id)).map(|s| s.name).collect();
            assert_eq!(children, ["write", "broadcast", "receipts"], "children of the kill span");

            // The hub's fan-out of the kill's change is inside `broadcast`
            // (waiting for the hub to have sent it: it runs off the request).
            let env_id = server.state.store.get_environment("shop", "production").await.unwrap().id;
            while server.state.hub.channel(env_id).revision() < revision {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let broadcast = after[..end].iter().find(|s| s.parent == Some(span.id) && s.name == "broadcast").unwrap();
            let all = spans.lock().unwrap().all.clone();
            let fan_out =
                all.iter().find(|s| s.name == "fan_out" && s.fields.get("revision") == Some(&revision.to_string()));
            let fan_out = fan_out.unwrap_or_else(|| panic!("no fan_out span at revision {revision}: {all:?}"));
            // A replica's listener skips its own NOTIFYs (they name their
            // origin), so its own commit always fans out from the local
            // publish, inside `broadcast`, on both stores.
            assert_eq!(fan_out.fields.get("via").map(String::as_str), Some("local"), "{fan_out:?}");
            assert_eq!(fan_out.parent, Some(broadcast.id), "the fan-out is inside the kill's broadcast span");
            server
        }
    })
    .await;
}
