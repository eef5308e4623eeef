//! Blast radius (issue 17 part 4): before a kill or the panic button, which
//! services and how many of their instances are evaluating the flags now,
//! at what rate, what they are served, and what they would get killed.
//!
//! "Now" is the fleet (the SDK instances connected to the environment, on
//! every replica: [`super::fleet`]) joined with the telemetry attribution
//! (each instance's last batch that evaluated a flag, each service's
//! evaluations per minute): an instance is **evaluating** a flag when it is
//! connected and a batch of its evaluated the flag in the last
//! [`WINDOW_MINUTES`]; connected instances that sent no telemetry in that
//! window are counted apart (they may evaluate it: nobody can tell).
//!
//! Reads only: no write, no audit, no broadcast, no webhook. The kill path
//! ([`super::kill`]) never calls it, so a kill never waits for it.
//! Must not touch HTTP types or SQL.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::OpResult;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Snapshot;

/// The look-back that counts as "currently evaluating" and over which rates
/// are taken (SDKs send telemetry every 10 s).
pub const WINDOW_MINUTES: i64 = 15;

/// What killing a set of flags in one environment would reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlastRadius {
    /// The project's key.
    pub project: String,
    /// The environment's key.
    pub environment: String,
    /// The environment's revision now.
    pub revision: u64,
    /// Minutes of telemetry looked at.
    pub window_minutes: i64,
    /// SDK instances connected to the environment (every one receives a kill).
    pub connected: usize,
    /// Of those, instances that evaluated at least one of the flags in the window.
    pub evaluating: usize,
    /// Of those connected, instances that sent no telemetry in the window
    /// (telemetry off, or just started): whether they evaluate is unknown.
    pub without_telemetry: usize,
    /// Per service, over all the flags (most evaluating instances first).
    pub services: Vec<ServiceReach>,
    /// Per flag, in the order asked.
    pub flags: Vec<FlagReach>,
    /// Replicas whose connected instances were counted.
    pub replicas: usize,
    /// Live replicas that did not answer in time: their instances are
    /// missing, so the counts are low while this is not empty.
    pub unanswered: Vec<String>,
}

/// One flag's reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagReach {
    /// The flag's key.
    pub flag: String,
    /// Already killed: killing it again changes nothing.
    pub killed: bool,
    /// The variant every SDK would serve once it is killed (its off variant).
    pub serves: String,
    /// Flags of the environment that name it as a prerequisite: a killed
    /// prerequisite is never met, so those serve their off variant too.
    pub dependents: Vec<String>,
    /// Evaluations in the window, all instances (connected or not).
    pub evaluations: u64,
    /// Evaluations per minute over the window.
    pub per_minute: f64,
    /// What it served in the window: evaluations per variant.
    pub variants: Vec<VariantShare>,
    /// Connected instances evaluating it.
    pub evaluating: usize,
    /// Per service (most evaluating instances first).
    pub services: Vec<ServiceReach>,
}

/// A variant's share of the evaluations in the window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantShare {
    /// The variant's key.
    pub variant: String,
    /// Evaluations that served it.
    pub evaluations: u64,
}

/// One service's reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceReach {
    /// The service (`None`: instances that named none).
    pub service: Option<String>,
    /// Its connected instances.
    pub connected: usize,
    /// Of which evaluating the flag(s).
    pub evaluating: usize,
    /// Its evaluations of the flag(s) in the window.
    pub evaluations: u64,
    /// Evaluations per minute over the window.
    pub per_minute: f64,
}

/// The flags of a blast radius: these keys, and those carrying `tag`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Flag keys.
    pub flags: Vec<String>,
    /// Every flag with this tag too.
    pub tag: Option<String>,
}

/// The blast radius of killing `selection` in `(project, env)` now.
/// 422 on `flags` when the selection is empty, 404 for an unknown flag.
#[tracing::instrument(name = "blast_radius", skip_all, fields(project = project, env = env, flags = tracing::field::Empty))]
pub async fn blast_radius(
    state: &AppState,
    (project, env): (&str, &str),
    selection: Selection,
) -> OpResult<BlastRadius> {
    let mut flags = selection.flags;
    if let Some(tag) = &selection.tag {
        flags.extend(state.store.flags_with_tag(project, tag).await?);
    }
    let mut seen = HashSet::new();
    flags.retain(|f| seen.insert(f.clone()));
    if flags.is_empty() {
        return Err(ApiError::invalid("flags", "empty", "no flags given or none carries the tag"));
    }
    tracing::Span::current().record("flags", flags.join(","));
    let environment = state.store.get_environment(project, env).await?;
    let fleet = super::fleet::view(state, project, env).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let since_ms = now_ms - WINDOW_MINUTES * 60_000;
    let window = (since_ms.div_euclid(60_000), now_ms.div_euclid(60_000) + 1);
    let reporting: HashSet<String> =
        state.store.reporting_instances(environment.id, since_ms).await?.into_iter().collect();
    let connected: HashMap<&str, Option<&str>> =
        fleet.instances.iter().map(|r| (r.instance.as_str(), r.identity.service.as_deref())).collect();
    let mut all = Tally::default();
    for (instance, service) in &connected {
        all.connect(*service, instance);
    }
    let snapshot = state.store.snapshot(environment.id).await?;
    let around =
        Around { environment_id: environment.id, connected: &connected, since_ms, window, snapshot: &snapshot };
    let mut reaches = Vec::with_capacity(flags.len());
    for flag in &flags {
        reaches.push(reach(state, (project, env, flag), &around, &mut all).await?);
    }
    let without_telemetry = connected.keys().filter(|i| !reporting.contains(**i)).count();
    Ok(BlastRadius {
        project: project.to_string(),
        environment: env.to_string(),
        revision: fleet.revision,
        window_minutes: WINDOW_MINUTES,
        connected: connected.len(),
        evaluating: all.evaluating_count(),
        without_telemetry,
        services: all.services(),
        flags: reaches,
        replicas: fleet.replicas,
        unanswered: fleet.unanswered,
    })
}

/// What every flag's reach is counted against.
struct Around<'a> {
    environment_id: i64,
    /// Connected instances and their services.
    connected: &'a HashMap<&'a str, Option<&'a str>>,
    since_ms: i64,
    /// Minutes `[from, to)`.
    window: (i64, i64),
    /// The environment's flags (for their prerequisites).
    snapshot: &'a Snapshot,
}

/// One flag's reach; its evaluating instances and evaluations are added to `all` too.
async fn reach(
    state: &AppState,
    (project, env, flag): (&str, &str, &str),
    around: &Around<'_>,
    all: &mut Tally,
) -> OpResult<FlagReach> {
    let (environment_id, (from, to)) = (around.environment_id, around.window);
    let config = state.store.get_flag_config(project, env, flag).await?.config;
    let mut tally = Tally::default();
    for (instance, service) in around.connected {
        tally.connect(*service, instance);
    }
    for row in state.store.flag_instances(environment_id, flag, around.since_ms).await? {
        if let Some(service) = around.connected.get(row.instance.as_str()) {
            tally.evaluating(*service, &row.instance);
            all.evaluating(*service, &row.instance);
        }
    }
    for total in state.store.flag_services(environment_id, flag, from, to).await? {
        tally.evaluations(total.service.as_deref(), total.evaluations);
        all.evaluations(total.service.as_deref(), total.evaluations);
    }
    let variants: Vec<VariantShare> = state
        .store
        .variant_totals(environment_id, Some(flag), from, to)
        .await?
        .into_iter()
        .map(|v| VariantShare { variant: v.variant, evaluations: v.evaluations })
        .collect();
    let evaluations = variants.iter().map(|v| v.evaluations).sum();
    Ok(FlagReach {
        flag: flag.to_string(),
        killed: config.kill.is_some(),
        serves: config.off_variant,
        dependents: dependents(around.snapshot, flag),
        evaluations,
        per_minute: rate(evaluations),
        variants,
        evaluating: tally.evaluating_count(),
        services: tally.services(),
    })
}

/// The flags that name `flag` as a prerequisite, by key.
fn dependents(snapshot: &Snapshot, flag: &str) -> Vec<String> {
    let mut out: Vec<String> = snapshot
        .flags
        .iter()
        .filter(|f| f.prerequisites.iter().any(|p| p.flag == flag))
        .map(|f| f.key.clone())
        .collect();
    out.sort();
    out
}

/// Evaluations per minute over the window.
fn rate(evaluations: u64) -> f64 {
    evaluations as f64 / WINDOW_MINUTES as f64
}

/// Instances and evaluations per service.
#[derive(Default)]
struct Tally {
    by_service: BTreeMap<Option<String>, (HashSet<String>, HashSet<String>, u64)>,
}

impl Tally {
    fn entry(&mut self, service: Option<&str>) -> &mut (HashSet<String>, HashSet<String>, u64) {
        self.by_service.entry(service.map(str::to_string)).or_default()
    }

    fn connect(&mut self, service: Option<&str>, instance: &str) {
        self.entry(service).0.insert(instance.to_string());
    }

    fn evaluating(&mut self, service: Option<&str>, instance: &str) {
        self.entry(service).1.insert(instance.to_string());
    }

    fn evaluations(&mut self, service: Option<&str>, n: u64) {
        let entry = self.entry(service);
        entry.2 = entry.2.saturating_add(n);
    }

    fn evaluating_count(&self) -> usize {
        self.by_service.values().map(|(_, e, _)| e.len()).sum()
    }

    /// Services with connected instances or evaluations, most evaluating
    /// instances first, then most evaluations, then by name.
    fn services(&self) -> Vec<ServiceReach> {
        let mut out: Vec<ServiceReach> = self
            .by_service
            .iter()
            .map(|(service, (connected, evaluating, evaluations))| ServiceReach {
                service: service.clone(),
                connected: connected.len(),
                evaluating: evaluating.len(),
                evaluations: *evaluations,
                per_minute: rate(*evaluations),
            })
            .collect();
        out.sort_by(|a, b| (b.evaluating, b.evaluations, &a.service).cmp(&(a.evaluating, a.evaluations, &b.service)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_count_instances_once_and_sort_by_reach() {
        let mut t = Tally::default();
        for (service, instance) in [(Some("web"), "w1"), (Some("web"), "w2"), (Some("api"), "a1"), (None, "x")] {
            t.connect(service, instance);
        }
        t.evaluating(Some("api"), "a1");
        t.evaluating(Some("web"), "w1");
        t.evaluating(Some("web"), "w1");
        t.evaluating(Some("web"), "w2");
        t.evaluations(Some("web"), 30);
        t.evaluations(Some("api"), 45);
        let services = t.services();
        let rows: Vec<(Option<&str>, usize, usize, u64)> =
            services.iter().map(|s| (s.service.as_deref(), s.connected, s.evaluating, s.evaluations)).collect();
        assert_eq!(rows, [(Some("web"), 2, 2, 30), (Some("api"), 1, 1, 45), (None, 1, 0, 0)]);
        assert_eq!(t.evaluating_count(), 3);
        assert_eq!(services[1].per_minute, 3.0);
    }
}
