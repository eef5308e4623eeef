//! Responder conveniences around the kill API: what a panic will do before
//! it does it, and "did you mean" for a mistyped flag or environment.
//!
//! Both are best effort and never stand in the way of a kill: a panic whose
//! preview cannot be read is sent anyway (with a warning), and a suggestion
//! is only looked up after the server has refused the request.

use serde_json::Value;

use super::remote::Client;

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

fn key(flag: &Value) -> &str {
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

impl Client {
    /// Every flag summary of the project (all pages).
    pub(super) async fn all_flags(&self) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/projects/{}/flags?limit=1000", self.project()?);
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.call(reqwest::Method::GET, &path, None).await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return Ok(items),
            }
        }
    }

    /// `error`, with "did you mean" appended when it was a 404 and a close
    /// name exists.
    pub(super) async fn with_suggestion(&self, error: anyhow::Error, flag: &str, env: &str) -> anyhow::Error {
        if !error.to_string().starts_with("404") {
            return error;
        }
        match self.suggestion(flag, env).await {
            Some(hint) => error.context(hint),
            None => error,
        }
    }

    /// After the server refused a request naming `flag` in `env`: a hint
    /// naming the closest existing environment or flag, if any.
    pub(super) async fn suggestion(&self, flag: &str, env: &str) -> Option<String> {
        let project = self.project().ok()?;
        let envs = self.call(reqwest::Method::GET, &format!("/api/v1/projects/{project}/environments"), None).await;
        let envs: Vec<String> =
            envs.ok()?.as_array()?.iter().filter_map(|e| e["key"].as_str().map(str::to_string)).collect();
        if !envs.iter().any(|e| e == env) {
            return closest(env, envs.iter().map(String::as_str))
                .map(|e| format!("no environment `{env}`: did you mean `{e}`?"));
        }
        let flags = self.all_flags().await.ok()?;
        if flags.iter().any(|f| key(f) == flag) {
            return None;
        }
        closest(flag, flags.iter().map(key)).map(|f| format!("no flag `{flag}`: did you mean `{f}`?"))
    }
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
