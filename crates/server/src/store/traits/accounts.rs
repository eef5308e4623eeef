//! The accounts area of the store: settings, users, API tokens.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, ApiToken, NewApiToken, NewUser, PasswordChange, Result, User, UserWithHash};

/// Settings, users and API tokens (global, not project-scoped).
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Returns the stored value for `key`, or stores `value` and returns it
    /// when absent (atomic "get or insert").
    async fn setting_get_or_insert(&self, key: &str, value: &str) -> Result<String>;
    /// Number of users (0 on a fresh database: the server bootstraps `admin`).
    async fn user_count(&self) -> Result<i64>;
    /// Creates a user. `AlreadyExists` if the name is taken.
    async fn create_user(&self, actor: &Actor, user: NewUser) -> Result<User>;
    /// Looks a user up by name, including the password hash.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserWithHash>>;
    /// Lists users.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Sets a user's password hash and bumps its password version (ending
    /// its sessions), audited without the hash. `NotFound` if unknown.
    async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password_hash: &str,
        why: PasswordChange,
    ) -> Result<User>;
    /// Stores a new API token (the caller hashed the secret).
    async fn create_api_token(&self, actor: &Actor, token: NewApiToken) -> Result<ApiToken>;
    /// Finds a token by the hash of its secret (revoked ones included, with `revoked_at`).
    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    /// Lists tokens (never secrets).
    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revokes a token by id. `NotFound` if unknown; idempotent if already revoked.
    async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken>;
}
