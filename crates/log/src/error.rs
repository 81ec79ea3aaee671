use std::path::{Path, PathBuf};

use crate::batch::BatchError;

/// Errors of the storage engine. I/O errors carry the path they happened on.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is out of range: the log holds offsets {log_start_offset}..{log_end_offset}")]
    OffsetOutOfRange { offset: u64, log_start_offset: u64, log_end_offset: u64 },
    #[error("a replicated batch at offset {offset} starts below the log end offset {log_end_offset}")]
    ReplicaBehind { offset: u64, log_end_offset: u64 },
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    #[error("i/o error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("corrupt log {path} at position {position}: {reason}")]
    Corrupt { path: PathBuf, position: u64, reason: String },
}

impl LogError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        LogError::Io { path: path.to_path_buf(), source }
    }

    pub fn corrupt(path: &Path, position: u64, reason: impl ToString) -> Self {
        LogError::Corrupt { path: path.to_path_buf(), position, reason: reason.to_string() }
    }
}
