//! `switchyard approvals policy|request|list|approve|comment|apply|cancel`:
//! an environment's approval policy and change requests, over the typed
//! client.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::remote::Client;
use super::schedule::What;
use crate::store::{ApprovalPolicy, NewChangeRequest, Role};

/// A change request of an environment.
#[derive(Debug, Clone, Args)]
pub struct RequestTarget {
    /// Change request id.
    pub id: i64,
    /// Environment key.
    #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
    pub env: String,
    /// A comment (approve, comment) or why (cancel).
    #[arg(long, short = 'm')]
    pub message: Option<String>,
}

/// `switchyard approvals …`
#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Show the environment's policy, or set it with --approvals (admin).
    Policy {
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// Approvals a change needs (0: off).
        #[arg(long)]
        approvals: Option<u32>,
        /// Least role of an approver (`editor` or `admin`).
        #[arg(long, default_value = "editor")]
        role: String,
    },
    /// Open a change request of a flag.
    Request {
        /// Flag key.
        flag: String,
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
        /// What.
        #[command(flatten)]
        what: What,
        /// Why.
        #[arg(long, short = 'r')]
        reason: Option<String>,
    },
    /// List the environment's change requests.
    List {
        /// Environment key.
        #[arg(long, short = 'e', env = "SWITCHYARD_ENV")]
        env: String,
    },
    /// Approve a change request (not your own).
    Approve(RequestTarget),
    /// Comment on a change request (--message).
    Comment(RequestTarget),
    /// Apply an approved change request.
    Apply(RequestTarget),
    /// Withdraw a change request.
    Cancel(RequestTarget),
}

impl Client {
    /// Runs an `approvals` subcommand. Returns the exit code.
    pub async fn approvals(&self, command: &ApprovalsCommand) -> anyhow::Result<i32> {
        let project = self.project()?;
        let request = match command {
            ApprovalsCommand::Policy { env, approvals, role } => {
                let policy = match approvals {
                    None => self.api.approval_policy(project, env).await?,
                    Some(n) => {
                        let role = Role::parse(role).context("--role is editor or admin")?;
                        let policy = ApprovalPolicy { approvals: *n, approver_role: role };
                        self.api.set_approval_policy(project, env, &policy).await?
                    }
                };
                self.print(&policy, |p| {
                    format!("{} approval(s) by {} or above\n", p["approvals"], text(&p["approver_role"]))
                });
                return Ok(0);
            }
            ApprovalsCommand::Request { flag, env, what, reason } => {
                let body = NewChangeRequest { change: what.patch()?, reason: reason.clone() };
                self.api.open_change_request((project, env.as_str(), flag.as_str()), &body).await?
            }
            ApprovalsCommand::List { env } => {
                let requests = self.api.change_requests(project, env).await?;
                self.print(&requests, |list| list.as_array().into_iter().flatten().map(request_line).collect());
                return Ok(0);
            }
            ApprovalsCommand::Approve(t) => {
                self.api.change_request_action(at(project, t), "approve", t.message.as_deref()).await?
            }
            ApprovalsCommand::Cancel(t) => {
                self.api.change_request_action(at(project, t), "cancel", t.message.as_deref()).await?
            }
            ApprovalsCommand::Comment(t) => {
                let body = t.message.as_deref().context("give the comment with --message")?;
                self.api.comment_change_request(at(project, t), body).await?
            }
            ApprovalsCommand::Apply(t) => self.api.apply_change_request(at(project, t)).await?.value,
        };
        self.print(&request, request_line);
        Ok(0)
    }
}

/// The (project, environment, id) of a command's change request.
fn at<'a>(project: &'a str, t: &'a RequestTarget) -> (&'a str, &'a str, i64) {
    (project, t.env.as_str(), t.id)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

/// One change request as people read it:
/// `#3 checkout in production: OPEN {"on":false} by alice; approvals: bob`.
pub fn request_line(r: &Value) -> String {
    let approvers: Vec<String> = r["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "approval")
        .map(|n| text(&n["author"]))
        .collect();
    format!(
        "#{} {} in {}: {} {} by {}; approvals: {}\n",
        r["id"],
        text(&r["flag"]),
        text(&r["environment"]),
        text(&r["state"]).to_uppercase(),
        r["change"],
        text(&r["author"]),
        if approvers.is_empty() { "none".to_string() } else { approvers.join(", ") },
    )
}
