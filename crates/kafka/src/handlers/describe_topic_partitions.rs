//! DescribeTopicPartitions (KIP-966): topics and their partitions in name order, paged by
//! a cursor and a partition limit as Kafka's `DescribeTopicPartitionsRequestHandler`
//! pages them, with each topic's authorized operations. One node: this broker leads and
//! replicates every partition, so no partition has eligible leader replicas beyond it.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName};
use tidelog_broker::{validate_topic_name, BrokerError, TopicHandle};

use super::{authorized_operations, str_bytes};
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

/// Kafka's `max.request.partition.size.limit` default: the most partitions one response
/// carries, whatever the request asks.
const MAX_PARTITIONS_PER_RESPONSE: i32 = 2000;

pub(crate) fn handle(
    ctx: &Arc<Scope>,
    request: DescribeTopicPartitionsRequest,
    _version: i16,
) -> DescribeTopicPartitionsResponse {
    let fetch_all = request.topics.is_empty();
    let cursor = request.cursor.as_ref().map(|c| (c.topic_name.0.to_string(), c.partition_index));
    let from_cursor = |name: &String| cursor.as_ref().is_none_or(|(first, _)| name >= first);
    // Each topic once, in name order: the cursor is a position in that order.
    let names: BTreeSet<String> = if fetch_all {
        ctx.broker.all_topics().iter().map(|t| t.meta.name.clone()).filter(from_cursor).collect()
    } else {
        request.topics.iter().map(|t| t.name.0.to_string()).filter(from_cursor).collect()
    };
    if let Some((first, _)) = &cursor {
        if !fetch_all && !names.contains(first) {
            return refuse_all(&request, ResponseError::InvalidRequest.code());
        }
    }

    // Kafka does not disclose whether a topic the caller may not describe exists; when
    // every topic is asked for, those are left out.
    let mut unauthorized = Vec::new();
    let mut described = Vec::new();
    for name in names {
        match ctx.broker.describe_topic(&ctx.caller, &name) {
            Ok(found) => described.push((name, found)),
            Err(e @ BrokerError::NotAuthorized { .. }) if !fetch_all => unauthorized.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(TopicName(str_bytes(name))))
                    .with_error_code(error_code(&e)),
            ),
            Err(_) => {}
        }
    }

    let node: BrokerId = ctx.broker.node_id().into();
    let mut remaining = MAX_PARTITIONS_PER_RESPONSE.min(request.response_partition_limit);
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for (name, found) in described {
        if remaining == 0 {
            // The page is full at a topic boundary: the next page starts at this topic.
            next_cursor = Some(Cursor::default().with_topic_name(TopicName(str_bytes(name))).with_partition_index(0));
            break;
        }
        if remaining < 0 {
            continue;
        }
        let Some(topic) = found else {
            if !fetch_all {
                topics.push(missing(&name));
            }
            continue;
        };
        let first = match &cursor {
            // A negative index in the cursor names no partition: start from the first.
            Some((cursor_topic, index)) if *cursor_topic == name => (*index).max(0),
            _ => 0,
        };
        let count = topic.meta.partitions as i64;
        let end = count.min(i64::from(first) + i64::from(remaining));
        let partitions: Vec<_> = (i64::from(first)..end).map(|index| partition(index as i32, node)).collect();
        remaining -= partitions.len() as i32;
        topics.push(described_topic(&topic, partitions));
        if end < count {
            next_cursor =
                Some(Cursor::default().with_topic_name(TopicName(str_bytes(name))).with_partition_index(end as i32));
            break;
        }
    }
    for topic in &mut topics {
        if let Some(name) = &topic.name {
            topic.topic_authorized_operations = authorized_operations::topic(ctx, &name.0);
        }
    }
    topics.extend(unauthorized);
    DescribeTopicPartitionsResponse::default().with_topics(topics).with_next_cursor(next_cursor)
}

fn described_topic(
    topic: &TopicHandle,
    partitions: Vec<DescribeTopicPartitionsResponsePartition>,
) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(str_bytes(topic.meta.name.clone()))))
        .with_topic_id(topic.meta.topic_id)
        .with_is_internal(topic.meta.name.starts_with("__"))
        .with_partitions(partitions)
}

fn partition(index: i32, node: BrokerId) -> DescribeTopicPartitionsResponsePartition {
    DescribeTopicPartitionsResponsePartition::default()
        .with_error_code(NONE)
        .with_partition_index(index)
        .with_leader_id(node)
        .with_leader_epoch(0)
        .with_replica_nodes(vec![node])
        .with_isr_nodes(vec![node])
        // KIP-966: the replicas that could lead besides the ISR; the one node is the ISR.
        .with_eligible_leader_replicas(Some(Vec::new()))
        .with_last_known_elr(Some(Vec::new()))
}

/// A named topic that does not exist, or cannot (an invalid name).
fn missing(name: &str) -> DescribeTopicPartitionsResponseTopic {
    let code = match validate_topic_name(name) {
        Ok(()) => ResponseError::UnknownTopicOrPartition.code(),
        Err(_) => ResponseError::InvalidTopicException.code(),
    };
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(code)
        .with_name(Some(TopicName(str_bytes(name))))
        .with_is_internal(name.starts_with("__"))
}

/// Kafka's answer to a request it cannot serve: every requested topic with `code`.
fn refuse_all(request: &DescribeTopicPartitionsRequest, code: i16) -> DescribeTopicPartitionsResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| DescribeTopicPartitionsResponseTopic::default().with_name(Some(t.name.clone())).with_error_code(code))
        .collect();
    DescribeTopicPartitionsResponse::default().with_topics(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::describe_topic_partitions_request::{Cursor as RequestCursor, TopicRequest};
    use tidelog_broker::access::{Authorizer, Operation, RequestContext, Resource};
    use tidelog_broker::{Broker, BrokerConfig, NewTopic};

    fn scope_with(topics: &[(&str, i32)]) -> Arc<Scope> {
        let broker = Broker::in_memory(BrokerConfig::default());
        for &(name, partitions) in topics {
            let topic = NewTopic { name: name.into(), partitions: Some(partitions), ..Default::default() };
            broker.create_topic(&RequestContext::local(), topic, false).unwrap();
        }
        Scope::for_tests(broker)
    }

    fn request(topics: &[&str], limit: i32, cursor: Option<(&str, i32)>) -> DescribeTopicPartitionsRequest {
        DescribeTopicPartitionsRequest::default()
            .with_topics(topics.iter().map(|t| TopicRequest::default().with_name(TopicName(str_bytes(*t)))).collect())
            .with_response_partition_limit(limit)
            .with_cursor(cursor.map(|(t, p)| {
                RequestCursor::default().with_topic_name(TopicName(str_bytes(t))).with_partition_index(p)
            }))
    }

    /// (topic, partition indexes, error code).
    type Entry = (String, Vec<i32>, i16);

    /// Each topic's entry, and the next cursor.
    fn page(response: &DescribeTopicPartitionsResponse) -> (Vec<Entry>, Option<(String, i32)>) {
        let topics = response
            .topics
            .iter()
            .map(|t| {
                let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                (name, t.partitions.iter().map(|p| p.partition_index).collect(), t.error_code)
            })
            .collect();
        let cursor = response.next_cursor.as_ref().map(|c| (c.topic_name.0.to_string(), c.partition_index));
        (topics, cursor)
    }

    fn entry(name: &str, partitions: &[i32]) -> Entry {
        (name.to_string(), partitions.to_vec(), NONE)
    }

    #[test]
    fn all_topics_page_by_the_partition_limit_and_resume_at_the_cursor() {
        let ctx = scope_with(&[("b", 2), ("a", 3), ("c", 1)]);
        let first = handle(&ctx, request(&[], 2, None), 0);
        assert_eq!(page(&first), (vec![entry("a", &[0, 1])], Some(("a".into(), 2))));
        let second = handle(&ctx, request(&[], 2, Some(("a", 2))), 0);
        assert_eq!(page(&second), (vec![entry("a", &[2]), entry("b", &[0])], Some(("b".into(), 1))));
        let last = handle(&ctx, request(&[], 10, Some(("b", 1))), 0);
        assert_eq!(page(&last), (vec![entry("b", &[1]), entry("c", &[0])], None));
        // A page that fills at a topic's end points the cursor at the next topic's start.
        let exact = handle(&ctx, request(&[], 3, None), 0);
        assert_eq!(page(&exact), (vec![entry("a", &[0, 1, 2])], Some(("b".into(), 0))));
    }

    #[test]
    fn named_topics_come_once_in_name_order_with_errors_for_missing_ones() {
        let ctx = scope_with(&[("a", 1), ("c", 2)]);
        let response = handle(&ctx, request(&["c", "missing", "a", "c", "bad name"], 2000, None), 0);
        let unknown = ResponseError::UnknownTopicOrPartition.code();
        let invalid = ResponseError::InvalidTopicException.code();
        assert_eq!(
            page(&response).0,
            vec![
                entry("a", &[0]),
                ("bad name".into(), vec![], invalid),
                entry("c", &[0, 1]),
                ("missing".into(), vec![], unknown)
            ]
        );
        let a = &response.topics[0];
        assert_eq!(a.topic_id, ctx.broker.topic("a").unwrap().meta.topic_id);
        assert_eq!(a.topic_authorized_operations, 3576, "every topic operation, without an authorizer");
        let p = &a.partitions[0];
        let node: BrokerId = ctx.broker.node_id().into();
        assert_eq!((p.leader_id, &p.replica_nodes, &p.isr_nodes), (node, &vec![node], &vec![node]));
        assert_eq!(
            (p.eligible_leader_replicas.as_deref(), p.last_known_elr.as_deref()),
            (Some(&[][..]), Some(&[][..]))
        );
        assert!(response.topics[3].topic_id.is_nil());
    }

    #[test]
    fn a_cursor_outside_the_named_topics_is_an_invalid_request() {
        let ctx = scope_with(&[("a", 1)]);
        let response = handle(&ctx, request(&["a"], 10, Some(("z", 0))), 0);
        assert_eq!(page(&response).0, vec![("a".into(), vec![], ResponseError::InvalidRequest.code())]);
    }

    #[derive(Debug)]
    struct HideSecret;

    impl Authorizer for HideSecret {
        fn authorize(&self, _: &RequestContext, operation: Operation, resource: &Resource<'_>) -> bool {
            *resource != Resource::Topic("secret") && operation != Operation::Delete
        }
    }

    #[test]
    fn topics_the_caller_may_not_describe_are_refused_by_name_and_hidden_from_all() {
        let ctx = scope_with(&[("open", 1), ("secret", 1)]);
        ctx.broker.set_authorizer(Arc::new(HideSecret));
        let named = handle(&ctx, request(&["secret", "open"], 10, None), 0);
        let refused = ResponseError::TopicAuthorizationFailed.code();
        assert_eq!(page(&named).0, vec![entry("open", &[0]), ("secret".into(), vec![], refused)]);
        assert!(named.topics[1].topic_id.is_nil(), "no id for a topic the caller may not see");
        assert_eq!(named.topics[0].topic_authorized_operations, 3576 & !(1 << 6), "all but DELETE");
        let all = handle(&ctx, request(&[], 10, None), 0);
        assert_eq!(page(&all).0, vec![entry("open", &[0])]);
    }
}
