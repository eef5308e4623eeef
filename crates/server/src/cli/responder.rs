//! Pure helpers for the responder commands (no I/O: `remote` calls them):
//! what a panic will do before it does it, "did you mean" for a mistyped
//! flag or environment, and the human view of `flags get`.
//!
//! The preview and the hint are best effort and never stand in the way of a kill: a panic whose
//! preview cannot be read is sent anyway (with a warning), and a suggestion
//! is only looked up after the server has refused the request.

use serde_json::Value;

/// What a panic will do in one environment.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PanicPlan {
    /// Flags the panic kills now.
    pub kill: Vec<String>,
    /// Flags already killed there: the server leaves their kill as it is.
    pub already_killed: Vec<String>,
    /// Named flags that do not exist.
    pub unknown: Vec<String>,
}

/// The key of a flag as the API lists it (a flag row or a `{flag: …}` wrapper); empty if absent.
pub fn key(flag: &Value) -> &str {
    flag["key"].as_str().or_else(|| flag["flag"]["key"].as_str()).unwrap_or("")
}

fn has_tag(flag: &Value, tag: &str) -> bool {
    let tags = if flag["tags"].is_array() { &flag["tags"] } else { &flag["flag"]["tags"] };
    tags.as_array().into_iter().flatten().any(|t| t == tag)
}

/// The plan, from the project's flag list (summaries with per-environment state).
pub fn plan(flags: &[Value], env: &str, tag: Option<&str>, named: &[String]) -> PanicPlan {
    let mut out = PanicPlan::default();
    let selected = flags.iter().filter(|f| tag.is_some_and(|t| has_tag(f, t)) || named.iter().any(|n| n == key(f)));
    for flag in selected {
        let killed = flag["environments"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["environment"] == env && e["killed"] == true);
        let list = if killed { &mut out.already_killed } else { &mut out.kill };
        list.push(key(flag).to_string());
    }
    out.unknown = named.iter().filter(|n| !flags.iter().any(|f| key(f) == n.as_str())).cloned().collect();
    for list in [&mut out.kill, &mut out.already_killed, &mut out.unknown] {
        list.sort();
        list.dedup();
    }
    out
}

impl PanicPlan {
    /// The lines printed (on stderr) before the panic is sent.
    pub fn describe(&self, env: &str) -> String {
        let mut out = format!("panic in {env}: killing {} flag(s): {}\n", self.kill.len(), list(&self.kill));
        if !self.already_killed.is_empty() {
            out.push_str(&format!("  already killed, left as they are: {}\n", list(&self.already_killed)));
        }
        if !self.unknown.is_empty() {
            out.push_str(&format!("  no such flag: {}\n", list(&self.unknown)));
        }
        out
    }
}

fn list(keys: &[String]) -> String {
    if keys.is_empty() { "(none)".to_string() } else { keys.join(", ") }
}

/// The closest of `candidates` to a mistyped `wanted`, if one is close.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(wanted, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary(key: &str, tags: &[&str], killed_in: &[&str]) -> Value {
        let envs: Vec<Value> = ["staging", "production"]
            .iter()
            .map(|e| json!({"environment": e, "on": true, "killed": killed_in.contains(e)}))
            .collect();
        json!({"key": key, "tags": tags, "environments": envs})
    }

    #[test]
    fn a_panic_lists_what_it_kills_and_what_was_already_killed() {
        let flags = [
            summary("checkout", &["payments"], &[]),
            summary("wallet", &["payments"], &["production"]),
            summary("search", &[], &["staging"]),
            summary("banner", &[], &[]),
        ];
        let plan = plan(&flags, "production", Some("payments"), &["search".into(), "serach".into()]);
        assert_eq!(plan.kill, ["checkout", "search"]);
        assert_eq!(plan.already_killed, ["wallet"]);
        assert_eq!(plan.unknown, ["serach"]);
        let text = plan.describe("production");
        assert!(text.contains("killing 2 flag(s): checkout, search"), "{text}");
        assert!(text.contains("already killed, left as they are: wallet"), "{text}");
        assert!(text.contains("no such flag: serach"), "{text}");
    }

    #[test]
    fn closest_names_a_near_miss_only() {
        let names = ["new-checkout", "search", "production", "staging"];
        assert_eq!(closest("new-chekout", names), Some("new-checkout"));
        assert_eq!(closest("prod", ["production", "staging"]), None, "too far to guess");
        assert_eq!(closest("producton", names), Some("production"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(closest("search", names), None, "an exact name needs no hint");
    }
}

/// `flags get` for a human: what the flag serves now, then its targeting.
pub fn config_view(record: &Value) -> String {
    let cfg = &record["config"];
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let off = text(&cfg["off_variant"]);
    let state = if cfg["kill"].is_object() {
        let kill = &cfg["kill"];
        let incident = kill["incident"].as_str().map(|i| format!(" [{i}]")).unwrap_or_default();
        format!(
            "KILLED{incident}: serving `{off}` to everyone (by {} at {}: {})",
            text(&kill["by"]),
            text(&kill["at"]),
            text(&kill["reason"])
        )
    } else if cfg["on"] == true {
        "ON: targeting below applies".to_string()
    } else {
        format!("OFF: serving `{off}` to everyone")
    };
    let mut out = format!(
        "{} in {} (version {}, by {} at {})\n  state:       {state}\n",
        text(&record["flag"]),
        text(&record["environment"]),
        record["version"],
        text(&record["updated_by"]),
        text(&record["updated_at"])
    );
    for p in cfg["prerequisites"].as_array().into_iter().flatten() {
        out.push_str(&format!("  needs:       {} serving {}\n", text(&p["flag"]), text(&p["variant"])));
    }
    for target in cfg["targets"].as_array().into_iter().flatten() {
        let keys = target["keys"].as_array().map_or(0, Vec::len);
        out.push_str(&format!("  target:      {keys} key(s) -> {}\n", text(&target["variant"])));
    }
    for (i, rule) in cfg["rules"].as_array().into_iter().flatten().enumerate() {
        let clauses = rule["clauses"].as_array().map_or(0, Vec::len);
        out.push_str(&format!(
            "  rule {}:      {} ({clauses} clause(s)) -> {}\n",
            i + 1,
            text(&rule["id"]),
            serve_view(&rule["serve"])
        ));
    }
    out.push_str(&format!("  fallthrough: {}\n", serve_view(&cfg["fallthrough"])));
    out.push_str(&format!("  off variant: {off}\n"));
    if let Some(fail_safe) = cfg["fail_safe_variant"].as_str() {
        out.push_str(&format!("  fail-safe:   {fail_safe}\n"));
    }
    out
}

/// `variant x` or `rollout a 50% / b 50%`.
fn serve_view(serve: &Value) -> String {
    if let Some(variant) = serve["variant"].as_str() {
        return format!("variant {variant}");
    }
    let arms: Vec<String> = serve["rollout"]["variations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|arm| {
            let weight = arm["weight"].as_u64().unwrap_or(0) as f64 / 1000.0;
            format!("{} {weight}%", arm["variant"].as_str().unwrap_or("?"))
        })
        .collect();
    let by = serve["rollout"]["bucket_by"].as_str().map(|b| format!(" by {b}")).unwrap_or_default();
    format!("rollout{by} {}", arms.join(" / "))
}

#[cfg(test)]
mod view_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flags_get_reads_as_state_then_targeting() {
        let record = json!({
            "flag": "checkout", "environment": "production", "version": 7,
            "updated_by": "alice", "updated_at": "2026-12-04T10:00:00Z",
            "config": {
                "on": true, "off_variant": "off",
                "kill": {"reason": "5xx spike", "by": "bob", "at": "2026-12-04T10:01:00Z", "incident": "INC-42"},
                "prerequisites": [{"flag": "payments", "variant": "on"}],
                "targets": [{"variant": "on", "keys": ["a", "b"]}],
                "rules": [{"id": "beta", "clauses": [{}], "serve": {"variant": "on"}}],
                "fallthrough": {"rollout": {"variations": [{"variant": "on", "weight": 25000}, {"variant": "off", "weight": 75000}]}}
            }
        });
        let view = config_view(&record);
        assert!(view.starts_with("checkout in production (version 7"), "{view}");
        assert!(view.contains("KILLED [INC-42]: serving `off` to everyone (by bob"), "{view}");
        assert!(!view.contains("ON:"), "a killed flag never reads as on: {view}");
        assert!(view.contains("needs:       payments serving on\n  target:"), "{view}");
        assert!(view.contains("target:      2 key(s) -> on"), "{view}");
        assert!(view.contains("rule 1:      beta (1 clause(s)) -> variant on"), "{view}");
        assert!(view.contains("fallthrough: rollout on 25% / off 75%"), "{view}");
    }
}
