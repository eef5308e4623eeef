//! The timeline and its times from hand-made audit events.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{EventKind, timeline};
use crate::store::{ActorKind, AuditEvent};

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
}

fn audit(id: i64, ms: i64, action: &str, kind: ActorKind, revision: u64, after: Value) -> AuditEvent {
    AuditEvent {
        id,
        project: "shop".into(),
        environment: Some("production".into()),
        flag: Some("checkout".into()),
        segment: None,
        actor: if kind == ActorKind::Trigger { "errors-alert".into() } else { "alice".into() },
        actor_kind: kind,
        action: action.into(),
        reason: Some("why".into()),
        before: None,
        after: Some(after),
        revision: Some(revision),
        request_id: None,
        client_addr: None,
        group_id: None,
        incident: Some("INC-42".into()),
        at: at(ms),
    }
}

fn receipt(max_ms: f64, complete: bool) -> Value {
    json!({"revision": 0, "connected": 3, "applied": if complete { 3 } else { 2 }, "pending": 0,
        "p50_ms": 1.0, "max_ms": max_ms, "complete": complete})
}

#[test]
fn a_trigger_kill_and_restore_with_their_receipts() {
    let alert = json!({"alert": {"starts_at": at(-60_000).to_rfc3339()}});
    let own = [
        audit(10, 0, "flag.kill", ActorKind::Trigger, 7, alert),
        audit(11, 40, "flag.kill.applied", ActorKind::Trigger, 7, receipt(12.5, true)),
        audit(12, 90_000, "flag.restore", ActorKind::User, 8, json!({})),
        audit(13, 90_100, "flag.restore.applied", ActorKind::User, 8, receipt(3.25, true)),
    ];
    let mut before = audit(5, -120_000, "flag.toggle", ActorKind::User, 6, json!({}));
    before.incident = None;
    let mut stray_receipt = audit(6, -100_000, "flag.kill.applied", ActorKind::User, 5, receipt(1.0, true));
    stray_receipt.incident = None;
    let t = timeline("shop", "INC-42", 30, &own, &[stray_receipt, before]);

    let kinds: Vec<EventKind> = t.events.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(kinds, [Change, Alert, Trigger, Applied, Restore, Applied]);
    assert_eq!(t.events[3].applied_to, Some(Kill));
    assert_eq!(t.events[5].applied_to, Some(Restore));
    let times = &t.times;
    assert_eq!((times.started_at, times.started_by), (Some(at(-60_000)), Some(Alert)));
    assert_eq!(times.first_kill_at, Some(at(0)));
    assert_eq!(times.time_to_mitigate_ms, Some(60_000.0 + 12.5));
    assert_eq!(times.mitigated_at, Some(at(0) + Duration::microseconds(12_500)));
    assert_eq!(times.time_to_restore_ms, Some(150_000.0));
    assert_eq!(times.time_to_restore_applied_ms, Some(150_000.0 + 3.25));
    assert_eq!(times.restoration.as_ref().map(|r| r.applied), Some(3));
    assert_eq!(
        (t.environments.as_slice(), t.flags.as_slice()),
        (&["production".to_string()][..], &["checkout".to_string()][..])
    );
}

#[test]
fn a_person_kill_starts_it_and_an_incomplete_receipt_mitigates_nothing() {
    let own = [
        audit(20, 0, "flag.kill", ActorKind::User, 3, json!({"panic": true})),
        audit(21, 30_000, "flag.kill.applied", ActorKind::User, 3, receipt(9.0, false)),
    ];
    let t = timeline("shop", "INC-42", 30, &own, &[]);
    assert_eq!(t.events[0].kind, EventKind::Panic);
    assert_eq!((t.times.started_by, t.times.first_kill_at), (Some(EventKind::Panic), Some(at(0))));
    assert_eq!(t.times.mitigation.as_ref().map(|r| (r.applied, r.complete)), Some((2, false)));
    assert_eq!((t.times.mitigated_at, t.times.time_to_mitigate_ms), (None, None));
    assert_eq!(t.times.restored_at, None);
}

#[test]
fn a_guard_trip_and_no_connected_sdk() {
    let none = json!({"revision": 4, "connected": 0, "applied": 0, "pending": 0, "p50_ms": null, "max_ms": null, "complete": true});
    let own = [
        audit(30, 0, "flag.kill", ActorKind::User, 4, json!({"guard": {"reason": "error rate"}})),
        audit(31, 5, "flag.kill.applied", ActorKind::User, 4, none),
    ];
    let t = timeline("shop", "INC-42", 30, &own, &[]);
    assert_eq!(t.times.started_by, Some(EventKind::GuardTrip));
    assert_eq!(t.times.time_to_mitigate_ms, Some(0.0), "nobody to tell: mitigated when written");
}
