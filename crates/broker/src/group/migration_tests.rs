//! A classic group upgraded by a consumer-protocol member and downgraded when it leaves,
//! through the broker API.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::{ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::super::consumer_protocol::encode_assignment;
use super::super::tests::broker;
use super::super::*;
use crate::access::RequestContext;

fn subscription(owned: &[i32]) -> Bytes {
    let s = ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_static_str("t")])
        .with_owned_partitions(vec![OwnedTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(owned.to_vec())]);
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    s.encode(&mut buf, 1).unwrap();
    buf.freeze()
}

fn classic(member_id: &str, owned: &[i32]) -> JoinParams {
    JoinParams {
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "classic".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_secs(6),
        rebalance_timeout: Duration::from_secs(6),
        protocol_type: "consumer".into(),
        protocols: vec![("cooperative-sticky".into(), subscription(owned))],
        require_known_member_id: false,
    }
}

fn consumer(member_id: &str, epoch: i32) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: member_id.into(),
        member_epoch: epoch,
        instance_id: None,
        rack_id: None,
        client_id: "kip848".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout: Duration::from_secs(6),
        subscribed_topics: (epoch == 0).then(|| vec!["t".to_string()]),
        subscribed_topic_regex: None,
        server_assignor: None,
        owned: None,
    }
}

fn partitions(assignment: &[u8]) -> Vec<i32> {
    decode_consumer_assignment(assignment).into_iter().map(|(_, p)| p).collect()
}

#[tokio::test]
async fn a_classic_group_is_upgraded_by_a_consumer_member_and_downgraded_when_it_leaves() {
    let b = broker();
    let ctx = RequestContext::local();
    let both: BTreeSet<(String, i32)> = [("t".to_string(), 0), ("t".to_string(), 1)].into();
    let joined = b.join_group(&ctx, "g", classic("", &[])).await.unwrap();
    let a = joined.member_id.clone();
    let assignments = vec![(a.clone(), encode_assignment(&both))];
    b.sync_group(&ctx, "g", joined.generation_id, &a, None, assignments).await.unwrap();
    let gen = joined.generation_id;

    // The first consumer-protocol member upgrades the group; the classic member keeps
    // both partitions until it gives one up.
    let c = b.consumer_group_heartbeat(&ctx, "g", consumer("c", 0)).unwrap();
    assert_eq!(c.assignment, Some(BTreeSet::new()));
    assert!(b.is_consumer_protocol_group("g"));
    assert!(matches!(b.heartbeat(&ctx, "g", gen, &a, None), Err(BrokerError::RebalanceInProgress)));

    // It rejoins still owning both: told to keep one, at its old generation.
    let rejoined = b.join_group(&ctx, "g", classic(&a, &[0, 1])).await.unwrap();
    assert_eq!((rejoined.generation_id, rejoined.leader.as_str()), (gen, ""));
    assert!(rejoined.members.is_empty(), "classic members of a consumer group are all followers");
    let kept = b.sync_group(&ctx, "g", gen, &a, None, vec![]).await.unwrap();
    assert_eq!(kept.protocol_name.as_deref(), Some("cooperative-sticky"));
    let kept = partitions(&kept.assignment);
    assert_eq!(kept.len(), 1);
    assert!(matches!(b.heartbeat(&ctx, "g", gen, &a, None), Err(BrokerError::RebalanceInProgress)));
    // Rejoining with only the kept partition confirms the revocation: a new generation.
    let confirmed = b.join_group(&ctx, "g", classic(&a, &kept)).await.unwrap();
    assert!(confirmed.generation_id > gen);
    let synced = b.sync_group(&ctx, "g", confirmed.generation_id, &a, None, vec![]).await.unwrap();
    assert_eq!(partitions(&synced.assignment), kept);
    b.heartbeat(&ctx, "g", confirmed.generation_id, &a, None).unwrap();
    // Offsets: a classic member commits at its generation, ILLEGAL_GENERATION otherwise.
    let commit = vec![OffsetCommit {
        topic: "t".into(),
        partition: kept[0],
        offset: 1,
        leader_epoch: 0,
        metadata: String::new(),
    }];
    b.commit_offsets(&ctx, "g", confirmed.generation_id, &a, None, commit.clone()).await.unwrap();
    assert!(matches!(
        b.commit_offsets(&ctx, "g", gen, &a, None, commit).await,
        Err(BrokerError::IllegalGeneration { .. })
    ));

    // The consumer member now gets the released partition.
    let c = b.consumer_group_heartbeat(&ctx, "g", consumer("c", c.member_epoch)).unwrap();
    let got: Vec<i32> = c.assignment.unwrap().into_iter().map(|(_, p)| p).collect();
    assert_eq!(got.len(), 1);
    assert_ne!(got, kept);
    let described = b.describe_consumer_group(&ctx, "g").unwrap().unwrap();
    assert_eq!(described.members.iter().filter(|m| m.classic).count(), 1);

    // The consumer member leaves: only a classic member is left, the group is classic
    // again and rebalances; the member rejoins under the classic protocol proper.
    b.consumer_group_heartbeat(&ctx, "g", consumer("c", -1)).unwrap();
    assert!(!b.is_consumer_protocol_group("g"));
    assert_eq!(b.describe_group(&ctx, "g").unwrap().state, Some(GroupState::PreparingRebalance));
    assert!(matches!(b.heartbeat(&ctx, "g", confirmed.generation_id, &a, None), Err(BrokerError::RebalanceInProgress)));
    let back = b.join_group(&ctx, "g", classic(&a, &kept)).await.unwrap();
    assert_eq!((back.leader.as_str(), back.members.len()), (a.as_str(), 1));
    assert!(back.generation_id > confirmed.generation_id);
}

#[tokio::test]
async fn only_groups_of_consumers_are_upgraded() {
    let b = broker();
    let ctx = RequestContext::local();
    let connect = JoinParams { protocol_type: "connect".into(), ..classic("", &[]) };
    b.join_group(&ctx, "workers", connect).await.unwrap();
    assert!(matches!(
        b.consumer_group_heartbeat(&ctx, "workers", consumer("c", 0)),
        Err(BrokerError::GroupIdNotFound(_))
    ));
    assert!(!b.is_consumer_protocol_group("workers"));
}

#[tokio::test]
async fn an_empty_group_changes_protocol_either_way() {
    let b = broker();
    let ctx = RequestContext::local();
    let c = b.consumer_group_heartbeat(&ctx, "g", consumer("c", 0)).unwrap();
    b.consumer_group_heartbeat(&ctx, "g", consumer("c", -1)).unwrap();
    assert!(b.is_consumer_protocol_group("g"), "an empty consumer group stays one until someone joins");
    let joined = b.join_group(&ctx, "g", classic("", &[])).await.unwrap();
    assert!(!b.is_consumer_protocol_group("g"));
    assert_eq!(joined.leader, joined.member_id);
    b.leave_group(&ctx, "g", &[(joined.member_id.clone(), None)]).unwrap().pop().unwrap().unwrap();
    let again = b.consumer_group_heartbeat(&ctx, "g", consumer("c2", 0)).unwrap();
    assert!(again.member_epoch > 0 && c.member_epoch > 0);
    assert!(b.is_consumer_protocol_group("g"));
}
