//! Share sessions (KIP-932): a share consumer's ShareFetch names its partitions once
//! (session epoch 0), then every request carries the next epoch and only the partitions
//! it adds or forgets. Epoch -1 closes the session. Kept per (group, member) for the
//! listener, as Kafka's broker keeps its share session cache.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use uuid::Uuid;

/// A share-partition by topic id, as the wire names it.
pub(crate) type SharePartitionId = (Uuid, i32);

#[derive(Default)]
pub(crate) struct ShareSessions {
    sessions: Mutex<HashMap<(String, String), Session>>,
}

struct Session {
    /// The epoch the member's next request must carry.
    next_epoch: i32,
    partitions: BTreeSet<SharePartitionId>,
}

/// What a request's session epoch asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionStep {
    /// Fetch from these partitions (the session's, after the request's changes).
    Fetch(Vec<SharePartitionId>),
    /// The session closed: acknowledge only.
    Closed,
}

impl ShareSessions {
    /// A ShareFetch's session epoch and partition changes.
    pub(crate) fn fetch(
        &self,
        group: &str,
        member: &str,
        epoch: i32,
        added: impl IntoIterator<Item = SharePartitionId>,
        forgotten: impl IntoIterator<Item = SharePartitionId>,
    ) -> Result<SessionStep, ResponseError> {
        let key = (group.to_string(), member.to_string());
        let mut sessions = self.sessions.lock();
        match epoch {
            0 => {
                let partitions: BTreeSet<_> = added.into_iter().collect();
                let fetch = partitions.iter().copied().collect();
                sessions.insert(key, Session { next_epoch: 1, partitions });
                Ok(SessionStep::Fetch(fetch))
            }
            -1 => sessions.remove(&key).map(|_| SessionStep::Closed).ok_or(ResponseError::ShareSessionNotFound),
            epoch => {
                let session = sessions.get_mut(&key).ok_or(ResponseError::ShareSessionNotFound)?;
                if epoch != session.next_epoch {
                    return Err(ResponseError::InvalidShareSessionEpoch);
                }
                session.next_epoch = next(epoch);
                session.partitions.extend(added);
                for p in forgotten {
                    session.partitions.remove(&p);
                }
                Ok(SessionStep::Fetch(session.partitions.iter().copied().collect()))
            }
        }
    }

    /// A ShareAcknowledge's session epoch: it must continue an open session (or close it).
    pub(crate) fn acknowledge(&self, group: &str, member: &str, epoch: i32) -> Result<SessionStep, ResponseError> {
        let key = (group.to_string(), member.to_string());
        let mut sessions = self.sessions.lock();
        match epoch {
            0 => Err(ResponseError::InvalidShareSessionEpoch),
            -1 => sessions.remove(&key).map(|_| SessionStep::Closed).ok_or(ResponseError::ShareSessionNotFound),
            epoch => {
                let session = sessions.get_mut(&key).ok_or(ResponseError::ShareSessionNotFound)?;
                if epoch != session.next_epoch {
                    return Err(ResponseError::InvalidShareSessionEpoch);
                }
                session.next_epoch = next(epoch);
                Ok(SessionStep::Fetch(Vec::new()))
            }
        }
    }
}

/// Epochs run 1, 2, … and wrap back to 1 (0 and -1 mean open and close).
fn next(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opens_moves_on_one_epoch_at_a_time_and_closes() {
        let sessions = ShareSessions::default();
        let (t, u) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(sessions.fetch("g", "m", 0, [(t, 0)], []), Ok(SessionStep::Fetch(vec![(t, 0)])));
        assert_eq!(sessions.fetch("g", "m", 2, [], []), Err(ResponseError::InvalidShareSessionEpoch));
        let step = sessions.fetch("g", "m", 1, [(u, 3)], [(t, 0)]);
        assert_eq!(step, Ok(SessionStep::Fetch(vec![(u, 3)])));
        assert_eq!(sessions.acknowledge("g", "m", 2), Ok(SessionStep::Fetch(vec![])));
        assert_eq!(sessions.acknowledge("g", "m", 0), Err(ResponseError::InvalidShareSessionEpoch));
        assert_eq!(sessions.fetch("g", "m", -1, [], []), Ok(SessionStep::Closed));
        assert_eq!(sessions.fetch("g", "m", 4, [], []), Err(ResponseError::ShareSessionNotFound));
        assert_eq!(sessions.fetch("g", "other", -1, [], []), Err(ResponseError::ShareSessionNotFound));
    }
}
