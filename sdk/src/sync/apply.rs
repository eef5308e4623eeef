//! Applying data to the served state: full snapshots, change events and
//! the persisted file; revision checks; notifications, acks, persistence.

use std::sync::Arc;

use switchyard_core::{ChangeEvent, CompiledSnapshot, Snapshot};

use super::Syncer;
use crate::persist;
use crate::status::Status;
use crate::updates::changed_flags;

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
            self.acks.send_replace(0);
        } else if let Some(current) = current.filter(|c| snapshot.revision <= *c) {
            if snapshot.revision < current {
                tracing::debug!(current, got = snapshot.revision, "ignoring an older switchyard snapshot");
            }
            return Ok(());
        }
        let compiled = CompiledSnapshot::compile(&snapshot).map_err(|e| {
            tracing::error!(revision = snapshot.revision, error = %e, "switchyard snapshot does not compile; keeping the last good one");
            format!("snapshot {} is invalid: {e}", snapshot.revision)
        })?;
        self.install(compiled, snapshot, true);
        Ok(())
    }

    /// Applies a change to a copy of the model, compiles and installs it.
    pub(super) fn apply_change(&mut self, change: &ChangeEvent) -> Result<(), ChangeError> {
        let Some(model) = self.model.clone().filter(|_| self.authoritative) else {
            tracing::warn!(got = change.revision, "switchyard change without a snapshot to apply it to; resyncing");
            return Err(ChangeError::Gap);
        };
        if change.revision <= model.revision {
            tracing::debug!(current = model.revision, got = change.revision, "ignoring an old switchyard change");
            return Ok(());
        }
        if change.revision != model.revision + 1 {
            tracing::warn!(current = model.revision, got = change.revision, "switchyard revision gap; resyncing");
            return Err(ChangeError::Gap);
        }
        let mut next = Snapshot::clone(&model);
        next.apply(change);
        let compiled = CompiledSnapshot::compile(&next).map_err(|e| {
            tracing::error!(revision = change.revision, error = %e, "switchyard change does not compile; keeping the last good snapshot");
            ChangeError::Invalid(format!("change {} gives an invalid snapshot: {e}", change.revision))
        })?;
        self.install(compiled, next, true);
        Ok(())
    }

    /// Swaps in new data, notifies subscribers, and (for server data)
    /// schedules the acknowledgement and the persisted copy.
    pub(super) fn install(&mut self, compiled: CompiledSnapshot, snapshot: Snapshot, from_server: bool) {
        let revision = snapshot.revision;
        let changes = if self.shared.updates.receiver_count() > 0 {
            changed_flags(self.model.as_deref(), &snapshot)
        } else {
            Vec::new()
        };
        let model = Arc::new(snapshot);
        if from_server {
            self.shared.freshness.confirm_now();
        }
        self.shared.install(compiled, changes);
        self.model = Some(model.clone());
        self.authoritative = from_server;
        if from_server {
            tracing::debug!(revision, "switchyard snapshot updated");
            self.acks.send_if_modified(|acked| {
                let newer = revision > *acked;
                if newer {
                    *acked = revision;
                }
                newer
            });
            if let Some(persist) = &self.persist {
                persist.send_replace(Some(model));
            }
        }
    }

    /// The served data is confirmed current: `Ready`.
    pub(super) fn in_sync(&mut self) {
        if self.authoritative && self.model.is_some() {
            self.unauthorized = false;
            self.shared.freshness.confirm_now();
            self.shared.set_status(Status::Ready);
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
        match CompiledSnapshot::compile(&loaded.snapshot) {
            Ok(compiled) => {
                let saved_at = loaded.saved_at.unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                tracing::warn!(
                    revision = loaded.snapshot.revision,
                    "switchyard server unreachable; serving the persisted snapshot"
                );
                self.shared.freshness.confirm_at(saved_at);
                self.install(compiled, loaded.snapshot, false);
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
