//! Insight commands over the API: `switchyard fleet` (the SDK instances
//! connected to an environment). Viewer tokens are enough.

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
