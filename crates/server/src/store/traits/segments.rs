//! The segments area of the store.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, Result, SegmentInput, SegmentRecord};

/// Segments (every write bumps every environment of the project).
#[async_trait]
pub trait SegmentStore: Send + Sync + 'static {
    /// Creates a segment (bumps every environment of the project).
    async fn create_segment(&self, actor: &Actor, project: &str, segment: SegmentInput) -> Result<SegmentRecord>;
    /// Lists segments ordered by key.
    async fn list_segments(&self, project: &str) -> Result<Vec<SegmentRecord>>;
    /// One segment.
    async fn get_segment(&self, project: &str, segment: &str) -> Result<SegmentRecord>;
    /// Replaces a segment; `expected_version` must match or `Conflict`.
    async fn update_segment(
        &self,
        actor: &Actor,
        project: &str,
        segment: &str,
        input: SegmentInput,
        expected_version: u64,
    ) -> Result<SegmentRecord>;
    /// Deletes a segment; `Conflict` (code `segment_in_use`) while a flag or segment references it.
    async fn delete_segment(&self, actor: &Actor, project: &str, segment: &str) -> Result<()>;
}
