//! Sessions, users, passwords and API tokens.

use serde_json::{Value, json};

use super::{Client, Error, segment};
use crate::client::catalog::project_path;
use crate::http::auth::{CreatedToken, LoginResponse, Me};
use crate::store::{ApiToken, Member, Role, SetMember, User};

impl Client {
    /// Logs in; the session (use its token with [`Client::with_token`]).
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, Error> {
        self.post("/api/v1/auth/login", &json!({"username": username, "password": password})).await
    }

    /// Logs in and returns a client bound to the new session.
    pub async fn logged_in(&self, username: &str, password: &str) -> Result<Client, Error> {
        let session = self.login(username, password).await?;
        Ok(self.with_token(&session.token))
    }

    /// A project's members.
    pub async fn members(&self, project: &str) -> Result<Vec<Member>, Error> {
        self.get(&format!("{}/members", project_path(project))).await
    }

    /// Gives `user` `role` in `project`.
    pub async fn set_member(&self, project: &str, user: &str, role: Role) -> Result<Member, Error> {
        self.put(&format!("{}/members/{}", project_path(project), segment(user)), &SetMember { role }).await
    }

    /// Ends `user`'s membership of `project`.
    pub async fn remove_member(&self, project: &str, user: &str) -> Result<Member, Error> {
        self.delete(&format!("{}/members/{}", project_path(project), segment(user)), None::<&Value>).await
    }

    /// Who the credential is.
    pub async fn me(&self) -> Result<Me, Error> {
        self.get("/api/v1/me").await
    }

    /// Changes the caller's own password; ends its other sessions and
    /// returns a new one.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<LoginResponse, Error> {
        self.post("/api/v1/me/password", &json!({"current_password": current, "new_password": new})).await
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        self.get("/api/v1/users").await
    }

    /// Creates a user.
    pub async fn create_user(&self, username: &str, password: &str, role: Role) -> Result<User, Error> {
        self.post("/api/v1/users", &json!({"username": username, "password": password, "role": role})).await
    }

    /// Sets another user's password (admin); ends that user's sessions.
    pub async fn reset_password(&self, username: &str, password: &str) -> Result<User, Error> {
        self.post(&format!("/api/v1/users/{}/password", segment(username)), &json!({ "password": password })).await
    }

    /// Every API token the credential sees.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, Error> {
        self.get("/api/v1/tokens").await
    }

    /// Creates an API token of `role`, optionally limited to `project`; its
    /// secret is in the answer only.
    pub async fn create_token(&self, name: &str, role: Role, project: Option<&str>) -> Result<CreatedToken, Error> {
        self.post("/api/v1/tokens", &json!({"name": name, "role": role, "project": project})).await
    }

    /// Revokes an API token.
    pub async fn revoke_token(&self, id: i64) -> Result<ApiToken, Error> {
        self.delete(&format!("/api/v1/tokens/{id}"), None::<&Value>).await
    }

    /// The API tokens limited to `project` (its admins).
    pub async fn project_tokens(&self, project: &str) -> Result<Vec<ApiToken>, Error> {
        self.get(&format!("/api/v1/projects/{}/tokens", segment(project))).await
    }

    /// Creates an API token limited to `project` (its admins; never above
    /// the caller's role there); its secret is in the answer only.
    pub async fn create_project_token(&self, project: &str, name: &str, role: Role) -> Result<CreatedToken, Error> {
        self.post(&format!("/api/v1/projects/{}/tokens", segment(project)), &json!({"name": name, "role": role})).await
    }

    /// Revokes an API token limited to `project`.
    pub async fn revoke_project_token(&self, project: &str, id: i64) -> Result<ApiToken, Error> {
        self.delete(&format!("/api/v1/projects/{}/tokens/{id}", segment(project)), None::<&Value>).await
    }
}
