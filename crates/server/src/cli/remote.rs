//! Responder commands: they talk to a running server over its API, with an
//! API token (a `responder` token is enough for kill/restore/panic).
//!
//! Exit codes: 0 done (and, with `--wait`, every connected SDK applied it);
//! 1 error; 3 the change was made but not every connected SDK confirmed it
//! within the wait.

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

use super::responder;
use crate::client::responder::Order;
use crate::client::{self as api};
use crate::store::{AuditQuery, FlagQuery};

/// Exit code when receipts are incomplete.
pub const EXIT_INCOMPLETE: i32 = 3;

/// Where and as whom.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Server URL.
    #[arg(long, env = "SWITCHYARD_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// API token (`sya_…`).
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Project key.
    #[arg(long, short = 'p', env = "SWITCHYARD_PROJECT", global = true)]
    pub project: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Options shared by kill-like commands.
#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Environment key.
    #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
    pub env: String,
    /// Why (required, but for `--dry-run`).
    #[arg(long, short = 'r', required_unless_present = "dry_run")]
    pub reason: Option<String>,
    /// Incident id.
    #[arg(long)]
    pub incident: Option<String>,
    /// Wait until every connected SDK applied the change (e.g. `5s`, max 30s).
    #[arg(long)]
    pub wait: Option<String>,
    /// Kill and panic: change nothing, show who it would reach (services,
    /// instances evaluating the flags, evaluation rate, the variant a kill
    /// serves). Exit code 0.
    #[arg(long)]
    pub dry_run: bool,
}

/// `switchyard flags …`
#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// List flags with their state per environment.
    List {
        /// Only flags with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// List the archive (archived flags only).
        #[arg(long)]
        archived: bool,
    },
    /// Show one flag's configuration in an environment.
    Get {
        /// Flag key.
        flag: String,
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
    },
    /// Archive a flag (admin): without --confirm a dry run showing, per
    /// environment, when it was last evaluated and the connected SDK
    /// instances evaluating it; with --confirm and --reason it leaves every
    /// SDK snapshot and refuses edits until restored.
    Archive {
        /// Flag key.
        flag: String,
        /// Archive now (needs --reason).
        #[arg(long)]
        confirm: bool,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Restore an archived flag from the archive (admin), as it was.
    Unarchive {
        /// Flag key.
        flag: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete an archived flag (admin); its audit history stays.
    Delete {
        /// Flag key.
        flag: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Removal candidates: past their expiry, one variant served to every
    /// evaluation, or not evaluated, for the look-back.
    Stale {
        /// Look-back in days (default: the server's `SWITCHYARD_STALE_DAYS`).
        #[arg(long)]
        days: Option<u32>,
        /// Only this environment's telemetry.
        #[arg(long, short = 'e')]
        env: Option<String>,
    },
}

/// A client for one server and token: the typed [`crate::client::Client`]
/// plus the project and output format of the command line.
pub struct Client {
    pub(super) api: api::Client,
    pub(super) remote: Remote,
}

impl Client {
    /// Builds the client; fails without a token or project.
    pub fn new(remote: Remote) -> anyhow::Result<Client> {
        let Some(token) = remote.token.as_deref() else {
            bail!("an API token is required: --token or SWITCHYARD_TOKEN");
        };
        let api = api::Client::with_timeout(&remote.server, Duration::from_secs(40))?.with_token(token);
        Ok(Client { api, remote })
    }

    pub(super) fn project(&self) -> anyhow::Result<&str> {
        self.remote.project.as_deref().context("a project is required: --project or SWITCHYARD_PROJECT")
    }

    /// Prints `value` as JSON (with `--json`) or as `human` renders it.
    pub(super) fn print(&self, value: &impl Serialize, human: impl FnOnce(&Value) -> String) {
        let value = serde_json::to_value(value).unwrap_or_default();
        if self.remote.json {
            println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        } else {
            print!("{}", human(&value));
        }
    }

    /// Kills (or with `restore`, restores) one flag. Returns the exit code.
    pub async fn kill(&self, flag: &str, args: &KillArgs, restore: bool) -> anyhow::Result<i32> {
        let (project, env, wait) = (self.project()?, args.env.as_str(), args.wait.as_deref());
        if args.dry_run {
            anyhow::ensure!(!restore, "restore has no --dry-run");
            return self.blast_radius(env, &[flag.to_string()], None).await;
        }
        let order =
            Order { reason: args.reason.as_deref().unwrap_or_default(), incident: args.incident.as_deref(), wait };
        let result = if restore {
            self.api.restore(project, env, flag, &order).await
        } else {
            self.api.kill(project, env, flag, &order).await
        };
        let result = match result {
            Ok(result) => serde_json::to_value(result)?,
            Err(e) => return Err(self.with_suggestion(e, flag, env).await),
        };
        let verb = if restore { "restored" } else { "killed" };
        self.print(&result, |r| receipt_table(&format!("{verb} {flag} in {env}"), r));
        Ok(exit_code(&result))
    }

    /// Kills every flag with a tag, or a list, in one revision.
    pub async fn panic(&self, tag: Option<&str>, flags: &[String], args: &KillArgs) -> anyhow::Result<i32> {
        let project = self.project()?;
        if args.dry_run {
            return self.blast_radius(&args.env, flags, tag).await;
        }
        // What it will do, on stderr; a preview that cannot be read never
        // holds the panic back (the server decides what is killed).
        let plan = match self.all_flags().await {
            Ok(all) => {
                let plan = responder::plan(&all, &args.env, tag, flags);
                eprint!("{}", plan.describe(&args.env));
                Some(plan)
            }
            Err(e) => {
                eprintln!("warning: cannot list the flags first ({e}); sending the panic anyway");
                None
            }
        };
        let reason = args.reason.as_deref().unwrap_or_default();
        let order = Order { reason, incident: args.incident.as_deref(), wait: args.wait.as_deref() };
        let result = serde_json::to_value(self.api.panic(project, &args.env, tag, flags, &order).await?)?;
        let n = plan.map_or_else(|| result["value"].as_array().map_or(0, Vec::len), |p| p.kill.len());
        self.print(&result, |r| receipt_table(&format!("killed {n} flag(s) in {}", args.env), r));
        Ok(exit_code(&result))
    }

    /// Restores every flag with a tag, or a list, in one revision.
    pub async fn unpanic(&self, tag: Option<&str>, flags: &[String], args: &KillArgs) -> anyhow::Result<i32> {
        let project = self.project()?;
        let order = Order {
            reason: args.reason.as_deref().unwrap_or_default(),
            incident: args.incident.as_deref(),
            wait: args.wait.as_deref(),
        };
        let result = serde_json::to_value(self.api.unpanic(project, &args.env, tag, flags, &order).await?)?;
        let n = result["value"].as_array().map_or(0, Vec::len);
        self.print(&result, |r| receipt_table(&format!("restored {n} flag(s) in {}", args.env), r));
        Ok(exit_code(&result))
    }

    /// `flags list|get`.
    pub async fn flags(&self, command: &FlagsCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        match command {
            FlagsCommand::List { tag, archived } => {
                let query = FlagQuery { tag: tag.clone(), archived: *archived, ..FlagQuery::default() };
                let page = self.api.flags(project, &query).await?;
                self.print(&page, flags_table);
            }
            FlagsCommand::Get { flag, env } => {
                let cfg = match self.api.config(project, env, flag).await {
                    Ok(cfg) => cfg,
                    Err(e) => return Err(self.with_suggestion(e, flag, env).await),
                };
                self.print(&cfg, responder::config_view);
            }
            FlagsCommand::Stale { days, env } => return self.stale(*days, env.as_deref()).await,
            FlagsCommand::Archive { flag, confirm, reason } => {
                return self.archive(flag, *confirm, reason.as_deref()).await;
            }
            FlagsCommand::Unarchive { flag, reason } => return self.unarchive(flag, reason.as_deref()).await,
            FlagsCommand::Delete { flag, reason } => return self.delete_flag(flag, reason).await,
        }
        Ok(0)
    }

    /// `audit`: recent events.
    pub async fn audit(&self, flag: Option<&str>, env: Option<&str>, limit: u32) -> anyhow::Result<i32> {
        let query = AuditQuery {
            flag: flag.map(str::to_string),
            environment: env.map(str::to_string),
            limit: Some(limit),
            ..AuditQuery::default()
        };
        let page = self.api.audit(self.project()?, &query).await?;
        self.print(&page, audit_table);
        Ok(0)
    }
}

fn exit_code(result: &Value) -> i32 {
    match result.get("receipt") {
        Some(r) if r.is_object() && r["pending"].as_u64().unwrap_or(0) > 0 => EXIT_INCOMPLETE,
        _ => 0,
    }
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |m| format!("{m:.1} ms"))
}

/// The human receipt.
pub fn receipt_table(headline: &str, result: &Value) -> String {
    let changed = if result["changed"].as_bool() == Some(false) { " (already in that state)" } else { "" };
    let revision = result["revision"].as_u64().map_or("unchanged".into(), |r| r.to_string());
    let mut out = format!("{headline}{changed} — revision {revision}\n");
    let r = &result["receipt"];
    if r.is_object() {
        // `Value`'s Display ignores widths: format strings, so columns align.
        let n = |v: &Value| v.as_u64().map_or("-".to_string(), |n| n.to_string());
        out.push_str(&format!(
            "  {:<10} {:<8} {:<8} {:<10} {:<10}\n  {:<10} {:<8} {:<8} {:<10} {:<10}\n",
            "connected",
            "applied",
            "pending",
            "p50",
            "max",
            n(&r["connected"]),
            n(&r["applied"]),
            n(&r["pending"]),
            ms(&r["p50_ms"]),
            ms(&r["max_ms"])
        ));
        if r["pending"].as_u64().unwrap_or(0) > 0 {
            out.push_str("  WARNING: not every connected SDK confirmed the change in time\n");
        }
        if let Some(silent) = r["unanswered"].as_array().filter(|s| !s.is_empty()) {
            let names: Vec<&str> = silent.iter().filter_map(Value::as_str).collect();
            out.push_str(&format!(
                "  WARNING: {} live replica(s) did not answer; their SDKs are not counted: {}\n",
                names.len(),
                names.join(", ")
            ));
        }
        if r["connected"].as_u64() == Some(0) {
            out.push_str("  NOTE: no SDK stream is connected to any replica of this environment\n");
        }
    }
    out
}

fn flags_table(page: &Value) -> String {
    let mut out = format!("{:<32} {:<8} {}\n", "FLAG", "KIND", "ENVIRONMENTS");
    for f in page["items"].as_array().into_iter().flatten() {
        let envs: Vec<String> = f["environments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let state = if e["killed"] == true {
                    "KILLED"
                } else if e["on"] == true {
                    "on"
                } else {
                    "off"
                };
                format!("{}={state}", e["environment"].as_str().unwrap_or("?"))
            })
            .collect();
        out.push_str(&format!(
            "{:<32} {:<8} {}\n",
            f["key"].as_str().unwrap_or(""),
            f["kind"].as_str().unwrap_or(""),
            envs.join(" ")
        ));
    }
    out
}

fn audit_table(page: &Value) -> String {
    let row = |at: &str, action: &str, actor: &str, env: &str, flag: &str, incident: &str, reason: &str| {
        format!("{at:<24} {action:<22} {actor:<16} {env:<14} {flag:<20} {incident:<12} {reason}\n")
    };
    let mut out = row("TIME", "ACTION", "ACTOR", "ENVIRONMENT", "FLAG", "INCIDENT", "REASON");
    for e in page["items"].as_array().into_iter().flatten() {
        // A kill's incident is in the state it wrote.
        let incident = e["after"]["config"]["kill"]["incident"].as_str().or(e["incident"].as_str()).unwrap_or("-");
        out.push_str(&row(
            e["at"].as_str().unwrap_or(""),
            e["action"].as_str().unwrap_or(""),
            e["actor"].as_str().unwrap_or(""),
            e["environment"].as_str().unwrap_or("-"),
            e["flag"].as_str().or(e["segment"].as_str()).unwrap_or("-"),
            incident,
            e["reason"].as_str().unwrap_or(""),
        ));
    }
    out
}

impl Client {
    /// Every flag summary of the project (all pages).
    pub(super) async fn all_flags(&self) -> anyhow::Result<Vec<Value>> {
        let all = self.api.all_flags(self.project()?, &FlagQuery::default()).await?;
        Ok(all.iter().map(serde_json::to_value).collect::<Result<_, _>>()?)
    }

    /// `error`, with "did you mean" appended when it was a 404 and a close
    /// name exists.
    pub(super) async fn with_suggestion(&self, error: api::Error, flag: &str, env: &str) -> anyhow::Error {
        if error.status() != Some(reqwest::StatusCode::NOT_FOUND) {
            return error.into();
        }
        let error = anyhow::Error::from(error);
        match self.suggestion(flag, env).await {
            Some(hint) => error.context(hint),
            None => error,
        }
    }

    /// After the server refused a request naming `flag` in `env`: a hint
    /// naming the closest existing environment or flag, if any.
    pub(super) async fn suggestion(&self, flag: &str, env: &str) -> Option<String> {
        let project = self.project().ok()?;
        let envs: Vec<String> = self.api.environments(project).await.ok()?.into_iter().map(|e| e.key).collect();
        if !envs.iter().any(|e| e == env) {
            return responder::closest(env, envs.iter().map(String::as_str))
                .map(|e| format!("no environment `{env}`: did you mean `{e}`?"));
        }
        let flags = self.all_flags().await.ok()?;
        if flags.iter().any(|f| responder::key(f) == flag) {
            return None;
        }
        responder::closest(flag, flags.iter().map(responder::key))
            .map(|f| format!("no flag `{flag}`: did you mean `{f}`?"))
    }
}
