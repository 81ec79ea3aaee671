//! The consumer embedded protocol that classic members carry inside JoinGroup and
//! SyncGroup: their subscription (topics and the partitions they own) and the assignment
//! the group gives them. Needed when a consumer-protocol group serves classic members
//! (KIP-848 online migration) and computes their assignment itself.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::assignor::TopicPartition;

/// What a classic member's subscription metadata says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassicSubscription {
    pub topics: Vec<String>,
    pub owned: Vec<TopicPartition>,
}

/// Decodes subscription metadata (version prefix, then the body). Versions past the
/// newest known are read as it, as Kafka reads every version by its known prefix.
pub fn decode_subscription(metadata: &[u8]) -> Option<ClassicSubscription> {
    let mut buf = Bytes::copy_from_slice(metadata);
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16();
    if version < 0 {
        return None;
    }
    let s = ConsumerProtocolSubscription::decode(&mut buf, version.min(3)).ok()?;
    Some(ClassicSubscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
        owned: s
            .owned_partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter().map(|p| (tp.topic.to_string(), *p)))
            .collect(),
    })
}

/// Encodes an assignment as SyncGroup returns it to a classic member.
pub fn encode_assignment(partitions: &BTreeSet<TopicPartition>) -> Bytes {
    // Version 0 is the prefix every client reads.
    const VERSION: i16 = 0;
    let mut topics: Vec<AssignedTopic> = Vec::new();
    for (topic, p) in partitions {
        match topics.last_mut() {
            Some(last) if last.topic.as_str() == topic => last.partitions.push(*p),
            _ => topics.push(
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(vec![*p]),
            ),
        }
    }
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(topics);
    let mut buf = BytesMut::new();
    buf.put_i16(VERSION);
    // Encoding owned, well-formed data into a growable buffer cannot fail; an empty
    // assignment is the safe answer if it ever did.
    if assignment.encode(&mut buf, VERSION).is_err() {
        return Bytes::new();
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;

    #[test]
    fn subscriptions_decode_and_assignments_round_trip() {
        let s = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("t")])
            .with_owned_partitions(vec![OwnedTopic::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![1, 3])]);
        for version in 1..=3i16 {
            let mut buf = BytesMut::new();
            buf.put_i16(version);
            s.encode(&mut buf, version).unwrap();
            let decoded = decode_subscription(&buf).unwrap();
            assert_eq!(decoded.topics, vec!["t".to_string()]);
            assert_eq!(decoded.owned, vec![("t".to_string(), 1), ("t".to_string(), 3)]);
        }
        assert_eq!(decode_subscription(b"\x00"), None);
        assert_eq!(decode_subscription(b"\x00\x00\xff\xff\xff"), None);
        let assigned: BTreeSet<TopicPartition> = [("a".into(), 0), ("a".into(), 2), ("b".into(), 1)].into();
        let bytes = encode_assignment(&assigned);
        assert_eq!(super::super::decode_consumer_assignment(&bytes), assigned.into_iter().collect::<Vec<_>>());
    }
}
