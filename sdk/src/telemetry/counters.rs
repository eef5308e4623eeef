//! Evaluation counters of one compiled snapshot: one `AtomicU64` per
//! (flag, variant) in flat arrays, allocated when the snapshot is applied,
//! sharded by thread so that busy threads do not fight over cache lines.
//! Counting is one relaxed `fetch_add`: no lock, no allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use switchyard_core::CompiledSnapshot;

/// Number of shards (a power of two). Threads take shards round-robin; two
/// threads on one shard still count correctly, they only share a line.
const SHARDS: usize = 8;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// The counters of one snapshot.
pub(crate) struct Counters {
    /// The snapshot counted (kept alive, so its address identifies it and
    /// its flag and variant names are at hand when harvesting).
    pub(crate) snapshot: Arc<CompiledSnapshot>,
    /// Per flag (in snapshot order): the slot of its first variant.
    offsets: Box<[usize]>,
    /// `SHARDS` arrays of one counter per slot.
    shards: Box<[Box<[AtomicU64]>]>,
}

impl Counters {
    /// Zeroed counters for every variant of every flag of `snapshot`.
    pub(crate) fn new(snapshot: Arc<CompiledSnapshot>) -> Self {
        let mut offsets = Vec::with_capacity(snapshot.len());
        let mut slots = 0;
        for flag in snapshot.flags() {
            offsets.push(slots);
            slots += flag.variants().len();
        }
        let shards = (0..SHARDS).map(|_| (0..slots).map(|_| AtomicU64::new(0)).collect()).collect();
        Counters { snapshot, offsets: offsets.into(), shards }
    }

    /// Counts one evaluation of variant `variant` of flag `flag` (indices
    /// into the snapshot). Out-of-range indices are ignored.
    #[inline]
    pub(crate) fn count(&self, flag: usize, variant: usize) {
        let shard = SHARD.try_with(|s| *s).unwrap_or(0);
        if let Some(offset) = self.offsets.get(flag)
            && let Some(counter) = self.shards.get(shard).and_then(|s| s.get(offset + variant))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes every non-zero count (resetting it), calling `each(flag key,
    /// variant key, count)`.
    pub(crate) fn harvest(&self, mut each: impl FnMut(&Arc<str>, &Arc<str>, u64)) {
        for (flag, &offset) in self.snapshot.flags().zip(self.offsets.iter()) {
            let flag_key: Arc<str> = Arc::from(flag.key());
            for (i, variant) in flag.variants().iter().enumerate() {
                let n: u64 = self.shards.iter().map(|s| s[offset + i].swap(0, Ordering::Relaxed)).sum();
                if n > 0 {
                    each(&flag_key, variant.key_arc(), n);
                }
            }
        }
    }
}
