//! Typed errors, so the daemon can tell "move it aside" cases from transient I/O.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Proven damage: sled reported corruption, or our own checks of the
    /// store's structure failed (CURRENT, meta, the generation). The only
    /// variant `--storage.reset-on-corruption` acts on; see [`super::move_aside`].
    /// Damaged chunks do not make a store `Corrupt`: they are quarantined and
    /// counted, and the rest is kept.
    #[error("store at {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// sled panicked while opening. Not evidence of damage (a cache below
    /// sled's minimum does it on a healthy store), so never `Corrupt`.
    #[error("sled panicked while opening the store at {path}: {reason}. This is not evidence that the store is corrupt; its files were left untouched")]
    Panicked { path: PathBuf, reason: String },
    /// Another process (or another `Store` in this one) holds the directory.
    #[error("store at {path} is locked by another process: {source}")]
    Locked {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Disk full, permission denied, ... The store stays usable: pending data
    /// is kept in memory and retried on the next flush.
    #[error("store I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A sled error that is neither I/O nor corruption (a sled bug or misuse).
    #[error("sled error at {path}: {source}")]
    Sled { path: PathBuf, source: sled::Error },
    /// The directory was written with another grid; reading it with this one
    /// would put samples at the wrong times.
    #[error("store at {path} was created with {what} = {stored_ms} ms but is opened with {configured_ms} ms; use the old value or move the store aside")]
    StepMismatch {
        path: PathBuf,
        what: &'static str,
        stored_ms: u64,
        configured_ms: u64,
    },
    /// The directory was written by a newer (or unknown) format.
    #[error("store at {path} has format version {found}, this build reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// Maps a sled error; corruption and I/O get their own variants so callers
    /// can react (move aside vs. retry later).
    pub(crate) fn from_sled(path: &std::path::Path, e: sled::Error) -> StoreError {
        match e {
            sled::Error::Io(source) => StoreError::Io {
                path: path.to_path_buf(),
                source,
            },
            sled::Error::Corruption { at, .. } => StoreError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("sled detected corruption at {at:?}"),
            },
            other => StoreError::Sled {
                path: path.to_path_buf(),
                source: other,
            },
        }
    }

    pub(crate) fn corrupt(path: &std::path::Path, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
