//! ShareFetch and ShareAcknowledge (KIP-932): a share consumer's acknowledgements are
//! applied (and made durable) first, then records are acquired for it from the
//! partitions of its share session. Topic ids on the wire.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch as AckLeader, PartitionData as AckPartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, LeaderIdAndEpoch, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::*;
use tidelog_broker::share::ShareAcknowledgeBatch;
use uuid::Uuid;

use super::str_bytes;
use crate::dispatch::Client;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;
use crate::share_sessions::SessionStep;

/// Records a fetch asks for when the request leaves it to the broker (v0 had no field).
const DEFAULT_MAX_RECORDS: usize = 500;

/// Per partition (by topic id), what the response says about it.
#[derive(Default)]
struct PartitionAnswer {
    error: Option<(i16, String)>,
    acknowledge_error: Option<(i16, String)>,
    records: Option<bytes::Bytes>,
    acquired: Vec<AcquiredRecords>,
}

type Answers = BTreeMap<(Uuid, i32), PartitionAnswer>;

/// The member's name for a request: both ids must be set.
fn member_of(group: &Option<GroupId>, member: &Option<kafka_protocol::protocol::StrBytes>) -> Option<(String, String)> {
    let group = group.as_ref().map(|g| g.0.to_string()).filter(|g| !g.is_empty())?;
    let member = member.as_ref().map(|m| m.to_string()).filter(|m| !m.is_empty())?;
    Some((group, member))
}

pub(crate) async fn fetch(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: ShareFetchRequest,
    _version: i16,
) -> ShareFetchResponse {
    let Some((group, member)) = member_of(&request.group_id, &request.member_id) else {
        return ShareFetchResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes("GroupId and MemberId must be set")));
    };
    let added = request.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, p.partition_index)));
    let forgotten =
        request.forgotten_topics_data.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)));
    tracing::debug!(%group, %member, epoch = request.share_session_epoch, topics = request.topics.len(),
        acks = request.topics.iter().flat_map(|t| &t.partitions).map(|p| p.acknowledgement_batches.len()).sum::<usize>(),
        "share fetch");
    let step = match ctx.share_sessions.fetch(&group, &member, request.share_session_epoch, added, forgotten) {
        Ok(step) => step,
        Err(e) => return ShareFetchResponse::default().with_error_code(e.code()),
    };
    let mut answers = Answers::new();
    let acks = request.topics.iter().flat_map(|t| {
        t.partitions.iter().filter(|p| !p.acknowledgement_batches.is_empty()).map(move |p| {
            let batches = p
                .acknowledgement_batches
                .iter()
                .map(|b| ShareAcknowledgeBatch {
                    first_offset: b.first_offset,
                    last_offset: b.last_offset,
                    types: b.acknowledge_types.clone(),
                })
                .collect();
            ((t.topic_id, p.partition_index), batches)
        })
    });
    acknowledge(ctx, &group, &member, acks.collect(), &mut answers, |a, e| a.acknowledge_error = Some(e)).await;
    let partitions = match step {
        SessionStep::Fetch(partitions) => partitions,
        SessionStep::Closed => {
            ctx.broker.release_share_member(&group, &member).await;
            Vec::new()
        }
    };
    let named: Vec<((Uuid, i32), Option<String>)> =
        partitions.iter().map(|&(id, p)| ((id, p), ctx.broker.topic_name_by_id(id))).collect();
    for (key, name) in &named {
        if name.is_none() {
            let message = format!("unknown topic id {}", key.0);
            answers.entry(*key).or_default().error = Some((ResponseError::UnknownTopicId.code(), message));
        }
    }
    let known: Vec<(Uuid, i32, String)> =
        named.into_iter().filter_map(|((id, p), name)| name.map(|n| (id, p, n))).collect();
    if !known.is_empty() {
        let wanted: Vec<(String, i32)> = known.iter().map(|(_, p, n)| (n.clone(), *p)).collect();
        let max_records = usize::try_from(request.max_records).ok().filter(|m| *m > 0).unwrap_or(DEFAULT_MAX_RECORDS);
        // Acknowledgements already waited on a write; a fetch that also acknowledged does
        // not wait for new records on top of that.
        let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
        let fetched = ctx.broker.share_fetch(&ctx.caller, &group, &member, &wanted, max_records, wait).await;
        for ((id, index, _), result) in known.iter().zip(fetched) {
            let answer = answers.entry((*id, *index)).or_default();
            match result {
                Ok(f) if f.acquired.is_empty() => {}
                Ok(f) => {
                    answer.records = Some(f.records);
                    answer.acquired = f
                        .acquired
                        .iter()
                        .map(|r| {
                            AcquiredRecords::default()
                                .with_first_offset(r.first as i64)
                                .with_last_offset(r.last as i64)
                                .with_delivery_count(r.delivery_count)
                        })
                        .collect();
                }
                Err(e) => answer.error = Some((error_code(&e), e.to_string())),
            }
        }
    }
    let lock_ms = ctx.broker.share_settings(&group).record_lock_duration_ms as i32;
    let leader = LeaderIdAndEpoch::default().with_leader_id(ctx.broker.node_id()).with_leader_epoch(0);
    let mut topics: BTreeMap<Uuid, Vec<PartitionData>> = BTreeMap::new();
    for ((id, index), answer) in answers {
        let (error_code, error_message) = split(answer.error);
        let (acknowledge_error_code, acknowledge_error_message) = split(answer.acknowledge_error);
        let partition = PartitionData::default()
            .with_partition_index(index)
            .with_error_code(error_code)
            .with_error_message(error_message)
            .with_acknowledge_error_code(acknowledge_error_code)
            .with_acknowledge_error_message(acknowledge_error_message)
            .with_current_leader(leader.clone())
            .with_records(Some(answer.records.unwrap_or_default()))
            .with_acquired_records(answer.acquired);
        topics.entry(id).or_default().push(partition);
    }
    let responses = topics
        .into_iter()
        .map(|(id, partitions)| ShareFetchableTopicResponse::default().with_topic_id(id).with_partitions(partitions))
        .collect();
    ShareFetchResponse::default()
        .with_error_code(NONE)
        .with_acquisition_lock_timeout_ms(lock_ms)
        .with_responses(responses)
}

pub(crate) async fn acknowledge_request(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: ShareAcknowledgeRequest,
    _version: i16,
) -> ShareAcknowledgeResponse {
    let Some((group, member)) = member_of(&request.group_id, &request.member_id) else {
        return ShareAcknowledgeResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes("GroupId and MemberId must be set")));
    };
    tracing::debug!(%group, %member, epoch = request.share_session_epoch,
        batches = ?request.topics.iter().flat_map(|t| &t.partitions).flat_map(|p| &p.acknowledgement_batches).map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone())).collect::<Vec<_>>(),
        "share acknowledge");
    let step = match ctx.share_sessions.acknowledge(&group, &member, request.share_session_epoch) {
        Ok(step) => step,
        Err(e) => return ShareAcknowledgeResponse::default().with_error_code(e.code()),
    };
    let acks = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                let batches = p
                    .acknowledgement_batches
                    .iter()
                    .map(|b| ShareAcknowledgeBatch {
                        first_offset: b.first_offset,
                        last_offset: b.last_offset,
                        types: b.acknowledge_types.clone(),
                    })
                    .collect();
                ((t.topic_id, p.partition_index), batches)
            })
        })
        .collect();
    let mut answers = Answers::new();
    acknowledge(ctx, &group, &member, acks, &mut answers, |a, e| a.error = Some(e)).await;
    if step == SessionStep::Closed {
        ctx.broker.release_share_member(&group, &member).await;
    }
    let leader = AckLeader::default().with_leader_id(ctx.broker.node_id()).with_leader_epoch(0);
    let mut topics: BTreeMap<Uuid, Vec<AckPartitionData>> = BTreeMap::new();
    for ((id, index), answer) in answers {
        let (error_code, error_message) = split(answer.error);
        topics.entry(id).or_default().push(
            AckPartitionData::default()
                .with_partition_index(index)
                .with_error_code(error_code)
                .with_error_message(error_message)
                .with_current_leader(leader.clone()),
        );
    }
    let responses = topics
        .into_iter()
        .map(|(id, partitions)| ShareAcknowledgeTopicResponse::default().with_topic_id(id).with_partitions(partitions))
        .collect();
    ShareAcknowledgeResponse::default().with_error_code(NONE).with_responses(responses)
}

/// Applies acknowledgements by topic id; each partition's outcome lands in its answer
/// through `record_error` (an entry is made for every acknowledged partition).
async fn acknowledge(
    ctx: &Scope,
    group: &str,
    member: &str,
    acks: Vec<((Uuid, i32), Vec<ShareAcknowledgeBatch>)>,
    answers: &mut Answers,
    record_error: impl Fn(&mut PartitionAnswer, (i16, String)),
) {
    let mut by_name = Vec::with_capacity(acks.len());
    let mut ids = BTreeMap::new();
    for ((id, index), batches) in acks {
        let answer = answers.entry((id, index)).or_default();
        match ctx.broker.topic_name_by_id(id) {
            Some(name) => {
                ids.insert((name.clone(), index), id);
                by_name.push(((name, index), batches));
            }
            None => record_error(answer, (ResponseError::UnknownTopicId.code(), format!("unknown topic id {id}"))),
        }
    }
    if by_name.is_empty() {
        return;
    }
    for (key, result) in ctx.broker.share_acknowledge(&ctx.caller, group, member, by_name).await {
        if let (Err(e), Some(id)) = (result, ids.get(&key)) {
            tracing::debug!(error = %e, "acknowledgement refused");
            record_error(answers.entry((*id, key.1)).or_default(), (error_code(&e), e.to_string()));
        }
    }
}

fn split(error: Option<(i16, String)>) -> (i16, Option<kafka_protocol::protocol::StrBytes>) {
    match error {
        Some((code, message)) => (code, Some(str_bytes(message))),
        None => (NONE, None),
    }
}
