//! Per-project user roles (issue 19 §5): a user's role in one project. A
//! user's role in a project is the higher of their global role and their
//! membership's; elsewhere it is their global role.
//!
//! Owns these types only; who may grant what is `ops::members`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Role, UserWithHash};

/// A user's membership of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    /// Role in the project (never above the granter's own there).
    pub role: Role,
}

/// One of a user's memberships (`GET /api/v1/me`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    /// Project key.
    pub project: String,
    /// Role in it.
    pub role: Role,
}

/// A session's user, read on every request with a session token, with
/// their membership role in the project the request names.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The user (role, password version).
    pub user: UserWithHash,
    /// Their membership role in the request's project, if any.
    pub project_role: Option<Role>,
}
