//! Per-project user roles (issue 19 §5).
//!
//! Implements `MemberStore`. Owns the `project_members` rows; reads users
//! (through `accounts`' row decoding) and projects, writes nothing else.

use async_trait::async_trait;

use super::This;
use super::accounts::{role, user_from_row};
use super::audit::Audit;
use super::lookup;
use super::row::{Row, get};
use crate::store::MemberStore;
use crate::store::sql::common::{not_found, to_json, to_time};
use crate::store::{
    Actor, ActorKind, Member, Membership, Requester, Result, Role, SessionUser, Standing, UserWithHash,
};

const MEMBER: &str = "SELECT u.username, m.role, u.role AS global_role, m.granted_by, m.granted_at \
                      FROM project_members m JOIN users u ON u.id = m.user_id";

fn member_from_row(row: &Row) -> Result<Member> {
    Ok(Member {
        username: get(row, "username")?,
        role: role(&get::<String>(row, "role")?)?,
        global_role: role(&get::<String>(row, "global_role")?)?,
        granted_by: get(row, "granted_by")?,
        granted_at: to_time(get(row, "granted_at")?)?,
    })
}

async fn member(conn: &mut super::row::Conn, project_id: i64, user_id: i64) -> Result<Option<Member>> {
    let sql = format!("{MEMBER} WHERE m.project_id = $1 AND m.user_id = $2");
    let row = sqlx::query(&sql).bind(project_id).bind(user_id).fetch_optional(conn).await?;
    row.as_ref().map(member_from_row).transpose()
}

async fn user_id(conn: &mut super::row::Conn, username: &str) -> Result<i64> {
    let id = sqlx::query_scalar("SELECT id FROM users WHERE username = $1").bind(username).fetch_optional(conn).await?;
    id.ok_or_else(|| not_found("user", username))
}

#[async_trait]
impl MemberStore for This {
    async fn list_members(&self, project: &str) -> Result<Vec<Member>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        let sql = format!("{MEMBER} WHERE m.project_id = $1 ORDER BY u.username");
        let rows = sqlx::query(&sql).bind(p.id).fetch_all(&mut *conn).await?;
        rows.iter().map(member_from_row).collect()
    }

    async fn set_member(&self, actor: &Actor, project: &str, username: &str, new_role: Role) -> Result<Member> {
        guard!(actor, project, username);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        let user = user_id(tx.conn().await?, username).await?;
        let before = member(tx.conn().await?, p.id, user).await?;
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, \
             granted_at = excluded.granted_at",
        )
        .bind(p.id)
        .bind(user)
        .bind(new_role.as_str())
        .bind(&actor.name)
        .bind(tx.now)
        .execute(tx.conn().await?)
        .await?;
        let after = member(tx.conn().await?, p.id, user).await?.ok_or_else(|| not_found("member", username))?;
        let audit = Audit {
            project_id: Some(p.id),
            action: "member.set",
            before: before.as_ref().map(to_json).transpose()?,
            after: Some(to_json(&after)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(after)
    }

    async fn remove_member(&self, actor: &Actor, project: &str, username: &str) -> Result<Member> {
        guard!(actor, project, username);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        let user = user_id(tx.conn().await?, username).await?;
        let before = member(tx.conn().await?, p.id, user).await?.ok_or_else(|| not_found("member", username))?;
        sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(p.id)
            .bind(user)
            .execute(tx.conn().await?)
            .await?;
        let audit = Audit {
            project_id: Some(p.id),
            action: "member.remove",
            before: Some(to_json(&before)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(before)
    }

    async fn memberships(&self, username: &str) -> Result<Vec<Membership>> {
        guard!(username);
        let rows = sqlx::query(
            "SELECT p.key, m.role FROM project_members m JOIN users u ON u.id = m.user_id \
             JOIN projects p ON p.id = m.project_id WHERE u.username = $1 ORDER BY p.key",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        let membership = |r: &Row| Ok(Membership { project: get(r, "key")?, role: role(&get::<String>(r, "role")?)? });
        rows.iter().map(membership).collect()
    }

    async fn session_user(&self, username: &str, project: Option<&str>) -> Result<Option<SessionUser>> {
        guard!(username, project);
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.created_at, u.password_hash, u.password_version, \
             (SELECT m.role FROM project_members m JOIN projects p ON p.id = m.project_id \
              WHERE m.user_id = u.id AND p.key = $2) AS project_role \
             FROM users u WHERE u.username = $1",
        )
        .bind(username)
        .bind(project)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = UserWithHash {
            user: user_from_row(&row)?,
            password_hash: get(&row, "password_hash")?,
            password_version: get(&row, "password_version")?,
        };
        let project_role = get::<Option<String>>(&row, "project_role")?.map(|r| role(&r)).transpose()?;
        Ok(Some(SessionUser { user, project_role }))
    }

    async fn standing(&self, who: Requester, project: &str) -> Result<Option<Standing>> {
        guard!(project);
        let sql = match who.kind {
            ActorKind::User => {
                "SELECT u.role, (SELECT m.role FROM project_members m JOIN projects p ON p.id = m.project_id \
                 WHERE m.user_id = u.id AND p.key = $2) AS project_role, CAST(0 AS BIGINT) AS revoked, \
                 CAST(0 AS BIGINT) AS out_of_scope FROM users u WHERE u.id = $1"
            }
            ActorKind::Token => {
                "SELECT t.role, CAST(NULL AS TEXT) AS project_role, \
                 CAST(CASE WHEN t.revoked_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS revoked, \
                 CAST(CASE WHEN t.project_id IS NULL OR p.key = $2 THEN 0 ELSE 1 END AS BIGINT) AS out_of_scope \
                 FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = $1"
            }
            ActorKind::Trigger | ActorKind::System => return Ok(None),
        };
        let row = sqlx::query(sql).bind(who.id).bind(project).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Standing {
            role: role(&get::<String>(&row, "role")?)?,
            project_role: get::<Option<String>>(&row, "project_role")?.map(|r| role(&r)).transpose()?,
            revoked: get::<i64>(&row, "revoked")? != 0,
            out_of_scope: get::<i64>(&row, "out_of_scope")? != 0,
        }))
    }
}
