//! The kinds of credential the server accepts (metric labels, negative
//! cache slots).

/// A kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `sya_…` API tokens (admin API, CLI).
    ApiToken,
    /// `sdk_…` SDK keys (snapshot, stream, ack).
    SdkKey,
    /// `trg_…` trigger secrets (`/hooks/v1/triggers/…`).
    Trigger,
    /// Session JWTs: checked by signature, never in the store.
    Session,
}

impl Kind {
    /// How many kinds are looked up in the store (and negatively cached).
    pub const CACHED: usize = 3;

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::ApiToken => "api_token",
            Kind::SdkKey => "sdk_key",
            Kind::Trigger => "trigger",
            Kind::Session => "session",
        }
    }

    /// The slot of a store-backed kind in the negative cache.
    pub fn cache_index(self) -> Option<usize> {
        match self {
            Kind::ApiToken => Some(0),
            Kind::SdkKey => Some(1),
            Kind::Trigger => Some(2),
            Kind::Session => None,
        }
    }
}
