//! Insight commands over the API: `switchyard fleet` (the SDK instances
//! connected to an environment), the blast radius of `kill --dry-run` /
//! `panic --dry-run` and `switchyard flags stale`. Viewer tokens are enough.

use serde_json::Value;

use super::remote::Client;

impl Client {
    /// `fleet -e ENV`: one line per connected SDK instance.
    pub async fn fleet(&self, env: &str) -> anyhow::Result<i32> {
        let view = self.api.fleet(self.project()?, env).await?;
        self.print(&view, fleet_table);
        Ok(0)
    }
}

impl Client {
    /// `kill --dry-run`, `panic --dry-run`: who it would reach; nothing changes.
    pub async fn blast_radius(&self, env: &str, flags: &[String], tag: Option<&str>) -> anyhow::Result<i32> {
        let radius = self.api.blast_radius(self.project()?, env, flags, tag).await?;
        self.print(&radius, blast_table);
        Ok(0)
    }
}

impl Client {
    /// `flags stale`: the removal candidates, one line per flag and reason.
    pub async fn stale(&self, days: Option<u32>, env: Option<&str>) -> anyhow::Result<i32> {
        let report = self.api.stale_flags(self.project()?, days, env).await?;
        self.print(&report, stale_table);
        Ok(0)
    }
}

/// The human stale-flag report.
pub fn stale_table(report: &Value) -> String {
    let flags = report["flags"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "{} stale flag(s) in {} (look-back {} days)\n",
        flags.len(),
        report["project"].as_str().unwrap_or("?"),
        report["days"]
    );
    if flags.is_empty() {
        return out;
    }
    out.push_str(&format!("{:<28} {:<10} {:<14} {}\n", "FLAG", "TYPE", "REASON", "DETAIL"));
    for flag in flags {
        let kind = if flag["temporary"] == true { "temporary" } else { "permanent" };
        for r in flag["reasons"].as_array().into_iter().flatten() {
            let env = r["environment"].as_str().unwrap_or("");
            let detail = match r["reason"].as_str() {
                Some("expired") => format!("expired {}", r["expires_at"].as_str().unwrap_or("?")),
                Some("single_variant") => format!(
                    "{env}: only `{}` served ({} evaluations)",
                    r["variant"].as_str().unwrap_or("?"),
                    r["evaluations"]
                ),
                _ => format!(
                    "{env}: last evaluated {}",
                    r["last_evaluated"].as_str().unwrap_or("never (in the retention)")
                ),
            };
            out.push_str(&format!(
                "{:<28} {:<10} {:<14} {detail}\n",
                clip(flag["flag"].as_str().unwrap_or("?"), 28),
                kind,
                r["reason"].as_str().unwrap_or("?"),
            ));
        }
    }
    out
}

/// The human blast radius: totals, then per flag its rate, what it serves
/// now and killed, and per service the instances evaluating it.
pub fn blast_table(radius: &Value) -> String {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = format!(
        "DRY RUN (nothing changed): killing in {} reaches {} connected instance(s); {} evaluated these flags in the last {} min, {} sent no telemetry\n",
        radius["environment"].as_str().unwrap_or("?"),
        n(&radius["connected"]),
        n(&radius["evaluating"]),
        n(&radius["window_minutes"]),
        n(&radius["without_telemetry"]),
    );
    if let Some(missing) = radius["unanswered"].as_array().filter(|m| !m.is_empty()) {
        out.push_str(&format!("INCOMPLETE: replicas that did not answer: {}\n", join(missing)));
    }
    for flag in radius["flags"].as_array().into_iter().flatten() {
        let served: Vec<String> = flag["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("{} {}", v["variant"].as_str().unwrap_or("?"), n(&v["evaluations"])))
            .collect();
        let killed = if flag["killed"] == true { " (already killed)" } else { "" };
        out.push_str(&format!(
            "\n{}{killed}: {:.1} evaluations/min, served {}; killed it serves `{}`\n",
            flag["flag"].as_str().unwrap_or("?"),
            flag["per_minute"].as_f64().unwrap_or(0.0),
            if served.is_empty() { "nothing seen".to_string() } else { served.join(", ") },
            flag["serves"].as_str().unwrap_or("?"),
        ));
        if let Some(deps) = flag["dependents"].as_array().filter(|d| !d.is_empty()) {
            out.push_str(&format!("  its prerequisite dependents serve their off variant too: {}\n", join(deps)));
        }
        out.push_str(&format!("  {:<24} {:>10} {:>10} {:>12}\n", "SERVICE", "EVALUATING", "CONNECTED", "EVALS/MIN"));
        for s in flag["services"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {:<24} {:>10} {:>10} {:>12.1}\n",
                clip(s["service"].as_str().unwrap_or("(unnamed)"), 24),
                n(&s["evaluating"]),
                n(&s["connected"]),
                s["per_minute"].as_f64().unwrap_or(0.0),
            ));
        }
    }
    out
}

/// The human fleet view.
pub fn fleet_table(view: &Value) -> String {
    let rows = view["instances"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "{} instance(s) in {} at revision {} ({} replica(s))\n",
        rows.len(),
        view["environment"].as_str().unwrap_or("?"),
        view["revision"],
        view["replicas"],
    );
    if let Some(missing) = view["unanswered"].as_array().filter(|m| !m.is_empty()) {
        out.push_str(&format!("INCOMPLETE: replicas that did not answer: {}\n", join(missing)));
    }
    if rows.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "{:<24} {:<20} {:<12} {:<24} {:<9} {:>8} {:>5} {:>9} {:>8}  {}\n",
        "SERVICE", "INSTANCE", "VERSION", "SDK", "TRANSPORT", "REVISION", "LAG", "LAG MS", "SEEN", "REPLICA"
    ));
    let now = chrono::Utc::now().timestamp_millis();
    for row in rows {
        let text = |k: &str| row[k].as_str().unwrap_or("-").to_string();
        let seen = row["last_seen_ms"].as_i64().map_or("-".into(), |t| format!("{}s ago", (now - t).max(0) / 1000));
        let lag_ms = row["lag_ms"].as_u64().map_or("?".into(), |m| m.to_string());
        out.push_str(&format!(
            "{:<24} {:<20} {:<12} {:<24} {:<9} {:>8} {:>5} {:>9} {:>8}  {}\n",
            clip(&text("service"), 24),
            clip(&text("instance"), 20),
            clip(&text("service_version"), 12),
            clip(&text("sdk"), 24),
            text("transport"),
            row["revision"],
            row["lag_revisions"],
            lag_ms,
            seen,
            clip(&text("replica"), 12),
        ));
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

fn join(values: &[Value]) -> String {
    values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blast_table_says_dry_run_and_names_services() {
        let radius = serde_json::json!({"environment": "production", "connected": 5, "evaluating": 3,
            "window_minutes": 15, "without_telemetry": 1, "unanswered": [],
            "flags": [{"flag": "checkout", "killed": false, "serves": "off", "per_minute": 2.0,
                "variants": [{"variant": "on", "evaluations": 30}],
                "services": [{"service": "web", "evaluating": 3, "connected": 4, "per_minute": 2.0}]}]});
        let table = blast_table(&radius);
        assert!(table.starts_with("DRY RUN (nothing changed): killing in production reaches 5"), "{table}");
        assert!(table.contains("served on 30; killed it serves `off`"), "{table}");
        assert!(table.contains("web") && table.contains("2.0"), "{table}");
    }

    #[test]
    fn the_stale_table_has_a_line_per_reason() {
        let report = serde_json::json!({"project": "shop", "days": 30, "flags": [{"flag": "old", "temporary": true,
            "reasons": [{"reason": "single_variant", "environment": "production", "variant": "on", "evaluations": 9},
                {"reason": "expired", "expires_at": "2026-01-01T00:00:00Z"}]}]});
        let table = stale_table(&report);
        assert!(table.starts_with("1 stale flag(s) in shop (look-back 30 days)"), "{table}");
        assert!(table.contains("production: only `on` served (9 evaluations)"), "{table}");
        assert!(table.contains("expired 2026-01-01T00:00:00Z"), "{table}");
    }

    #[test]
    fn the_table_names_each_instance_and_its_lag() {
        let view = serde_json::json!({"environment": "production", "revision": 7, "replicas": 2, "unanswered": ["r9"],
            "instances": [{"instance": "abc", "service": "checkout", "service_version": "1.2.3", "sdk": "switchyard-rust/0.1.0",
                "transport": "sse", "replica": "r1", "revision": 5, "lag_revisions": 2, "lag_ms": 1500,
                "connected_at_ms": 0, "last_seen_ms": 0}]});
        let table = fleet_table(&view);
        assert!(table.starts_with("1 instance(s) in production at revision 7 (2 replica(s))\nINCOMPLETE"), "{table}");
        assert!(table.contains("checkout") && table.contains("1500") && table.contains("sse"), "{table}");
    }
}
