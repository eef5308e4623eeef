//! Context building and its JSON form.

use std::borrow::Cow;

use serde_json::json;
use switchyard_core::{AttrValue, Context};

#[test]
fn builder_sets_replaces_and_reads() {
    let mut ctx = Context::new("user-1").with("plan", "free").with("age", 42).with("beta", true).with("plan", "pro");
    assert_eq!(ctx.key(), "user-1");
    assert_eq!(ctx.len(), 3);
    assert_eq!(ctx.get("plan"), Some(&AttrValue::String(Cow::Borrowed("pro"))));
    assert_eq!(ctx.get("age").and_then(AttrValue::as_f64), Some(42.0));
    assert_eq!(ctx.get("beta").and_then(AttrValue::as_bool), Some(true));
    assert_eq!(ctx.get("key").and_then(AttrValue::as_str), Some("user-1"));
    assert_eq!(ctx.get("missing"), None);
    ctx.set("key", "user-2");
    ctx.set("key", 5); // non-string values for `key` are ignored
    assert_eq!(ctx.key(), "user-2");
    assert_eq!(ctx.remove("beta"), Some(AttrValue::Bool(true)));
    assert_eq!(ctx.attributes().map(|(n, _)| n).collect::<Vec<_>>(), ["plan", "age"]);
}

#[test]
fn conversions() {
    let groups = ["a", "b"];
    let owned = vec!["x".to_owned()];
    let ctx = Context::new(String::from("k"))
        .with("i64", 7i64)
        .with("f32", 1.5f32)
        .with("u32", 3u32)
        .with("slice", &groups[..])
        .with("array", groups)
        .with("owned", owned)
        .with(String::from("name"), String::from("value"));
    assert_eq!(ctx.get("slice"), Some(&AttrValue::List(vec!["a".into(), "b".into()])));
    assert_eq!(ctx.get("array"), ctx.get("slice"));
    assert_eq!(ctx.get("owned"), Some(&AttrValue::List(vec!["x".into()])));
    assert_eq!(ctx.get("f32").and_then(AttrValue::as_f64), Some(1.5));
    let owned: Context<'static> = ctx.clone().into_owned();
    assert_eq!(owned, ctx);
}

#[test]
fn json_round_trip() {
    let wire = json!({"key": "user-1", "attributes": {"plan": "pro", "age": 42.0, "beta": true, "groups": ["a", "b"]}});
    let ctx: Context<'static> = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(
        ctx,
        Context::new("user-1").with("plan", "pro").with("age", 42).with("beta", true).with("groups", vec!["a", "b"])
    );
    assert_eq!(serde_json::to_value(&ctx).unwrap(), wire);
}

#[test]
fn attributes_are_optional_and_null_means_missing() {
    let ctx: Context<'static> = serde_json::from_str(r#"{"key": "u"}"#).unwrap();
    assert_eq!((ctx.key(), ctx.len()), ("u", 0));
    assert_eq!(serde_json::to_string(&ctx).unwrap(), r#"{"key":"u"}"#);
    let ctx: Context<'static> =
        serde_json::from_str(r#"{"key": "u", "attributes": {"a": null, "b": 1}, "extra": [1]}"#).unwrap();
    assert_eq!(ctx.get("a"), None);
    assert_eq!(ctx.get("b"), Some(&AttrValue::Number(1.0)));
}

#[test]
fn invalid_attributes_are_clear_errors() {
    let cases = [
        (r#"{"key": "u", "attributes": {"o": {"x": 1}}}"#, "attribute `o`: objects are not supported"),
        (r#"{"key": "u", "attributes": {"n": [["a"]]}}"#, "attribute `n`: array elements must be strings"),
        (r#"{"key": "u", "attributes": {"m": ["a", 1]}}"#, "attribute `m`: array elements must be strings"),
        (r#"{"key": "u", "attributes": {"key": "other"}}"#, "attribute `key` is reserved"),
        (r#"{"key": "u", "attributes": {"a": 1, "a": 2}}"#, "attribute `a` appears twice"),
        (r#"{"attributes": {}}"#, "missing field `key`"),
        (r#"{"key": 5}"#, "invalid type"),
        (r#"{"key": "u", "attributes": []}"#, "invalid type"),
    ];
    for (json, want) in cases {
        let err = serde_json::from_str::<Context<'static>>(json).unwrap_err().to_string();
        assert!(err.contains(want), "{json}: {err}");
    }
}
