//! Cluster metadata as a sequence of events: proposed to a [`MetadataStore`], which
//! returns once an event is committed, then applied to the in-memory image
//! ([`MetadataState`]) and, by the broker, to its partition registry. Start-up replays the
//! committed events through the same apply path, so replay and live changes cannot
//! diverge. On one node the store is a local file; in a cluster it becomes a Raft group.

mod events;
mod state;
mod store;

pub use events::{MetadataEvent, Seal, TopicMeta};
pub use state::MetadataState;
pub use store::{LocalMetadataStore, MemoryMetadataStore, MetadataStore};
