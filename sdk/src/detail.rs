//! [`Detail`] and [`Reason`]: what a `*_detail` getter returns, and the
//! typed evaluation behind every getter (engine + freshness + fail-safe).
//!
//! ## Fail-safe and staleness
//! A flag may name a `fail_safe_variant`. When the client's flags are older
//! than the builder's [`crate::ClientBuilder::stale_bound`] (the client lost
//! its server, or restarted from an old persisted snapshot), such a flag
//! serves that variant, with [`Reason::FailSafe`], instead of running its
//! possibly outdated rules: "fail closed". Flags without one keep serving
//! their last known evaluation. Either way the detail says `stale: true`,
//! and the client's status is [`crate::Status::Stale`]. The bound defaults
//! to 3 × the heartbeat interval (45 s); offline clients
//! ([`crate::Client::from_snapshot`]) are never stale.
//!
//! Owns: the typed evaluation behind every getter and the SDK's reasons.
//! Must not touch: the engine (core), freshness bookkeeping (`state`),
//! networking.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchyard_core::{CompiledSnapshot, CompiledVariant, Context, ErrorKind, FlagKind, PrerequisiteCause};

use crate::state::{Served, Shared};

/// Why a value was served: the engine's reasons plus the SDK's own
/// ([`Reason::NotReady`], [`Reason::FailSafe`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No flag with that key: the caller's default was served.
    FlagNotFound,
    /// The flag is killed: its off variant was served.
    Killed,
    /// Targeting is off: the off variant was served.
    Off,
    /// A prerequisite flag did not serve the variant this flag needs: the
    /// off variant was served.
    PrerequisiteFailed {
        /// Key of the first prerequisite not met.
        prerequisite: Arc<str>,
        /// Why (e.g. [`PrerequisiteCause::Killed`]).
        cause: PrerequisiteCause,
    },
    /// The context key is individually targeted.
    TargetMatch,
    /// A rule matched.
    RuleMatch {
        /// Index of the rule (0-based).
        rule_index: usize,
        /// The rule's stable id.
        rule_id: Arc<str>,
    },
    /// No target or rule matched: the fallthrough was served.
    Fallthrough,
    /// Evaluation failed (e.g. [`ErrorKind::TypeMismatch`]): the caller's
    /// default was served.
    Error(ErrorKind),
    /// The client has no flags yet (still initializing, or it never reached
    /// the server): the caller's default was served.
    NotReady,
    /// The flags are older than the stale bound and this flag names a
    /// fail-safe variant: that variant was served.
    FailSafe,
}

impl Reason {
    /// The stable code: the engine's (`FLAG_NOT_FOUND`, `KILLED`, `OFF`,
    /// `PREREQUISITE_FAILED`, `TARGET_MATCH`, `RULE_MATCH`, `FALLTHROUGH`, `ERROR`) plus
    /// `NOT_READY` and `FAIL_SAFE`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::FlagNotFound => "FLAG_NOT_FOUND",
            Reason::Killed => "KILLED",
            Reason::Off => "OFF",
            Reason::PrerequisiteFailed { .. } => "PREREQUISITE_FAILED",
            Reason::TargetMatch => "TARGET_MATCH",
            Reason::RuleMatch { .. } => "RULE_MATCH",
            Reason::Fallthrough => "FALLTHROUGH",
            Reason::Error(_) => "ERROR",
            Reason::NotReady => "NOT_READY",
            Reason::FailSafe => "FAIL_SAFE",
        }
    }

    /// `true` when the caller's default was served (`FLAG_NOT_FOUND`,
    /// `ERROR`, `NOT_READY`).
    pub fn is_default(&self) -> bool {
        matches!(self, Reason::FlagNotFound | Reason::Error(_) | Reason::NotReady)
    }
}

impl From<switchyard_core::Reason> for Reason {
    fn from(r: switchyard_core::Reason) -> Self {
        use switchyard_core::Reason as R;
        match r {
            R::FlagNotFound => Reason::FlagNotFound,
            R::Killed => Reason::Killed,
            R::Off => Reason::Off,
            R::PrerequisiteFailed { prerequisite, cause } => Reason::PrerequisiteFailed { prerequisite, cause },
            R::TargetMatch => Reason::TargetMatch,
            R::RuleMatch { rule_index, rule_id } => Reason::RuleMatch { rule_index, rule_id },
            R::Fallthrough => Reason::Fallthrough,
            R::Error(e) => Reason::Error(e),
        }
    }
}

/// A value with why it was served and how fresh the flags behind it are.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Detail<T> {
    /// The value served (the caller's default when [`Reason::is_default`]).
    pub value: T,
    /// The variant key, `None` when the default was served.
    pub variant: Option<Arc<str>>,
    /// Why.
    pub reason: Reason,
    /// The snapshot revision evaluated (0 when the client has no flags).
    pub revision: u64,
    /// Time since the flags were last confirmed current (`None` when the
    /// client has no flags). Near zero while the stream is connected.
    pub age: Option<Duration>,
    /// `age` exceeds the configured stale bound (see [`Reason::FailSafe`]).
    pub stale: bool,
}

/// A type flags can be read as. Sealed: `bool`, `String`, `f64`, JSON.
pub(crate) trait FlagType: Sized {
    /// Whether a flag of this kind can be read as `Self`.
    fn accepts(kind: FlagKind) -> bool;
    /// Reads a variant's value.
    fn extract(v: &CompiledVariant) -> Option<Self>;
    /// The engine's typed detail (the single source of evaluation truth).
    fn engine_detail(
        s: &CompiledSnapshot,
        key: &str,
        ctx: &Context<'_>,
        default: Self,
    ) -> switchyard_core::Detail<Self>;
}

impl FlagType for bool {
    fn accepts(kind: FlagKind) -> bool {
        kind == FlagKind::Boolean
    }
    fn extract(v: &CompiledVariant) -> Option<Self> {
        v.as_bool()
    }
    fn engine_detail(s: &CompiledSnapshot, key: &str, ctx: &Context<'_>, d: Self) -> switchyard_core::Detail<Self> {
        s.bool_detail(key, ctx, d)
    }
}

impl FlagType for String {
    fn accepts(kind: FlagKind) -> bool {
        kind == FlagKind::String
    }
    fn extract(v: &CompiledVariant) -> Option<Self> {
        v.as_str().map(str::to_owned)
    }
    fn engine_detail(s: &CompiledSnapshot, key: &str, ctx: &Context<'_>, d: Self) -> switchyard_core::Detail<Self> {
        s.string_detail(key, ctx, d)
    }
}

impl FlagType for f64 {
    fn accepts(kind: FlagKind) -> bool {
        kind == FlagKind::Number
    }
    fn extract(v: &CompiledVariant) -> Option<Self> {
        v.as_f64()
    }
    fn engine_detail(s: &CompiledSnapshot, key: &str, ctx: &Context<'_>, d: Self) -> switchyard_core::Detail<Self> {
        s.number_detail(key, ctx, d)
    }
}

impl FlagType for Value {
    fn accepts(_: FlagKind) -> bool {
        true
    }
    fn extract(v: &CompiledVariant) -> Option<Self> {
        Some(v.value().clone())
    }
    fn engine_detail(s: &CompiledSnapshot, key: &str, ctx: &Context<'_>, d: Self) -> switchyard_core::Detail<Self> {
        s.json_detail(key, ctx, d)
    }
}

/// The fail-safe variant of `key`, if it has one readable as `T`.
#[inline]
fn fail_safe<'a, T: FlagType>(s: &'a CompiledSnapshot, key: &str) -> Option<&'a CompiledVariant> {
    let flag = s.flag(key)?;
    if !T::accepts(flag.kind()) {
        return None;
    }
    flag.fail_safe()
}

impl Shared {
    /// The typed value: the engine's choice, or the fail-safe variant when
    /// stale. The default is converted only when it is served, so nothing is
    /// allocated beyond the returned value; the clock is read only for flags
    /// that have a fail-safe variant, and only when a stale bound is set.
    #[inline]
    pub(crate) fn value<T: FlagType>(&self, key: &str, ctx: &Context<'_>, default: impl Into<T>) -> T {
        let guard = self.snapshot.load();
        let variant = guard.as_deref().and_then(|s| self.select::<T>(s, key, ctx));
        if variant.is_none()
            && let Some(t) = self.telemetry.get()
        {
            t.count_unattributed();
        }
        variant.and_then(T::extract).unwrap_or_else(|| default.into())
    }

    /// The variant served for `key` as `T` (`None`: serve the default).
    /// Mirrors the engine's typed helpers (kind check, then evaluate); the
    /// shared vectors run through both paths to keep them equal.
    #[inline]
    fn select<'a, T: FlagType>(&self, served: &'a Served, key: &str, ctx: &Context<'_>) -> Option<&'a CompiledVariant> {
        let s = &*served.compiled;
        let (index, flag) = s.flag_indexed(key).filter(|(_, f)| T::accepts(f.kind()))?;
        let variant = match flag.fail_safe() {
            Some(fail_safe)
                if self.stale_bound.is_some() && self.freshness.age().is_some_and(|age| self.is_stale(age)) =>
            {
                fail_safe
            }
            _ => s.evaluate_indexed(index, flag, ctx).variant,
        };
        if let Some(counters) = &served.counters
            && let Some(v) = flag.variant_index(variant)
        {
            counters.count(index, v);
            crate::telemetry::note_in_scope(self.owner(), flag.key_arc(), variant.key_arc());
        }
        Some(variant)
    }

    /// Counts a detail's evaluation for telemetry (off the value path:
    /// details look the flag up once more to find its counters).
    fn count_detail(&self, served: &Served, key: &str, variant: Option<&Arc<str>>) {
        let Some(counters) = &served.counters else { return };
        let found = variant.zip(served.compiled.flag_indexed(key)).and_then(|(v, (i, flag))| {
            let vi = flag.variants().iter().position(|cv| Arc::ptr_eq(cv.key_arc(), v) || **cv.key_arc() == **v)?;
            Some((i, vi, flag.key_arc(), v))
        });
        match (found, self.telemetry.get()) {
            (Some((i, vi, flag, v)), _) => {
                counters.count(i, vi);
                crate::telemetry::note_in_scope(self.owner(), flag, v);
            }
            (None, Some(t)) => t.count_unattributed(),
            (None, None) => {}
        }
    }

    /// The typed detail (see [`Detail`]).
    pub(crate) fn detail<T: FlagType>(&self, key: &str, ctx: &Context<'_>, default: T) -> Detail<T> {
        let guard = self.snapshot.load();
        let (Some(served), Some(age)) = (guard.as_deref(), self.freshness.age()) else {
            if let Some(t) = self.telemetry.get() {
                t.count_unattributed();
            }
            return Detail {
                value: default,
                variant: None,
                reason: Reason::NotReady,
                revision: 0,
                age: None,
                stale: false,
            };
        };
        let snapshot = &*served.compiled;
        let stale = self.is_stale(age);
        let (revision, age) = (snapshot.revision(), Some(age));
        if stale
            && let Some(variant) = fail_safe::<T>(snapshot, key)
            && let Some(value) = T::extract(variant)
        {
            let variant = Some(variant.key_arc().clone());
            self.count_detail(served, key, variant.as_ref());
            return Detail { value, variant, reason: Reason::FailSafe, revision, age, stale };
        }
        let d = T::engine_detail(snapshot, key, ctx, default);
        self.count_detail(served, key, d.variant.as_ref());
        Detail { value: d.value, variant: d.variant, reason: d.reason.into(), revision, age, stale }
    }
}
