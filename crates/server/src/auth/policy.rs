//! The authorization policy: one table, keyed by route (method + path
//! template), and one function, [`authorize`], that every route goes
//! through (the [`guard`](crate::http::guard) middleware runs it before any
//! handler or body extractor). A route missing from the table is refused
//! at start ([`check_routes`]) and answered 500 if it is reached anyway.
//!
//! ## Semantics
//! - **Role** (`viewer < responder < editor < admin`) must reach the
//!   route's [`Permission`]: `Read` any role, `Kill` responder and up,
//!   `Edit` editor and up, `Admin` admin only. Short of it: 403.
//! - **Project roles** (issue 19 §5): on a [`Scope::Path`] route a user's
//!   role is the higher of their global role and their membership's in the
//!   path's project (read with the user on every request, so a change
//!   applies to the next one); on every other route, their global role. A
//!   membership is granted by the project's admins ([`grant`]: never above
//!   the granter's role there; `ops::members`: never one's own), so a
//!   project admin can reach nothing outside its project.
//! - **Scope**: a principal is unscoped (users, unscoped tokens) or limited
//!   to one project (tokens created with `project`).
//!   - [`Scope::Path`]: the route names a `{project}`. Another project than
//!     the principal's answers 404, as if it did not exist (checked before
//!     the role, so nothing about other projects can be probed).
//!   - [`Scope::Own`]: no project in the path (`/me`, `/projects`,
//!     `/tokens`). Scoped principals may call it but see and touch only
//!     objects of their project: lists are filtered ([`Principal::sees`]),
//!     others' objects are 404, and a token they mint may be neither wider
//!     in scope nor higher in role than themselves ([`grant`]).
//!   - [`Scope::Global`]: unscoped principals only (403 otherwise), with
//!     their global role (a membership raises nothing): users (their roles are
//!     global, so a scoped principal cannot create users at all), creating
//!     projects, and archiving, restoring or deleting one (its path names
//!     it, but its own admins may not retire it).
//! - SDK keys, trigger secrets and the metrics token are separate
//!   credentials ([`Access`]); none of them is a principal, so none works
//!   on an admin route (401), and no principal works on their routes.

pub use check::{check_plain_routes, check_routes, operations};

#[path = "policy_check.rs"]
mod check;

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::Method;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::Role;

/// What an operation needs of a principal's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read flags, configurations, segments, audit; evaluate.
    Read,
    /// Kill and restore flags (and see their triggers).
    Kill,
    /// Edit flags, configurations and segments.
    Edit,
    /// Projects, environments, users, tokens, SDK keys, triggers, webhooks.
    Admin,
}

impl Permission {
    /// The least role granted this permission.
    pub fn least_role(self) -> Role {
        match self {
            Permission::Read => Role::Viewer,
            Permission::Kill => Role::Responder,
            Permission::Edit => Role::Editor,
            Permission::Admin => Role::Admin,
        }
    }

    /// Whether `role` is granted this permission.
    pub fn allowed_for(self, role: Role) -> bool {
        rank(role) >= rank(self.least_role())
    }
}

/// The higher of two roles.
pub fn higher(a: Role, b: Role) -> Role {
    if rank(a) >= rank(b) { a } else { b }
}

/// `viewer < responder < editor < admin`.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Responder => 1,
        Role::Editor => 2,
        Role::Admin => 3,
    }
}

/// How a route relates to the principal's project scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The path names the project (`{project}`): it must be in scope (404).
    Path,
    /// No project in the path; scoped principals see and touch only their own objects.
    Own,
    /// Unscoped principals only (403).
    Global,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a credential (login, health, docs, UI assets).
    Public,
    /// An SDK key (selects the environment).
    SdkKey,
    /// A secret in the path, checked by the handler (404 when unknown): a
    /// trigger's (before it parses the alert), an OFREP refetch stream's.
    TriggerSecret,
    /// The metrics bearer token (`--metrics-token`).
    MetricsToken,
    /// A principal (user session or API token) with this permission and scope.
    Principal(Permission, Scope),
}

/// One row of the policy table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// HTTP method (`HEAD` uses the `GET` row).
    pub method: &'static str,
    /// Route template as axum matches it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> Rule {
    Rule { method, path, access }
}

use Access::{MetricsToken, Public, SdkKey, TriggerSecret};
use Permission::{Admin, Edit, Kill, Read};
use Scope::{Global, Own, Path};

const fn p(permission: Permission) -> Access {
    Access::Principal(permission, Path)
}

macro_rules! project_path {
    ($tail:literal) => {
        concat!("/api/v1/projects/{project}", $tail)
    };
}

/// The policy table: every route of the server.
pub static POLICY: &[Rule] = &[
    // auth, users, tokens
    rule("POST", "/api/v1/auth/login", Public),
    rule("GET", "/api/v1/me", Access::Principal(Read, Own)),
    rule("GET", "/api/v1/users", Access::Principal(Admin, Global)),
    rule("POST", "/api/v1/users", Access::Principal(Admin, Global)),
    // Resetting a user's password takes over that user: unscoped admins only.
    rule("POST", "/api/v1/users/{username}/password", Access::Principal(Admin, Global)),
    // Any user changes their own (the handler refuses tokens: no password).
    rule("POST", "/api/v1/me/password", Access::Principal(Read, Own)),
    rule("GET", "/api/v1/tokens", Access::Principal(Admin, Own)),
    rule("POST", "/api/v1/tokens", Access::Principal(Admin, Own)),
    rule("DELETE", "/api/v1/tokens/{id}", Access::Principal(Admin, Own)),
    // projects and environments
    rule("GET", "/api/v1/projects", Access::Principal(Read, Own)),
    rule("POST", "/api/v1/projects", Access::Principal(Admin, Global)),
    rule("GET", project_path!(""), p(Read)),
    // a project's lifecycle: global admins only (a project admin cannot retire the project it was given)
    rule("DELETE", project_path!(""), Access::Principal(Admin, Global)),
    rule("POST", project_path!("/archive"), Access::Principal(Admin, Global)),
    rule("POST", project_path!("/unarchive"), Access::Principal(Admin, Global)),
    rule("GET", project_path!("/environments"), p(Read)),
    rule("POST", project_path!("/environments"), p(Admin)),
    // members: a project's admins grant roles in it (never above their own, never their own: ops::members)
    rule("GET", project_path!("/members"), p(Admin)),
    rule("PUT", project_path!("/members/{user}"), p(Admin)),
    rule("DELETE", project_path!("/members/{user}"), p(Admin)),
    // a project's tokens: its admins mint tokens limited to it, never above their role there (ops::accounts)
    rule("GET", project_path!("/tokens"), p(Admin)),
    rule("POST", project_path!("/tokens"), p(Admin)),
    rule("DELETE", project_path!("/tokens/{id}"), p(Admin)),
    rule("GET", project_path!("/environments/{env}"), p(Read)),
    rule("PATCH", project_path!("/environments/{env}"), p(Admin)),
    rule("DELETE", project_path!("/environments/{env}"), p(Admin)),
    rule("POST", project_path!("/environments/{env}/archive"), p(Admin)),
    rule("POST", project_path!("/environments/{env}/unarchive"), p(Admin)),
    // flags
    rule("GET", project_path!("/flags"), p(Read)),
    rule("POST", project_path!("/flags"), p(Edit)),
    rule("GET", project_path!("/flags/{flag}"), p(Read)),
    rule("PATCH", project_path!("/flags/{flag}"), p(Edit)),
    rule("DELETE", project_path!("/flags/{flag}"), p(Admin)),
    rule("POST", project_path!("/flags/{flag}/archive"), p(Admin)),
    rule("POST", project_path!("/flags/{flag}/unarchive"), p(Admin)),
    // per-environment configuration
    rule("GET", project_path!("/environments/{env}/flags/{flag}"), p(Read)),
    rule("PUT", project_path!("/environments/{env}/flags/{flag}"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/toggle"), p(Edit)),
    rule("GET", project_path!("/environments/{env}/flags/{flag}/history"), p(Read)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/revert"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/undo"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/restore"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/changes"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/changes/{id}/revert"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/evaluate"), p(Read)),
    rule("GET", project_path!("/environments/{env}/stream"), p(Read)),
    // kill switches
    rule("POST", project_path!("/environments/{env}/flags/{flag}/kill"), p(Kill)),
    rule("DELETE", project_path!("/environments/{env}/flags/{flag}/kill"), p(Kill)),
    rule("POST", project_path!("/environments/{env}/kill"), p(Kill)),
    rule("DELETE", project_path!("/environments/{env}/kill"), p(Kill)),
    rule("GET", project_path!("/environments/{env}/receipts/{revision}"), p(Read)),
    rule("GET", project_path!("/environments/{env}/blast-radius"), p(Read)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/drill"), p(Kill)),
    // segments, audit
    rule("GET", project_path!("/segments"), p(Read)),
    rule("POST", project_path!("/segments"), p(Edit)),
    rule("GET", project_path!("/segments/{segment}"), p(Read)),
    rule("PUT", project_path!("/segments/{segment}"), p(Edit)),
    rule("DELETE", project_path!("/segments/{segment}"), p(Edit)),
    rule("GET", project_path!("/audit"), p(Read)),
    rule("GET", project_path!("/incidents"), p(Read)),
    rule("GET", project_path!("/incidents/{incident}"), p(Read)),
    // SDK keys and the SDK API
    rule("GET", project_path!("/environments/{env}/sdk-keys"), p(Admin)),
    rule("POST", project_path!("/environments/{env}/sdk-keys"), p(Admin)),
    rule("DELETE", project_path!("/environments/{env}/sdk-keys/{id}"), p(Admin)),
    rule("GET", "/sdk/v1/snapshot", SdkKey),
    rule("GET", "/sdk/v1/stream", SdkKey),
    rule("POST", "/sdk/v1/ack", SdkKey),
    // OFREP (the stream's secret is the SDK key's hash, checked by the handler: 404 when unknown)
    rule("POST", "/ofrep/v1/evaluate/flags", SdkKey),
    rule("POST", "/ofrep/v1/evaluate/flags/{key}", SdkKey),
    rule("GET", "/ofrep/v1/streams/{secret}", TriggerSecret),
    rule("POST", "/sdk/v1/telemetry", SdkKey),
    rule("GET", project_path!("/environments/{env}/flags/{flag}/telemetry"), p(Read)),
    rule("GET", project_path!("/flags/{flag}/usage"), p(Read)),
    rule("GET", project_path!("/stale-flags"), p(Read)),
    // release plans (a responder may abort one: it only takes exposure away)
    rule("GET", project_path!("/release-templates"), p(Read)),
    rule("POST", project_path!("/release-templates"), p(Edit)),
    rule("GET", project_path!("/release-templates/{template}"), p(Read)),
    rule("DELETE", project_path!("/release-templates/{template}"), p(Edit)),
    rule("GET", project_path!("/environments/{env}/flags/{flag}/release"), p(Read)),
    rule("GET", project_path!("/environments/{env}/flags/{flag}/releases"), p(Read)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/release"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/release/pause"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/release/resume"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/release/abort"), p(Kill)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/release/promote"), p(Edit)),
    // scheduled changes (applied later by the scheduler, as ordinary edits)
    rule("POST", project_path!("/environments/{env}/flags/{flag}/schedule"), p(Edit)),
    rule("GET", project_path!("/environments/{env}/scheduled"), p(Read)),
    rule("GET", project_path!("/environments/{env}/scheduled/{id}"), p(Read)),
    rule("PATCH", project_path!("/environments/{env}/scheduled/{id}"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/scheduled/{id}/cancel"), p(Edit)),
    // approvals (opt-in per environment; who may approve is checked by ops::approvals)
    rule("GET", project_path!("/environments/{env}/approval-policy"), p(Read)),
    rule("PUT", project_path!("/environments/{env}/approval-policy"), p(Admin)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/change-requests"), p(Edit)),
    rule("GET", project_path!("/environments/{env}/change-requests"), p(Read)),
    rule("GET", project_path!("/environments/{env}/change-requests/{id}"), p(Read)),
    rule("POST", project_path!("/environments/{env}/change-requests/{id}/approve"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/change-requests/{id}/comments"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/change-requests/{id}/apply"), p(Edit)),
    rule("POST", project_path!("/environments/{env}/change-requests/{id}/cancel"), p(Edit)),
    rule("GET", project_path!("/environments/{env}/fleet"), p(Read)),
    // triggers
    rule("GET", project_path!("/environments/{env}/flags/{flag}/triggers"), p(Kill)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/triggers"), p(Admin)),
    rule("DELETE", project_path!("/environments/{env}/flags/{flag}/triggers/{id}"), p(Admin)),
    rule("POST", project_path!("/environments/{env}/flags/{flag}/triggers/{id}/rotate"), p(Admin)),
    rule("POST", "/hooks/v1/triggers/{secret}", TriggerSecret),
    // webhooks
    rule("GET", project_path!("/webhooks"), p(Admin)),
    rule("POST", project_path!("/webhooks"), p(Admin)),
    rule("DELETE", project_path!("/webhooks/{id}"), p(Admin)),
    rule("GET", project_path!("/webhooks/{id}/deliveries"), p(Admin)),
    // outside the OpenAPI document
    rule("GET", "/api/openapi.json", Public),
    rule("GET", "/api/docs", Public),
    rule("GET", "/api/docs.js", Public),
    rule("GET", "/api/docs.css", Public),
    rule("GET", "/favicon.ico", Public),
    rule("GET", "/", Public),
    rule("GET", "/assets/{*path}", Public),
    rule("GET", "/healthz", Public),
    rule("GET", "/readyz", Public),
    rule("GET", "/metrics", MetricsToken),
];

static INDEX: LazyLock<HashMap<(&'static str, &'static str), Access>> =
    LazyLock::new(|| POLICY.iter().map(|r| ((r.method, r.path), r.access)).collect());

/// The access rule of a matched route, if it has one.
pub fn lookup(method: &Method, path: &str) -> Option<Access> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    INDEX.get(&(method, path)).copied()
}

/// The methods that have a rule on `path` (`HEAD` with `GET`), for `Allow`.
pub fn methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = POLICY.iter().filter(|r| r.path == path).map(|r| r.method).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods
}

/// The one authorization decision for a principal: may it perform
/// `permission` on a route of `scope`, about `project` (the path's, for
/// [`Scope::Path`])? See the module docs for the rules.
pub fn authorize(
    principal: &Principal,
    permission: Permission,
    scope: Scope,
    project: Option<&str>,
) -> Result<(), ApiError> {
    match (scope, &principal.project) {
        (Scope::Global, Some(_)) => {
            return Err(ApiError::Forbidden("a credential limited to one project cannot do this"));
        }
        (Scope::Path, Some(own)) => {
            let project = project.ok_or(ApiError::Internal("a project route without {project}".into()))?;
            if project != own {
                return Err(ApiError::NotFound { what: "project", key: project.to_string() });
            }
        }
        _ => {}
    }
    if permission.allowed_for(principal.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("your role does not allow this operation"))
    }
}

/// May `principal` create a credential of `role` limited to `project`
/// (`None`: unscoped)? Never wider than itself: another project is 404,
/// unscoped from a scoped principal or a higher role is 403.
pub fn grant(principal: &Principal, role: Role, project: Option<&str>) -> Result<(), ApiError> {
    match (&principal.project, project) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::NotFound { what: "project", key: asked.to_string() });
        }
        (Some(_), None) => {
            return Err(ApiError::Forbidden(
                "a project-limited credential can only create credentials for its project",
            ));
        }
        _ => {}
    }
    if rank(role) > rank(principal.role) {
        return Err(ApiError::Forbidden("a credential cannot be given a higher role than its creator's"));
    }
    Ok(())
}

impl Principal {
    /// Whether an object of `project` (`None`: not limited to a project,
    /// such as an unscoped token) is within this principal's scope.
    pub fn sees(&self, project: Option<&str>) -> bool {
        match &self.project {
            None => true,
            Some(own) => project == Some(own.as_str()),
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
