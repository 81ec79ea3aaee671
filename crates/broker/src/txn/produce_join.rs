//! Transaction version 2 on the produce path (KIP-890 part 2): a transactional batch
//! sent with Produce v12+ brings its partition into the producer's transaction, which
//! Kafka's partition leader does with an AddPartitionsToTxn to the coordinator on the
//! producer's behalf. The Kafka front-end asks [`Broker::transaction_to_join`] for each
//! partition of the request and, for those that must join, awaits
//! [`Broker::add_partitions_for_produce`] before it appends anything, so the append then
//! passes verification.

use tidelog_log::BatchHeader;

use super::coordinator::check_producer;
use super::TransactionVersion;
use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};

impl Broker {
    /// The producer (id, epoch) whose transaction `topic`-`partition` must join before
    /// `records` is appended: a transactional data batch for an existing partition its
    /// open transaction does not hold yet.
    pub fn transaction_to_join(&self, topic: &str, partition: i32, records: &[u8]) -> Option<(i64, i16)> {
        let header = BatchHeader::parse(records).ok()?;
        if !header.is_transactional() || header.is_control() || self.partition(topic, partition).is_err() {
            return None;
        }
        let (producer_id, epoch) = (header.producer_id, header.producer_epoch);
        (!self.transactions.open.holds(producer_id, epoch, topic, partition)).then_some((producer_id, epoch))
    }

    /// Produce v12+ (transaction version 2): the partitions of a producer's transactional
    /// batches join its transaction without an AddPartitionsToTxn, as Kafka's partition
    /// leader adds them on the producer's behalf. The produce path calls this, before it
    /// appends, for partitions the transaction does not hold yet.
    pub async fn add_partitions_for_produce(
        &self,
        ctx: &RequestContext,
        producer_id: i64,
        epoch: i16,
        partitions: Vec<(String, i32)>,
    ) -> Result<()> {
        let transactional_id = self.transactions.open.transactional_id(producer_id).ok_or_else(|| {
            BrokerError::InvalidProducerIdMapping(format!("producer id {producer_id} has no transactional id"))
        })?;
        self.authorize(ctx, Operation::Write, Resource::TransactionalId(&transactional_id))?;
        let slot = self.transactions.slot(&transactional_id);
        let mut guard = slot.lock().await;
        let meta = check_producer(guard.as_mut(), producer_id, epoch)?;
        self.join_transaction(&transactional_id, meta, partitions, TransactionVersion::V2).await
    }
}
