//! Settings, users and API tokens (global, not project-scoped; their audit
//! events carry no project unless a token is scoped to one).
//!
//! Implements `AccountStore`. Owns the `settings`, `users` and `api_tokens`
//! rows; must not touch project data (a scoped token only looks its project
//! up).

use async_trait::async_trait;
use serde_json::json;

use super::This;
use super::audit::Audit;
use super::lookup;
use super::row::{Row, get};
use crate::store::AccountStore;
use crate::store::sql::common::{check_key, not_found, to_time, unique_or};
use crate::store::{
    Actor, ApiToken, NewApiToken, NewUser, PasswordChange, Result, Role, StoreError, User, UserWithHash,
};

pub(super) fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role `{s}`")))
}

pub(super) fn user_from_row(row: &Row) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        username: get(row, "username")?,
        role: role(&get::<String>(row, "role")?)?,
        created_at: to_time(get(row, "created_at")?)?,
    })
}

macro_rules! token_select {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.name, t.role, p.key AS project_key, t.prefix, t.created_by, t.created_at, t.revoked_at \
             FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id ",
            $where
        )
    };
}

fn token_from_row(row: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: role(&get::<String>(row, "role")?)?,
        project: get(row, "project_key")?,
        prefix: get(row, "prefix")?,
        created_by: get(row, "created_by")?,
        created_at: to_time(get(row, "created_at")?)?,
        revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(to_time).transpose()?,
    })
}

fn token_json(token: &ApiToken) -> serde_json::Value {
    json!({ "id": token.id, "name": token.name, "role": token.role, "project": token.project, "prefix": token.prefix })
}

#[async_trait]
impl AccountStore for This {
    async fn setting_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        guard!(key, value);
        let mut conn = self.pool.acquire().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_one(&mut *conn).await?)
    }

    async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    async fn create_user(&self, actor: &Actor, user: NewUser) -> Result<User> {
        guard!(actor, user);
        check_key(&user.username, "username")?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "user", &user.username))?;
        let created = User { id, username: user.username, role: user.role, created_at: to_time(tx.now)? };
        let after = json!({ "id": id, "username": created.username, "role": created.role });
        tx.audit(actor, Audit { action: "user.create", after: Some(after), ..Audit::default() }).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserWithHash>> {
        guard!(username);
        let row = sqlx::query(
            "SELECT id, username, role, created_at, password_hash, password_version FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(UserWithHash {
                user: user_from_row(&row)?,
                password_hash: get(&row, "password_hash")?,
                password_version: get(&row, "password_version")?,
            })
        })
        .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT id, username, role, created_at FROM users ORDER BY username")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password_hash: &str,
        why: PasswordChange,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE users SET password_hash = $2, password_version = password_version + 1 WHERE username = $1 \
             RETURNING id, username, role, created_at, password_version",
        )
        .bind(username)
        .bind(password_hash)
        .fetch_optional(tx.conn().await?)
        .await?;
        let row = row.ok_or_else(|| not_found("user", username.to_string()))?;
        let user = user_from_row(&row)?;
        let version: i64 = get(&row, "password_version")?;
        // Never the hash: who, and that the password (version) changed.
        let after = json!({ "id": user.id, "username": user.username, "password_version": version });
        tx.audit(actor, Audit { action: why.action(), after: Some(after), ..Audit::default() }).await?;
        tx.commit(self).await?;
        Ok(user)
    }

    async fn create_api_token(&self, actor: &Actor, token: NewApiToken) -> Result<ApiToken> {
        guard!(actor, token);
        let mut tx = self.begin_write().await?;
        let project_id = match &token.project {
            Some(key) => Some(lookup::project(tx.conn().await?, key).await?.id),
            None => None,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, role, project_id, hash, prefix, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(project_id)
        .bind(&token.hash)
        .bind(&token.prefix)
        .bind(&actor.name)
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "api token", &token.prefix))?;
        let created = ApiToken {
            id,
            name: token.name,
            role: token.role,
            project: token.project,
            prefix: token.prefix,
            created_by: actor.name.clone(),
            created_at: to_time(tx.now)?,
            revoked_at: None,
        };
        let audit = Audit { project_id, action: "token.create", after: Some(token_json(&created)), ..Audit::default() };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        guard!(hash);
        let row = sqlx::query(token_select!("WHERE t.hash = $1")).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(token_select!("ORDER BY t.id")).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken> {
        guard!(actor);
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(token_select!("WHERE t.id = $1")).bind(id).fetch_optional(tx.conn().await?).await?;
        let mut token = token_from_row(&row.ok_or_else(|| not_found("api token", id.to_string()))?)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1")
            .bind(id)
            .bind(tx.now)
            .execute(tx.conn().await?)
            .await?;
        token.revoked_at = Some(to_time(tx.now)?);
        let project_id: Option<i64> = sqlx::query_scalar("SELECT project_id FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(tx.conn().await?)
            .await?;
        let audit = Audit { project_id, action: "token.revoke", before: Some(token_json(&token)), ..Audit::default() };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(token)
    }
}
