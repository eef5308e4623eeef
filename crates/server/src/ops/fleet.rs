//! The fleet view: every SDK instance connected to an environment, on any
//! replica, with who it says it is, how it gets its flags and how far
//! behind it is.
//!
//! Owns merging the replicas' rows (one row per instance) and the lag in
//! revisions against the environment's revision in the store. Must not
//! touch HTTP types, SQL, or how replicas are asked ([`crate::delivery::fleet`]).

use serde::Serialize;

use super::OpResult;
use crate::delivery::roster::{InstanceRow, Transport};
use crate::state::AppState;

/// The SDK instances of one environment, over every live replica.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FleetView {
    /// The project's key.
    pub project: String,
    /// The environment's key.
    pub environment: String,
    /// The environment's current revision (lags are counted against it).
    pub revision: u64,
    /// Replicas whose instances are listed.
    pub replicas: usize,
    /// Live replicas that did not answer in time: their instances are
    /// missing, so the list is incomplete while this is not empty.
    pub unanswered: Vec<String>,
    /// One row per instance, most behind first, then by service and id.
    pub instances: Vec<InstanceRow>,
}

/// The fleet view of `(project, env)`.
#[tracing::instrument(name = "fleet", skip_all, fields(project = project, env = env, instances = tracing::field::Empty))]
pub async fn view(state: &AppState, project: &str, env: &str) -> OpResult<FleetView> {
    let environment = state.store.get_environment(project, env).await?;
    let roster = state.fleet.roster(&state.hub, environment.id).await;
    let revision = environment.revision.max(state.hub.channel(environment.id).revision());
    let mut instances = merge(roster.rows);
    for row in &mut instances {
        row.lag_revisions = revision.saturating_sub(row.revision);
    }
    instances.sort_by(|a, b| {
        (b.lag_revisions, &a.identity.service, &a.instance).cmp(&(a.lag_revisions, &b.identity.service, &b.instance))
    });
    tracing::Span::current().record("instances", instances.len());
    Ok(FleetView {
        project: project.to_string(),
        environment: env.to_string(),
        revision,
        replicas: roster.replicas,
        unanswered: roster.unanswered,
        instances,
    })
}

/// One row per instance: an instance seen by two replicas (its stream on
/// one, a poll or a reconnect on another) keeps the row with a connection
/// (SSE, OFREP) over a poll, then the most recently seen.
fn merge(rows: Vec<InstanceRow>) -> Vec<InstanceRow> {
    let mut by_id: std::collections::HashMap<String, InstanceRow> = std::collections::HashMap::new();
    for row in rows {
        let rank = |r: &InstanceRow| (r.transport != Transport::Poll, r.revision, r.last_seen_ms);
        match by_id.get(&row.instance) {
            Some(kept) if rank(kept) >= rank(&row) => {}
            _ => {
                by_id.insert(row.instance.clone(), row);
            }
        }
    }
    by_id.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::roster::Identity;

    fn row(id: &str, transport: Transport, revision: u64, seen: i64) -> InstanceRow {
        InstanceRow {
            instance: id.into(),
            identity: Identity::default(),
            transport,
            replica: "r".into(),
            revision,
            lag_revisions: 0,
            lag_ms: Some(0),
            connected_at_ms: 0,
            last_seen_ms: seen,
        }
    }

    #[test]
    fn merge_keeps_one_row_per_instance_preferring_connections() {
        let rows =
            vec![row("a", Transport::Poll, 9, 50), row("a", Transport::Sse, 7, 10), row("b", Transport::Sse, 3, 1)];
        let mut merged = merge(rows);
        merged.sort_by(|x, y| x.instance.cmp(&y.instance));
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].transport, merged[0].revision), (Transport::Sse, 7));
    }
}
