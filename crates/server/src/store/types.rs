//! Domain types exchanged between the store and the HTTP layer. Most are
//! also the JSON bodies of the admin API (hence `ToSchema`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_core::{FlagKind, Rule, Serve, Target, ValidationErrors, Variant};
use utoipa::ToSchema;

pub use switchyard_core::{ChangeEvent, Kill, Segment, Snapshot};

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database backs a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// PostgreSQL: production, multi-replica.
    Postgres,
    /// Embedded SQLite: single instance.
    Sqlite,
}

/// Store failures. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Unknown object, or an object of another project (404).
    #[error("{what} `{key}` not found")]
    NotFound {
        /// Kind of object, e.g. `flag`.
        what: &'static str,
        /// Its key or id.
        key: String,
    },
    /// Unique key taken (409, code `already_exists`).
    #[error("{what} `{key}` already exists")]
    AlreadyExists {
        /// Kind of object.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// Stale version or a state that forbids the write (409).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `version_conflict`, `segment_in_use`.
        code: &'static str,
        /// Human message.
        message: String,
        /// The current version, when the conflict is a stale version.
        current_version: Option<u64>,
    },
    /// A write refused because of the listed fields' state (409), e.g. an
    /// undo whose fields later changes touched.
    #[error("{message}")]
    FieldConflict {
        /// Stable code, e.g. `undo_conflict`.
        code: &'static str,
        /// Human message naming the fields.
        message: String,
        /// One entry per field (`path` = the field).
        fields: ValidationErrors,
    },
    /// Invalid input with field paths (422).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A string no backend may store (NUL, control characters: see
    /// [`crate::text`]); refused before any SQL runs (400 `invalid_text`).
    #[error(transparent)]
    InvalidText(#[from] crate::text::TextError),
    /// Database failure (500; details logged, never sent).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migration failure at start.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that no longer decodes (500).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

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
}

impl Actor {
    /// The server itself.
    pub fn system() -> Actor {
        Actor { name: "system".into(), kind: ActorKind::System, request_id: None, client_addr: None }
    }
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

/// A project to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewProject {
    /// Key (`[a-z0-9][a-z0-9_.-]{0,127}`).
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "new-checkout")]
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Project {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An environment to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewEnvironment {
    /// Key, e.g. `production`.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "new-checkout")]
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
}

/// An environment with its current revision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Environment {
    /// Internal id (SDK keys point at it).
    #[serde(skip)]
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Monotonically increasing revision of everything SDKs can see.
    pub revision: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A flag to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewFlag {
    /// Key.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "new-checkout")]
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Value type.
    #[schema(value_type = String)]
    pub kind: FlagKind,
    /// Variants; for boolean flags defaults to `on: true`, `off: false`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub variants: Vec<Variant>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Owner (team or person).
    #[serde(default)]
    pub owner: Option<String>,
    /// Temporary (release flag, to be removed) or permanent.
    #[serde(default = "default_true")]
    pub temporary: bool,
    /// Variant served when off (default: `off` for booleans, else the last variant).
    #[serde(default)]
    pub off_variant: Option<String>,
    /// Variant served when on (default: `on` for booleans, else the first variant).
    #[serde(default)]
    pub on_variant: Option<String>,
    /// Bucketing salt (default: random). Give one to keep every user in the
    /// same rollout bucket when moving a flag between projects or from
    /// another system; the empty string means "the flag key".
    #[serde(default)]
    pub salt: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Partial update of a flag definition (absent fields unchanged).
#[derive(Debug, Clone, Serialize, Default, Deserialize, ToSchema)]
pub struct FlagPatch {
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Variants (the kind cannot change).
    #[schema(value_type = Option<Vec<Object>>)]
    pub variants: Option<Vec<Variant>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Owner.
    pub owner: Option<String>,
    /// Temporary or permanent.
    pub temporary: Option<bool>,
}

/// A flag definition (environment-independent).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagDefinition {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Value type.
    #[schema(value_type = String)]
    pub kind: FlagKind,
    /// Variants.
    #[schema(value_type = Vec<Object>)]
    pub variants: Vec<Variant>,
    /// Tags.
    pub tags: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Temporary or permanent.
    pub temporary: bool,
    /// Rollout hash salt (fixed at creation).
    pub salt: String,
    /// Definition version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last definition change.
    pub updated_at: DateTime<Utc>,
}

/// The per-environment configuration of a flag, as edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlagConfig {
    /// Targeting on/off.
    pub on: bool,
    /// Variant served when off or killed.
    pub off_variant: String,
    /// Kill state (read-only here: ignored on write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub kill: Option<Kill>,
    /// Individual targets.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub targets: Vec<Target>,
    /// Ordered rules.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Rule>,
    /// Served when nothing else matched.
    #[schema(value_type = Object)]
    pub fallthrough: Serve,
    /// Variant SDKs serve when they have no or too-old data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_safe_variant: Option<String>,
}

/// A configuration with its version and last change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagConfigRecord {
    /// Flag key.
    pub flag: String,
    /// Environment key.
    pub environment: String,
    /// Version (1 on creation, +1 per write).
    pub version: u64,
    /// The configuration.
    pub config: FlagConfig,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
    /// Who wrote this version.
    pub updated_by: String,
}

/// Result of a write: the value, whether anything changed, and the new
/// environment revision (absent when nothing changed).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Written<T> {
    /// The resulting state.
    pub value: T,
    /// `false` when the write was a no-op (no audit, no revision).
    pub changed: bool,
    /// The environment revision after the write.
    pub revision: Option<u64>,
}

/// Filter and page of the flag list.
#[derive(Debug, Clone, Serialize, Default, Deserialize, ToSchema)]
pub struct FlagQuery {
    /// Only flags with this tag.
    pub tag: Option<String>,
    /// Case-insensitive text in key, name or description.
    pub q: Option<String>,
    /// `on`, `off` or `killed` (needs `environment`).
    pub state: Option<String>,
    /// Environment for the state filter.
    pub environment: Option<String>,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size (default 100, max 1000).
    pub limit: Option<u32>,
}

/// One environment's state in a flag list row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagEnvState {
    /// Environment key.
    pub environment: String,
    /// On/off.
    pub on: bool,
    /// Killed.
    pub killed: bool,
    /// Configuration version.
    pub version: u64,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
    /// Last change author.
    pub updated_by: String,
}

/// A flag list row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagSummary {
    /// The definition.
    #[serde(flatten)]
    pub flag: FlagDefinition,
    /// Per-environment state.
    pub environments: Vec<FlagEnvState>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Kill one or more flags.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KillRequest {
    /// Flag keys.
    pub flags: Vec<String>,
    /// Why (required, non-empty).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
    /// Whether this is the panic button (webhooks get `env.panic` instead
    /// of `flag.killed`).
    #[serde(default)]
    pub panic: bool,
}

/// Restore an environment to a point in time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestoreRequest {
    /// The time to go back to.
    pub at: DateTime<Utc>,
    /// Why.
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Compute the diff only.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a restore changes (or would change) for one flag.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestoreDiff {
    /// Flag key.
    pub flag: String,
    /// Current version.
    pub from_version: u64,
    /// The version restored (`None`: the flag did not exist at `at`; it is switched off).
    pub to_version: Option<u64>,
    /// Current configuration.
    pub before: FlagConfig,
    /// Configuration after the restore.
    pub after: FlagConfig,
}

/// One item of a change set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfigChange {
    /// Flag key.
    pub flag: String,
    /// Expected current version.
    pub version: u64,
    /// New configuration.
    pub config: FlagConfig,
}

/// Several configuration changes applied as one revision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeSetRequest {
    /// The changes.
    #[schema(min_items = 1)]
    pub changes: Vec<ConfigChange>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An applied change set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeSetResult {
    /// Change-set id (audit events carry it; revert by it).
    pub id: String,
    /// The new configurations.
    pub configs: Vec<FlagConfigRecord>,
}

/// A segment as written.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SegmentInput {
    /// Key.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "new-checkout")]
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Keys always included.
    #[serde(default)]
    pub included: Vec<String>,
    /// Keys always excluded.
    #[serde(default)]
    pub excluded: Vec<String>,
    /// Rules (any match → in segment).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<switchyard_core::SegmentRule>,
}

/// A stored segment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SegmentRecord {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The segment as SDKs see it (key, version, included, excluded, rules).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub segment: Segment,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
}

/// Audit filters.
#[derive(Debug, Clone, Serialize, Default, Deserialize, ToSchema)]
pub struct AuditQuery {
    /// Environment key.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Actor name.
    pub actor: Option<String>,
    /// Events at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events before.
    pub to: Option<DateTime<Utc>>,
    /// Opaque cursor.
    pub cursor: Option<String>,
    /// Page size (default 100, max 1000).
    pub limit: Option<u32>,
}

/// One audit event. Append-only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Id (monotonic).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key, for environment-scoped changes.
    pub environment: Option<String>,
    /// Flag key, for flag changes.
    pub flag: Option<String>,
    /// Segment key, for segment changes.
    pub segment: Option<String>,
    /// Actor name.
    pub actor: String,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Action, e.g. `flag.toggle`, `flag.kill`.
    pub action: String,
    /// Reason given.
    pub reason: Option<String>,
    /// State before (JSON).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// State after (JSON).
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    /// Environment revision produced.
    pub revision: Option<u64>,
    /// Request id.
    pub request_id: Option<String>,
    /// Client address.
    pub client_addr: Option<String>,
    /// Group id (change set, panic kill).
    pub group_id: Option<String>,
    /// Time.
    pub at: DateTime<Utc>,
}

/// An SDK key to store.
#[derive(Debug, Clone, Serialize)]
pub struct NewSdkKey {
    /// Display name.
    pub name: String,
    /// SHA-256 hex of the secret.
    pub hash: String,
    /// First characters of the secret.
    pub prefix: String,
}

/// A stored SDK key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SdkKey {
    /// Id.
    pub id: i64,
    /// Environment id it is bound to.
    #[serde(skip)]
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Display name.
    pub name: String,
    /// First characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A committed change of one environment, handed to the [`super::ChangeSink`].
#[derive(Debug, Clone)]
pub struct EnvChange {
    /// Environment id.
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// The event (its `revision` is the new environment revision).
    pub event: ChangeEvent,
}

// ---- alert triggers and outgoing webhooks ----

/// What a trigger does when an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Kill the flag.
    Kill,
    /// Restore (un-kill) the flag.
    Restore,
}

impl TriggerAction {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerAction::Kill => "kill",
            TriggerAction::Restore => "restore",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<TriggerAction> {
        Some(match s {
            "kill" => TriggerAction::Kill,
            "restore" => TriggerAction::Restore,
            _ => return None,
        })
    }
}

/// The stored form of a secret: its SHA-256 and a displayable prefix.
#[derive(Debug, Clone, Serialize)]
pub struct SecretHash {
    /// SHA-256 hex of the secret.
    pub hash: String,
    /// First characters of the secret, for display.
    pub prefix: String,
}

/// A trigger to store (the caller generated and hashed the secret).
#[derive(Debug, Clone, Serialize)]
pub struct NewTrigger {
    /// Display name; also the audit actor name of what it does.
    pub name: String,
    /// What a firing alert does.
    pub action: TriggerAction,
    /// Whether a "resolved" notification restores the flag (kill triggers only).
    pub restore_on_resolve: bool,
    /// The secret of its URL.
    pub secret: SecretHash,
}

/// A stored trigger (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Trigger {
    /// Id.
    pub id: i64,
    /// Environment id.
    #[serde(skip)]
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// Display name (the audit actor of its kills).
    pub name: String,
    /// What a firing alert does.
    pub action: TriggerAction,
    /// Whether a "resolved" notification restores the flag.
    pub restore_on_resolve: bool,
    /// First characters of the secret.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was deleted (disabled triggers answer 404).
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Which notifications a webhook receives (its subscription), and the event
/// type of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum WebhookEvent {
    /// A flag was killed (one flag, by a person, a token or a trigger).
    #[serde(rename = "flag.killed")]
    FlagKilled,
    /// Killed flags were restored.
    #[serde(rename = "flag.restored")]
    FlagRestored,
    /// The panic button: a set of flags killed at once.
    #[serde(rename = "env.panic")]
    EnvPanic,
    /// Any other change SDKs can see: toggles, configurations, reverts,
    /// restores to a time, change sets, flag definitions, segments.
    #[serde(rename = "flag.changed")]
    FlagChanged,
    /// Subscription only: every event type.
    #[serde(rename = "*")]
    All,
}

impl WebhookEvent {
    /// The subscription of a webhook created without `events`.
    pub const DEFAULT: [WebhookEvent; 3] =
        [WebhookEvent::FlagKilled, WebhookEvent::FlagRestored, WebhookEvent::EnvPanic];

    /// Every name, in the order of the variants.
    pub const NAMES: [&'static str; 5] = ["flag.killed", "flag.restored", "env.panic", "flag.changed", "*"];

    /// The stable name (`flag.killed`, …, `*`), as sent in `X-Switchyard-Event`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses a name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<WebhookEvent> {
        const ALL: [WebhookEvent; 5] = [
            WebhookEvent::FlagKilled,
            WebhookEvent::FlagRestored,
            WebhookEvent::EnvPanic,
            WebhookEvent::FlagChanged,
            WebhookEvent::All,
        ];
        ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// A webhook to store.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (validated by the caller).
    pub url: String,
    /// Which notifications it receives (non-empty).
    pub events: Vec<WebhookEvent>,
    /// The HMAC signing secret (stored as is: signing needs it).
    pub secret: String,
    /// First characters of the secret, for display.
    pub prefix: String,
}

/// A stored webhook (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Delivery URL.
    pub url: String,
    /// Which notifications it receives.
    pub events: Vec<WebhookEvent>,
    /// First characters of the signing secret.
    pub secret_prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was deleted (no more deliveries).
    pub disabled_at: Option<DateTime<Utc>>,
}

impl Webhook {
    /// Whether it receives notifications of `event`.
    pub fn wants(&self, event: WebhookEvent) -> bool {
        Self::subscribed(&self.events, event)
    }

    /// Whether a subscription covers `event`.
    pub fn subscribed(subscription: &[WebhookEvent], event: WebhookEvent) -> bool {
        subscription.iter().any(|e| *e == event || *e == WebhookEvent::All)
    }
}

/// An active webhook with its signing secret, for delivery only.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// The webhook.
    pub webhook: Webhook,
    /// The HMAC signing secret.
    pub secret: String,
}
