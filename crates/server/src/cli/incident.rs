//! `switchyard incident [ID]`: a project's incidents, or one incident's
//! timeline and its times, readable (viewer tokens are enough); `switchyard
//! drill`: rehearse a rollback (responder tokens).

use std::time::Duration;

use serde_json::Value;

use super::remote::{Client, EXIT_INCOMPLETE};

/// Where a drill runs and how.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// Environment key (production-like ones are refused without --force).
    #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
    pub env: String,
    /// Flag key.
    #[arg(long, short = 'f')]
    pub flag: String,
    /// Drill even in a production-like environment (`production`, `prod`, `prd` in its key or name).
    #[arg(long)]
    pub force: bool,
    /// Incident id of the drill (default `DRILL-<UTC time>`).
    #[arg(long)]
    pub incident: Option<String>,
    /// Longest wait for each receipt (e.g. `10s`; default and max 30s).
    #[arg(long)]
    pub wait: Option<String>,
}

impl Client {
    /// `incident ID`: the timeline; `incident` alone: the list.
    pub async fn incident(&self, id: Option<&str>, before_minutes: Option<u32>) -> anyhow::Result<i32> {
        let project = self.project()?;
        match id {
            Some(id) => {
                let timeline = self.api.incident(project, id, before_minutes).await?;
                self.print(&timeline, timeline_view);
            }
            None => {
                let list = self.api.incidents(project, None).await?;
                self.print(&list, list_view);
            }
        }
        Ok(0)
    }
}

impl Client {
    /// `drill`: kill, wait for the fleet, restore, wait; prints both receipts.
    /// Exit 3 when a step's receipt was not complete.
    pub async fn drill(&self, args: &DrillArgs) -> anyhow::Result<i32> {
        let place = (self.project()?, args.env.as_str(), args.flag.as_str());
        // Two waits of up to 30 s each: more than the usual 40 s timeout.
        let token = self.remote.token.as_deref().unwrap_or_default();
        let api = crate::client::Client::with_timeout(&self.remote.server, Duration::from_secs(75))?.with_token(token);
        let report = match api.drill(place, args.force, args.incident.as_deref(), args.wait.as_deref()).await {
            Ok(report) => report,
            Err(e) => return Err(self.with_suggestion(e, &args.flag, &args.env).await),
        };
        self.print(&report, drill_view);
        Ok(if report.kill.complete && report.restore.complete { 0 } else { EXIT_INCOMPLETE })
    }
}

/// The human drill report.
pub fn drill_view(r: &Value) -> String {
    let step = |name: &str, s: &Value| {
        let receipt = &s["receipt"];
        let slowest = receipt["max_ms"].as_f64().map_or("-".into(), |m| format!("{m:.1} ms"));
        let warning = if s["complete"] == true { "" } else { "  WARNING: not every connected SDK confirmed it" };
        format!(
            "  {name:<8} revision {}: applied by {}/{} SDKs, slowest ack {slowest}; {} from request to receipt{warning}\n",
            s["revision"],
            receipt["applied"],
            receipt["connected"],
            s["elapsed_ms"].as_f64().map_or("-".into(), duration),
        )
    };
    let incident = r["incident"].as_str().unwrap_or("?");
    format!(
        "drill of {} in {} (incident {incident})\n{}{}timeline: switchyard incident {incident}\n",
        r["flag"].as_str().unwrap_or("?"),
        r["environment"].as_str().unwrap_or("?"),
        step("kill", &r["kill"]),
        step("restore", &r["restore"]),
    )
}

/// The human list of incidents.
pub fn list_view(list: &Value) -> String {
    let rows = list.as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        return "no incidents: no kill or restore carried an incident id\n".into();
    }
    let mut out = format!("{:<24} {:<26} {:<26} {:>6}\n", "INCIDENT", "FIRST EVENT", "LAST EVENT", "EVENTS");
    for row in rows {
        let text = |k: &str| row[k].as_str().unwrap_or("-").to_string();
        out.push_str(&format!(
            "{:<24} {:<26} {:<26} {:>6}\n",
            text("incident"),
            text("first_at"),
            text("last_at"),
            row["events"]
        ));
    }
    out
}

/// The human timeline: a summary of the times, then one line per event.
pub fn timeline_view(t: &Value) -> String {
    let list = |k: &str| t[k].as_array().map_or(String::new(), |a| join(a));
    let mut out = format!(
        "incident {} in {}: environments {}; flags {}\n",
        t["incident"].as_str().unwrap_or("?"),
        t["project"].as_str().unwrap_or("?"),
        list("environments"),
        list("flags"),
    );
    let times = &t["times"];
    let start = times["started_at"].as_str();
    out.push_str(&format!(
        "  started      {} ({})\n",
        start.unwrap_or("-"),
        times["started_by"].as_str().unwrap_or("-")
    ));
    out.push_str(&format!("  mitigated    {}\n", milestone(times, "time_to_mitigate_ms", "mitigation", "first kill")));
    let restore = match times["time_to_restore_ms"].as_f64() {
        Some(ms) => format!(
            "+{} (restore written); fleet: {}",
            duration(ms),
            milestone(times, "time_to_restore_applied_ms", "restoration", "restore")
        ),
        None => "not restored".into(),
    };
    out.push_str(&format!("  restored     {restore}\n\n"));
    out.push_str(&format!(
        "{:<24} {:>11}  {:<10} {:<14} {:<20} {:<16} {}\n",
        "TIME", "FROM START", "EVENT", "ENVIRONMENT", "FLAG", "ACTOR", "DETAIL"
    ));
    let start = start.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    for e in t["events"].as_array().into_iter().flatten() {
        let at = e["at"].as_str().unwrap_or("");
        let offset = match (start, chrono::DateTime::parse_from_rfc3339(at).ok()) {
            (Some(s), Some(a)) => signed((a - s).num_milliseconds() as f64),
            _ => "-".into(),
        };
        let text = |k: &str| e[k].as_str().unwrap_or("-").to_string();
        out.push_str(&format!(
            "{:<24} {:>11}  {:<10} {:<14} {:<20} {:<16} {}\n",
            at.get(..23).unwrap_or(at),
            offset,
            text("kind"),
            text("environment"),
            text("flag"),
            text("actor"),
            detail(e),
        ));
    }
    out
}

/// "+1.2 s (3/3 SDKs applied the first kill; slowest 12.5 ms)", or why not.
fn milestone(times: &Value, key: &str, receipt: &str, what: &str) -> String {
    let r = &times[receipt];
    let counts = |r: &Value| format!("{}/{} SDKs", r["applied"], r["connected"]);
    match (times[key].as_f64(), r.is_object()) {
        (Some(ms), _) => format!("+{} ({} applied the {what})", duration(ms), counts(r)),
        (None, true) => format!("not every SDK confirmed the {what}: {}", counts(r)),
        (None, false) => format!("no receipt of the {what} recorded"),
    }
}

/// One event's detail: the receipt of an `applied`, else the action and reason.
fn detail(e: &Value) -> String {
    let r = &e["receipt"];
    if r.is_object() {
        let of = e["applied_to"].as_str().unwrap_or("change");
        let slowest = r["max_ms"].as_f64().map_or("-".into(), |m| format!("{m:.1} ms"));
        let complete = if r["complete"] == true { "" } else { " INCOMPLETE" };
        return format!("{of} applied by {}/{}, slowest {slowest}{complete}", r["applied"], r["connected"]);
    }
    let action = e["action"].as_str().unwrap_or("");
    match e["reason"].as_str() {
        Some(reason) => format!("{action}: {reason}"),
        None => action.to_string(),
    }
}

/// A duration: `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`.
pub fn duration(ms: f64) -> String {
    let secs = ms / 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{}m {:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!("{}h {:02}m", (secs / 3600.0) as u64, ((secs % 3600.0) / 60.0) as u64)
    }
}

fn signed(ms: f64) -> String {
    if ms < 0.0 { format!("-{}", duration(-ms)) } else { format!("+{}", duration(ms)) }
}

fn join(values: &[Value]) -> String {
    let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    if names.is_empty() { "-".into() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_timeline_reads_in_order_with_its_times() {
        let receipt = json!({"connected": 3, "applied": 3, "max_ms": 12.4, "complete": true});
        let t = json!({"project": "shop", "incident": "INC-42", "environments": ["production"], "flags": ["checkout"],
            "times": {"started_at": "2026-12-04T21:00:00Z", "started_by": "trigger", "time_to_mitigate_ms": 12.4,
                "mitigation": receipt, "time_to_restore_ms": 125000.0, "time_to_restore_applied_ms": null,
                "restoration": null},
            "events": [
                {"at": "2026-12-04T20:58:00Z", "kind": "change", "environment": "production", "flag": "search",
                    "actor": "alice", "action": "flag.toggle", "reason": "launch"},
                {"at": "2026-12-04T21:00:00Z", "kind": "trigger", "environment": "production", "flag": "checkout",
                    "actor": "errors", "action": "flag.kill", "reason": "5xx"},
                {"at": "2026-12-04T21:00:00.040Z", "kind": "applied", "applied_to": "kill", "environment": "production",
                    "flag": "checkout", "actor": "errors", "action": "flag.kill.applied", "receipt": receipt}]});
        let view = timeline_view(&t);
        assert!(view.contains("started      2026-12-04T21:00:00Z (trigger)"), "{view}");
        assert!(view.contains("mitigated    +12 ms (3/3 SDKs applied the first kill)"), "{view}");
        assert!(
            view.contains("restored     +2m 05s (restore written); fleet: no receipt of the restore recorded"),
            "{view}"
        );
        let lines: Vec<&str> = view.lines().skip(6).collect();
        assert!(lines[0].contains("-2m 00s") && lines[0].contains("flag.toggle: launch"), "{view}");
        assert!(lines[2].contains("+40 ms") && lines[2].contains("kill applied by 3/3, slowest 12.4 ms"), "{view}");
    }
}
