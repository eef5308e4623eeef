//! The `switchyard` command line. `switchyard` alone is `switchyard serve`.
//!
//! ## Layout
//! - [`remote`]: responder commands (kill, restore, panic, flags, audit) over the API.
//! - [`release`]: a flag's release plan (start, status, pause, resume, abort, promote).
//! - [`schedule`]: scheduled changes (add, list, edit, cancel).
//! - [`approvals`]: approval policies and change requests.
//! - [`insights`]: `fleet` (connected SDK instances).
//! - [`lifecycle`]: `flags archive` (dry run, then `--confirm`), `flags unarchive`, `flags delete`.
//! - [`incident`]: `incident [ID]` (a project's incidents; one incident's timeline and times).
//! - [`webhooks`]: managing webhooks and reading their delivery history (admin).
//! - [`accounts`]: `admin reset-password` (on the store), `users`, `passwd`.
//! - [`members`]: a project's members (per-project user roles) and its API tokens.
//! - [`projects`]: `projects` (list, create with environments) and `envs` (list, create, set colour / position / name).
//! - [`health`]: `health` (the container healthcheck).
//! - [`logging`]: the server's log (format, filter, colour only on a terminal).
//! - [`errors`]: start-up errors that say how to fix them; printing each cause once.

pub mod accounts;
pub mod approvals;
pub mod errors;
pub mod health;
pub mod incident;
pub mod insights;
pub mod lifecycle;
pub mod logging;
pub mod members;
pub mod projects;
pub mod release;
pub mod remote;
pub mod responder;
pub mod schedule;
pub mod webhooks;

use clap::{Parser, Subcommand};

use self::accounts::{AdminCommand, UsersCommand};
use self::approvals::ApprovalsCommand;
use self::members::{MembersCommand, TokensCommand};
use self::projects::{EnvsCommand, ProjectsCommand};
use self::release::ReleaseCommand;
use self::remote::{FlagsCommand, KillArgs, Remote};
use self::schedule::ScheduleCommand;
use self::webhooks::WebhooksCommand;

use crate::config::ServeConfig;

/// Switchyard: feature flags with kill switches.
#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about,
    after_help = "Without a command, `switchyard` runs `serve` (its settings then come from SWITCHYARD_* \
                  environment variables; see `switchyard serve --help`).\n\n\
                  Exit codes: 0 done; 1 error (server, network, validation); 2 usage; \
                  3 the change was made but not every connected SDK confirmed it within --wait."
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the flag server.
    Serve(Box<ServeConfig>),
    /// Kill a flag: it serves its off variant everywhere in the environment.
    Kill {
        /// Flag key.
        flag: String,
        /// Reason, incident and waiting for receipts.
        #[command(flatten)]
        args: KillArgs,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Restore a killed flag, or with --tag / --flags a panic's flags in one revision.
    Restore {
        /// Flag key.
        #[arg(required_unless_present_any = ["tag", "flags"])]
        flag: Option<String>,
        /// Restore every flag with this tag (the panic's undo; flags not killed stay as they are).
        #[arg(long, conflicts_with = "flag")]
        tag: Option<String>,
        /// Flags to restore (comma-separated).
        #[arg(long, value_delimiter = ',', conflicts_with = "flag")]
        flags: Vec<String>,
        /// Reason, incident and waiting for receipts.
        #[command(flatten)]
        args: KillArgs,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Kill every flag with a tag (or a list) in one revision.
    Panic {
        /// Tag whose flags to kill.
        #[arg(long)]
        tag: Option<String>,
        /// Flags to kill (comma-separated).
        #[arg(long, value_delimiter = ',')]
        flags: Vec<String>,
        /// Reason, incident and waiting for receipts.
        #[command(flatten)]
        args: KillArgs,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// List or show flags.
    Flags {
        /// What to do with flags.
        #[command(subcommand)]
        command: FlagsCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// A flag's release plan: widen the treatment stage by stage, watched by the guard.
    Release {
        /// What to do with the plan.
        #[command(subcommand)]
        command: ReleaseCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Approvals: an environment's policy; change requests (request, list, approve, comment, apply, cancel).
    Approvals {
        /// What to do.
        #[command(subcommand)]
        command: ApprovalsCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Scheduled changes of a flag: toggle, fallthrough or rollout, targeting, at a time.
    Schedule {
        /// What to do with scheduled changes.
        #[command(subcommand)]
        command: ScheduleCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// List the SDK instances connected to an environment (service, versions,
    /// transport, revision, lag, last seen, replica).
    Fleet {
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// An incident's timeline (triggers, kills, guard trips, restores, when
    /// the fleet applied each, the changes before) and its times to mitigate
    /// and restore; without an id, the project's incidents.
    Incident {
        /// Incident id, e.g. `INC-42`.
        id: Option<String>,
        /// Show the project's changes this many minutes before the first event (default 30).
        #[arg(long)]
        before_minutes: Option<u32>,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Rehearse a rollback: kill a flag under a drill incident id, wait until
    /// every connected SDK applied it, restore it, wait again, report the
    /// times. Refuses production-like environments unless --force.
    Drill {
        /// Environment, flag and options.
        #[command(flatten)]
        args: incident::DrillArgs,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Manage the project's outgoing webhooks and see their deliveries (admin token).
    Webhooks {
        /// What to do with webhooks.
        #[command(subcommand)]
        command: WebhooksCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Projects: list them, create one with its environments (admin token).
    Projects {
        /// What to do with projects.
        #[command(subcommand)]
        command: ProjectsCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// A project's environments: list them, create one, set a colour, position or name (admin token).
    Envs {
        /// What to do with environments.
        #[command(subcommand)]
        command: EnvsCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// A project's members: users' roles in it (a token of its admins).
    Members {
        /// What to do with members.
        #[command(subcommand)]
        command: MembersCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// A project's API tokens: list, create (never above your role there), revoke (a token of its admins).
    Tokens {
        /// What to do with tokens.
        #[command(subcommand)]
        command: TokensCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// List users or reset another user's password (admin token).
    Users {
        /// What to do with users.
        #[command(subcommand)]
        command: UsersCommand,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
    /// Change your own password (asks for the current one; ends your other sessions).
    Passwd {
        /// Your user name.
        #[arg(long, short = 'u', env = "SWITCHYARD_USER")]
        user: String,
        /// Server URL.
        #[arg(long, env = "SWITCHYARD_URL", default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Maintenance on the server host, straight on the store (the API may be down).
    Admin {
        /// Which maintenance task.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Probe a server's readiness (`/readyz`): exit 0 when ready, 1 when
    /// not. For container healthchecks (the image has no curl).
    Health {
        /// Server URL. Default: SWITCHYARD_HEALTH_URL, else SWITCHYARD_URL
        /// (as every other command), else `http://127.0.0.1:8080`.
        #[arg(long, env = "SWITCHYARD_HEALTH_URL")]
        server: Option<String>,
        /// Give up after this long.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Show recent audit events.
    Audit {
        /// Only this flag.
        #[arg(long)]
        flag: Option<String>,
        /// Only this environment.
        #[arg(long, short = 'e')]
        env: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Which server, project and environment, and the token.
        #[command(flatten)]
        remote: Remote,
    },
}

/// Entry point of the binary; returns the process exit code.
pub async fn main() -> anyhow::Result<i32> {
    for warning in
        errors::unknown_env_vars(&known_env_vars(), std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
    {
        eprintln!("{warning}");
    }
    let cli = Cli::parse();
    let config = match cli.command {
        Some(Command::Serve(config)) => *config,
        None => ServeConfig::parse_from(["switchyard"]),
        Some(remote) => return run_remote(remote).await,
    };
    logging::init(config.log_format);
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| errors::bind(config.listen, &e))?;
    crate::run(config, listener, shutdown_signal()).await?;
    Ok(0)
}

/// Every SWITCHYARD_* variable some option reads, plus the log filter and
/// the test suite's own.
fn known_env_vars() -> Vec<String> {
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.push(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = vec![
        "SWITCHYARD_LOG".to_string(),
        "SWITCHYARD_TEST_PG_URL".to_string(),
        "SWITCHYARD_TEST_HANG_AFTER_STAGE".to_string(),
        "SWITCHYARD_TEST_HANG_BEFORE_APPLY".to_string(),
    ];
    walk(&<Cli as clap::CommandFactory>::command(), &mut out);
    out.sort();
    out.dedup();
    out
}

async fn run_remote(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Serve(_) => Ok(0),
        Command::Kill { flag, args, remote } => remote::Client::new(remote)?.kill(&flag, &args, false).await,
        Command::Restore { flag: Some(flag), args, remote, .. } => {
            remote::Client::new(remote)?.kill(&flag, &args, true).await
        }
        Command::Restore { flag: None, tag, flags, args, remote } => {
            remote::Client::new(remote)?.unpanic(tag.as_deref(), &flags, &args).await
        }
        Command::Panic { tag, flags, args, remote } => {
            if tag.is_none() && flags.is_empty() {
                anyhow::bail!("give --tag or --flags");
            }
            remote::Client::new(remote)?.panic(tag.as_deref(), &flags, &args).await
        }
        Command::Flags { command, remote } => remote::Client::new(remote)?.flags(&command).await,
        Command::Release { command, remote } => remote::Client::new(remote)?.release(&command).await,
        Command::Schedule { command, remote } => remote::Client::new(remote)?.schedule(&command).await,
        Command::Approvals { command, remote } => remote::Client::new(remote)?.approvals(&command).await,
        Command::Fleet { env, remote } => remote::Client::new(remote)?.fleet(&env).await,
        Command::Drill { args, remote } => remote::Client::new(remote)?.drill(&args).await,
        Command::Incident { id, before_minutes, remote } => {
            remote::Client::new(remote)?.incident(id.as_deref(), before_minutes).await
        }
        Command::Webhooks { command, remote } => remote::Client::new(remote)?.webhooks(&command).await,
        Command::Projects { command, remote } => remote::Client::new(remote)?.projects(&command).await,
        Command::Envs { command, remote } => remote::Client::new(remote)?.envs(&command).await,
        Command::Members { command, remote } => remote::Client::new(remote)?.members(&command).await,
        Command::Tokens { command, remote } => remote::Client::new(remote)?.tokens(&command).await,
        Command::Users { command, remote } => remote::Client::new(remote)?.users(&command).await,
        Command::Passwd { user, server } => accounts::passwd(&server, &user).await,
        Command::Admin { command } => accounts::admin(command).await,
        Command::Health { server, timeout } => health::health(&health::url(server), timeout).await,
        Command::Audit { flag, env, limit, remote } => {
            remote::Client::new(remote)?.audit(flag.as_deref(), env.as_deref(), limit).await
        }
    }
}

#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    config: ServeConfig,
}

impl ServeConfig {
    fn parse_from<I: IntoIterator<Item = &'static str>>(args: I) -> ServeConfig {
        ServeOnly::parse_from(args).config
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
