//! Statements per toggle, counted (not timed) so the write path's round
//! trips cannot silently grow: a capturing `tracing_subscriber` layer (the
//! global subscriber of this test binary, so the server's tasks report to
//! it) counts sqlx's per-statement events (`sqlx::query`, one per statement
//! executed, Postgres's `COMMIT` included; `BEGIN` and the pool's liveness
//! ping are not statements sqlx reports) inside the `toggle` op's span, for a toggle over
//! real HTTP on both stores.
//!
//! On Postgres a toggle is: the environment read and locked (with its
//! approval policy) in one
//! statement, the flag with its configuration in one, every write (version,
//! history row, revision, change log, `pg_notify`, audit event) as one
//! statement of data-modifying CTEs, `COMMIT`. On SQLite (in-process, no
//! round trips) the writes run one by one.

use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Method;
use serde_json::json;
use switchyard_server::store::Backend;
use switchyard_server::testing::{Api, for_each_store};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The summaries of the statements run inside a `toggle` span.
#[derive(Default)]
struct Statements(Vec<String>);

struct Summary(String);

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_string();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

struct Capture(Arc<Mutex<Statements>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let in_toggle = ctx.event_scope(event).is_some_and(|mut scope| scope.any(|span| span.name() == "toggle"));
        if in_toggle {
            let mut summary = Summary(String::new());
            event.record(&mut summary);
            // A new SQLite connection's set-up (sqlx's `PRAGMA …` at
            // connect) is the pool's, not the toggle's: it runs whenever
            // the pool had no idle connection at hand (a connection goes
            // back to the pool in a task of its own), once per connection.
            if !summary.0.starts_with("PRAGMA") {
                self.0.lock().unwrap().0.push(summary.0);
            }
        }
    }
}

/// The captured statements (the global subscriber is installed on first use).
fn statements() -> Arc<Mutex<Statements>> {
    static STATEMENTS: OnceLock<Arc<Mutex<Statements>>> = OnceLock::new();
    STATEMENTS
        .get_or_init(|| {
            let statements = Arc::new(Mutex::new(Statements::default()));
            let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&statements)));
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
            statements
        })
        .clone()
}

/// Toggles `checkout` to `on` over HTTP; returns the statements it ran.
async fn toggle(admin: &Api, statements: &Mutex<Statements>, on: bool) -> Vec<String> {
    statements.lock().unwrap().0.clear();
    let path = "/api/v1/projects/shop/environments/production/flags/checkout/toggle";
    admin.ok(Method::POST, path, Some(json!({ "on": on })), 200).await;
    std::mem::take(&mut statements.lock().unwrap().0)
}

#[tokio::test]
async fn a_toggle_runs_a_fixed_small_number_of_statements() {
    let statements = statements();
    for_each_store(|server| {
        let statements = Arc::clone(&statements);
        async move {
            let admin = Api::new(&server, Some(&server.admin_token));
            admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
            let envs = "/api/v1/projects/shop/environments";
            admin.ok(Method::POST, envs, Some(json!({"key": "production"})), 201).await;
            let flag = json!({"key": "checkout", "kind": "boolean"});
            admin.ok(Method::POST, "/api/v1/projects/shop/flags", Some(flag), 201).await;

            // Two reads in the transaction (the environment, locked, with
            // its approval policy; the flag with its configuration), then
            // on Postgres one statement of writes and COMMIT; on SQLite
            // five writes (sqlx reports no COMMIT there). Before these
            // were counted: 12 on Postgres, 10 on SQLite; while the
            // approval policy was read before the transaction (issue 19),
            // 6 and 9.
            let postgres = server.state.store.backend() == Backend::Postgres;
            let expected = if postgres { 4 } else { 7 };
            for on in [true, false, true] {
                let ran = toggle(&admin, &statements, on).await;
                assert_eq!(ran.len(), expected, "statements of one toggle: {ran:#?}");
            }
            // Already on: the two reads, nothing written, no COMMIT of writes.
            let ran = toggle(&admin, &statements, true).await;
            assert_eq!(ran.len(), 2, "statements of a toggle that changes nothing: {ran:#?}");

            // The writes really happened, each once: three audited toggles
            // and three revisions after the flag's creation.
            let audit = admin.ok(Method::GET, "/api/v1/projects/shop/audit?flag=checkout", None, 200).await;
            let items = audit["items"].as_array().cloned().unwrap_or_default();
            let toggles: Vec<_> = items.iter().filter(|e| e["action"] == "flag.toggle").collect();
            assert_eq!(toggles.len(), 3, "{audit}");
            assert!(toggles.iter().all(|e| e["revision"].is_u64() && e["before"].is_object()), "{audit}");
            let env = admin.ok(Method::GET, &format!("{envs}/production"), None, 200).await;
            assert_eq!(env["revision"], json!(5), "{env}");
            server
        }
    })
    .await;
}
