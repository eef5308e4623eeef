//! Snapshot files: the last good snapshot persisted across restarts, and
//! snapshot files for offline clients.
//!
//! A persisted file is JSON:
//! `{"format": 1, "saved_at_ms": <unix ms>, "source": "<fingerprint>", "snapshot": {...}}`.
//! `source` is a hash of the base URL and SDK key (never the key itself), so
//! that a file written for another environment is never served.
//! [`crate::Client::from_file`] reads either that or a bare snapshot (the
//! body of `GET /sdk/v1/snapshot`).
//!
//! Writes go to a temporary file in the same directory, are flushed to disk
//! and then renamed over the target, so a crash never leaves a torn file.
//!
//! Owns: the snapshot file format and atomic writes. Must not touch: when
//! to write (`sync::tasks`), what to serve (`sync::apply`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchyard_core::Snapshot;

use crate::error::Error;

/// The current file format.
const FORMAT: u32 = 1;

/// The persisted envelope around a snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct Persisted<S> {
    format: u32,
    saved_at_ms: u64,
    source: String,
    snapshot: S,
}

/// A snapshot read from a file, with when it was saved (if the file says).
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) snapshot: Snapshot,
    pub(crate) saved_at: Option<SystemTime>,
    pub(crate) source: Option<String>,
}

/// The fingerprint of a connection: identifies the environment a persisted
/// snapshot belongs to without revealing the key.
pub(crate) fn fingerprint(base_url: &str, sdk_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(base_url.as_bytes());
    h.update(b"\n");
    h.update(sdk_key.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Reads a persisted envelope or a bare snapshot.
pub(crate) fn read(path: &Path) -> Result<Loaded, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let parse = |source| Error::Parse { path: path.to_owned(), source };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
    if value.get("snapshot").is_some() && value.get("format").is_some() {
        let p: Persisted<Snapshot> = serde_json::from_value(value).map_err(parse)?;
        if p.format != FORMAT {
            let msg = format!("unsupported snapshot file format {} (expected {FORMAT})", p.format);
            return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidData, msg)));
        }
        let saved_at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(p.saved_at_ms));
        Ok(Loaded { snapshot: p.snapshot, saved_at, source: Some(p.source) })
    } else {
        let snapshot = serde_json::from_value(value).map_err(parse)?;
        Ok(Loaded { snapshot, saved_at: None, source: None })
    }
}

/// Writes `snapshot` atomically (temporary file + rename).
pub(crate) fn write(path: &Path, source: &str, snapshot: &Snapshot) -> std::io::Result<()> {
    let saved_at_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let body = Persisted { format: FORMAT, saved_at_ms, source: source.to_owned(), snapshot };
    let json = serde_json::to_vec(&body)?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A sibling temporary name, unique per process and call.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let unique = format!(".{name}.{}.{}.tmp", std::process::id(), uuid::Uuid::new_v4().simple());
    path.with_file_name(unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_bare_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.json");
        let snapshot = Snapshot { revision: 9, ..Snapshot::default() };
        write(&path, "fp", &snapshot).unwrap();
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.snapshot, snapshot);
        assert_eq!(loaded.source.as_deref(), Some("fp"));
        let age = SystemTime::now().duration_since(loaded.saved_at.unwrap()).unwrap();
        assert!(age < Duration::from_secs(5));
        // Only the target remains: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        std::fs::write(&path, r#"{"revision": 4, "flags": []}"#).unwrap();
        let bare = read(&path).unwrap();
        assert_eq!((bare.snapshot.revision, bare.saved_at, bare.source), (4, None, None));

        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(read(&path), Err(Error::Parse { .. })));
        assert!(matches!(read(&dir.path().join("missing.json")), Err(Error::Io { .. })));
    }

    #[test]
    fn fingerprints_differ_per_environment_and_hide_the_key() {
        let a = fingerprint("http://x", "key-a");
        assert_ne!(a, fingerprint("http://x", "key-b"));
        assert_ne!(a, fingerprint("http://y", "key-a"));
        assert!(!a.contains("key-a"));
        assert_eq!(a.len(), 32);
    }
}
