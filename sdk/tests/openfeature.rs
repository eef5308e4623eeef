//! The OpenFeature provider, driven through the `open-feature` client API.
#![cfg(feature = "openfeature")]

mod common;

use std::time::Duration;

use common::{Peer, Step, StreamReply, bool_flag, fast_builder, snapshot_frame};

use open_feature::{EvaluationContext, EvaluationErrorCode, EvaluationReason, OpenFeature};
use serde_json::json;
use switchyard::Client;
use switchyard::openfeature::SwitchyardProvider;

fn snapshot() -> switchyard::Snapshot {
    serde_json::from_value(json!({"revision": 3, "flags": [
        {"key": "checkout", "kind": "boolean", "on": true, "off_variant": "off",
         "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
         "rules": [{"id": "pro", "clauses": [{"attribute": "plan", "op": "equals", "values": ["pro"]}],
                    "serve": {"variant": "on"}}],
         "fallthrough": {"variant": "off"}},
        {"key": "paused", "kind": "boolean", "on": false, "off_variant": "off",
         "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
         "fallthrough": {"variant": "on"}},
        {"key": "seats", "kind": "number", "on": true, "off_variant": "few",
         "variants": [{"key": "few", "value": 5}, {"key": "half", "value": 2.5}],
         "rules": [{"id": "r", "clauses": [{"attribute": "half", "op": "equals", "values": [true]}],
                    "serve": {"variant": "half"}}],
         "fallthrough": {"variant": "few"}},
        {"key": "banner", "kind": "string", "on": true, "off_variant": "a",
         "variants": [{"key": "a", "value": "hello"}], "fallthrough": {"variant": "a"}},
        {"key": "theme", "kind": "json", "on": true, "off_variant": "d",
         "variants": [{"key": "d", "value": {"bg": "#000", "size": 2}}], "fallthrough": {"variant": "d"}},
        {"key": "list", "kind": "json", "on": true, "off_variant": "d",
         "variants": [{"key": "d", "value": [1, 2]}], "fallthrough": {"variant": "d"}}
    ]}))
    .unwrap()
}

#[tokio::test]
async fn resolves_and_maps_reasons_and_errors_through_the_openfeature_client() {
    let client = Client::from_snapshot(snapshot()).unwrap();
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider("switchyard-offline", SwitchyardProvider::new(client)).await;
    let flags = api.create_named_client("switchyard-offline");
    drop(api);

    let pro = EvaluationContext::default().with_targeting_key("u1").with_custom_field("plan", "pro");
    let d = flags.get_bool_details("checkout", Some(&pro), None).await.unwrap();
    assert!(d.value);
    assert_eq!(d.variant.as_deref(), Some("on"));
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    let meta = &d.flag_metadata.values;
    assert_eq!(meta["switchyard.reason"], "RULE_MATCH".into());
    assert_eq!(meta["switchyard.rule_id"], "pro".into());
    assert_eq!(meta["switchyard.revision"], 3i64.into());
    assert_eq!(meta["switchyard.stale"], false.into());

    let free = EvaluationContext::default().with_targeting_key("u2");
    let d = flags.get_bool_details("checkout", Some(&free), None).await.unwrap();
    assert_eq!((d.value, d.reason), (false, Some(EvaluationReason::Default)));
    let d = flags.get_bool_details("paused", Some(&free), None).await.unwrap();
    assert_eq!(d.reason, Some(EvaluationReason::Disabled));

    assert_eq!(flags.get_int_value("seats", Some(&free), None).await.unwrap(), 5);
    assert_eq!(flags.get_float_value("seats", Some(&free), None).await.unwrap(), 5.0);
    let half = EvaluationContext::default().with_targeting_key("u3").with_custom_field("half", true);
    assert_eq!(flags.get_float_value("seats", Some(&half), None).await.unwrap(), 2.5);
    let err = flags.get_int_value("seats", Some(&half), None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch, "2.5 is not an int");
    assert_eq!(flags.get_string_value("banner", Some(&free), None).await.unwrap(), "hello");
    let theme = flags.get_struct_details::<open_feature::StructValue>("theme", Some(&free), None).await.unwrap();
    assert_eq!(theme.value.fields["bg"], "#000".into());
    assert_eq!(theme.value.fields["size"], open_feature::Value::Int(2));
    let err = flags.get_struct_value::<open_feature::StructValue>("list", Some(&free), None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);

    let err = flags.get_bool_value("nope", Some(&free), None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::FlagNotFound);
    let err = flags.get_string_value("checkout", Some(&free), None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TypeMismatch);
    let err = flags.get_bool_value("checkout", None, None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::TargetingKeyMissing);
}

#[tokio::test]
async fn a_client_without_flags_is_not_ready() {
    let client = Client::builder("k").base_url("http://127.0.0.1:9").build().unwrap();
    let provider = SwitchyardProvider::new(client).init_timeout(Duration::from_millis(100));
    assert_eq!(
        open_feature::provider::FeatureProvider::status(&provider),
        open_feature::provider::ProviderStatus::NotReady
    );
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider("switchyard-not-ready", provider).await;
    let flags = api.create_named_client("switchyard-not-ready");
    drop(api);
    let ctx = EvaluationContext::default().with_targeting_key("u1");
    let err = flags.get_bool_value("checkout", Some(&ctx), None).await.unwrap_err();
    assert_eq!(err.code, EvaluationErrorCode::ProviderNotReady);
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The OpenFeature init contract: setting the provider waits for the first
/// snapshot, so the very first evaluation sees the server's flags.
#[tokio::test]
async fn setting_the_provider_waits_for_the_first_snapshot() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        Step::Sleep(Duration::from_millis(300)),
        snapshot_frame(&common::snapshot(9, vec![bool_flag("checkout", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    let mut api = OpenFeature::singleton_mut().await;
    api.set_named_provider("switchyard-networked", SwitchyardProvider::new(client)).await;
    let flags = api.create_named_client("switchyard-networked");
    drop(api);
    let ctx = EvaluationContext::default().with_targeting_key("u1");
    let d = flags.get_bool_details("checkout", Some(&ctx), None).await.expect("no PROVIDER_NOT_READY");
    assert!(d.value);
    assert_eq!(d.flag_metadata.values["switchyard.revision"], 9i64.into());
}
