//! The leader epochs a partition's log was written under and the offset each began at
//! (Kafka's `LeaderEpochFileCache`): OffsetForLeaderEpoch, the leader epoch ListOffsets
//! reports, and fetch-position validation read it.
//!
//! On one node a partition has one leader, and one epoch, from its creation on, so the
//! cache is built at open from the partition's epoch and log start. A replicated cluster
//! will need Kafka's checkpointed form (the `leader-epoch-checkpoint` file, truncated with
//! the log): load it in `Partition::new` instead of `LeaderEpochs::starting_at`; the
//! queries below stay as they are. Never does I/O itself.

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EpochEntry {
    epoch: i32,
    start_offset: u64,
}

/// Epochs in increasing order, with increasing start offsets.
#[derive(Debug, Clone, Default)]
pub struct LeaderEpochs {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochs {
    /// A log led under `epoch` from `start_offset` on.
    pub fn starting_at(epoch: i32, start_offset: u64) -> Self {
        let mut epochs = LeaderEpochs::default();
        epochs.assign(epoch, start_offset);
        epochs
    }

    /// Records that `epoch` begins at `start_offset`; an epoch not above the latest
    /// changes nothing (the append path calls this for every batch).
    pub fn assign(&mut self, epoch: i32, start_offset: u64) {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| latest >= epoch) {
            return;
        }
        debug_assert!(self.entries.last().is_none_or(|e| e.start_offset <= start_offset));
        self.entries.push(EpochEntry { epoch, start_offset });
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// The oldest epoch, if it covers `log_start_offset` (as Kafka reports it for EARLIEST).
    pub fn epoch_at_log_start(&self, log_start_offset: u64) -> Option<i32> {
        self.entries.first().filter(|e| e.start_offset <= log_start_offset).map(|e| e.epoch)
    }

    /// `(epoch, end offset)` for `requested`, as Kafka's `LeaderEpochFileCache.endOffsetFor`:
    /// the latest epoch ends at the log end offset; an older one where the next higher
    /// epoch starts, answered as the highest epoch at or below it (the requested epoch
    /// itself if the log holds none older); an undefined or unknown newer epoch is
    /// `(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)`.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: u64) -> (i32, i64) {
        let undefined = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        if requested == UNDEFINED_EPOCH {
            return undefined;
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset as i64);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            return undefined;
        };
        match self.entries.iter().rev().find(|e| e.epoch <= requested) {
            Some(floor) => (floor.epoch, higher.start_offset as i64),
            None => (requested, higher.start_offset as i64),
        }
    }
}

impl crate::partition::Partition {
    /// The check Kafka makes of a request's `current_leader_epoch` (-1: none given): an
    /// older one is fenced, a newer one not yet known here.
    pub fn check_leader_epoch(&self, current_leader_epoch: i32) -> crate::Result<()> {
        let current = self.leader_epoch;
        match current_leader_epoch {
            given if given < 0 || given == current => Ok(()),
            given if given < current => Err(crate::BrokerError::FencedLeaderEpoch { given, current }),
            given => Err(crate::BrokerError::UnknownLeaderEpoch { given, current }),
        }
    }

    /// OffsetForLeaderEpoch's answer for `requested`: `(epoch, end offset)`.
    pub fn end_offset_for_epoch(&self, requested: i32) -> (i32, i64) {
        self.leader_epochs.end_offset_for(requested, self.offsets().log_end_offset)
    }

    /// The epoch ListOffsets reports with the log start offset.
    pub fn epoch_at_log_start(&self, log_start_offset: u64) -> i32 {
        self.leader_epochs.epoch_at_log_start(log_start_offset).unwrap_or(UNDEFINED_EPOCH)
    }

    /// The epoch ListOffsets reports with the latest offsets.
    pub fn latest_epoch(&self) -> i32 {
        self.leader_epochs.latest_epoch().unwrap_or(UNDEFINED_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_epoch_ends_at_the_log_end() {
        let epochs = LeaderEpochs::starting_at(0, 0);
        assert_eq!(epochs.end_offset_for(0, 42), (0, 42));
        assert_eq!(epochs.end_offset_for(1, 42), (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET), "newer than any");
        assert_eq!(epochs.end_offset_for(-1, 42), (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET));
        assert_eq!(epochs.epoch_at_log_start(0), Some(0));
    }

    #[test]
    fn an_older_epoch_ends_where_the_next_one_starts() {
        let mut epochs = LeaderEpochs::starting_at(2, 10);
        epochs.assign(2, 15); // not a new epoch
        epochs.assign(5, 20);
        epochs.assign(4, 30); // older than the latest: ignored
        epochs.assign(7, 30);
        assert_eq!(epochs.latest_epoch(), Some(7));
        assert_eq!(epochs.end_offset_for(7, 50), (7, 50));
        assert_eq!(epochs.end_offset_for(5, 50), (5, 30));
        // An epoch between two known ones: the one below it, up to where the next starts.
        assert_eq!(epochs.end_offset_for(3, 50), (2, 20));
        assert_eq!(epochs.end_offset_for(6, 50), (5, 30));
        // Older than the log holds: the requested epoch, up to where the first one starts.
        assert_eq!(epochs.end_offset_for(1, 50), (1, 10));
        assert_eq!(epochs.epoch_at_log_start(10), Some(2));
        assert_eq!(epochs.epoch_at_log_start(5), None);
    }

    #[test]
    fn an_empty_cache_knows_no_epoch() {
        let epochs = LeaderEpochs::default();
        assert_eq!(epochs.end_offset_for(0, 5), (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET));
        assert_eq!(epochs.latest_epoch(), None);
    }
}
