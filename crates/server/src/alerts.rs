//! Incoming alert notifications for triggers: what a body from Prometheus
//! Alertmanager or Grafana means, and the per-trigger rate limit.
//!
//! Understood bodies (anything else, including an empty or non-JSON body,
//! means "fire"):
//! - Alertmanager webhook (`version: "4"`): `status` `firing`/`resolved`,
//!   `alerts[]`, `commonLabels`, `commonAnnotations`, `groupLabels`;
//! - Grafana unified alerting: the same shape plus `title`, `message`;
//! - Grafana legacy alerting: `state` `alerting`/`ok` (`no_data`, `paused`,
//!   `pending` are ignored), `ruleName`, `title`, `message`, `tags`.
//!
//! The kill reason is `<alertname or title>: <summary or description or
//! message>`, single-line, at most [`MAX_REASON`] characters; the incident is
//! the `incident` label (or annotation, or legacy tag), at most
//! [`MAX_INCIDENT`] characters.

use serde_json::Value;

/// Longest derived reason, in characters.
pub const MAX_REASON: usize = 500;
/// Longest derived incident id, in characters.
pub const MAX_INCIDENT: usize = 128;

/// What a notification asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The alert is firing (or the body was not understood).
    Fire,
    /// The alert resolved.
    Resolve,
    /// A state that asks for nothing (Grafana legacy `no_data`, `paused`, `pending`).
    Ignore,
}

/// A parsed notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What it asks for.
    pub signal: Signal,
    /// The sender's status word (`firing`, `resolved`, `alerting`, `ok`…), if any.
    pub status: Option<String>,
    /// Alert name or title.
    pub title: Option<String>,
    /// Summary, description or message.
    pub summary: Option<String>,
    /// Incident id from an `incident` label, annotation or tag.
    pub incident: Option<String>,
    /// When the alert started, by its sender's clock: the earliest
    /// `startsAt` of its alerts (Alertmanager, Grafana unified alerting).
    pub starts_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Alert {
    /// The reason to record: `title: summary`, or `fallback` when the body said nothing.
    pub fn reason(&self, fallback: &str) -> String {
        let text = match (&self.title, &self.summary) {
            (Some(t), Some(s)) => format!("{t}: {s}"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => fallback.to_string(),
        };
        clean(&text, MAX_REASON).unwrap_or_else(|| clean(fallback, MAX_REASON).unwrap_or_default())
    }
}

/// Interprets a notification body.
pub fn parse(body: &[u8]) -> Alert {
    let mut alert =
        Alert { signal: Signal::Fire, status: None, title: None, summary: None, incident: None, starts_at: None };
    // serde_json refuses nesting deeper than 128 levels, so this cannot
    // recurse unboundedly; the body size is capped by the server's limit.
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return alert;
    };
    let doc = Value::Object(doc);
    let first = doc.get("alerts").and_then(|a| a.get(0));
    let label = |key: &str| {
        let common = text(doc.get("commonLabels").and_then(|s| s.get(key)));
        common.or_else(|| text(first.and_then(|a| a.get("labels")).and_then(|s| s.get(key))))
    };
    let annotation = |key: &str| {
        let common = text(doc.get("commonAnnotations").and_then(|s| s.get(key)));
        common.or_else(|| text(first.and_then(|a| a.get("annotations")).and_then(|s| s.get(key))))
    };

    if let Some(status) = text(doc.get("status")) {
        // Alertmanager and Grafana unified alerting.
        alert.signal = match status.to_ascii_lowercase().as_str() {
            "resolved" => Signal::Resolve,
            _ => Signal::Fire,
        };
        alert.status = Some(status);
        alert.title = label("alertname")
            .or_else(|| text(doc.get("groupLabels").and_then(|s| s.get("alertname"))))
            .or_else(|| text(doc.get("title")));
        alert.summary =
            annotation("summary").or_else(|| annotation("description")).or_else(|| text(doc.get("message")));
        alert.incident = label("incident").or_else(|| annotation("incident"));
        alert.starts_at = earliest_start(&doc);
    } else if let Some(state) = text(doc.get("state")) {
        // Grafana legacy alerting.
        alert.signal = match state.to_ascii_lowercase().as_str() {
            "ok" => Signal::Resolve,
            "no_data" | "paused" | "pending" => Signal::Ignore,
            _ => Signal::Fire,
        };
        alert.status = Some(state);
        alert.title = text(doc.get("ruleName")).or_else(|| text(doc.get("title")));
        alert.summary = text(doc.get("message"));
        alert.incident = text(doc.get("tags").and_then(|t| t.get("incident")));
    } else {
        alert.title = text(doc.get("title")).or_else(|| text(doc.get("alertname")));
        alert.summary = text(doc.get("message")).or_else(|| text(doc.get("summary")));
        alert.incident = text(doc.get("incident"));
    }
    alert.incident = alert.incident.and_then(|i| clean(&i, MAX_INCIDENT));
    alert
}

/// The earliest `startsAt` of the body's alerts (RFC 3339; Alertmanager
/// sends `0001-01-01T00:00:00Z` for "unknown", which is ignored).
fn earliest_start(doc: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let alerts = doc.get("alerts")?.as_array()?;
    let starts = alerts.iter().filter_map(|a| a.get("startsAt")?.as_str());
    let parsed = starts.filter_map(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    parsed.map(|t| t.with_timezone(&chrono::Utc)).filter(|t| chrono::Datelike::year(t) > 1).min()
}

/// `s` as a one-line reason of at most [`MAX_REASON`] characters.
pub fn truncate(s: &str) -> String {
    clean(s, MAX_REASON).unwrap_or_default()
}

/// A non-empty string value, trimmed.
fn text(value: Option<&Value>) -> Option<String> {
    let s = value?.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// One line (control characters become spaces, runs collapse), at most
/// `max` characters (an ellipsis marks a cut); `None` when empty.
fn clean(s: &str, max: usize) -> Option<String> {
    let line =
        s.split(|c: char| c.is_control() || c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= max {
        return Some(line);
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn alertmanager_firing_and_resolved() {
        let body = json!({
            "version": "4", "status": "firing", "receiver": "switchyard",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate", "severity": "page", "incident": "INC-42"},
            "commonAnnotations": {"summary": "5xx above 5%\nfor 5m"},
            "alerts": [{"status": "firing", "labels": {"alertname": "HighErrorRate"}, "annotations": {}}]
        });
        let alert = parse(&bytes(body.clone()));
        assert_eq!(alert.signal, Signal::Fire);
        assert_eq!(alert.reason("x"), "HighErrorRate: 5xx above 5% for 5m");
        assert_eq!(alert.incident.as_deref(), Some("INC-42"));
        assert_eq!(alert.starts_at, None, "no startsAt given");
        let mut resolved = body;
        resolved["status"] = json!("resolved");
        assert_eq!(parse(&bytes(resolved)).signal, Signal::Resolve);
    }

    #[test]
    fn the_earliest_known_start_of_the_alerts() {
        let body = json!({"status": "firing", "alerts": [
            {"startsAt": "2026-12-04T21:00:05Z"}, {"startsAt": "2026-12-04T22:00:00+01:00"},
            {"startsAt": "0001-01-01T00:00:00Z"}, {"startsAt": "yesterday"}
        ]});
        let start = parse(&bytes(body)).starts_at.map(|t| t.to_rfc3339());
        assert_eq!(start.as_deref(), Some("2026-12-04T21:00:00+00:00"));
    }

    #[test]
    fn labels_from_the_first_alert_when_not_common() {
        let body = json!({"status": "firing", "commonLabels": {}, "alerts": [
            {"labels": {"alertname": "A", "incident": "I-1"}, "annotations": {"description": "d"}},
            {"labels": {"alertname": "B"}}
        ]});
        let alert = parse(&bytes(body));
        assert_eq!(alert.reason("x"), "A: d");
        assert_eq!(alert.incident.as_deref(), Some("I-1"));
    }

    #[test]
    fn grafana_unified_and_legacy() {
        let unified = json!({"receiver": "sy", "status": "resolved", "orgId": 1, "alerts": [{"status": "resolved"}],
            "title": "[RESOLVED] Latency", "message": "p99 back to normal"});
        let alert = parse(&bytes(unified));
        assert_eq!(alert.signal, Signal::Resolve);
        assert_eq!(alert.reason("x"), "[RESOLVED] Latency: p99 back to normal");
        let legacy = json!({"state": "alerting", "ruleName": "Checkout errors", "message": "too many", "tags": {"incident": "INC-7"}});
        let alert = parse(&bytes(legacy));
        assert_eq!(alert.signal, Signal::Fire);
        assert_eq!(alert.reason("x"), "Checkout errors: too many");
        assert_eq!(alert.incident.as_deref(), Some("INC-7"));
        assert_eq!(parse(&bytes(json!({"state": "ok"}))).signal, Signal::Resolve);
        assert_eq!(parse(&bytes(json!({"state": "no_data"}))).signal, Signal::Ignore);
    }

    #[test]
    fn unknown_bodies_fire() {
        for body in [&b""[..], b"not json", b"[1,2]", b"{}", b"{\"status\": 3}"] {
            let alert = parse(body);
            assert_eq!(alert.signal, Signal::Fire, "{body:?}");
            assert_eq!(alert.reason("fired by trigger t"), "fired by trigger t");
        }
        let deep = "[".repeat(10_000);
        assert_eq!(parse(deep.as_bytes()).signal, Signal::Fire);
    }

    #[test]
    fn reasons_are_truncated() {
        let long = "x".repeat(2000);
        let alert = parse(&bytes(json!({"status": "firing", "commonLabels": {"alertname": long, "incident": long}})));
        assert_eq!(alert.reason("x").chars().count(), MAX_REASON);
        assert_eq!(alert.incident.unwrap().chars().count(), MAX_INCIDENT);
    }
}
