//! Moving a group between the classic and the consumer protocol (KIP-848 online
//! migration), as Kafka does under its default `group.consumer.migration.policy`
//! (`bidirectional`): an empty group of either kind simply becomes the other kind when a
//! member of the other protocol joins; a classic group with members is upgraded when the
//! first consumer-protocol member joins, its members kept (with their assignments) as
//! classic members of the consumer group; and a consumer group left with classic members
//! only is downgraded back to a classic group.

use std::time::Instant;

use super::membership::Group;
use super::{ConsumerGroup, GroupEntry};
use crate::error::{BrokerError, Result};

const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

impl GroupEntry {
    /// Before a consumer-protocol heartbeat: turns a classic group with members into a
    /// consumer group. Only groups of consumers (protocol type "consumer") can be; Kafka
    /// refuses others as not being consumer groups.
    pub(super) fn upgrade_for_consumer_protocol(&mut self, group_id: &str, now: Instant) -> Result<()> {
        if self.membership.is_empty() {
            return Ok(());
        }
        if self.membership.protocol_type() != Some(CONSUMER_PROTOCOL_TYPE) {
            return Err(BrokerError::GroupIdNotFound(group_id.into()));
        }
        let (generation, members) = self.membership.take_members_for_upgrade();
        tracing::info!(group = %group_id, members = members.len(), generation, "upgrading classic group to the consumer protocol");
        self.consumer = ConsumerGroup::from_classic(generation, members, now);
        Ok(())
    }

    /// Before a classic join: an empty consumer group is replaced by a classic one, as
    /// Kafka deletes it, so that it no longer reports itself as a consumer group.
    pub(super) fn forget_empty_consumer_group(&mut self) {
        if self.consumer.is_empty() && self.consumer.group_epoch() > 0 {
            self.consumer = ConsumerGroup::default();
        }
    }

    /// After a consumer-protocol member left or expired: a group whose remaining members
    /// all speak the classic protocol becomes a classic group again.
    pub(super) fn maybe_downgrade(&mut self, now: Instant) {
        if !self.consumer.only_classic_members() {
            return;
        }
        let (generation, members) = self.consumer.take_classic_members();
        tracing::info!(group = %self.membership.id, members = members.len(), generation, "downgrading consumer group to the classic protocol");
        self.membership = Group::from_downgrade(self.membership.id.clone(), generation, members, now);
    }
}

#[cfg(test)]
#[path = "migration_tests.rs"]
mod tests;
