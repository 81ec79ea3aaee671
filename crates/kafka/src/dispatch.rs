//! Request header decoding and routing by API key. Every decode error becomes a
//! `ConnectionError` (the connection closes); every domain error becomes a Kafka error
//! code inside a normal response.

use std::sync::Arc;

use bytes::{BufMut, Bytes};
use futures::future::{self, BoxFuture, FutureExt};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use tidelog_broker::Records;

use crate::api_versions::{self, version_range};
use crate::errors::ConnectionError;
use crate::frame::{ChunkedBuf, Frame};
use crate::handlers;
use crate::quota_throttle::{self, RequestThrottle, ThrottleTime};
use crate::scope::Scope;
use crate::server::Context;
use tidelog_broker::access::{Principal, RequestContext};

/// The encoded response (header + body), `None` when the request wants no answer.
pub(crate) type Reply = BoxFuture<'static, Result<Option<Frame>, ConnectionError>>;

/// Where [`dispatch`] left a request.
pub(crate) enum Routed {
    /// Handled as far as it goes without waiting (its appends are done); the reply may
    /// still wait.
    Now(Dispatched),
    /// It must wait before it can be handled (a Produce whose partitions first join their
    /// transaction): the connection reads nothing more until this resolves, so
    /// pipelined requests still append in order.
    Later(BoxFuture<'static, Result<Dispatched, ConnectionError>>),
}

/// A request routed to its handler: the API (for the metrics) and the reply to come.
pub(crate) struct Dispatched {
    pub api: ApiKey,
    pub reply: Reply,
    /// Its client quota measurements: how long to mute the connection once answered.
    pub throttle: Option<Arc<RequestThrottle>>,
}

pub(crate) fn decode<T: Decodable>(body: &mut Bytes, version: i16, key: ApiKey) -> Result<T, ConnectionError> {
    let request = T::decode(body, version).map_err(|e| ConnectionError::Malformed {
        what: format!("{key:?} v{version} request"),
        reason: e.to_string(),
    })?;
    if !body.is_empty() {
        // Kafka ignores bytes after the last field, and librdkafka sends some (Metadata v12).
        tracing::trace!(api = ?key, version, trailing = body.len(), "ignoring trailing request bytes");
    }
    Ok(request)
}

pub(crate) fn encode<R: Encodable + HeaderVersion + ThrottleTime + Clone>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &R,
) -> Result<Frame, ConnectionError> {
    encode_keeping(key, version, correlation_id, response, std::iter::empty())
}

/// Encodes a response whose record sets (`records`, in encoding order) go out as they
/// are, never copied into the frame (see `frame`). The response reports the throttle time
/// of the request being answered, if its client quotas throttle it (see `quota_throttle`).
pub(crate) fn encode_keeping<R: Encodable + HeaderVersion + ThrottleTime + Clone>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &R,
    records: impl IntoIterator<Item = Records>,
) -> Result<Frame, ConnectionError> {
    let fail = |e: anyhow::Error| ConnectionError::Encode {
        what: format!("{key:?} v{version} response"),
        reason: e.to_string(),
    };
    let throttled;
    let response = match quota_throttle::current_throttle_ms() {
        0 => response,
        ms => {
            throttled = response.clone().with_throttle_ms(ms);
            &throttled
        }
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = R::header_version(version);
    let size = header.compute_size(header_version).map_err(fail)? + response.compute_size(version).map_err(fail)?;
    let prefix = u32::try_from(size).map_err(|_| fail(anyhow::anyhow!("{size} bytes do not fit a frame")))?;
    let mut buf = ChunkedBuf::new(4 + size.min(64 * 1024), records);
    buf.put_slice(&prefix.to_be_bytes());
    header.encode(&mut buf, header_version).map_err(fail)?;
    response.encode(&mut buf, version).map_err(fail)?;
    buf.finish().map_err(|e| fail(anyhow::anyhow!(e)))
}

fn ready(result: Result<Frame, ConnectionError>) -> Reply {
    future::ready(result.map(Some)).boxed()
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

/// Who sent a request: the group coordinator records it for DescribeGroups.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub client_id: String,
    pub host: String,
}

/// Decodes the request in `frame` and hands it to its handler. Synchronous on purpose:
/// appends happen here, in the order the connection read the requests.
pub(crate) fn dispatch(
    ctx: &Arc<Context>,
    peer: std::net::SocketAddr,
    frame: Bytes,
) -> Result<Routed, ConnectionError> {
    if frame.len() < 8 {
        return Err(ConnectionError::Malformed {
            what: "request header".into(),
            reason: format!("frame of {} bytes is too short", frame.len()),
        });
    }
    let (raw_key, version) = (be_i16(&frame[0..2]), be_i16(&frame[2..4]));
    let key = ApiKey::try_from(raw_key).map_err(|_| ConnectionError::UnknownApiKey(raw_key))?;
    let Some((min, max)) = version_range(key) else {
        return Err(ConnectionError::UnknownApiKey(raw_key));
    };
    if version < min || version > max {
        if key == ApiKey::ApiVersions {
            // KIP-511: answer with a v0 body listing what we support, so the client can retry.
            let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            let response = api_versions::response(kafka_protocol::error::ResponseError::UnsupportedVersion.code());
            let reply = ready(encode(key, 0, correlation_id, &response));
            return Ok(Routed::Now(Dispatched { api: key, reply, throttle: None }));
        }
        return Err(ConnectionError::UnsupportedVersion { api: format!("{key:?}"), version });
    }
    let request_bytes = frame.len();
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, key.request_header_version(version))
        .map_err(|e| ConnectionError::Malformed { what: "request header".into(), reason: e.to_string() })?;
    let cid = header.correlation_id;
    // Every handler below sees the request's scope: the listener's context and its caller.
    let caller = RequestContext::new(Principal::anonymous(), "kafka", header.client_id.as_deref(), peer.ip());
    let ctx = &Arc::new(Scope { server: ctx.clone(), caller });
    // Handling from here on, and every poll of the reply, counts against client quotas.
    let throttle = RequestThrottle::new(&ctx.broker, &ctx.caller);
    let _handling = throttle.enter();
    let client = || Client {
        client_id: header.client_id.as_deref().unwrap_or_default().to_string(),
        host: format!("/{}", peer.ip()),
    };

    macro_rules! answer_client {
        ($request:ty, $handler:path) => {{
            let request: $request = decode(&mut body, version, key)?;
            ready(encode(key, version, cid, &$handler(ctx, &client(), request, version)))
        }};
    }

    macro_rules! answer_async {
        ($request:ty, $handler:path) => {{
            let request: $request = decode(&mut body, version, key)?;
            let (ctx, client) = (ctx.clone(), client());
            async move { encode(key, version, cid, &$handler(&ctx, &client, request, version).await).map(Some) }.boxed()
        }};
    }

    macro_rules! answer {
        ($request:ty, $handler:path) => {{
            let request: $request = decode(&mut body, version, key)?;
            ready(encode(key, version, cid, &$handler(ctx, request, version)))
        }};
    }

    let reply = match key {
        ApiKey::ApiVersions => {
            // Decoded for validation only; the answer does not depend on the client.
            let _: ApiVersionsRequest = decode(&mut body, version, key)?;
            ready(encode(key, version, cid, &api_versions::ok_response()))
        }
        ApiKey::Produce => {
            let request: ProduceRequest = decode(&mut body, version, key)?;
            quota_throttle::record_produce(&throttle, request_bytes);
            let joins = handlers::produce::transaction_joins(ctx, &request, version);
            if !joins.is_empty() {
                let (ctx, measuring) = (ctx.clone(), throttle.clone());
                let later = async move {
                    let refused = handlers::produce::join_transactions(&ctx, joins, version).await;
                    let reply = handlers::produce::handle(&ctx, request, version, cid, &refused);
                    Ok(Dispatched { api: key, reply: measuring.measure(reply).boxed(), throttle: Some(measuring) })
                };
                return Ok(Routed::Later(throttle.measure(later).boxed()));
            }
            handlers::produce::handle(ctx, request, version, cid, &Default::default())
        }
        ApiKey::Fetch => {
            let mut request: FetchRequest = decode(&mut body, version, key)?;
            quota_throttle::cap_fetch(&throttle, &mut request);
            let ctx = ctx.clone();
            async move {
                let (response, records) = handlers::fetch::handle(&ctx, request, version).await;
                let (response, records) = quota_throttle::throttle_fetch(response, records, version);
                encode_keeping(key, version, cid, &response, records).map(Some)
            }
            .boxed()
        }
        ApiKey::Metadata => answer!(MetadataRequest, handlers::metadata::handle),
        ApiKey::InitProducerId => answer_async!(InitProducerIdRequest, handlers::producer_ids::init),
        ApiKey::AddPartitionsToTxn => {
            answer_async!(AddPartitionsToTxnRequest, handlers::transactions::add_partitions_to_txn)
        }
        ApiKey::AddOffsetsToTxn => answer_async!(AddOffsetsToTxnRequest, handlers::transactions::add_offsets_to_txn),
        ApiKey::TxnOffsetCommit => answer_async!(TxnOffsetCommitRequest, handlers::transactions::txn_offset_commit),
        ApiKey::EndTxn => answer_async!(EndTxnRequest, handlers::transactions::end_txn),
        ApiKey::DescribeProducers => answer!(DescribeProducersRequest, handlers::transactions::describe_producers),
        ApiKey::DescribeTransactions => {
            answer_async!(DescribeTransactionsRequest, handlers::transactions::describe_transactions)
        }
        ApiKey::ListTransactions => answer_async!(ListTransactionsRequest, handlers::transactions::list_transactions),
        ApiKey::DeleteRecords => answer!(DeleteRecordsRequest, handlers::delete_records::handle),
        ApiKey::DescribeLogDirs => answer!(DescribeLogDirsRequest, handlers::log_dirs::describe),
        ApiKey::AlterConfigs => answer!(AlterConfigsRequest, handlers::configs::alter),
        ApiKey::IncrementalAlterConfigs => {
            answer!(IncrementalAlterConfigsRequest, handlers::configs::incremental_alter)
        }
        ApiKey::ListOffsets => answer!(ListOffsetsRequest, handlers::list_offsets::handle),
        ApiKey::OffsetForLeaderEpoch => {
            answer!(OffsetForLeaderEpochRequest, handlers::offset_for_leader_epoch::handle)
        }
        ApiKey::CreateTopics => answer!(CreateTopicsRequest, handlers::topics::create),
        ApiKey::DeleteTopics => answer!(DeleteTopicsRequest, handlers::topics::delete),
        ApiKey::CreatePartitions => {
            answer!(CreatePartitionsRequest, handlers::topics::create_partitions)
        }
        ApiKey::DescribeConfigs => answer!(DescribeConfigsRequest, handlers::configs::describe),
        ApiKey::ListConfigResources => answer!(ListConfigResourcesRequest, handlers::config_resources::list),
        ApiKey::DescribeClientQuotas => answer!(DescribeClientQuotasRequest, handlers::client_quotas::describe),
        ApiKey::AlterClientQuotas => answer!(AlterClientQuotasRequest, handlers::client_quotas::alter),
        ApiKey::DescribeCluster => answer!(DescribeClusterRequest, handlers::cluster::describe),
        ApiKey::DescribeTopicPartitions => {
            answer!(DescribeTopicPartitionsRequest, handlers::describe_topic_partitions::handle)
        }
        ApiKey::FindCoordinator => {
            answer!(FindCoordinatorRequest, handlers::find_coordinator::find_coordinator)
        }
        ApiKey::JoinGroup => answer_async!(JoinGroupRequest, handlers::groups::join),
        ApiKey::SyncGroup => answer_async!(SyncGroupRequest, handlers::groups::sync),
        ApiKey::Heartbeat => answer!(HeartbeatRequest, handlers::groups::heartbeat),
        ApiKey::LeaveGroup => answer!(LeaveGroupRequest, handlers::groups::leave),
        ApiKey::DescribeGroups => answer!(DescribeGroupsRequest, handlers::groups::describe),
        ApiKey::ListGroups => answer!(ListGroupsRequest, handlers::groups::list),
        ApiKey::DeleteGroups => answer_async!(DeleteGroupsRequest, handlers::groups::delete),
        ApiKey::OffsetCommit => answer_async!(OffsetCommitRequest, handlers::offsets::commit),
        ApiKey::OffsetFetch => answer!(OffsetFetchRequest, handlers::offsets::fetch),
        ApiKey::ConsumerGroupHeartbeat => {
            answer_client!(ConsumerGroupHeartbeatRequest, handlers::consumer_groups::heartbeat)
        }
        ApiKey::ConsumerGroupDescribe => answer!(ConsumerGroupDescribeRequest, handlers::consumer_groups::describe),
        ApiKey::OffsetDelete => answer_async!(OffsetDeleteRequest, handlers::offsets::delete),
        ApiKey::ShareGroupHeartbeat => {
            answer_async!(ShareGroupHeartbeatRequest, handlers::share_groups::heartbeat)
        }
        ApiKey::ShareGroupDescribe => answer!(ShareGroupDescribeRequest, handlers::share_groups::describe),
        ApiKey::ShareFetch => answer_async!(ShareFetchRequest, handlers::share_fetch::fetch),
        ApiKey::ShareAcknowledge => answer_async!(ShareAcknowledgeRequest, handlers::share_fetch::acknowledge_request),
        ApiKey::DescribeShareGroupOffsets => {
            answer_async!(DescribeShareGroupOffsetsRequest, handlers::share_groups::describe_offsets)
        }
        ApiKey::AlterShareGroupOffsets => {
            answer_async!(AlterShareGroupOffsetsRequest, handlers::share_groups::alter_offsets)
        }
        ApiKey::DeleteShareGroupOffsets => {
            answer_async!(DeleteShareGroupOffsetsRequest, handlers::share_groups::delete_offsets)
        }
        other => return Err(ConnectionError::UnknownApiKey(other as i16)),
    };
    Ok(Routed::Now(Dispatched { api: key, reply: throttle.measure(reply).boxed(), throttle: Some(throttle) }))
}
