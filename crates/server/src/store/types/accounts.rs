//! Accounts: roles, actors (who wrote what), users, API tokens.
//!
//! Owns the account types only; never touches flags, projects or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Roles, ordered by what they may do. See `auth` for the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read everything except secrets.
    Viewer,
    /// Kill and restore flags; nothing else.
    Responder,
    /// Edit flags and segments (and kill).
    Editor,
    /// Everything: users, tokens, SDK keys, projects, environments.
    Admin,
}

impl Role {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "viewer" => Role::Viewer,
            "responder" => Role::Responder,
            "editor" => Role::Editor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// What kind of principal made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A logged-in user (JWT).
    User,
    /// An API token.
    Token,
    /// An alert-driven trigger URL.
    Trigger,
    /// The server itself (bootstrap).
    System,
}

impl ActorKind {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Trigger => "trigger",
            ActorKind::System => "system",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<ActorKind> {
        Some(match s {
            "user" => ActorKind::User,
            "token" => ActorKind::Token,
            "trigger" => ActorKind::Trigger,
            "system" => ActorKind::System,
            _ => return None,
        })
    }
}

/// Who is writing, recorded on every audit event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Actor {
    /// User name, token name or trigger name.
    pub name: String,
    /// What kind of principal.
    pub kind: ActorKind,
    /// The request id (`x-request-id`).
    pub request_id: Option<String>,
    /// The client address.
    pub client_addr: Option<String>,
    /// The user's or token's id (none for triggers and the server itself):
    /// kept with a change applied later, so that its requester's authority
    /// can be checked again then ([`Requester`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
}

impl Actor {
    /// The server itself.
    pub fn system() -> Actor {
        Actor { name: "system".into(), kind: ActorKind::System, request_id: None, client_addr: None, id: None }
    }

    /// The user or token behind this actor (none for other kinds).
    pub fn requester(&self) -> Option<Requester> {
        let id = self.id?;
        matches!(self.kind, ActorKind::User | ActorKind::Token).then_some(Requester { kind: self.kind, id })
    }
}

/// Who asked for a change applied later (a scheduled change's requester, a
/// change request's author), by kind and id: a name alone could be a
/// revoked token's reused by another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// `user` or `token`.
    pub kind: ActorKind,
    /// The user's or token's id.
    pub id: i64,
}

/// A requester's authority in one project now, as read by
/// `AccountStore::standing` (the policy decides what it allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The user's global role, or the token's role.
    pub role: Role,
    /// A user's membership role in the project, if any.
    pub project_role: Option<Role>,
    /// A token that was revoked.
    pub revoked: bool,
    /// A token limited to another project.
    pub out_of_scope: bool,
}

/// A user to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewUser {
    /// Login name (key pattern).
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
}

/// A user (no password hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A user with its password hash, for login only.
#[derive(Debug, Clone)]
pub struct UserWithHash {
    /// The user.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Bumped by every password change; session tokens issued under an
    /// older version are refused.
    pub password_version: i64,
}

/// Why a password is being set (the audit action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// The user changed their own password (`user.password_change`).
    Own,
    /// An admin, or `switchyard admin reset-password` on the server host,
    /// set it (`user.password_reset`).
    Reset,
}

impl PasswordChange {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            PasswordChange::Own => "user.password_change",
            PasswordChange::Reset => "user.password_reset",
        }
    }
}

/// An API token to store.
#[derive(Debug, Clone, Serialize)]
pub struct NewApiToken {
    /// Display name (also the audit actor name).
    pub name: String,
    /// Role granted.
    pub role: Role,
    /// Optional project the token is limited to.
    pub project: Option<String>,
    /// SHA-256 hex of the secret.
    pub hash: String,
    /// First characters of the secret, for display.
    pub prefix: String,
}

/// A stored API token (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Project scope, if any.
    pub project: Option<String>,
    /// First characters of the secret.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}
