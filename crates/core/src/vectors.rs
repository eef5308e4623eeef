//! The shared evaluation test vectors (`tests/vectors/evaluation.json`):
//! their format and a runner, so that core, server and SDK tests all check
//! the same cases. Not part of the stable API.
//!
//! ```no_run
//! use switchyard_core::vectors::{EVALUATION_VECTORS_PATH, VectorFile};
//! let json = std::fs::read_to_string(EVALUATION_VECTORS_PATH).unwrap();
//! let file = VectorFile::from_json(&json).unwrap();
//! let failures = file.run_all();
//! assert!(failures.is_empty(), "{}", failures.join("\n"));
//! ```
//!
//! Owns: the vector file format and runner. Must not touch: the engine (it
//! only calls the public API) or the vector file itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compile::CompiledSnapshot;
use crate::context::Context;
use crate::hash;
use crate::model::{Flag, Segment, Snapshot};
use crate::reason::{Detail, Reason};

/// Absolute path of the evaluation vectors in this source tree.
pub const EVALUATION_VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/evaluation.json");

/// The whole vectors file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VectorFile {
    /// What the file covers and how expected values were obtained.
    pub description: String,
    /// The hash definition the bucket values pin.
    pub hash: String,
    /// Golden bucket values.
    #[serde(default)]
    pub buckets: Vec<BucketVector>,
    /// Evaluation cases.
    pub cases: Vec<VectorCase>,
}

/// One golden bucket: `bucket == xxh3_64_with_seed(value, xxh3_64(salt)) % 100000`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketVector {
    /// The salt (flag salt or key).
    pub salt: String,
    /// The hashed value (context key or attribute form).
    pub value: String,
    /// The expected bucket.
    pub bucket: u32,
}

/// The type a case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// `bool_detail`.
    Bool,
    /// `string_detail`.
    String,
    /// `number_detail`.
    Number,
    /// `json_detail`.
    Json,
}

/// One evaluation case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VectorCase {
    /// Unique, descriptive name.
    pub name: String,
    /// The flag; absent to test `FLAG_NOT_FOUND` (then `flag_key` is asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<Flag>,
    /// Key to evaluate when `flag` is absent (or to ask for another key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_key: Option<String>,
    /// The other flags of the snapshot (the prerequisites `flag` names, in
    /// an order they can be written: each flag's prerequisites before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<Flag>,
    /// Segments of the snapshot.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// The context.
    pub context: Context<'static>,
    /// The type asked for.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// The caller's default.
    pub default: Value,
    /// The expected detail.
    pub expected: Expected,
}

/// The expected detail of a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expected {
    /// The value.
    pub value: Value,
    /// The variant key, `null` when the default is served.
    pub variant: Option<String>,
    /// The reason.
    pub reason: Reason,
}

impl VectorFile {
    /// Parses the file.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Runs every bucket and case; returns one message per failure.
    pub fn run_all(&self) -> Vec<String> {
        let buckets = self.buckets.iter().filter_map(|b| check_bucket(b).err());
        let cases = self.cases.iter().filter_map(|c| run_case(c).err().map(|e| format!("{}: {e}", c.name)));
        buckets.chain(cases).collect()
    }
}

/// Checks one golden bucket.
pub fn check_bucket(b: &BucketVector) -> Result<(), String> {
    let got = hash::bucket_for(&b.salt, &b.value);
    if got == b.bucket {
        Ok(())
    } else {
        Err(format!("bucket(salt={:?}, value={:?}) = {got}, expected {}", b.salt, b.value, b.bucket))
    }
}

impl VectorCase {
    /// The snapshot the case evaluates in: its flag, the others, its segments.
    pub fn snapshot(&self) -> Snapshot {
        let flags = self.others.iter().chain(&self.flag).cloned().collect();
        Snapshot { revision: 1, flags, segments: self.segments.clone() }
    }
}

/// Runs one case against the engine.
pub fn run_case(case: &VectorCase) -> Result<(), String> {
    let snapshot = case.snapshot();
    let compiled = CompiledSnapshot::compile(&snapshot).map_err(|e| format!("does not compile: {e}"))?;
    let key = match (&case.flag_key, &case.flag) {
        (Some(k), _) => k.as_str(),
        (None, Some(f)) => f.key.as_str(),
        (None, None) => return Err("needs `flag` or `flag_key`".into()),
    };
    let got = evaluate_as(&compiled, key, case)?;
    let want = &case.expected;
    let variant = got.variant.as_deref();
    if !json_eq(&got.value, &want.value) || variant != want.variant.as_deref() || got.reason != want.reason {
        return Err(format!(
            "got value={} variant={variant:?} reason={}, expected value={} variant={:?} reason={}",
            got.value,
            serde_json::to_string(&got.reason).unwrap_or_default(),
            want.value,
            want.variant,
            serde_json::to_string(&want.reason).unwrap_or_default(),
        ));
    }
    Ok(())
}

/// Calls the typed helper the case asks for; returns the detail as JSON.
fn evaluate_as(c: &CompiledSnapshot, key: &str, case: &VectorCase) -> Result<Detail<Value>, String> {
    let ctx = &case.context;
    let bad_default = || format!("default {} does not fit type {:?}", case.default, case.value_type);
    Ok(match case.value_type {
        ValueType::Bool => widen(c.bool_detail(key, ctx, case.default.as_bool().ok_or_else(bad_default)?)),
        ValueType::Number => widen(c.number_detail(key, ctx, case.default.as_f64().ok_or_else(bad_default)?)),
        ValueType::String => {
            let default = case.default.as_str().ok_or_else(bad_default)?.to_owned();
            widen(c.string_detail(key, ctx, default))
        }
        ValueType::Json => c.json_detail(key, ctx, case.default.clone()),
    })
}

fn widen<T: Into<Value>>(d: Detail<T>) -> Detail<Value> {
    Detail { value: d.value.into(), variant: d.variant, reason: d.reason }
}

/// JSON equality with numbers compared as `f64` (`1` equals `1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Reads a context from JSON (helper for other crates' tests).
pub fn context_from_json(json: &str) -> Result<Context<'static>, serde_json::Error> {
    serde_json::from_str(json)
}
