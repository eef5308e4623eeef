//! [`RevisionWatch`]: checks a client's `subscribe()` stream for order.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use switchyard::{Client, Update};

use crate::eventually;

/// Records a client's `subscribe()` stream and checks that revisions never
/// go backwards or repeat: within one applied revision each flag appears
/// once (keys ascending), and every later revision starts at or after the
/// previous one.
pub struct RevisionWatch {
    state: Arc<Mutex<WatchState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct WatchState {
    changes: usize,
    resyncs: usize,
    last: Option<(u64, u64, String)>,
    violations: Vec<String>,
}

/// What a [`RevisionWatch`] saw.
#[derive(Debug)]
pub struct WatchReport {
    /// `Update::Changed` items.
    pub changes: usize,
    /// `Update::Resync` items.
    pub resyncs: usize,
    /// The last revision seen.
    pub last_revision: Option<u64>,
    /// Every ordering violation.
    pub violations: Vec<String>,
}

impl RevisionWatch {
    /// Subscribes now.
    pub fn start(client: &Client) -> RevisionWatch {
        let mut updates = client.subscribe();
        let state = Arc::new(Mutex::new(WatchState::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Some(update) = updates.next().await {
                let mut s = shared.lock().unwrap();
                match update {
                    Update::Changed(c) => {
                        s.changes += 1;
                        let (old, new, key) = (c.old_revision, c.new_revision, c.key.to_string());
                        if old >= new {
                            s.violations.push(format!("{key}: old revision {old} >= new {new}"));
                        }
                        if let Some((last_old, last_new, last_key)) = s.last.clone() {
                            if new < last_new {
                                s.violations.push(format!("{key}: revision {new} after {last_new} (backwards)"));
                            } else if new == last_new && (old != last_old || key <= last_key) {
                                s.violations.push(format!("{key}@{new} (from {old}) repeats or reorders {last_key}@{last_new} (from {last_old})"));
                            } else if new > last_new && old < last_new {
                                s.violations.push(format!(
                                    "{key}: revision {new} applied from {old}, before the last one {last_new}"
                                ));
                            }
                        }
                        s.last = Some((old, new, key));
                    }
                    Update::Resync => s.resyncs += 1,
                    _ => {}
                }
            }
        });
        RevisionWatch { state, task }
    }

    /// What was seen so far.
    pub fn report(&self) -> WatchReport {
        let s = self.state.lock().unwrap();
        WatchReport {
            changes: s.changes,
            resyncs: s.resyncs,
            last_revision: s.last.as_ref().map(|l| l.1),
            violations: s.violations.clone(),
        }
    }

    /// Waits until an update of `revision` (or later) was seen, then stops
    /// and asserts that there were no violations (and, unless
    /// `allow_resync`, no `Resync`: the subscriber never lagged).
    pub async fn finish(self, revision: u64, allow_resync: bool) -> WatchReport {
        eventually(&format!("the update stream reaches revision {revision}"), || async {
            self.report().last_revision >= Some(revision)
        })
        .await;
        self.task.abort();
        let report = self.report();
        assert!(report.violations.is_empty(), "revision order violated: {:#?}", report.violations);
        if !allow_resync {
            assert_eq!(report.resyncs, 0, "the update subscriber lagged (Resync)");
        }
        report
    }
}
