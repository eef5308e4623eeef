//! A compiled flag: variants resolved to indices, rules' clauses compiled,
//! rollouts turned into cumulative bucket bounds, the salt pre-hashed.
//!
//! Owns: one flag's compiled form and its compilation. Must not touch: the
//! engine that reads it (`eval`, which also defines
//! `CompiledFlag::evaluate`), whole snapshots (`compile`).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::clause::CompiledClause;
use crate::context::KEY_ATTRIBUTE;
use crate::hash;
use crate::model::{Flag, FlagKind, Kill, Serve};
use crate::segment::SegmentTable;
use crate::strmap::{FastBuildHasher, StrMap};
use crate::validate::{self, ValidationError, ValidationErrors};

/// Interns attribute names so that a snapshot holds one `Arc<str>` per name.
/// A compiled snapshot keeps its interner, so that flags compiled
/// incrementally share the names of the flags they sit next to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner(HashSet<Arc<str>, FastBuildHasher>);

impl Interner {
    /// A copy for the next incremental build, without the names that only
    /// `self` and the copy hold (no compiled flag or segment uses them any
    /// more), so that names of deleted rules do not pile up.
    pub(crate) fn next(&self) -> Self {
        let mut next = self.clone();
        next.0.retain(|name| Arc::strong_count(name) > 2);
        next
    }

    /// The shared copy of `s`.
    pub(crate) fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

/// One variant of a compiled flag.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledVariant {
    key: Arc<str>,
    value: Value,
}

impl CompiledVariant {
    /// The variant key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The variant key as a shared string (cheap to clone into a [`crate::Detail`]).
    pub fn key_arc(&self) -> &Arc<str> {
        &self.key
    }

    /// The JSON value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value as a bool (boolean flags).
    pub fn as_bool(&self) -> Option<bool> {
        self.value.as_bool()
    }

    /// The value as a string (string flags).
    pub fn as_str(&self) -> Option<&str> {
        self.value.as_str()
    }

    /// The value as a number (number flags).
    pub fn as_f64(&self) -> Option<f64> {
        self.value.as_f64()
    }
}

/// What a rule or the fallthrough serves, with variants as indices.
#[derive(Debug, Clone)]
pub(crate) enum CompiledServe {
    /// A fixed variant.
    Variant(usize),
    /// A rollout: `bucket_by` (`None` = context key) and arms as
    /// (cumulative exclusive upper bucket bound, variant index).
    Rollout { bucket_by: Option<Arc<str>>, arms: Box<[(u32, usize)]> },
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) id: Arc<str>,
    pub(crate) clauses: Box<[CompiledClause]>,
    pub(crate) serve: CompiledServe,
}

/// What evaluating a flag comes to when it does not depend on the
/// context, decided once at compile time so that the commonest flags (on
/// with a fixed variant, off, killed) cost one load and one branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Killed: the off variant, `KILLED`.
    Killed,
    /// Off: the off variant, `OFF`.
    Off,
    /// On with no prerequisites, targets or rules and a fixed fallthrough:
    /// this variant, `FALLTHROUGH`.
    Fixed(usize),
    /// Depends on the context (or on other flags): evaluate.
    Evaluate,
}

/// A flag ready for evaluation. Immutable, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct CompiledFlag {
    /// Derived from the fields below at compile time (never set apart).
    verdict: Verdict,
    key: Arc<str>,
    kind: FlagKind,
    version: u64,
    on: bool,
    kill: Option<Kill>,
    /// Non-empty; every index stored below is in range (checked at compile).
    variants: Box<[CompiledVariant]>,
    off: usize,
    fail_safe: Option<usize>,
    /// Prerequisites as (flag key, variant key), in order. The snapshot
    /// resolves them to positions (`prereq::Links`): a flag alone cannot.
    prerequisites: Box<[(Arc<str>, Arc<str>)]>,
    /// Context key → variant index of the first target list containing it.
    targets: StrMap<usize>,
    rules: Box<[CompiledRule]>,
    fallthrough: CompiledServe,
    /// `xxh3_64(salt or key)`, see [`crate::hash`].
    seed: u64,
}

impl CompiledFlag {
    /// Validates and compiles one flag against a segment table (handy for
    /// previews of an edited flag).
    pub fn compile(flag: &Flag, segments: &SegmentTable) -> Result<Self, ValidationErrors> {
        validate::validate_flag(flag, &|k| segments.index_of(k).is_some())?;
        Self::compile_validated(flag, segments, &mut Interner::default())
    }

    /// Compiles a flag that passed [`validate::validate_flag`].
    pub(crate) fn compile_validated(
        flag: &Flag,
        segments: &SegmentTable,
        interner: &mut Interner,
    ) -> Result<Self, ValidationErrors> {
        let variant = |path: &str, key: &str| {
            flag.variants
                .iter()
                .position(|v| v.key == key)
                .ok_or_else(|| ValidationError::new(path, "unknown_variant", format!("no variant `{key}`")))
        };
        let off = variant("off_variant", &flag.off_variant)?;
        let fail_safe = match &flag.fail_safe_variant {
            Some(k) => Some(variant("fail_safe_variant", k)?),
            None => None,
        };
        let mut targets = Vec::new();
        for (i, t) in flag.targets.iter().enumerate() {
            let v = variant(&format!("targets[{i}].variant"), &t.variant)?;
            targets.extend(t.keys.iter().map(|k| (k.as_str(), v)));
        }
        let mut rules = Vec::with_capacity(flag.rules.len());
        for (i, rule) in flag.rules.iter().enumerate() {
            let mut intern = |s: &str| interner.intern(s);
            let lookup = |k: &str| segments.index_of(k);
            let clauses = rule
                .clauses
                .iter()
                .enumerate()
                .map(|(c, clause)| {
                    CompiledClause::compile(clause, &mut intern, &lookup)
                        .map_err(|e| ValidationError::new(format!("rules[{i}].clauses[{c}]"), "invalid_value", e))
                })
                .collect::<Result<Box<[_]>, _>>()?;
            let serve = compile_serve(&rule.serve, &format!("rules[{i}].serve"), &variant, interner)?;
            rules.push(CompiledRule { id: rule.id.as_str().into(), clauses, serve });
        }
        let fallthrough = compile_serve(&flag.fallthrough, "fallthrough", &variant, interner)?;
        let salt = if flag.salt.is_empty() { &flag.key } else { &flag.salt };
        let verdict = match (&flag.kill, flag.on, &fallthrough) {
            (Some(_), _, _) => Verdict::Killed,
            (None, false, _) => Verdict::Off,
            (None, true, CompiledServe::Variant(v))
                if flag.prerequisites.is_empty() && targets.is_empty() && rules.is_empty() =>
            {
                Verdict::Fixed(*v)
            }
            _ => Verdict::Evaluate,
        };
        Ok(CompiledFlag {
            verdict,
            key: flag.key.as_str().into(),
            kind: flag.kind,
            version: flag.version,
            on: flag.on,
            kill: flag.kill.clone(),
            variants: flag
                .variants
                .iter()
                .map(|v| CompiledVariant { key: v.key.as_str().into(), value: v.value.clone() })
                .collect(),
            off,
            fail_safe,
            prerequisites: flag
                .prerequisites
                .iter()
                .map(|p| (p.flag.as_str().into(), p.variant.as_str().into()))
                .collect(),
            targets: StrMap::build(targets),
            rules: rules.into_boxed_slice(),
            fallthrough,
            seed: hash::seed(salt),
        })
    }

    /// The flag key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The flag key, shared (cloning it does not allocate).
    pub fn key_arc(&self) -> &Arc<str> {
        &self.key
    }

    /// The value type.
    pub fn kind(&self) -> FlagKind {
        self.kind
    }

    /// The configuration version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether targeting is on.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Whether the flag is killed.
    pub fn is_killed(&self) -> bool {
        self.kill.is_some()
    }

    /// Who killed the flag, when and why.
    pub fn kill(&self) -> Option<&Kill> {
        self.kill.as_ref()
    }

    /// All variants, in definition order.
    pub fn variants(&self) -> &[CompiledVariant] {
        &self.variants
    }

    /// A variant by key.
    pub fn variant(&self, key: &str) -> Option<&CompiledVariant> {
        self.variants.iter().find(|v| v.key() == key)
    }

    /// The variant served when off or killed.
    pub fn off_variant(&self) -> &CompiledVariant {
        self.variant_at(self.off)
    }

    /// The position of `variant` in [`CompiledFlag::variants`] when it is
    /// one of this flag's (an [`Evaluation`]'s, say), found by address: no
    /// string compare, no search (SDK telemetry counts every evaluation
    /// with it).
    #[inline]
    pub fn variant_index(&self, variant: &CompiledVariant) -> Option<usize> {
        let from_start = (variant as *const CompiledVariant as usize).wrapping_sub(self.variants.as_ptr() as usize);
        let i = from_start / std::mem::size_of::<CompiledVariant>().max(1);
        self.variants.get(i).filter(|v| std::ptr::eq(*v, variant)).map(|_| i)
    }

    /// The variant SDKs serve when their data is missing or too old.
    pub fn fail_safe(&self) -> Option<&CompiledVariant> {
        self.fail_safe.map(|i| self.variant_at(i))
    }

    /// The prerequisites as (flag key, variant key), in order.
    pub fn prerequisites(&self) -> impl Iterator<Item = (&str, &str)> {
        self.prerequisites.iter().map(|(f, v)| (&**f, &**v))
    }

    /// Whether the flag has prerequisites.
    #[inline]
    pub fn has_prerequisites(&self) -> bool {
        !self.prerequisites.is_empty()
    }

    /// The key of the prerequisite at `index`, shared.
    pub(crate) fn prerequisite_key_arc(&self, index: usize) -> Option<&Arc<str>> {
        self.prerequisites.get(index).map(|(f, _)| f)
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The id of the rule at `index`.
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        self.rules.get(index).map(|r| &*r.id)
    }

    pub(crate) fn rule_id_arc(&self, index: usize) -> Option<&Arc<str>> {
        self.rules.get(index).map(|r| &r.id)
    }

    /// The variant at an index produced by compile. Out-of-range indices
    /// cannot be constructed (private fields, checked at compile); the
    /// fallback to the first variant exists so that this can never panic.
    #[inline]
    pub(crate) fn variant_at(&self, i: usize) -> &CompiledVariant {
        match self.variants.get(i) {
            Some(v) => v,
            None => &self.variants[0],
        }
    }

    pub(crate) fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub(crate) fn off_index(&self) -> usize {
        self.off
    }

    pub(crate) fn targets(&self) -> &StrMap<usize> {
        &self.targets
    }

    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub(crate) fn fallthrough(&self) -> &CompiledServe {
        &self.fallthrough
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }
}

fn compile_serve(
    serve: &Serve,
    path: &str,
    variant: &dyn Fn(&str, &str) -> Result<usize, ValidationError>,
    interner: &mut Interner,
) -> Result<CompiledServe, ValidationError> {
    match serve {
        Serve::Variant(v) => Ok(CompiledServe::Variant(variant(&format!("{path}.variant"), v)?)),
        Serve::Rollout(r) => {
            let mut upper = 0u32;
            let mut arms = Vec::with_capacity(r.variations.len());
            for (j, wv) in r.variations.iter().enumerate() {
                upper = upper.saturating_add(wv.weight);
                let path = format!("{path}.rollout.variations[{j}].variant");
                arms.push((upper, variant(&path, &wv.variant)?));
            }
            let bucket_by = match r.bucket_by.as_deref() {
                None | Some(KEY_ATTRIBUTE) => None,
                Some(name) => Some(interner.intern(name)),
            };
            Ok(CompiledServe::Rollout { bucket_by, arms: arms.into_boxed_slice() })
        }
    }
}
