//! An [OpenFeature](https://openfeature.dev) provider (cargo feature
//! `openfeature`) for the `open-feature` 0.2 crate.
//!
//! Setting the provider runs its `initialize`, which waits until the client
//! is ready (at most [`SwitchyardProvider::init_timeout`], default 5 s), as
//! the OpenFeature init contract asks: evaluations right after
//! `set_provider(..).await` see the server's flags, never
//! `PROVIDER_NOT_READY` because the first snapshot was still on its way. If
//! the wait times out (server unreachable) or the key is rejected, the
//! provider is set anyway, its status says why (`NOT_READY` / `ERROR`) and
//! evaluations fail with `PROVIDER_NOT_READY` until the flags arrive (or
//! serve persisted flags, marked `STALE`).
//!
//! ```no_run
//! use std::time::Duration;
//! use open_feature::{EvaluationContext, OpenFeature};
//! use switchyard::openfeature::SwitchyardProvider;
//!
//! # async fn run() -> Result<(), switchyard::Error> {
//! let client = switchyard::Client::builder("sdk_…").base_url("http://127.0.0.1:8080").build()?;
//! let mut api = OpenFeature::singleton_mut().await;
//! // Returns once the first snapshot is in (or after 5 s).
//! api.set_provider(SwitchyardProvider::new(client).init_timeout(Duration::from_secs(5))).await;
//! let flags = api.create_client();
//! drop(api);
//! let ctx = EvaluationContext::default().with_targeting_key("user-123").with_custom_field("plan", "pro");
//! let on = flags.get_bool_value("new-checkout", Some(&ctx), None).await.unwrap_or(false);
//! # let _ = on;
//! # Ok(())
//! # }
//! ```
//!
//! ## Mapping
//! | Switchyard | OpenFeature |
//! |---|---|
//! | `FLAG_NOT_FOUND` | error `FLAG_NOT_FOUND` |
//! | `ERROR(TYPE_MISMATCH)`, a fractional number read as int, a non-object read as struct | error `TYPE_MISMATCH` |
//! | `NOT_READY` (no flags yet) | error `PROVIDER_NOT_READY` |
//! | no targeting key in the context | error `TARGETING_KEY_MISSING` |
//! | any value from stale flags, including `FAIL_SAFE` | reason `STALE` |
//! | `OFF`, `KILLED`, `PREREQUISITE_FAILED` | reason `DISABLED` |
//! | `TARGET_MATCH`, `RULE_MATCH` | reason `TARGETING_MATCH` |
//! | `FALLTHROUGH` | reason `DEFAULT` |
//!
//! Every resolution also carries flag metadata that keeps the exact
//! Switchyard detail: `switchyard.reason` (the code above), `switchyard.revision`,
//! `switchyard.stale`, `switchyard.age_ms` and, for `RULE_MATCH`,
//! `switchyard.rule_id` / `switchyard.rule_index`, for `PREREQUISITE_FAILED`,
//! `switchyard.prerequisite` / `switchyard.prerequisite_cause`.
//!
//! Context: the targeting key becomes the context key; booleans, integers,
//! floats and strings map to attributes of the same type; date-times become
//! numbers (Unix epoch milliseconds, as the date operators expect);
//! structure fields and a custom field named `key` are ignored.
//! Provider status: `INITIALIZING` → `NOT_READY`, `READY` → `READY`,
//! `STALE` → `STALE`, `UNAUTHORIZED` / `ERROR` → `ERROR`.
//!
//! Owns: the OpenFeature mapping. Must not touch: the client's evaluation
//! or sync (it only calls the public `Client`).

use std::time::Duration;

use open_feature::provider::{FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode, EvaluationReason,
    EvaluationResult, FlagMetadata, StructValue, Value, async_trait,
};
use switchyard_core::{AttrValue, Context, ErrorKind};

use crate::client::Client;
use crate::detail::{Detail, Reason};
use crate::status::Status;

/// The Switchyard OpenFeature provider: a thin adapter over a [`Client`]
/// (evaluation stays local and synchronous underneath).
#[derive(Debug, Clone)]
pub struct SwitchyardProvider {
    client: Client,
    metadata: ProviderMetadata,
    init_timeout: Duration,
}

impl SwitchyardProvider {
    /// A provider evaluating with `client` (networked or offline).
    pub fn new(client: Client) -> Self {
        SwitchyardProvider {
            client,
            metadata: ProviderMetadata::new("switchyard"),
            init_timeout: Duration::from_secs(5),
        }
    }

    /// How long setting the provider waits for the client to be ready
    /// (its `initialize`). Default 5 s.
    #[must_use]
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl FeatureProvider for SwitchyardProvider {
    /// Waits until the client is ready, at most the init timeout (see the
    /// module docs); returns early when the server rejects the key.
    async fn initialize(&mut self, _context: &EvaluationContext) {
        if let Err(error) = self.client.wait_until_ready(self.init_timeout).await {
            tracing::warn!(%error, "switchyard OpenFeature provider set before its flags arrived");
        }
    }

    fn status(&self) -> ProviderStatus {
        match self.client.status() {
            Status::Initializing => ProviderStatus::NotReady,
            Status::Ready => ProviderStatus::Ready,
            Status::Stale { .. } => ProviderStatus::STALE,
            Status::Unauthorized | Status::Error(_) => ProviderStatus::Error,
        }
    }

    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        let ctx = context(ctx)?;
        resolve(self.client.bool_detail(key, &ctx, false))
    }

    async fn resolve_int_value(&self, key: &str, ctx: &EvaluationContext) -> EvaluationResult<ResolutionDetails<i64>> {
        let ctx = context(ctx)?;
        let details = resolve(self.client.number_detail(key, &ctx, 0.0))?;
        let n = details.value;
        // Exactly representable integers only (|n| < 2^63 and no fraction).
        if n.fract() != 0.0 || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
            return Err(error(EvaluationErrorCode::TypeMismatch, format!("flag `{key}` value {n} is not an integer")));
        }
        Ok(ResolutionDetails {
            value: n as i64,
            variant: details.variant,
            reason: details.reason,
            flag_metadata: details.flag_metadata,
        })
    }

    async fn resolve_float_value(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        let ctx = context(ctx)?;
        resolve(self.client.number_detail(key, &ctx, 0.0))
    }

    async fn resolve_string_value(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        let ctx = context(ctx)?;
        resolve(self.client.string_detail(key, &ctx, String::new()))
    }

    async fn resolve_struct_value(
        &self,
        key: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        let ctx = context(ctx)?;
        let details = resolve(self.client.json_detail(key, &ctx, serde_json::Value::Null))?;
        let Some(object) = details.value.as_object() else {
            return Err(error(EvaluationErrorCode::TypeMismatch, format!("flag `{key}` is not a JSON object")));
        };
        Ok(ResolutionDetails {
            value: to_struct(object),
            variant: details.variant,
            reason: details.reason,
            flag_metadata: details.flag_metadata,
        })
    }
}

/// Builds a borrowed Switchyard context from an OpenFeature one.
fn context(ec: &EvaluationContext) -> EvaluationResult<Context<'_>> {
    let Some(key) = ec.targeting_key.as_deref() else {
        return Err(error(EvaluationErrorCode::TargetingKeyMissing, "the evaluation context has no targeting key"));
    };
    let mut ctx = Context::new(key);
    for (name, value) in &ec.custom_fields {
        let value = match value {
            EvaluationContextFieldValue::Bool(b) => AttrValue::Bool(*b),
            EvaluationContextFieldValue::Int(i) => AttrValue::Number(*i as f64),
            EvaluationContextFieldValue::Float(f) => AttrValue::Number(*f),
            EvaluationContextFieldValue::String(s) => AttrValue::from(s.as_str()),
            EvaluationContextFieldValue::DateTime(t) => {
                AttrValue::Number((t.unix_timestamp_nanos() / 1_000_000) as f64)
            }
            EvaluationContextFieldValue::Struct(_) => continue,
        };
        if name != "key" {
            ctx.set(name.as_str(), value);
        }
    }
    Ok(ctx)
}

/// Maps a Switchyard detail onto an OpenFeature resolution or error.
fn resolve<T>(d: Detail<T>) -> EvaluationResult<ResolutionDetails<T>> {
    let reason = match &d.reason {
        Reason::NotReady => {
            return Err(error(EvaluationErrorCode::ProviderNotReady, "Switchyard has no flags yet"));
        }
        Reason::FlagNotFound => {
            return Err(error(EvaluationErrorCode::FlagNotFound, "no such flag"));
        }
        Reason::Error(ErrorKind::TypeMismatch) => {
            return Err(error(EvaluationErrorCode::TypeMismatch, "the flag has another type"));
        }
        _ if d.stale => EvaluationReason::Other("STALE".to_owned()),
        Reason::Off | Reason::Killed | Reason::PrerequisiteFailed { .. } => EvaluationReason::Disabled,
        Reason::TargetMatch | Reason::RuleMatch { .. } => EvaluationReason::TargetingMatch,
        Reason::Fallthrough => EvaluationReason::Default,
        // FailSafe is always stale; anything newer is reported as unknown.
        _ => EvaluationReason::Unknown,
    };
    let mut meta = FlagMetadata::default()
        .with_value("switchyard.reason", d.reason.code())
        .with_value("switchyard.revision", i64::try_from(d.revision).unwrap_or(i64::MAX))
        .with_value("switchyard.stale", d.stale);
    if let Some(age) = d.age {
        meta.add_value("switchyard.age_ms", i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
    }
    if let Reason::RuleMatch { rule_index, rule_id } = &d.reason {
        meta.add_value("switchyard.rule_id", rule_id.to_string());
        meta.add_value("switchyard.rule_index", i64::try_from(*rule_index).unwrap_or(i64::MAX));
    }
    if let Reason::PrerequisiteFailed { prerequisite, cause } = &d.reason {
        meta.add_value("switchyard.prerequisite", prerequisite.to_string());
        meta.add_value("switchyard.prerequisite_cause", cause.code());
    }
    Ok(ResolutionDetails {
        value: d.value,
        variant: d.variant.map(|v| v.to_string()),
        reason: Some(reason),
        flag_metadata: Some(meta),
    })
}

fn error(code: EvaluationErrorCode, message: impl Into<String>) -> EvaluationError {
    EvaluationError { code, message: Some(message.into()) }
}

/// JSON object → OpenFeature structure. OpenFeature has no null: null
/// fields and array elements are left out.
fn to_struct(object: &serde_json::Map<String, serde_json::Value>) -> StructValue {
    StructValue { fields: object.iter().filter_map(|(k, v)| Some((k.clone(), to_value(v)?))).collect() }
}

fn to_value(v: &serde_json::Value) -> Option<Value> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().filter_map(to_value).collect()),
        serde_json::Value::Object(object) => Value::Struct(to_struct(object)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_maps_to_structures_without_nulls() {
        let json = serde_json::json!({"a": 1, "b": 1.5, "c": "x", "d": [true, null, {"e": null}], "f": null});
        let s = to_struct(json.as_object().unwrap());
        assert_eq!(s.fields.len(), 4);
        assert_eq!(s.fields["a"], Value::Int(1));
        assert_eq!(s.fields["b"], Value::Float(1.5));
        assert_eq!(s.fields["d"], Value::Array(vec![Value::Bool(true), Value::Struct(StructValue::default())]));
    }

    #[test]
    fn contexts_need_a_targeting_key_and_keep_typed_attributes() {
        let none = EvaluationContext::default().with_custom_field("plan", "pro");
        assert_eq!(context(&none).unwrap_err().code, EvaluationErrorCode::TargetingKeyMissing);
        let ec = EvaluationContext::default()
            .with_targeting_key("u1")
            .with_custom_field("plan", "pro")
            .with_custom_field("seats", 3)
            .with_custom_field("beta", true)
            .with_custom_field("key", "not-the-key");
        let ctx = context(&ec).unwrap();
        assert_eq!(ctx.key(), "u1");
        assert_eq!(ctx.get("plan").and_then(AttrValue::as_str), Some("pro"));
        assert_eq!(ctx.get("seats").and_then(AttrValue::as_f64), Some(3.0));
        assert_eq!(ctx.get("beta").and_then(AttrValue::as_bool), Some(true));
    }
}
