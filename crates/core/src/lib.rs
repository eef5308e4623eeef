//! # switchyard-core
//!
//! The flag model, the wire types and the evaluation engine shared by the
//! Switchyard server and every SDK. Pure Rust: no IO, no async, no locks.
//!
//! ```
//! use switchyard_core::{CompiledSnapshot, Context, Snapshot};
//! let compiled = CompiledSnapshot::compile(&Snapshot::default()).unwrap();
//! let ctx = Context::new("user-1").with("country", "SE");
//! let d = compiled.bool_detail("new-checkout", &ctx, false);
//! assert_eq!((d.value, d.reason.code()), (false, "FLAG_NOT_FOUND"));
//! ```
//!
//! # Layout
//! - [`model`]: serde wire types (flags, segments, snapshots, change events).
//! - [`context`]: [`Context`] and [`AttrValue`], built without allocating
//!   from borrowed data; its JSON form lives in `context_serde`.
//! - [`validate`]: every check on flags and segments, with field paths and
//!   stable codes ([`ValidationError`]).
//! - [`compile`]: [`CompiledSnapshot`], the validated, pre-processed,
//!   immutable form evaluation runs on, with typed helpers
//!   (`bool_detail`, ... in `detail`). Compiled flags live in `flag`,
//!   compiled clauses in `clause`, segments in [`segment`];
//!   `incremental` derives the next revision from a change
//!   ([`CompiledSnapshot::with_change`]), recompiling only what it touches;
//!   `prereq` resolves prerequisites to positions in the snapshot.
//! - [`eval`]: the allocation-free engine ([`evaluate`], [`Evaluation`]);
//!   reasons and details on the wire are in `reason` ([`Reason`], [`Detail`]).
//! - [`protocol`]: the SDK wire protocol in one place: API paths, header
//!   and SSE event names, frames, ETags, the ack shape; used by the server
//!   and the SDK alike.
//! - [`hash`]: the frozen rollout hash (xxh3, 100 000 buckets).
//! - `version`: a borrowing SemVer parser; [`strmap`]: read-only string
//!   tables (open addressing; keys up to 16 bytes hashed and compared as two words).
//! - [`vectors`] (doc-hidden): the shared test-vector runner.
#![deny(missing_docs)]

mod clause;
pub mod compile;
pub mod context;
mod context_serde;
mod detail;
pub mod eval;
mod flag;
pub mod hash;
mod incremental;
pub mod model;
mod prereq;
pub mod protocol;
mod reason;
pub mod segment;
pub mod strmap;
pub mod validate;
#[doc(hidden)]
pub mod vectors;
mod version;

pub use compile::{CompiledFlag, CompiledSnapshot, CompiledVariant};
pub use context::{AttrValue, Context};
pub use eval::{Detail, ErrorKind, EvalReason, Evaluation, PrerequisiteCause, Reason, evaluate};
pub use model::*;
pub use segment::SegmentTable;
pub use validate::{ValidationError, ValidationErrors, validate_flag, validate_key, validate_segments};
