//! Applying data to the served state: full snapshots, change events and
//! the persisted file; revision checks; notifications, acks, persistence.
//!
//! Owns: installing data and the revision rules. Must not touch: the wire
//! (`http`, `sse`, `connection`), retry policy (`mod`, `backoff`).

use std::sync::Arc;

use switchyard_core::{ChangeEvent, CompiledSnapshot, Snapshot};

use super::Syncer;
use crate::persist;
use crate::updates::{FlagChange, Touched, changed_flags};

impl Syncer {
    /// Installs a full snapshot unless it is not newer than what we serve.
    /// A `reset` (the server's database went back to an earlier state, see
    /// `docs/protocol.md`) replaces what we serve whatever its revision.
    pub(super) fn apply_full(&mut self, snapshot: Snapshot, reset: bool) -> Result<(), String> {
        let current = self.shared.revision().filter(|_| self.authoritative);
        if reset && let Some(current) = current.filter(|c| snapshot.revision < *c) {
            tracing::warn!(
                current,
                got = snapshot.revision,
                "switchyard server went back to an earlier revision (database restored?); replacing our snapshot"
            );
            self.acks.send_modify(|acks| acks.applied = 0);
        } else if let Some(current) = current.filter(|c| snapshot.revision <= *c) {
            if snapshot.revision < current {
                tracing::debug!(current, got = snapshot.revision, "ignoring an older switchyard snapshot");
            }
            return Ok(());
        }
        let revision = snapshot.revision;
        let compiled = CompiledSnapshot::compile_owned(snapshot).map_err(|e| {
            tracing::error!(revision, error = %e, "switchyard snapshot does not compile; keeping the last good one");
            format!("snapshot {revision} is invalid: {e}")
        })?;
        let changes = self.subscribed().then(|| changed_flags(self.current.as_deref(), &compiled));
        self.install(Arc::new(compiled), changes.unwrap_or_default(), true);
        Ok(())
    }

    /// Derives the next snapshot from the served one and the change
    /// (recompiling only what it touches) and installs it.
    pub(super) fn apply_change(&mut self, change: ChangeEvent) -> Result<(), ChangeError> {
        let Some(current) = self.current.clone().filter(|_| self.authoritative) else {
            tracing::warn!(got = change.revision, "switchyard change without a snapshot to apply it to; resyncing");
            return Err(ChangeError::Gap);
        };
        if change.revision <= current.revision() {
            tracing::debug!(current = current.revision(), got = change.revision, "ignoring an old switchyard change");
            return Ok(());
        }
        if change.revision != current.revision() + 1 {
            tracing::warn!(current = current.revision(), got = change.revision, "switchyard revision gap; resyncing");
            return Err(ChangeError::Gap);
        }
        let revision = change.revision;
        let touched = self.subscribed().then(|| Touched::of(&change));
        let next = current.with_change(change).map_err(|e| {
            tracing::error!(revision, error = %e, "switchyard change does not compile; keeping the last good snapshot");
            ChangeError::Invalid(format!("change {revision} gives an invalid snapshot: {e}"))
        })?;
        let changes = match touched {
            Some(touched) => touched.changes(&current, &next),
            None => Vec::new(),
        };
        self.install(Arc::new(next), changes, true);
        Ok(())
    }

    /// Whether anyone listens for flag changes (the diff is skipped if not).
    fn subscribed(&self) -> bool {
        self.shared.updates.receiver_count() > 0
    }

    /// Swaps in new data, notifies subscribers of `changes`, and (for
    /// server data) schedules the acknowledgement and the persisted copy.
    pub(super) fn install(&mut self, compiled: Arc<CompiledSnapshot>, changes: Vec<FlagChange>, from_server: bool) {
        let revision = compiled.revision();
        self.shared.install(compiled.clone(), changes);
        self.authoritative = from_server;
        if from_server {
            tracing::debug!(revision, "switchyard snapshot updated");
            self.acks.send_if_modified(|acks| {
                let newer = revision > acks.applied;
                if newer {
                    acks.applied = revision;
                    acks.applied_at = Some(std::time::Instant::now());
                }
                newer
            });
            if let Some(persist) = &self.persist {
                // The persist task serialises it (from the sources the
                // compiled snapshot keeps), off this task.
                persist.send_replace(Some(compiled.clone()));
            }
        }
        self.current = Some(compiled);
    }

    /// The served data is confirmed to be the server's current data: `Ready`.
    pub(super) fn confirmed(&mut self) {
        if self.authoritative && self.current.is_some() {
            self.unauthorized = false;
            self.shared.confirm_fresh();
        }
    }

    /// Serves the persisted snapshot (once, when there is nothing better).
    pub(super) async fn load_persisted(&mut self) {
        if std::mem::replace(&mut self.tried_file, true) {
            return;
        }
        let Some(path) = self.config.persist_path.clone() else {
            return;
        };
        let loaded = match tokio::task::spawn_blocking(move || persist::read(&path)).await {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(crate::Error::Io { source, .. })) if source.kind() == std::io::ErrorKind::NotFound => {
                return;
            }
            Ok(Err(e)) => {
                return tracing::warn!(error = %e, "cannot read the persisted switchyard snapshot");
            }
            Err(e) => {
                return tracing::warn!(error = %e, "reading the persisted switchyard snapshot panicked");
            }
        };
        if loaded.source.as_deref() != Some(self.config.fingerprint.as_str()) {
            return tracing::warn!(
                "the persisted switchyard snapshot belongs to another server or SDK key; ignoring it"
            );
        }
        match CompiledSnapshot::compile_owned(loaded.snapshot) {
            Ok(compiled) => {
                let saved_at = loaded.saved_at.unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                tracing::warn!(
                    revision = compiled.revision(),
                    "switchyard server unreachable; serving the persisted snapshot"
                );
                self.shared.freshness.confirm_at(saved_at);
                let changes = self.subscribed().then(|| changed_flags(self.current.as_deref(), &compiled));
                self.install(Arc::new(compiled), changes.unwrap_or_default(), false);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the persisted switchyard snapshot is invalid; ignoring it")
            }
        }
    }
}

/// Why a change event was not applied.
#[derive(Debug)]
pub(super) enum ChangeError {
    /// Not the next revision (or nothing to apply it to): resync.
    Gap,
    /// The result does not compile.
    Invalid(String),
}
