use super::*;

fn hb(member_id: &str, epoch: i32, topics: Option<&[&str]>, owned: Option<Vec<TopicPartition>>) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: member_id.into(),
        member_epoch: epoch,
        instance_id: None,
        rack_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout: Duration::from_secs(30),
        subscribed_topics: topics.map(|t| t.iter().map(|s| s.to_string()).collect()),
        subscribed_topic_regex: None,
        server_assignor: None,
        owned,
    }
}

fn static_hb(member_id: &str, epoch: i32, instance: &str) -> ConsumerHeartbeat {
    ConsumerHeartbeat { instance_id: Some(instance.into()), ..hb(member_id, epoch, Some(&["t"]), None) }
}

fn regex_hb(member_id: &str, epoch: i32, regex: &str) -> ConsumerHeartbeat {
    ConsumerHeartbeat { subscribed_topic_regex: Some(regex.into()), ..hb(member_id, epoch, None, None) }
}

fn catalogue(topics: &[(&str, i32)]) -> BTreeMap<String, i32> {
    topics.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn four() -> BTreeMap<String, i32> {
    catalogue(&[("t", 4)])
}

fn session() -> (ConsumerGroup, Instant, Duration) {
    (ConsumerGroup::default(), Instant::now(), Duration::from_secs(45))
}

#[test]
fn a_partition_moves_only_after_its_owner_releases_it() {
    let (mut g, now, s) = session();
    let a = g.heartbeat(hb("a", 0, Some(&["t"]), None), now, s, &four()).unwrap();
    assert_eq!(a.assignment.as_ref().unwrap().len(), 4);
    let a_epoch = a.member_epoch;
    let b = g.heartbeat(hb("b", 0, Some(&["t"]), None), now, s, &four()).unwrap();
    assert_eq!(b.assignment, Some(BTreeSet::new()), "b waits: a still owns everything");
    assert_eq!(g.state(), "Reconciling");
    // a is told to give two partitions up, at its old epoch.
    let a = g.heartbeat(hb("a", a_epoch, None, None), now, s, &four()).unwrap();
    let kept = a.assignment.unwrap();
    assert_eq!((kept.len(), a.member_epoch), (2, a_epoch));
    // b still gets nothing until a confirms.
    assert_eq!(g.heartbeat(hb("b", b.member_epoch, None, None), now, s, &four()).unwrap().assignment, None);
    let a = g.heartbeat(hb("a", a_epoch, None, Some(kept.iter().cloned().collect())), now, s, &four()).unwrap();
    assert!(a.member_epoch > a_epoch);
    let b = g.heartbeat(hb("b", b.member_epoch, None, None), now, s, &four()).unwrap();
    let got = b.assignment.unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.is_disjoint(&kept));
    assert_eq!(g.state(), "Stable");
    // Leaving hands b's partitions back to a at the next heartbeat.
    g.heartbeat(hb("b", -1, None, None), now, s, &four()).unwrap();
    let a = g.heartbeat(hb("a", a.member_epoch, None, None), now, s, &four()).unwrap();
    assert_eq!(a.assignment.unwrap().len(), 4);
    assert!(matches!(g.heartbeat(hb("b", -1, None, None), now, s, &four()), Err(BrokerError::UnknownMemberId(_))));
}

#[test]
fn stale_epochs_and_unknown_members_are_refused() {
    let (mut g, now, s) = session();
    let a = g.heartbeat(hb("a", 0, Some(&["t"]), None), now, s, &four()).unwrap();
    assert!(matches!(
        g.heartbeat(hb("a", a.member_epoch + 5, None, None), now, s, &four()),
        Err(BrokerError::FencedMemberEpoch { .. })
    ));
    assert!(matches!(g.heartbeat(hb("zz", 3, None, None), now, s, &four()), Err(BrokerError::UnknownMemberId(_))));
    assert_eq!(g.tick(now + Duration::from_secs(46)), vec!["a".to_string()]);
    assert_eq!(g.state(), "Empty");
}

#[test]
fn commits_are_checked_as_kafka_does() {
    let (mut g, now, s) = session();
    // No members: a commit from outside the group (admin, or a consumer using assign())
    // passes, whatever member id it carries.
    assert!(g.check_commit("", -1).is_ok());
    assert!(g.check_commit("assign-only", -1).is_ok());
    let a = g.heartbeat(hb("a", 0, Some(&["t"]), None), now, s, &four()).unwrap();
    assert!(g.check_commit("a", a.member_epoch).is_ok());
    assert!(matches!(g.check_commit("", -1), Err(BrokerError::UnknownMemberId(_))), "admin commit on a live group");
    assert!(matches!(g.check_commit("a", a.member_epoch - 1), Err(BrokerError::StaleMemberEpoch { .. })));
    assert!(matches!(g.check_commit("a", a.member_epoch + 1), Err(BrokerError::StaleMemberEpoch { .. })));
}

#[test]
fn a_regex_subscription_follows_topics_as_they_come_and_go() {
    let (mut g, now, s) = session();
    let mut topics = catalogue(&[("rx-a", 2), ("other", 3)]);
    let a = g.heartbeat(regex_hb("a", 0, "rx-.*"), now, s, &topics).unwrap();
    assert_eq!(a.assignment.unwrap(), [("rx-a".to_string(), 0), ("rx-a".to_string(), 1)].into());
    assert_eq!(g.subscribed_topics(), ["rx-a".to_string()].into());
    // A matching topic is created: the next heartbeat brings it in.
    topics.insert("rx-b".into(), 1);
    let a = g.heartbeat(hb("a", a.member_epoch, None, None), now, s, &topics).unwrap();
    assert!(a.assignment.unwrap().contains(&("rx-b".to_string(), 0)));
    // Deleted: it goes again.
    topics.remove("rx-a");
    let a = g.heartbeat(hb("a", a.member_epoch, None, None), now, s, &topics).unwrap();
    assert_eq!(a.assignment.unwrap(), [("rx-b".to_string(), 0)].into());
    assert_eq!(g.members()[0].subscribed_topic_regex.as_deref(), Some("rx-.*"));
    // An empty regex clears the subscription.
    let a = g.heartbeat(regex_hb("a", a.member_epoch, ""), now, s, &topics).unwrap();
    assert_eq!(a.assignment, Some(BTreeSet::new()));
}

#[test]
fn an_invalid_regex_is_refused_and_changes_nothing() {
    let (mut g, now, s) = session();
    assert!(matches!(
        g.heartbeat(regex_hb("a", 0, "rx-("), now, s, &four()),
        Err(BrokerError::InvalidRegularExpression(_))
    ));
    assert!(g.is_empty(), "the refused join left no member behind");
}

#[test]
fn a_live_instance_id_is_not_taken_but_a_released_one_is() {
    let (mut g, now, s) = session();
    let a = g.heartbeat(static_hb("a", 0, "inst-1"), now, s, &four()).unwrap();
    let owned = a.assignment.clone().unwrap();
    assert_eq!(owned.len(), 4);
    assert!(matches!(
        g.heartbeat(static_hb("b", 0, "inst-1"), now, s, &four()),
        Err(BrokerError::UnreleasedInstanceId(i)) if i == "inst-1"
    ));
    // Leaving with -2 keeps the place and the partitions: no rebalance.
    let epoch_before = g.group_epoch();
    let left = g.heartbeat(static_hb("a", -2, "inst-1"), now, s, &four()).unwrap();
    assert_eq!(left.member_epoch, -2);
    assert_eq!((g.members().len(), g.group_epoch()), (1, epoch_before));
    // The restarted instance takes over the assignment at once, under its new id.
    let b = g.heartbeat(static_hb("b", 0, "inst-1"), now, s, &four()).unwrap();
    assert_eq!(b.assignment.unwrap(), owned);
    assert!(b.member_epoch > 0);
    assert_eq!(g.members().iter().map(|m| m.member_id.as_str()).collect::<Vec<_>>(), vec!["b"]);
    // The old id is fenced by the new holder of the instance id.
    assert!(matches!(
        g.heartbeat(static_hb("a", a.member_epoch, "inst-1"), now, s, &four()),
        Err(BrokerError::FencedInstanceId(_))
    ));
    assert!(matches!(
        g.heartbeat(static_hb("a", -1, "inst-1"), now, s, &four()),
        Err(BrokerError::FencedInstanceId(_))
    ));
    assert!(matches!(g.heartbeat(static_hb("x", 3, "inst-9"), now, s, &four()), Err(BrokerError::UnknownMemberId(_))));
    // Leaving with -1 gives the instance up for good.
    g.heartbeat(static_hb("b", -1, "inst-1"), now, s, &four()).unwrap();
    assert!(g.is_empty());
}

#[test]
fn a_static_member_that_never_returns_expires_with_its_session() {
    let (mut g, now, s) = session();
    g.heartbeat(static_hb("a", 0, "inst-1"), now, s, &four()).unwrap();
    g.heartbeat(static_hb("a", -2, "inst-1"), now, s, &four()).unwrap();
    assert_eq!(g.tick(now + s + Duration::from_millis(1)), vec!["a".to_string()]);
    let b = g.heartbeat(static_hb("b", 0, "inst-1"), now, s, &four()).unwrap();
    assert_eq!(b.assignment.unwrap().len(), 4, "a plain join once the place expired");
}
