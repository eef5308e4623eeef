//! Kill switches: kill, restore, the panic button, and delivery receipts
//! ("applied by 312 / 312 connected SDK instances in 41 ms").

use std::time::Duration;

use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::delivery::receipts::Receipt;
use crate::error::{ApiError, ApiResult};
use crate::http::configs::{EnvFlag, require_reason};
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{Actor, FlagConfigRecord, KillRequest, Written};

/// Longest `?wait=` accepted.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(kill, unkill)).routes(routes!(panic)).routes(routes!(receipt))
}

/// `?wait=5s`: answer once every connected SDK applied the change (or the wait expires).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct WaitQuery {
    /// How long to wait for SDK acknowledgements, e.g. `500ms`, `5s` (max 30 s).
    #[param(pattern = r"^((30000|[12]?[0-9]{1,4})ms|(30|[12]?[0-9])s)$", example = "5s")]
    pub wait: Option<String>,
}

impl WaitQuery {
    /// The parsed duration.
    pub fn duration(&self) -> ApiResult<Option<Duration>> {
        let Some(text) = &self.wait else { return Ok(None) };
        let d = humantime::parse_duration(text)
            .map_err(|e| ApiError::invalid("wait", "invalid_duration", format!("`{text}`: {e}")))?;
        if d > MAX_WAIT {
            return Err(ApiError::invalid("wait", "too_long", "wait is at most 30s"));
        }
        Ok(Some(d))
    }
}

/// A write's result plus, when asked to wait, its delivery receipt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipted<T> {
    /// The write.
    #[serde(flatten)]
    pub written: Written<T>,
    /// Delivery to connected SDK instances (with `?wait=`).
    pub receipt: Option<Receipt>,
}

/// Waits for the receipt of the write's revision (or, for a no-op, of the
/// environment's current revision: "is the fleet on the killed state?").
pub async fn with_receipt<T>(
    state: &AppState,
    project: &str,
    env: &str,
    written: Written<T>,
    wait: Option<Duration>,
) -> ApiResult<Receipted<T>> {
    let Some(wait) = wait else { return Ok(Receipted { written, receipt: None }) };
    let env = state.store.get_environment(project, env).await?;
    let revision = written.revision.unwrap_or(env.revision);
    let receipt = state.fleet.wait(&state.hub, env.id, revision, wait).await;
    Ok(Receipted { written, receipt: Some(receipt) })
}

/// A kill of one flag.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct KillOne {
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// Kills a flag: it serves its off variant (`KILLED`) whatever its rules say.
/// Idempotent; not subject to version checks.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery), request_body = KillOne, responses((status = 200, body = Receipted<Vec<FlagConfigRecord>>)))]
async fn kill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    Query(wait): Query<WaitQuery>,
    AppJson(body): AppJson<KillOne>,
) -> ApiResult<AppJson<Receipted<Vec<FlagConfigRecord>>>> {
    require_reason(&body.reason)?;
    let wait = wait.duration()?;
    let request = KillRequest { flags: vec![flag], reason: body.reason, incident: body.incident, panic: false };
    Ok(AppJson(kill_and_receipt(&state, principal.actor(), "api", &project, &env, request, wait).await?))
}

/// The kill path shared by the single-flag kill, the panic button and
/// alert triggers: write (webhooks are told in the same transaction), count
/// (by `source`, the metric's label), wait for the receipt (with `?wait=`),
/// record it (see [`AppliedKill`]).
pub(crate) async fn kill_and_receipt(
    state: &AppState,
    actor: Actor,
    source: &'static str,
    project: &str,
    env: &str,
    request: KillRequest,
    wait: Option<Duration>,
) -> ApiResult<Receipted<Vec<FlagConfigRecord>>> {
    let panic = request.panic;
    let written = state.store.kill_flags(&actor, project, env, request).await?;
    if written.changed {
        state.metrics.killed(source, written.value.len());
    }
    let flags: Vec<&str> = written.value.iter().map(|c| c.flag.as_str()).collect();
    let what = if panic { "panic: flags killed" } else { "flag killed" };
    tracing::info!(source, actor = %actor.name, project, env, ?flags, changed = written.changed, revision = ?written.revision, "{what}");
    let receipted = with_receipt(state, project, env, written, wait).await?;
    if let (true, Some(revision)) = (receipted.written.changed, receipted.written.revision) {
        let flags = receipted.written.value.iter().map(|c| c.flag.clone()).collect();
        let kill = AppliedKill { actor, project: project.into(), env: env.into(), flags, revision };
        kill.record(state, receipted.receipt.clone()).await;
    }
    Ok(receipted)
}

/// How long a kill nobody waited on is awaited in the background before its
/// receipt is recorded anyway (`complete: false`).
pub const RECORD_WAIT: Duration = MAX_WAIT;

/// How often that background wait asks the other replicas.
const RECORD_POLL: Duration = Duration::from_millis(250);

/// A committed kill whose delivery receipt goes into the audit history
/// (`flag.kill.applied`): who had applied it, how fast, and whether every
/// connected SDK instance had. Every kill that changed something gets
/// exactly one: a waited-on kill records the receipt it answered with; any
/// other (no `?wait=`, or a trigger's) is awaited in the background, up to
/// [`RECORD_WAIT`] or until complete. Failing to record it does not fail
/// the kill, which is already committed.
pub(crate) struct AppliedKill {
    /// Who killed (the receipt is recorded as them).
    pub actor: Actor,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub env: String,
    /// The flags killed.
    pub flags: Vec<String>,
    /// The kill's revision.
    pub revision: u64,
}

impl AppliedKill {
    /// Records `receipt` now, or (`None`) waits for it in the background.
    pub(crate) async fn record(self, state: &AppState, receipt: Option<Receipt>) {
        match receipt {
            Some(receipt) => self.write(state, &receipt).await,
            None => {
                let state = state.clone();
                state.background.clone().spawn(async move {
                    match state.store.get_environment(&self.project, &self.env).await {
                        Ok(env) => {
                            let (hub, rev) = (&state.hub, self.revision);
                            // Shutting down: record what is known now, while
                            // the SDKs are still connected (`complete: false`
                            // unless every one of them had it).
                            let receipt = tokio::select! {
                                receipt = state.fleet.wait_polling(hub, env.id, rev, RECORD_WAIT, RECORD_POLL) => receipt,
                                () = state.stopping.cancelled() => state.fleet.receipt(hub, env.id, rev).await,
                            };
                            self.write(&state, &receipt).await;
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, revision = self.revision, "kill receipt: no environment")
                        }
                    }
                });
            }
        }
    }

    async fn write(&self, state: &AppState, receipt: &Receipt) {
        let mut json = serde_json::to_value(receipt).unwrap_or_default();
        json["complete"] = serde_json::Value::Bool(receipt.complete());
        let (actor, revision) = (&self.actor, self.revision);
        if let Err(err) =
            state.store.record_kill_receipt(actor, &self.project, &self.env, &self.flags, revision, json).await
        {
            tracing::warn!(error = %err, revision, "recording the kill receipt failed");
        }
    }
}

/// A restore after a kill.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct UnkillRequest {
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
}

/// Restores a killed flag to its configuration.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery), request_body = UnkillRequest, responses((status = 200, body = Receipted<Vec<FlagConfigRecord>>)))]
async fn unkill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    Query(wait): Query<WaitQuery>,
    AppJson(body): AppJson<UnkillRequest>,
) -> ApiResult<AppJson<Receipted<Vec<FlagConfigRecord>>>> {
    require_reason(&body.reason)?;
    let wait = wait.duration()?;
    let written =
        state.store.restore_flags(&principal.actor(), &project, &env, std::slice::from_ref(&flag), body.reason).await?;
    tracing::info!(actor = %principal.name, project, env, flag, changed = written.changed, revision = ?written.revision, "flag restored");
    Ok(AppJson(with_receipt(&state, &project, &env, written, wait).await?))
}

/// The panic button.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct PanicRequest {
    /// Kill every flag with this tag…
    #[serde(default)]
    pub tag: Option<String>,
    /// …or these flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// Kills a set of flags (by tag or list) in one revision.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), WaitQuery), request_body = PanicRequest, responses((status = 200, body = Receipted<Vec<FlagConfigRecord>>)))]
async fn panic(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    Query(wait): Query<WaitQuery>,
    AppJson(body): AppJson<PanicRequest>,
) -> ApiResult<AppJson<Receipted<Vec<FlagConfigRecord>>>> {
    let wait = wait.duration()?;
    require_reason(&body.reason)?;
    let mut flags = body.flags;
    if let Some(tag) = &body.tag {
        flags.extend(state.store.flags_with_tag(&project, tag).await?);
    }
    flags.sort();
    flags.dedup();
    if flags.is_empty() {
        return Err(ApiError::invalid("flags", "empty", "no flags given or none carries the tag"));
    }
    let request = KillRequest { flags, reason: body.reason, incident: body.incident, panic: true };
    Ok(AppJson(kill_and_receipt(&state, principal.actor(), "api", &project, &env, request, wait).await?))
}

/// The delivery receipt of a revision now, counted over every replica.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/receipts/{revision}", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("revision" = u64, Path)),
    responses((status = 200, body = Receipt)))]
async fn receipt(
    State(state): State<AppState>,
    Path((project, env, revision)): Path<(String, String, u64)>,
) -> ApiResult<AppJson<Receipt>> {
    let env = state.store.get_environment(&project, &env).await?;
    Ok(AppJson(state.fleet.receipt(&state.hub, env.id, revision).await))
}
