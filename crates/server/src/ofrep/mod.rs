//! # OFREP: the OpenFeature Remote Evaluation Protocol
//!
//! Any language with a stock OpenFeature OFREP provider (TypeScript, Python,
//! Go, Java, .NET, …) evaluates Switchyard flags over HTTP, authenticated by
//! an SDK key (`Authorization: Bearer <key>` or `X-API-Key: <key>`). The
//! protocol is OFREP 0.3 (`service/openapi.yaml` and ADR-0008 of
//! open-feature/protocol).
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`: one flag, for server-side
//!   providers (dynamic context).
//! - `POST /ofrep/v1/evaluate/flags`: every flag, for client-side providers
//!   (static context), with an `ETag` (revision + context) and `304` on
//!   `If-None-Match`, and an `eventStreams` entry pointing at
//! - `GET /ofrep/v1/streams/{secret}`: SSE `refetchEvaluation`
//!   notifications when the environment changes (ADR-0008; the stream and
//!   the receipts of OFREP clients are in `http::ofrep::stream`, beside the
//!   SDK streams they share the hub with).
//!
//! This module holds the protocol (no HTTP, no hub: the routes in
//! [`crate::http`] call it).
//!
//! Evaluation runs the SDK's engine on the environment's compiled snapshot
//! from the delivery cache ([`crate::delivery::compiled`]), the one
//! `evaluate-as` uses: compiled once per revision, shared by every request,
//! and current as of a store read made for the request (read-your-writes,
//! other replicas' writes seen at once).
//!
//! ## Layout
//! - [`request`]: the request body → a [`Context`](switchyard_core::Context), and the OFREP error shapes.
//! - [`resolve`]: evaluation → the OFREP success shape (reason mapping, metadata), the bulk body, the ETag.
//! - [`schema`]: the OFREP shapes in the OpenAPI document.
//!
//! ## Reasons
//! | Switchyard | OFREP `reason` | `metadata.reason` |
//! |---|---|---|
//! | killed | `DISABLED` (the kill's variant) | `KILLED` |
//! | targeting off | `DISABLED` (the off variant) | `OFF` |
//! | a prerequisite not met | `DISABLED` (the off variant) | `PREREQUISITE_FAILED` |
//! | individual target | `TARGETING_MATCH` | `TARGET_MATCH` |
//! | rule serving a variant | `TARGETING_MATCH` | `RULE_MATCH` (+ `ruleId`) |
//! | rule or fallthrough serving a percentage rollout | `SPLIT` | `RULE_MATCH` / `FALLTHROUGH` |
//! | fallthrough serving a variant | `STATIC` | `FALLTHROUGH` |
//!
//! OFREP has no `DEFAULT` reason (the value the flag serves when nothing
//! matched), so a fallthrough variant is `STATIC`; `metadata.reason` keeps
//! Switchyard's own reason for clients that want the distinction.

pub mod request;
pub mod resolve;
pub mod schema;

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::ratelimit::SdkKeyLimiter;

/// OFREP's shared state: the request limit.
pub struct Ofrep {
    /// Requests per (SDK key, client address).
    limiter: SdkKeyLimiter,
}

impl Ofrep {
    /// `rate_per_minute` requests per SDK key and client
    /// address (`--ofrep-rate-per-minute`; 0: unlimited).
    pub fn new(rate_per_minute: u32) -> Ofrep {
        Ofrep { limiter: SdkKeyLimiter::new(rate_per_minute) }
    }

    /// Takes one request of `key` from `client`, or says how long to wait.
    pub fn admit(&self, key: i64, client: Option<IpAddr>) -> Result<(), Duration> {
        self.limiter.check(key, client)
    }
}
