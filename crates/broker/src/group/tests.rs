//! Coordinator behaviour through the broker API, on the in-memory log.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::access::RequestContext;
use crate::admin::NewTopic;
use crate::config::BrokerConfig;

pub(super) fn broker() -> Arc<Broker> {
    let config =
        BrokerConfig::from_pairs([("group.initial.rebalance.delay.ms", "0"), ("group.min.session.timeout.ms", "100")])
            .unwrap();
    let b = Broker::in_memory(config);
    b.create_topic(
        &RequestContext::local(),
        NewTopic { name: "t".into(), partitions: Some(2), ..Default::default() },
        false,
    )
    .unwrap();
    tokio::spawn(b.clone().run_group_timers());
    b
}

fn params(member_id: &str, session_ms: u64) -> JoinParams {
    JoinParams {
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_millis(session_ms),
        rebalance_timeout: Duration::from_millis(session_ms),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"sub")), ("roundrobin".into(), Bytes::new())],
        require_known_member_id: true,
    }
}

/// Joins through the KIP-394 two-step handshake and returns the outcome.
async fn join(b: &Broker, session_ms: u64) -> JoinOutcome {
    let id = match b.join_group(&RequestContext::local(), "g", params("", session_ms)).await {
        Err(BrokerError::MemberIdRequired(id)) => id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    };
    b.join_group(&RequestContext::local(), "g", params(&id, session_ms)).await.unwrap()
}

#[tokio::test]
async fn two_members_rebalance_sync_and_commit() {
    let b = broker();
    let first = join(&b, 6000).await;
    assert_eq!((first.generation_id, first.leader.as_str()), (1, first.member_id.as_str()));
    assert_eq!(first.protocol_name.as_deref(), Some("range"));
    b.sync_group(
        &RequestContext::local(),
        "g",
        1,
        &first.member_id,
        None,
        vec![(first.member_id.clone(), Bytes::from_static(b"all"))],
    )
    .await
    .unwrap();

    // A second member: the first learns of the rebalance through its heartbeat and rejoins.
    let b2 = b.clone();
    let second = tokio::spawn(async move { join(&b2, 6000).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        b.heartbeat(&RequestContext::local(), "g", 1, &first.member_id, None),
        Err(BrokerError::RebalanceInProgress)
    ));
    let again = b.join_group(&RequestContext::local(), "g", params(&first.member_id, 6000)).await.unwrap();
    let second = second.await.unwrap();
    assert_eq!((again.generation_id, second.generation_id), (2, 2));
    assert_eq!(again.members.len(), 2, "the leader sees both subscriptions");
    assert!(second.members.is_empty());

    let b3 = b.clone();
    let follower = second.member_id.clone();
    let waiting =
        tokio::spawn(async move { b3.sync_group(&RequestContext::local(), "g", 2, &follower, None, vec![]).await });
    let assignments = vec![
        (again.member_id.clone(), Bytes::from_static(b"p0")),
        (second.member_id.clone(), Bytes::from_static(b"p1")),
    ];
    assert_eq!(
        b.sync_group(&RequestContext::local(), "g", 2, &again.member_id, None, assignments).await.unwrap().assignment,
        Bytes::from_static(b"p0")
    );
    assert_eq!(waiting.await.unwrap().unwrap().assignment, Bytes::from_static(b"p1"));

    assert!(matches!(
        b.sync_group(&RequestContext::local(), "g", 1, &again.member_id, None, vec![]).await,
        Err(BrokerError::IllegalGeneration { .. })
    ));
    let commit = OffsetCommit { topic: "t".into(), partition: 1, offset: 7, leader_epoch: 0, metadata: "m".into() };
    assert!(matches!(
        b.commit_offsets(&RequestContext::local(), "g", 1, &again.member_id, None, vec![commit.clone()]).await,
        Err(BrokerError::IllegalGeneration { .. })
    ));
    let results = b
        .commit_offsets(
            &RequestContext::local(),
            "g",
            2,
            &again.member_id,
            None,
            vec![
                commit,
                OffsetCommit {
                    topic: "nope".into(),
                    partition: 0,
                    offset: 1,
                    leader_epoch: 0,
                    metadata: String::new(),
                },
            ],
        )
        .await
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(BrokerError::UnknownTopicOrPartition { .. })));
    let fetched = b.fetch_offsets(&RequestContext::local(), "g", None).unwrap();
    assert_eq!(fetched[0].0, "t");
    assert_eq!(fetched[0].1[0].1.as_ref().unwrap().offset, 7);
    for _ in 0..10 {
        b.append(
            &RequestContext::local(),
            "t",
            1,
            &crate::test_support::encode_batch(
                1,
                b"v",
                crate::broker::now_ms(),
                kafka_protocol::records::Compression::None,
            ),
        )
        .unwrap();
    }
    let lag = b.group_lag("g");
    assert_eq!(
        lag,
        vec![PartitionLag { topic: "t".into(), partition: 1, committed_offset: 7, log_end_offset: 10, lag: 3 }]
    );
    // Members subscribe to nothing readable here ("sub" is not a consumer-protocol subscription).
    assert!(b.delete_offsets(&RequestContext::local(), "g", vec![("t".into(), 1)]).await.unwrap()[0].is_ok());
    assert!(b.fetch_offsets(&RequestContext::local(), "g", None).unwrap().is_empty());
    b.commit_offsets(
        &RequestContext::local(),
        "g",
        2,
        &again.member_id,
        None,
        vec![OffsetCommit { topic: "t".into(), partition: 1, offset: 7, leader_epoch: 0, metadata: "m".into() }],
    )
    .await
    .unwrap();

    assert!(matches!(b.delete_group(&RequestContext::local(), "g").await, Err(BrokerError::NonEmptyGroup(_))));
    let left = b
        .leave_group(
            &RequestContext::local(),
            "g",
            &[(again.member_id.clone(), None), (second.member_id.clone(), None)],
        )
        .unwrap();
    assert!(left.iter().all(|r| r.is_ok()));
    assert_eq!(b.describe_group(&RequestContext::local(), "g").unwrap().state, Some(GroupState::Empty));
    b.delete_group(&RequestContext::local(), "g").await.unwrap();
    assert!(b.fetch_offsets(&RequestContext::local(), "g", None).unwrap().is_empty());
}

#[tokio::test]
async fn a_silent_member_is_expired_after_its_session_timeout() {
    let b = broker();
    let only = join(&b, 300).await;
    b.sync_group(&RequestContext::local(), "g", 1, &only.member_id, None, vec![]).await.unwrap();
    let b2 = b.clone();
    // Paused time would stall the real-time session clock; wait for the real expiry.
    let describe = tokio::time::timeout(Duration::from_secs(10), async move {
        loop {
            if b2.describe_group(&RequestContext::local(), "g").unwrap().state == Some(GroupState::Empty) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    describe.await.expect("member expired");
    assert!(matches!(
        b.heartbeat(&RequestContext::local(), "g", 1, &only.member_id, None),
        Err(BrokerError::UnknownMemberId(_))
    ));
}

#[tokio::test]
async fn errors_for_bad_joins() {
    let b = broker();
    assert!(matches!(
        b.join_group(&RequestContext::local(), "", params("", 6000)).await,
        Err(BrokerError::InvalidGroupId(_))
    ));
    assert!(matches!(
        b.join_group(&RequestContext::local(), "g", params("", 10)).await,
        Err(BrokerError::InvalidSessionTimeout { .. })
    ));
    assert!(matches!(
        b.join_group(&RequestContext::local(), "g", params("ghost", 6000)).await,
        Err(BrokerError::UnknownMemberId(_))
    ));
    assert!(matches!(
        b.heartbeat(&RequestContext::local(), "none", 1, "x", None),
        Err(BrokerError::UnknownMemberId(_))
    ));
    assert!(matches!(b.delete_group(&RequestContext::local(), "none").await, Err(BrokerError::GroupIdNotFound(_))));
}

#[tokio::test]
async fn a_coordinator_partition_unloads_and_reloads_its_groups() {
    let b = broker();
    let commit = OffsetCommit { topic: "t".into(), partition: 0, offset: 5, leader_epoch: 0, metadata: String::new() };
    b.commit_offsets(&RequestContext::local(), "solo", -1, "", None, vec![commit])
        .await
        .unwrap()
        .into_iter()
        .for_each(|r| r.unwrap());
    let committed = |b: &Broker| {
        b.fetch_offsets(&RequestContext::local(), "solo", Some(vec![("t".into(), vec![0])])).unwrap()[0].1[0]
            .1
            .as_ref()
            .map(|c| c.offset)
    };
    assert_eq!(committed(&b), Some(5));
    // Leadership of the group's `__consumer_offsets` partition moves away, then back.
    b.leadership_changed(OFFSETS_TOPIC, 0..1, false).unwrap();
    assert_eq!(committed(&b), None, "another node coordinates the group now");
    b.leadership_changed(OFFSETS_TOPIC, 0..1, true).unwrap();
    assert_eq!(committed(&b), Some(5), "reloaded from the partition");
}

fn commit_t0(offset: i64) -> Vec<OffsetCommit> {
    vec![OffsetCommit { topic: "t".into(), partition: 0, offset, leader_epoch: 0, metadata: String::new() }]
}

#[tokio::test]
async fn members_commit_while_the_group_prepares_a_rebalance_but_not_while_it_completes() {
    let b = broker();
    let ctx = RequestContext::local();
    let first = join(&b, 6000).await;
    b.sync_group(&ctx, "g", 1, &first.member_id, None, vec![]).await.unwrap();
    // A second member arrives: the group prepares a rebalance while the first still
    // consumes generation 1 and commits in its revocation callback, as Kafka allows.
    let b2 = b.clone();
    let second = tokio::spawn(async move { join(&b2, 6000).await });
    while b.describe_group(&ctx, "g").unwrap().state != Some(GroupState::PreparingRebalance) {
        tokio::task::yield_now().await;
    }
    let results = b.commit_offsets(&ctx, "g", 1, &first.member_id, None, commit_t0(3)).await.unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    // The rejoin completes generation 2; before SyncGroup the commit must wait.
    let again = b.join_group(&ctx, "g", params(&first.member_id, 6000)).await.unwrap();
    second.await.unwrap();
    assert_eq!(b.describe_group(&ctx, "g").unwrap().state, Some(GroupState::CompletingRebalance));
    assert!(matches!(
        b.commit_offsets(&ctx, "g", again.generation_id, &again.member_id, None, commit_t0(4)).await,
        Err(BrokerError::RebalanceInProgress)
    ));
    assert!(matches!(
        b.commit_offsets(&ctx, "g", 1, &again.member_id, None, commit_t0(4)).await,
        Err(BrokerError::IllegalGeneration { .. })
    ));
    // An admin commit (no member, generation -1) on a group with members: UNKNOWN_MEMBER_ID.
    assert!(matches!(
        b.commit_offsets(&ctx, "g", -1, "", None, commit_t0(5)).await,
        Err(BrokerError::UnknownMemberId(_))
    ));
    let committed = b.fetch_offsets(&ctx, "g", None).unwrap();
    assert_eq!(committed[0].1[0].1.as_ref().map(|c| c.offset), Some(3));
}

#[tokio::test]
async fn commits_from_outside_the_group_pass_while_it_is_empty() {
    let b = broker();
    let ctx = RequestContext::local();
    // A consumer using assign() commits with its own member id and generation -1.
    let results = b.commit_offsets(&ctx, "simple", -1, "assign-only-member", None, commit_t0(9)).await.unwrap();
    assert!(results[0].is_ok());
    let results = b.commit_offsets(&ctx, "simple", -1, "", None, commit_t0(10)).await.unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(
        b.commit_offsets(&ctx, "simple", 3, "nobody", None, commit_t0(11)).await,
        Err(BrokerError::UnknownMemberId(_))
    ));
}

#[tokio::test]
async fn a_replaced_classic_static_member_is_fenced() {
    let b = broker();
    let ctx = RequestContext::local();
    let static_params = || JoinParams { group_instance_id: Some("inst".into()), ..params("", 6000) };
    let old = b.join_group(&ctx, "g", static_params()).await.unwrap();
    b.sync_group(&ctx, "g", old.generation_id, &old.member_id, Some("inst"), vec![]).await.unwrap();
    let new = b.join_group(&ctx, "g", static_params()).await.unwrap();
    assert_ne!(new.member_id, old.member_id);
    assert_eq!(new.generation_id, old.generation_id, "a restarted static member causes no rebalance");
    assert!(matches!(
        b.heartbeat(&ctx, "g", old.generation_id, &old.member_id, Some("inst")),
        Err(BrokerError::FencedInstanceId(_))
    ));
    assert!(matches!(
        b.commit_offsets(&ctx, "g", old.generation_id, &old.member_id, Some("inst"), commit_t0(1)).await,
        Err(BrokerError::FencedInstanceId(_))
    ));
    assert!(matches!(
        b.heartbeat(&ctx, "g", old.generation_id, &old.member_id, Some("other-inst")),
        Err(BrokerError::UnknownMemberId(_))
    ));
    b.heartbeat(&ctx, "g", new.generation_id, &new.member_id, Some("inst")).unwrap();
}
