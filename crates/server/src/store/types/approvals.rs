//! Approvals per environment (issue 19 §3): an environment's policy, and
//! change requests with their diff, approvals and comments. The workflow
//! (who may approve, the gate on ordinary writes) is `crate::ops::approvals`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ConfigPatch, Requester, Role};
use crate::store::revert::FieldChange;

/// An environment's approval policy (the body of `PUT …/approval-policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Approvals an ordinary change needs, through a change request; 0:
    /// approvals are off (changes go straight through). At most 10.
    pub approvals: u32,
    /// The least role of an approver (`editor` or `admin`).
    #[serde(default = "editor")]
    pub approver_role: Role,
}

fn editor() -> Role {
    Role::Editor
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy { approvals: 0, approver_role: Role::Editor }
    }
}

/// Where a change request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeRequestState {
    /// Waiting for approvals, or approved and not applied yet.
    Open,
    /// Applied (`revision`).
    Applied,
    /// Withdrawn.
    Cancelled,
}

impl ChangeRequestState {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeRequestState::Open => "open",
            ChangeRequestState::Applied => "applied",
            ChangeRequestState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<ChangeRequestState> {
        Some(match s {
            "open" => ChangeRequestState::Open,
            "applied" => ChangeRequestState::Applied,
            "cancelled" => ChangeRequestState::Cancelled,
            _ => return None,
        })
    }
}

/// A change request to open (the body of `POST …/flags/{flag}/change-requests`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChangeRequest {
    /// What to set.
    pub change: ConfigPatch,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// An approval (one per approver; never by the author).
    Approval,
    /// A comment.
    Comment,
}

/// An approval or a comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRequestNote {
    /// Approval or comment.
    pub kind: NoteKind,
    /// Who.
    pub author: String,
    /// That user or token by kind and id (none: written before approvers
    /// were recorded and not identifiable by name; such an approval no
    /// longer counts). Applying counts an approval only while its approver
    /// still exists, is usable and has the policy's approver role.
    pub author_principal: Option<Requester>,
    /// The text (a comment's; an approval's optional remark).
    pub body: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// Id (unique across projects).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// What it sets.
    pub change: ConfigPatch,
    /// The configuration version it was made against.
    pub base_version: u64,
    /// Each field it sets: its value when the request was made and the value it sets.
    pub diff: Vec<FieldChange>,
    /// Where it is.
    pub state: ChangeRequestState,
    /// Why.
    pub reason: Option<String>,
    /// Who asked (may not approve it).
    pub author: String,
    /// That user or token by kind and id (none: opened before authors were
    /// recorded and not identifiable by name). Applying needs it still to
    /// exist, be usable and be an editor in the project (409
    /// `author_not_authorized` otherwise).
    pub author_principal: Option<Requester>,
    /// Approvals and comments, oldest first.
    pub notes: Vec<ChangeRequestNote>,
    /// The revision its write produced (applied).
    pub revision: Option<u64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change of state.
    pub updated_at: DateTime<Utc>,
}

impl ChangeRequest {
    /// The distinct approvers.
    pub fn approvers(&self) -> Vec<&str> {
        self.notes.iter().filter(|n| n.kind == NoteKind::Approval).map(|n| n.author.as_str()).collect()
    }
}
