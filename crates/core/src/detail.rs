//! Typed evaluation helpers on [`CompiledSnapshot`]: the caller asks for a
//! type and supplies a default, served on `FLAG_NOT_FOUND` and on
//! `ERROR(TYPE_MISMATCH)` (the flag's kind differs from the type asked).
//!
//! Owns: the typed getters (kind check, default on miss). Must not touch:
//! the engine (`eval`), the wire form of reasons (`reason`).

use serde_json::Value;

use crate::compile::{CompiledSnapshot, CompiledVariant};
use crate::context::Context;
use crate::model::FlagKind;
use crate::reason::{Detail, ErrorKind, Reason};

impl CompiledSnapshot {
    /// Evaluates a flag as `T`: `accepts` says which flag kinds may be
    /// read as `T`, `extract` reads the variant value.
    fn typed<T>(
        &self,
        key: &str,
        ctx: &Context<'_>,
        default: T,
        accepts: fn(FlagKind) -> bool,
        extract: fn(&CompiledVariant) -> Option<T>,
    ) -> Detail<T> {
        let Some((index, flag)) = self.flag_indexed(key) else {
            return Detail::default_with(default, Reason::FlagNotFound);
        };
        if !accepts(flag.kind()) {
            return Detail::default_with(default, Reason::Error(ErrorKind::TypeMismatch));
        }
        let ev = self.evaluate_indexed(index, flag, ctx);
        match extract(ev.variant) {
            Some(value) => Detail { value, variant: Some(ev.variant.key_arc().clone()), reason: ev.reason() },
            // Unreachable for a validated flag (variant values match the kind).
            None => Detail::default_with(default, Reason::Error(ErrorKind::TypeMismatch)),
        }
    }

    /// The value only, without cloning the variant key or rule id.
    fn typed_value<T>(
        &self,
        key: &str,
        ctx: &Context<'_>,
        default: T,
        kind: FlagKind,
        extract: fn(&CompiledVariant) -> Option<T>,
    ) -> T {
        match self.flag_indexed(key) {
            Some((index, flag)) if flag.kind() == kind => {
                extract(self.evaluate_indexed(index, flag, ctx).variant).unwrap_or(default)
            }
            _ => default,
        }
    }

    /// A boolean flag's value with variant and reason.
    pub fn bool_detail(&self, key: &str, ctx: &Context<'_>, default: bool) -> Detail<bool> {
        self.typed(key, ctx, default, |k| k == FlagKind::Boolean, CompiledVariant::as_bool)
    }

    /// A string flag's value with variant and reason.
    pub fn string_detail(&self, key: &str, ctx: &Context<'_>, default: String) -> Detail<String> {
        self.typed(key, ctx, default, |k| k == FlagKind::String, |v| v.as_str().map(str::to_owned))
    }

    /// A number flag's value with variant and reason.
    pub fn number_detail(&self, key: &str, ctx: &Context<'_>, default: f64) -> Detail<f64> {
        self.typed(key, ctx, default, |k| k == FlagKind::Number, CompiledVariant::as_f64)
    }

    /// Any flag's value as JSON, with variant and reason (every kind can be
    /// read as JSON, so this never reports a type mismatch).
    pub fn json_detail(&self, key: &str, ctx: &Context<'_>, default: Value) -> Detail<Value> {
        self.typed(key, ctx, default, |_| true, |v| Some(v.value().clone()))
    }

    /// Kind-agnostic detail for "evaluate as" previews: the JSON value of
    /// whatever kind the flag has; `null` with `FLAG_NOT_FOUND` for an
    /// unknown key.
    pub fn evaluate_detail(&self, key: &str, ctx: &Context<'_>) -> Detail<Value> {
        self.json_detail(key, ctx, Value::Null)
    }

    /// A boolean flag's value, or `default`.
    pub fn bool_value(&self, key: &str, ctx: &Context<'_>, default: bool) -> bool {
        self.typed_value(key, ctx, default, FlagKind::Boolean, CompiledVariant::as_bool)
    }

    /// A string flag's value, or `default`.
    pub fn string_value(&self, key: &str, ctx: &Context<'_>, default: String) -> String {
        self.typed_value(key, ctx, default, FlagKind::String, |v| v.as_str().map(str::to_owned))
    }

    /// A number flag's value, or `default`.
    pub fn number_value(&self, key: &str, ctx: &Context<'_>, default: f64) -> f64 {
        self.typed_value(key, ctx, default, FlagKind::Number, CompiledVariant::as_f64)
    }

    /// Any flag's value as JSON, or `default`.
    pub fn json_value(&self, key: &str, ctx: &Context<'_>, default: Value) -> Value {
        match self.evaluate(key, ctx) {
            Some(ev) => ev.value().clone(),
            None => default,
        }
    }
}
