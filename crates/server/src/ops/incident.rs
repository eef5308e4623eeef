//! Incident timelines: for one incident id, every audit event carrying it
//! (trigger fires, kills, panics, release-guard trips, restores, and the
//! delivery receipts of those kills and restores: when the fleet obeyed),
//! the project's changes in the minutes before the first of them, and the
//! times a review asks for: from the start (the alert, the first trigger
//! fire, or the first kill) to the fleet having applied the kill (time to
//! mitigate), and to the restore.
//!
//! The incident id is a column of the audit events (migration 0010): kills
//! and restores write it, their receipts copy it. Pure computation lives in
//! [`timeline`]; [`incident`] only reads.
//!
//! Must not touch: HTTP types, SQL, delivery (receipts are what the audit
//! recorded, never asked of the fleet again).

use chrono::{DateTime, Duration as Span, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OpResult;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ActorKind, AuditEvent, AuditQuery, IncidentSummary};

/// How many minutes before the first event "related changes" reach back by default.
pub const DEFAULT_BEFORE_MINUTES: u32 = 30;
/// The longest look back, minutes (one day).
pub const MAX_BEFORE_MINUTES: u32 = 1440;
/// Most events of one incident read.
const MAX_EVENTS: u32 = 1000;
/// Most related changes shown (the newest before the first event).
const MAX_RELATED: u32 = 200;

/// What an event of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An alert's start, as its sender reported it (Alertmanager / Grafana `startsAt`).
    Alert,
    /// An alert trigger fired and killed its flag.
    Trigger,
    /// A kill by a person or token.
    Kill,
    /// The panic button.
    Panic,
    /// The release guard tripped and killed the flag.
    GuardTrip,
    /// A restore.
    Restore,
    /// The delivery receipt of a kill or restore: how many connected SDKs applied it, how fast.
    Applied,
    /// A change in the project before the incident's first event (not part of the incident).
    Change,
}

impl EventKind {
    /// Whether this kind takes a flag out of service.
    fn is_kill(self) -> bool {
        matches!(self, EventKind::Trigger | EventKind::Kill | EventKind::Panic | EventKind::GuardTrip)
    }
}

/// A delivery receipt as the audit history recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedReceipt {
    /// SDK instances connected when it was taken.
    #[serde(default)]
    pub connected: u64,
    /// Of those, how many had applied the change.
    #[serde(default)]
    pub applied: u64,
    /// Median time from broadcast to acknowledgement, ms.
    #[serde(default)]
    pub p50_ms: Option<f64>,
    /// Slowest acknowledgement, ms.
    #[serde(default)]
    pub max_ms: Option<f64>,
    /// Whether every connected SDK instance (on every replica) had applied it.
    #[serde(default)]
    pub complete: bool,
}

/// One event of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// For `applied`: what the receipt is of (`kill` or `restore`).
    pub applied_to: Option<EventKind>,
    /// The audit event's id (`None` for an alert's start).
    pub audit_id: Option<i64>,
    /// The audit action, e.g. `flag.kill`.
    pub action: String,
    /// Environment key.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Who.
    pub actor: String,
    /// Their kind.
    pub actor_kind: ActorKind,
    /// Why.
    pub reason: Option<String>,
    /// The environment revision it produced (or, for a receipt, applied).
    pub revision: Option<u64>,
    /// For `applied`: the receipt.
    pub receipt: Option<AppliedReceipt>,
}

/// The times of an incident, from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentTimes {
    /// When it started: the earliest alert start or kill of any kind (or the first event).
    pub started_at: Option<DateTime<Utc>>,
    /// What that was.
    pub started_by: Option<EventKind>,
    /// The first kill (trigger fire, kill, panic or guard trip).
    pub first_kill_at: Option<DateTime<Utc>>,
    /// When every connected SDK had applied that kill: its time plus its
    /// receipt's slowest acknowledgement (`None` while the receipt is
    /// missing or not complete).
    pub mitigated_at: Option<DateTime<Utc>>,
    /// `mitigated_at - started_at`, ms: time to mitigate.
    pub time_to_mitigate_ms: Option<f64>,
    /// The receipt of that first kill.
    pub mitigation: Option<AppliedReceipt>,
    /// The last restore.
    pub restored_at: Option<DateTime<Utc>>,
    /// `restored_at - started_at`, ms: time to restore.
    pub time_to_restore_ms: Option<f64>,
    /// When every connected SDK had applied that restore (its receipt, as for the kill).
    pub restore_applied_at: Option<DateTime<Utc>>,
    /// `restore_applied_at - started_at`, ms.
    pub time_to_restore_applied_ms: Option<f64>,
    /// The receipt of that restore.
    pub restoration: Option<AppliedReceipt>,
}

/// One incident: its events (with the related changes before them) in
/// time order, and its times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// Project key.
    pub project: String,
    /// Incident id.
    pub incident: String,
    /// How far back related changes were looked for, minutes.
    pub before_minutes: u32,
    /// Environments it touched.
    pub environments: Vec<String>,
    /// Flags it touched.
    pub flags: Vec<String>,
    /// Every event, oldest first (`change` events come before the first incident event).
    pub events: Vec<TimelineEvent>,
    /// The computed times.
    pub times: IncidentTimes,
}

/// The project's incidents, most recent first (at most `limit`, ≤ 1000).
pub async fn list(state: &AppState, project: &str, limit: u32) -> OpResult<Vec<IncidentSummary>> {
    Ok(state.store.list_incidents(project, limit.clamp(1, 1000)).await?)
}

/// The timeline of `incident` in `project`, with the project's changes
/// from `before_minutes` before its start (the alert's, or its first
/// event) up to its first event; 404 when no event carries it.
#[tracing::instrument(name = "incident", skip(state))]
pub async fn incident(state: &AppState, project: &str, incident: &str, before_minutes: u32) -> OpResult<Timeline> {
    if before_minutes > MAX_BEFORE_MINUTES {
        let message = format!("at most {MAX_BEFORE_MINUTES} minutes");
        return Err(ApiError::invalid("before_minutes", "too_long", message));
    }
    let own = state.store.incident_events(project, incident, MAX_EVENTS).await?;
    let Some(first) = own.first() else {
        return Err(ApiError::NotFound { what: "incident", key: incident.to_string() });
    };
    // Before the alert's start too, when it started before the first write.
    let earliest = own.iter().filter_map(alert_start).map(|a| a.at).fold(first.at, |a, b| a.min(b));
    let query = AuditQuery {
        from: Some(earliest - Span::minutes(i64::from(before_minutes))),
        to: Some(first.at),
        limit: Some(MAX_RELATED),
        ..AuditQuery::default()
    };
    let related = state.store.list_audit(project, &query).await?.items;
    Ok(timeline(project, incident, before_minutes, &own, &related))
}

/// The timeline from the incident's own events (oldest first) and the
/// project's events before them (any order; receipts are left out).
pub fn timeline(
    project: &str,
    incident: &str,
    before_minutes: u32,
    own: &[AuditEvent],
    related: &[AuditEvent],
) -> Timeline {
    let mut events: Vec<TimelineEvent> = related
        .iter()
        .filter(|e| !e.action.ends_with(".applied") && e.incident.as_deref() != Some(incident))
        .map(|e| event(e, EventKind::Change))
        .collect();
    for e in own {
        if let Some(alert) = alert_start(e) {
            events.push(alert);
        }
        events.push(event(e, kind_of(e)));
    }
    events.sort_by_key(|e| (e.at, e.audit_id.unwrap_or(i64::MIN)));
    let mut environments: Vec<String> = own.iter().filter_map(|e| e.environment.clone()).collect();
    let mut flags: Vec<String> = own.iter().filter_map(|e| e.flag.clone()).collect();
    for list in [&mut environments, &mut flags] {
        list.sort();
        list.dedup();
    }
    let times = times(&events);
    Timeline { project: project.into(), incident: incident.into(), before_minutes, environments, flags, events, times }
}

/// What an incident's own audit event is.
fn kind_of(e: &AuditEvent) -> EventKind {
    let after = e.after.as_ref();
    match e.action.as_str() {
        "flag.kill" if e.actor_kind == ActorKind::Trigger => EventKind::Trigger,
        "flag.kill" if after.is_some_and(|a| a.get("guard").is_some()) => EventKind::GuardTrip,
        "flag.kill" if after.is_some_and(|a| a["panic"] == Value::Bool(true)) => EventKind::Panic,
        "flag.kill" => EventKind::Kill,
        "flag.restore" => EventKind::Restore,
        a if a.ends_with(".applied") => EventKind::Applied,
        _ => EventKind::Change,
    }
}

fn event(e: &AuditEvent, kind: EventKind) -> TimelineEvent {
    let of = if e.action == "flag.restore.applied" { EventKind::Restore } else { EventKind::Kill };
    let applied_to = (kind == EventKind::Applied).then_some(of);
    let receipt = applied_to.and_then(|_| e.after.clone()).and_then(|a| serde_json::from_value(a).ok());
    TimelineEvent {
        at: e.at,
        kind,
        applied_to,
        audit_id: Some(e.id),
        action: e.action.clone(),
        environment: e.environment.clone(),
        flag: e.flag.clone(),
        actor: e.actor.clone(),
        actor_kind: e.actor_kind,
        reason: e.reason.clone(),
        revision: e.revision,
        receipt,
    }
}

/// The alert start a trigger's kill recorded (`after.alert.starts_at`), as an event of its own.
fn alert_start(e: &AuditEvent) -> Option<TimelineEvent> {
    if e.action != "flag.kill" || e.actor_kind != ActorKind::Trigger {
        return None;
    }
    let text = e.after.as_ref()?.get("alert")?.get("starts_at")?.as_str()?;
    let at = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let mut alert = event(e, EventKind::Alert);
    (alert.at, alert.audit_id, alert.action, alert.revision) = (at, None, "alert.started".into(), None);
    Some(alert)
}

/// The times, from the events in time order.
fn times(events: &[TimelineEvent]) -> IncidentTimes {
    let own = || events.iter().filter(|e| e.kind != EventKind::Change);
    let start = own().find(|e| e.kind == EventKind::Alert || e.kind.is_kill()).or_else(|| own().next());
    let Some(start) = start else { return IncidentTimes::default() };
    let since = |at: DateTime<Utc>, extra: f64| (at - start.at).num_milliseconds() as f64 + extra;
    let mut times =
        IncidentTimes { started_at: Some(start.at), started_by: Some(start.kind), ..IncidentTimes::default() };
    if let Some(kill) = own().find(|e| e.kind.is_kill()) {
        times.first_kill_at = Some(kill.at);
        times.mitigation = receipt_of(events, kill, EventKind::Kill);
        if let Some(extra) = times.mitigation.as_ref().and_then(applied_after) {
            times.mitigated_at = Some(kill.at + millis(extra));
            times.time_to_mitigate_ms = Some(since(kill.at, extra));
        }
    }
    if let Some(restore) = own().rfind(|e| e.kind == EventKind::Restore) {
        times.restored_at = Some(restore.at);
        times.time_to_restore_ms = Some(since(restore.at, 0.0));
        times.restoration = receipt_of(events, restore, EventKind::Restore);
        if let Some(extra) = times.restoration.as_ref().and_then(applied_after) {
            times.restore_applied_at = Some(restore.at + millis(extra));
            times.time_to_restore_applied_ms = Some(since(restore.at, extra));
        }
    }
    times
}

/// The receipt recorded for `write` (same environment and revision).
fn receipt_of(events: &[TimelineEvent], write: &TimelineEvent, of: EventKind) -> Option<AppliedReceipt> {
    events
        .iter()
        .find(|e| e.applied_to == Some(of) && e.environment == write.environment && e.revision == write.revision)
        .and_then(|e| e.receipt.clone())
}

/// How long after its write a complete receipt says the fleet had applied
/// it: the slowest acknowledgement (0 when no SDK was connected).
fn applied_after(receipt: &AppliedReceipt) -> Option<f64> {
    receipt.complete.then(|| receipt.max_ms.unwrap_or(0.0))
}

fn millis(ms: f64) -> Span {
    Span::microseconds((ms * 1000.0).round() as i64)
}

#[cfg(test)]
#[path = "incident_tests.rs"]
mod tests;
