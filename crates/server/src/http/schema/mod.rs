//! The OpenAPI schemas of the types the API shares with the store, the ops
//! and delivery.
//!
//! Those layers carry no HTTP documentation: their types derive serde
//! only, and `utoipa` may not appear under `store/`, `ops/` or `delivery/`
//! (`tools/layering.py`, run by `tools/modcycles.py` and CI). Each such
//! type is mirrored here by a copy of its declaration — the same doc
//! comments, serde attributes, fields and variants, plus `ToSchema` and
//! the `#[schema(...)]` hints — and [`mirror!`] gives the original the
//! mirror's schema (name, schema, referenced schemas). Handlers keep
//! naming the original types in `#[utoipa::path]` (`body = Flag`), and the
//! document is what the derive on the original produced.
//!
//! Owns schemas only: no handlers, no logic, nothing constructs a mirror.
//!
//! ## Where a new schema goes
//! - A type declared in `http/` (a request or response only the handler
//!   knows): derive `ToSchema` where it is declared, not here.
//! - A type declared in `store/`, `ops/` or `delivery/` that the API sends
//!   or receives: derive serde only there; copy its declaration into this
//!   module's file of its area (derive `ToSchema`, add the `#[schema]`
//!   hints) and add a line `crate::path::Type => area::Type;` to the
//!   [`mirror!`] call below. `tools/layering.py` fails when a mirror and
//!   its original differ in anything but `ToSchema` and `#[schema]` lines.
//!
//! ## Layout (by area)
//! - [`common`]: `Written<T>`, `Page<T>`.
//! - [`accounts`], [`audit`], [`flags`], [`kill`] (kills, change sets,
//!   receipts of a kill), [`projects`], [`sdk`], [`segments`], [`triggers`],
//!   [`webhooks`], [`outbox`] (webhook deliveries), [`revert`],
//!   [`receipts`], [`telemetry`], [`release`], [`fleet`] (connected SDK instances, blast radius),
//!   [`incident`] (incident timelines), [`insights`] (flag usage, stale flags), [`drill`] (rollback drills),
//!   [`schedule`] (scheduled changes), [`lifecycle`] (archive, restore from the archive).

pub mod accounts;
pub mod approvals;
pub mod audit;
pub mod common;
pub mod drill;
pub mod flags;
pub mod fleet;
pub mod incident;
pub mod insights;
pub mod kill;
pub mod lifecycle;
pub mod outbox;
pub mod projects;
pub mod receipts;
pub mod release;
pub mod revert;
pub mod schedule;
pub mod sdk;
pub mod segments;
pub mod telemetry;
pub mod triggers;
pub mod webhooks;

// Mirrors of other crates' types, which cannot get an impl here (the
// orphan rule): handlers name the mirror in `#[utoipa::path]` and
// deserialize the original; `tools/layering.py` checks these lines too.
// switchyard_core::protocol::Ack => sdk::Ack;
// switchyard_core::model::Prerequisite => flags::Prerequisite;
// switchyard_core::protocol::telemetry::TelemetryBatch => telemetry::TelemetryBatch;
// switchyard_core::protocol::telemetry::EvaluationCount => telemetry::EvaluationCount;
// switchyard_core::protocol::telemetry::OutcomeCount => telemetry::OutcomeCount;
// switchyard_core::protocol::telemetry::EventCount => telemetry::EventCount;
// switchyard_core::protocol::telemetry::VariantEventCount => telemetry::VariantEventCount;

/// Gives each original type (left) the `ToSchema` of its mirror (right):
/// the same name, schema and referenced schemas, so the document is what
/// a derive on the original would produce. Generic types name their
/// parameter first: `@T crate::store::Page<T> => common::Page<T>;`.
///
/// Implements utoipa's `__dev::ComposeSchema` (the trait its derive
/// implements, and what it calls for generic types; `PartialSchema`
/// follows from it) and `ToSchema`. utoipa is pinned to 5.x in the
/// workspace; a change of that trait fails here at compile time.
macro_rules! mirror {
    ($($(@$t:ident)? $original:ty => $mirror:ty;)*) => {$(
        impl$(<$t: utoipa::ToSchema>)? utoipa::__dev::ComposeSchema for $original {
            fn compose(
                generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
            ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <$mirror as utoipa::__dev::ComposeSchema>::compose(generics)
            }
        }

        impl$(<$t: utoipa::ToSchema>)? utoipa::ToSchema for $original {
            fn name() -> std::borrow::Cow<'static, str> {
                <$mirror as utoipa::ToSchema>::name()
            }

            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                <$mirror as utoipa::ToSchema>::schemas(schemas)
            }
        }
    )*};
}

mirror! {
    crate::store::Role => accounts::Role;
    crate::store::ActorKind => accounts::ActorKind;
    crate::store::Requester => accounts::Requester;
    crate::store::User => accounts::User;
    crate::store::ApiToken => accounts::ApiToken;
    crate::store::Member => accounts::Member;
    crate::store::SetMember => accounts::SetMember;
    crate::store::Membership => accounts::Membership;
    crate::store::AuditQuery => audit::AuditQuery;
    crate::store::AuditEvent => audit::AuditEvent;
    crate::store::IncidentSummary => audit::IncidentSummary;
    crate::store::NewFlag => flags::NewFlag;
    crate::store::FlagPatch => flags::FlagPatch;
    crate::store::FlagDefinition => flags::FlagDefinition;
    crate::store::FlagConfig => flags::FlagConfig;
    crate::store::FlagConfigRecord => flags::FlagConfigRecord;
    crate::store::FlagQuery => flags::FlagQuery;
    crate::store::FlagEnvState => flags::FlagEnvState;
    crate::store::FlagSummary => flags::FlagSummary;
    crate::store::KillRequest => kill::KillRequest;
    crate::store::RestoreRequest => kill::RestoreRequest;
    crate::store::RestoreDiff => kill::RestoreDiff;
    crate::store::ConfigChange => kill::ConfigChange;
    crate::store::ChangeSetRequest => kill::ChangeSetRequest;
    crate::store::ChangeSetResult => kill::ChangeSetResult;
    @T crate::store::Written<T> => common::Written<T>;
    @T crate::store::Page<T> => common::Page<T>;
    crate::store::NewProject => projects::NewProject;
    crate::store::Project => projects::Project;
    crate::store::NewEnvironment => projects::NewEnvironment;
    crate::store::EnvironmentPatch => projects::EnvironmentPatch;
    crate::store::Environment => projects::Environment;
    crate::store::SdkKey => sdk::SdkKey;
    crate::store::SegmentInput => segments::SegmentInput;
    crate::store::SegmentRecord => segments::SegmentRecord;
    crate::store::TriggerAction => triggers::TriggerAction;
    crate::store::Trigger => triggers::Trigger;
    crate::store::WebhookEvent => webhooks::WebhookEvent;
    crate::store::Webhook => webhooks::Webhook;
    crate::store::revert::FieldChange => revert::FieldChange;
    crate::store::revert::ConfigDiff => revert::ConfigDiff;
    crate::store::revert::Reverted => revert::Reverted;
    crate::store::outbox::DeliveryActor => outbox::DeliveryActor;
    crate::store::outbox::Delivery => outbox::Delivery;
    crate::store::outbox::DeliveryStatus => outbox::DeliveryStatus;
    crate::store::outbox::DeliveryRecord => outbox::DeliveryRecord;
    @T crate::ops::applied::Receipted<T> => kill::Receipted<T>;
    crate::ops::accounts::LoginResponse => accounts::LoginResponse;
    crate::ops::accounts::CreateUser => accounts::CreateUser;
    crate::ops::accounts::CreateToken => accounts::CreateToken;
    crate::ops::accounts::CreatedToken => accounts::CreatedToken;
    crate::ops::accounts::ChangePassword => accounts::ChangePassword;
    crate::ops::telemetry_series::FlagTelemetry => telemetry::FlagTelemetry;
    crate::ops::telemetry_series::VariantSeries => telemetry::VariantSeries;
    crate::ops::telemetry_series::Point => telemetry::Point;
    crate::ops::telemetry_series::Stats => telemetry::Stats;
    crate::ops::telemetry_series::EventTotals => telemetry::EventTotals;
    crate::ops::triggers::HookOutcome => triggers::HookOutcome;
    crate::delivery::receipts::Receipt => receipts::Receipt;
    crate::delivery::roster::Identity => fleet::Identity;
    crate::delivery::roster::Transport => fleet::Transport;
    crate::delivery::roster::InstanceRow => fleet::InstanceRow;
    crate::ops::fleet::FleetView => fleet::FleetView;
    crate::ops::blast::BlastRadius => fleet::BlastRadius;
    crate::ops::blast::FlagReach => fleet::FlagReach;
    crate::ops::blast::VariantShare => fleet::VariantShare;
    crate::ops::blast::ServiceReach => fleet::ServiceReach;
    crate::ops::usage::FlagUsage => insights::FlagUsage;
    crate::ops::usage::EnvUsage => insights::EnvUsage;
    crate::ops::usage::ServiceUsage => insights::ServiceUsage;
    crate::ops::stale::StaleReport => insights::StaleReport;
    crate::ops::stale::StaleFlag => insights::StaleFlag;
    crate::ops::stale::StaleReason => insights::StaleReason;
    crate::ops::incident::EventKind => incident::EventKind;
    crate::ops::incident::AppliedReceipt => incident::AppliedReceipt;
    crate::ops::incident::TimelineEvent => incident::TimelineEvent;
    crate::ops::incident::IncidentTimes => incident::IncidentTimes;
    crate::ops::incident::Timeline => incident::Timeline;
    crate::ops::drill::DrillRequest => drill::DrillRequest;
    crate::ops::drill::DrillStep => drill::DrillStep;
    crate::ops::drill::DrillReport => drill::DrillReport;
    crate::ops::lifecycle::ArchiveRequest => lifecycle::ArchiveRequest;
    crate::ops::lifecycle::UnarchiveRequest => lifecycle::UnarchiveRequest;
    crate::ops::lifecycle::ArchiveOutcome => lifecycle::ArchiveOutcome;
    crate::ops::lifecycle::ArchiveUse => lifecycle::ArchiveUse;
    crate::ops::lifecycle_env::EnvArchiveRequest => lifecycle::EnvArchiveRequest;
    crate::ops::lifecycle_env::EnvArchiveOutcome => lifecycle::EnvArchiveOutcome;
    crate::ops::lifecycle_project::ProjectArchiveOutcome => lifecycle::ProjectArchiveOutcome;
    crate::ops::kill_requests::KillOne => kill::KillOne;
    crate::ops::kill_requests::UnkillRequest => kill::UnkillRequest;
    crate::ops::kill_requests::PanicRequest => kill::PanicRequest;
    crate::store::ReleaseStage => release::ReleaseStage;
    crate::store::ReleaseGuards => release::ReleaseGuards;
    crate::store::EventDirection => release::EventDirection;
    crate::store::StageEntry => release::StageEntry;
    crate::store::NewReleaseTemplate => release::NewReleaseTemplate;
    crate::store::ReleaseTemplate => release::ReleaseTemplate;
    crate::store::StartRelease => release::StartRelease;
    crate::store::PlanState => release::PlanState;
    crate::store::ReleasePlan => release::ReleasePlan;
    crate::store::ConfigPatch => schedule::ConfigPatch;
    crate::store::ScheduleState => schedule::ScheduleState;
    crate::store::NewScheduledChange => schedule::NewScheduledChange;
    crate::store::ScheduleEdit => schedule::ScheduleEdit;
    crate::store::ScheduledChange => schedule::ScheduledChange;
    crate::store::ApprovalPolicy => approvals::ApprovalPolicy;
    crate::store::ChangeRequestState => approvals::ChangeRequestState;
    crate::store::NewChangeRequest => approvals::NewChangeRequest;
    crate::store::NoteKind => approvals::NoteKind;
    crate::store::ChangeRequestNote => approvals::ChangeRequestNote;
    crate::store::ChangeRequest => approvals::ChangeRequest;
}
