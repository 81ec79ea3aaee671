//! tidelog storage engine: per-partition logs of Kafka RecordBatch v2 bytes.
//!
//! Owns bytes on disk, offsets and recovery. Knows nothing of networks, protocols or
//! topics: a log is a directory, and callers decide what it belongs to.

pub mod batch;
pub mod durable;
mod error;
mod file_log;
mod file_slice;
mod index;
mod memory_log;
mod partition_log;
mod segment;

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod slice_tests;
#[cfg(test)]
mod suite_tests;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use batch::{BatchError, BatchHeader};
pub use error::LogError;
pub use file_log::{FileLog, LogConfig};
pub use file_slice::{FileSlice, Records};
pub use memory_log::MemoryLog;
pub use partition_log::{AppendInfo, CheckpointWrite, LogOffsets, PartitionLog, SegmentInfo, SyncJob};
