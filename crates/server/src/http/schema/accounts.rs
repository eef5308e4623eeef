//! Schemas of accounts: roles, users, API tokens, login (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `store/types/accounts.rs`.

/// Roles, ordered by what they may do. See `auth` for the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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

/// What kind of principal made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// Who asked for a change applied later (a scheduled change's requester, a
/// change request's author), by kind and id: a name alone could be a
/// revoked token's reused by another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requester {
    /// `user` or `token`.
    pub kind: ActorKind,
    /// The user's or token's id.
    pub id: i64,
}

/// A user (no password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// A stored API token (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

// Mirrors of `ops/accounts.rs`.

/// A session token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token (JWT, HS256).
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// The user's role.
    pub role: Role,
    /// The user name.
    pub username: String,
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "alice")]
    pub username: String,
    /// Password (at least 12 characters, or the configured minimum).
    #[schema(min_length = 12)]
    pub password: String,
    /// Role.
    pub role: Role,
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Display name (the audit actor name).
    #[schema(pattern = r"\S", min_length = 1, max_length = 128, example = "pager")]
    pub name: String,
    /// Role; `responder` makes a kill-only token.
    pub role: Role,
    /// Limit the token to one project.
    #[serde(default)]
    pub project: Option<String>,
}

/// A created token; the secret is shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The secret (`sya_…`), shown once.
    pub secret: String,
    /// The stored token.
    #[schema(value_type = Object)]
    pub token: serde_json::Value,
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password (at least the configured minimum, 12 by default).
    pub new_password: String,
}

// Mirrors of `store/types/members.rs`.

/// A user's membership of a project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// User name.
    pub username: String,
    /// Role in this project.
    pub role: Role,
    /// The user's global role (the higher of the two applies here).
    pub global_role: Role,
    /// Who granted it last.
    pub granted_by: String,
    /// When.
    pub granted_at: DateTime<Utc>,
}

/// The body of `PUT …/members/{user}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    /// Role in the project (never above the granter's own there).
    pub role: Role,
}

/// One of a user's memberships (`GET /api/v1/me`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    /// Project key.
    pub project: String,
    /// Role in it.
    pub role: Role,
}
