//! Prerequisites resolved to positions: for each flag of a compiled
//! snapshot, its prerequisites as (flag position, variant position), so
//! that evaluation follows them without a lookup by string.
//!
//! A compiled flag keeps its prerequisites as keys only, since it is shared
//! between the snapshots of successive revisions, in which positions move;
//! the snapshot builds its `Links` after its flags are sorted (every
//! compile and every incremental build, in one pass over the
//! prerequisites; nothing when no flag has any).
//!
//! Owns: the resolved table. Must not touch: evaluation order (`eval`,
//! `compile`), how flags are compiled (`flag`).

/// How many prerequisite hops evaluation follows from the flag asked
/// (A needs B needs C is 2). A deeper chain (which the server refuses to
/// write, as it refuses cycles) fails with `TOO_DEEP` rather than looping.
pub const MAX_PREREQUISITE_DEPTH: usize = 8;

/// How many prerequisite evaluations one evaluation makes at most (a flag
/// needing 3 flags that each need 2 others makes 9). Past it the
/// prerequisite fails with `TOO_DEEP`: bounded work per evaluation however
/// wide the graph. The server refuses to write graphs that need more.
pub const MAX_PREREQUISITE_EVALUATIONS: usize = 64;

/// How many prerequisites one flag may list.
pub const MAX_PREREQUISITES: usize = 16;

/// "No such flag" / "no such variant".
const NONE: u32 = u32::MAX;

/// One resolved prerequisite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    flag: u32,
    variant: u32,
}

impl Link {
    /// Position of the prerequisite flag in the snapshot, `None` when missing.
    #[inline]
    pub(crate) fn flag(self) -> Option<usize> {
        (self.flag != NONE).then_some(self.flag as usize)
    }

    /// Position of the required variant in that flag, `None` when it has no such variant.
    #[inline]
    pub(crate) fn variant(self) -> Option<usize> {
        (self.variant != NONE).then_some(self.variant as usize)
    }
}

/// The resolved prerequisites of every flag of one snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Links {
    /// `starts[i]..starts[i + 1]` are flag `i`'s links; empty when no flag
    /// of the snapshot has prerequisites.
    starts: Box<[u32]>,
    links: Box<[Link]>,
}

impl Links {
    /// Resolves the prerequisites of `flags` (in snapshot order, each given
    /// as its list of (flag key, variant key)); `resolve` answers the
    /// positions of a (flag key, variant key) pair.
    pub(crate) fn build<'a, I, P>(flags: I, resolve: impl Fn(&str, &str) -> (Option<usize>, Option<usize>)) -> Self
    where
        I: Iterator<Item = P> + Clone,
        P: Iterator<Item = (&'a str, &'a str)>,
    {
        if flags.clone().all(|mut p| p.next().is_none()) {
            return Links::default();
        }
        let as_u32 = |i: Option<usize>| i.and_then(|i| u32::try_from(i).ok()).unwrap_or(NONE);
        let mut starts = vec![0u32];
        let mut links = Vec::new();
        for prerequisites in flags {
            for (flag, variant) in prerequisites {
                let (f, v) = resolve(flag, variant);
                links.push(Link { flag: as_u32(f), variant: as_u32(v) });
            }
            starts.push(u32::try_from(links.len()).unwrap_or(NONE));
        }
        Links { starts: starts.into_boxed_slice(), links: links.into_boxed_slice() }
    }

    /// The links of the flag at `index`; `None` when the table has none for
    /// it (evaluation then treats every prerequisite as missing).
    #[inline]
    pub(crate) fn of(&self, index: usize) -> Option<&[Link]> {
        let start = *self.starts.get(index)? as usize;
        let end = *self.starts.get(index + 1)? as usize;
        self.links.get(start..end)
    }
}
