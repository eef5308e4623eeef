//! Evaluation through the public getters of offline clients, including the
//! shared evaluation vectors.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard::core::vectors::{EVALUATION_VECTORS_PATH, ValueType, VectorCase, VectorFile};
use switchyard::{Client, Context, ErrorKind, Reason, Snapshot, Status};

fn demo_snapshot() -> Snapshot {
    serde_json::from_value(json!({"revision": 12, "flags": [
        {"key": "checkout", "kind": "boolean", "on": true, "off_variant": "off",
         "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
         "targets": [{"variant": "off", "keys": ["blocked-user"]}],
         "rules": [{"id": "pro-se", "clauses": [
             {"attribute": "plan", "op": "equals", "values": ["pro"]},
             {"attribute": "country", "op": "in", "values": ["SE", "NO"]}], "serve": {"variant": "on"}}],
         "fallthrough": {"variant": "off"}},
        {"key": "banner", "kind": "string", "on": false, "off_variant": "plain",
         "variants": [{"key": "plain", "value": "hi"}, {"key": "fancy", "value": "hello!"}],
         "fallthrough": {"variant": "fancy"}},
        {"key": "limit", "kind": "number", "on": true, "off_variant": "low",
         "variants": [{"key": "low", "value": 10}, {"key": "high", "value": 1000.5}],
         "fallthrough": {"variant": "high"}},
        {"key": "theme", "kind": "json", "on": true, "off_variant": "dark",
         "kill": {"reason": "incident", "by": "oncall", "at": "2024-01-01T00:00:00Z"},
         "variants": [{"key": "dark", "value": {"bg": "#000"}}, {"key": "light", "value": {"bg": "#fff"}}],
         "fallthrough": {"variant": "light"}}
    ]}))
    .unwrap()
}

#[test]
fn offline_clients_evaluate_every_type_locally() {
    let client = Client::from_snapshot(demo_snapshot()).unwrap();
    assert_eq!(client.status(), Status::Ready);
    assert_eq!(client.revision(), Some(12));
    let pro = Context::new("u1").with("plan", "pro").with("country", "SE");
    let free = Context::new("u2").with("plan", "free");

    assert!(client.bool_value("checkout", &pro, false));
    assert!(!client.bool_value("checkout", &free, true));
    assert!(!client.bool_value(
        "checkout",
        &Context::new("blocked-user").with("plan", "pro").with("country", "SE"),
        true
    ));
    assert_eq!(client.string_value("banner", &pro, "x"), "hi");
    assert_eq!(client.number_value("limit", &pro, 0.0), 1000.5);
    assert_eq!(client.json_value("theme", &pro, Value::Null), json!({"bg": "#000"}));
    // Every kind reads as JSON.
    assert_eq!(client.json_value("limit", &pro, Value::Null), json!(1000.5));

    let d = client.bool_detail("checkout", &pro, false);
    assert_eq!(d.reason, Reason::RuleMatch { rule_index: 0, rule_id: "pro-se".into() });
    assert_eq!((d.variant.as_deref(), d.revision, d.stale), (Some("on"), 12, false));
    assert!(d.age.is_some());
    let target = Context::new("blocked-user");
    assert_eq!(client.bool_detail("checkout", &target, true).reason, Reason::TargetMatch);
    assert_eq!(client.bool_detail("checkout", &free, true).reason, Reason::Fallthrough);
    assert_eq!(client.string_detail("banner", &pro, "x").reason, Reason::Off);
    assert_eq!(client.json_detail("theme", &pro, Value::Null).reason, Reason::Killed);
    assert_eq!(client.number_detail("limit", &pro, 0.0).variant.as_deref(), Some("high"));

    let missing = client.string_detail("nope", &pro, "fallback");
    assert_eq!((missing.value.as_str(), missing.variant, missing.reason), ("fallback", None, Reason::FlagNotFound));
    let mismatch = client.number_detail("checkout", &pro, 7.0);
    assert!(mismatch.reason.is_default());
    assert_eq!((mismatch.value, mismatch.reason), (7.0, Reason::Error(ErrorKind::TypeMismatch)));
    assert!(client.bool_value("banner", &pro, true), "type mismatch serves the default");
}

#[test]
fn invalid_snapshots_are_rejected_with_paths() {
    let mut s = demo_snapshot();
    s.flags[0].off_variant = "missing".into();
    let err = Client::from_snapshot(s).unwrap_err();
    assert!(err.to_string().contains("flags[0]"), "{err}");
}

#[test]
fn from_file_reads_a_bare_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, serde_json::to_string(&demo_snapshot()).unwrap()).unwrap();
    let client = Client::from_file(&path).unwrap();
    assert_eq!(client.revision(), Some(12));
    assert!(matches!(Client::from_file(dir.path().join("none.json")), Err(switchyard::Error::Io { .. })));
}

#[tokio::test]
async fn before_the_first_snapshot_defaults_are_served_as_not_ready() {
    // Port 9 (discard) on loopback: nothing listens, connections are refused.
    let client = Client::builder("k").base_url("http://127.0.0.1:9").build().unwrap();
    let ctx = Context::new("u");
    assert!(client.bool_value("a", &ctx, true));
    let d = client.string_detail("a", &ctx, "dflt");
    assert_eq!((d.value.as_str(), d.reason, d.revision, d.age), ("dflt", Reason::NotReady, 0, None));
    assert_eq!(client.snapshot().map(|s| s.revision()), None);
    let err = client.wait_until_ready(Duration::from_millis(50)).await.unwrap_err();
    assert!(matches!(err, switchyard::Error::Timeout { .. }), "{err}");
    // Offline clients are ready at once.
    let offline = Client::from_snapshot(demo_snapshot()).unwrap();
    offline.wait_until_ready(Duration::from_millis(1)).await.unwrap();
}

/// Every shared vector through the SDK's public getters (value and detail).
#[test]
fn shared_evaluation_vectors_pass_through_the_sdk() {
    let json = std::fs::read_to_string(EVALUATION_VECTORS_PATH)
        .unwrap_or_else(|e| panic!("cannot read {EVALUATION_VECTORS_PATH}: {e}"));
    let file = VectorFile::from_json(&json).expect("vectors parse");
    assert!(!file.cases.is_empty());
    let failures: Vec<String> =
        file.cases.iter().filter_map(|c| run_case(c).err().map(|e| format!("{}: {e}", c.name))).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), file.cases.len(), failures.join("\n"));
}

fn run_case(case: &VectorCase) -> Result<(), String> {
    let client = Client::from_snapshot(case.snapshot()).map_err(|e| format!("does not load: {e}"))?;
    let key = case.flag_key.as_deref().or(case.flag.as_ref().map(|f| f.key.as_str())).ok_or("no key")?;
    let ctx = &case.context;
    let bad = || format!("default {} does not fit {:?}", case.default, case.value_type);
    let (value, detail_value, variant, reason) = match case.value_type {
        ValueType::Bool => {
            let dflt = case.default.as_bool().ok_or_else(bad)?;
            let d = client.bool_detail(key, ctx, dflt);
            (json!(client.bool_value(key, ctx, dflt)), json!(d.value), d.variant, d.reason)
        }
        ValueType::Number => {
            let dflt = case.default.as_f64().ok_or_else(bad)?;
            let d = client.number_detail(key, ctx, dflt);
            (json!(client.number_value(key, ctx, dflt)), json!(d.value), d.variant, d.reason)
        }
        ValueType::String => {
            let dflt = case.default.as_str().ok_or_else(bad)?;
            let d = client.string_detail(key, ctx, dflt);
            (json!(client.string_value(key, ctx, dflt)), json!(d.value), d.variant, d.reason)
        }
        ValueType::Json => {
            let d = client.json_detail(key, ctx, case.default.clone());
            (client.json_value(key, ctx, case.default.clone()), d.value, d.variant, d.reason)
        }
    };
    let want = &case.expected;
    let want_reason = Reason::from(want.reason.clone());
    if !json_eq(&value, &want.value)
        || !json_eq(&detail_value, &want.value)
        || variant.as_deref() != want.variant.as_deref()
        || reason != want_reason
    {
        return Err(format!(
            "got value={value} detail.value={detail_value} variant={variant:?} reason={reason:?}, \
             expected value={} variant={:?} reason={want_reason:?}",
            want.value, want.variant
        ));
    }
    Ok(())
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
