//! Client quota throttling as Kafka 2.0+ does it (KIP-219): measure each request against
//! the caller's quotas, put the throttle time in the response's `throttle_time_ms`, send
//! the response at once, then mute the connection (read nothing more from it) for that
//! long. The broker measures and decides (`tidelog_broker::quotas`); this module carries
//! one request's measurements from dispatch to the encoder and the connection.
//!
//! What is measured, per request:
//! - Produce: the request's size against `producer_byte_rate`.
//! - Fetch: the response's size against `consumer_byte_rate`. The fetch is capped to what
//!   one quota window allows, and a throttled fetch is answered empty (its bytes taken
//!   back), as Kafka's `handleFetchRequest` does.
//! - Every request: the time spent handling it against `request_percentage`. Kafka counts
//!   I/O-thread time as a percentage of one thread; tidelog has no I/O threads, so it counts
//!   the time spent inside the request's dispatch and every poll of its reply (decoding,
//!   handling, appending; not the waits for fsync, long-poll or a rebalance), which is the
//!   time a runtime thread spent on it. A request throttle is capped at one quota window.
//!
//! The encoder finds the request being answered through [`current_throttle_ms`]: dispatch
//! and every poll of a reply run inside [`RequestThrottle::enter`], so handlers need not
//! know about quotas. Never blocks and never fails a request: without quotas it costs a
//! few clock reads.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use parking_lot::Mutex;
use tidelog_broker::access::RequestContext;
use tidelog_broker::quotas::QuotaKind;
use tidelog_broker::{now_ms, Broker};

/// Kafka's `NANOS_TO_PERCENTAGE_PER_SECOND`: a second of handling is 100 (% of a thread).
const PERCENT_PER_NANO: f64 = 100.0 / 1e9;

/// One request's measurements, shared by its dispatch, its reply and its connection.
pub(crate) struct RequestThrottle {
    broker: Arc<Broker>,
    caller: RequestContext,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Handling time of finished polls.
    busy: Duration,
    /// When the poll in progress began.
    entered: Option<Instant>,
    /// The largest byte-rate throttle earned so far, in ms.
    bandwidth_ms: u64,
    /// The throttle decided (once), and when: the mute ends that long after.
    decided: Option<(u64, Instant)>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<RequestThrottle>>> = const { RefCell::new(None) };
}

impl RequestThrottle {
    pub(crate) fn new(broker: &Arc<Broker>, caller: &RequestContext) -> Arc<Self> {
        Arc::new(RequestThrottle { broker: broker.clone(), caller: caller.clone(), state: Mutex::default() })
    }

    /// Makes this the request being handled on this thread, and counts the time until
    /// the guard drops as handling time.
    pub(crate) fn enter(self: &Arc<Self>) -> Entered {
        self.state.lock().entered = Some(Instant::now());
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        Entered { throttle: self.clone(), previous }
    }

    /// Wraps a reply so that each of its polls is handling time of this request.
    pub(crate) fn measure<F: Future>(self: &Arc<Self>, reply: F) -> Measured<F> {
        Measured { throttle: self.clone(), reply: Box::pin(reply) }
    }

    /// Records `bytes` against the caller's byte-rate quota of `kind`.
    pub(crate) fn record_bytes(&self, kind: QuotaKind, bytes: usize) {
        let ms = self.broker.record_quota_usage(&self.caller, kind, bytes as f64, now_ms());
        let mut state = self.state.lock();
        state.bandwidth_ms = state.bandwidth_ms.max(ms);
    }

    /// The throttle time of this request, decided on first call: the larger of the byte
    /// throttle and the request-time throttle (which this call records).
    pub(crate) fn decide(&self) -> u64 {
        self.decide_with(true)
    }

    /// `decide` for a request that is not answered (acks=0 Produce): Kafka exempts it
    /// from request quotas, yet mutes it for its bytes.
    fn decide_with(&self, counts_request_time: bool) -> u64 {
        let mut state = self.state.lock();
        if let Some((ms, _)) = state.decided {
            return ms;
        }
        let now = Instant::now();
        let busy = state.busy + state.entered.map_or(Duration::ZERO, |e| now.duration_since(e));
        let request_ms = if counts_request_time {
            let percent = busy.as_nanos() as f64 * PERCENT_PER_NANO;
            let ms = self.broker.record_quota_usage(&self.caller, QuotaKind::Request, percent, now_ms());
            ms.min(self.broker.max_request_throttle_ms())
        } else {
            0
        };
        let ms = state.bandwidth_ms.max(request_ms);
        state.decided = Some((ms, now));
        ms
    }

    /// Once the reply is written (`answered`) or known to need none: until when the
    /// connection must read nothing more, if it must be muted.
    pub(crate) fn mute_until(&self, answered: bool) -> Option<Instant> {
        let ms = self.decide_with(answered);
        let (_, decided_at) = self.state.lock().decided?;
        (ms > 0).then(|| decided_at + Duration::from_millis(ms))
    }

    /// The fetch size one quota window allows the caller, if it has a fetch quota.
    fn fetch_window_bytes(&self) -> Option<i32> {
        let max = self.broker.quota_window_max(&self.caller, QuotaKind::Fetch)?;
        // At least one byte: a fetch for 0 bytes means "no limit" to the fetch handler.
        Some(max.clamp(1.0, i32::MAX as f64) as i32)
    }

    fn leave(&self) {
        let mut state = self.state.lock();
        if let Some(entered) = state.entered.take() {
            state.busy += entered.elapsed();
        }
    }
}

/// While alive, this thread handles the request (see [`RequestThrottle::enter`]).
pub(crate) struct Entered {
    throttle: Arc<RequestThrottle>,
    previous: Option<Arc<RequestThrottle>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.throttle.leave();
        CURRENT.with(|c| *c.borrow_mut() = self.previous.take());
    }
}

/// A reply whose polls count as its request's handling time.
pub(crate) struct Measured<F> {
    throttle: Arc<RequestThrottle>,
    reply: Pin<Box<F>>,
}

impl<F: Future> Future for Measured<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _entered = self.throttle.enter();
        self.reply.as_mut().poll(cx)
    }
}

/// The throttle time for the response being encoded on this thread (0 outside a request).
pub(crate) fn current_throttle_ms() -> u64 {
    CURRENT.with(|c| c.borrow().as_ref().map_or(0, |t| t.decide()))
}

/// Counts a Produce request's bytes (Kafka counts the whole request).
pub(crate) fn record_produce(throttle: &RequestThrottle, request_bytes: usize) {
    throttle.record_bytes(QuotaKind::Produce, request_bytes);
}

/// Caps a consumer's fetch to what one quota window allows: more would be throttled
/// whatever came before, and could starve the consumer (Kafka's `maxQuotaWindowBytes`).
pub(crate) fn cap_fetch(throttle: &RequestThrottle, request: &mut FetchRequest) {
    if let Some(window) = throttle.fetch_window_bytes() {
        request.max_bytes = if request.max_bytes <= 0 { window } else { request.max_bytes.min(window) };
        request.min_bytes = request.min_bytes.min(request.max_bytes);
    }
}

/// Counts a fetch response's bytes; a throttled fetch is answered empty and its bytes
/// are taken back, as in Kafka (the client asks again once unmuted).
pub(crate) fn throttle_fetch(
    response: FetchResponse,
    records: Vec<tidelog_broker::Records>,
    version: i16,
) -> (FetchResponse, Vec<tidelog_broker::Records>) {
    use kafka_protocol::protocol::Encodable;
    let Some(throttle) = CURRENT.with(|c| c.borrow().clone()) else { return (response, records) };
    if throttle.broker.quota_window_max(&throttle.caller, QuotaKind::Fetch).is_none() {
        return (response, records);
    }
    let size = response.compute_size(version).unwrap_or(0);
    throttle.record_bytes(QuotaKind::Fetch, size);
    if throttle.decide() == 0 {
        return (response, records);
    }
    throttle.broker.unrecord_quota_usage(&throttle.caller, QuotaKind::Fetch, size as f64, now_ms());
    let empty = FetchResponse::default().with_error_code(response.error_code).with_session_id(response.session_id);
    (empty, Vec::new())
}

/// Responses that carry `throttle_time_ms` (all client APIs since KIP-219's versions).
pub(crate) trait ThrottleTime {
    /// Reports `ms` unless the response already reports a longer throttle.
    fn report_throttle_ms(&mut self, ms: i32);

    fn with_throttle_ms(mut self, ms: u64) -> Self
    where
        Self: Sized,
    {
        self.report_throttle_ms(i32::try_from(ms).unwrap_or(i32::MAX));
        self
    }
}

macro_rules! throttle_time_field {
    ($($response:ty),* $(,)?) => {
        $(impl ThrottleTime for $response {
            fn report_throttle_ms(&mut self, ms: i32) {
                self.throttle_time_ms = self.throttle_time_ms.max(ms);
            }
        })*
    };
}

macro_rules! no_throttle_time_field {
    ($($response:ty),* $(,)?) => {
        $(impl ThrottleTime for $response {
            fn report_throttle_ms(&mut self, _ms: i32) {}
        })*
    };
}

throttle_time_field!(
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnResponse,
    AddRaftVoterResponse,
    AllocateProducerIdsResponse,
    AlterClientQuotasResponse,
    AlterConfigsResponse,
    AlterPartitionReassignmentsResponse,
    AlterPartitionResponse,
    AlterReplicaLogDirsResponse,
    AlterShareGroupOffsetsResponse,
    AlterUserScramCredentialsResponse,
    ApiVersionsResponse,
    AssignReplicasToDirsResponse,
    BrokerHeartbeatResponse,
    BrokerRegistrationResponse,
    ConsumerGroupDescribeResponse,
    ConsumerGroupHeartbeatResponse,
    ControllerRegistrationResponse,
    CreateAclsResponse,
    CreateDelegationTokenResponse,
    CreatePartitionsResponse,
    CreateTopicsResponse,
    DeleteAclsResponse,
    DeleteGroupsResponse,
    DeleteRecordsResponse,
    DeleteShareGroupOffsetsResponse,
    DeleteTopicsResponse,
    DescribeAclsResponse,
    DescribeClientQuotasResponse,
    DescribeClusterResponse,
    DescribeConfigsResponse,
    DescribeDelegationTokenResponse,
    DescribeGroupsResponse,
    DescribeLogDirsResponse,
    DescribeProducersResponse,
    DescribeShareGroupOffsetsResponse,
    DescribeTopicPartitionsResponse,
    DescribeTransactionsResponse,
    DescribeUserScramCredentialsResponse,
    ElectLeadersResponse,
    EndTxnResponse,
    ExpireDelegationTokenResponse,
    FetchResponse,
    FetchSnapshotResponse,
    FindCoordinatorResponse,
    GetTelemetrySubscriptionsResponse,
    HeartbeatResponse,
    IncrementalAlterConfigsResponse,
    InitProducerIdResponse,
    JoinGroupResponse,
    LeaveGroupResponse,
    ListConfigResourcesResponse,
    ListGroupsResponse,
    ListOffsetsResponse,
    ListPartitionReassignmentsResponse,
    ListTransactionsResponse,
    MetadataResponse,
    OffsetCommitResponse,
    OffsetDeleteResponse,
    OffsetFetchResponse,
    OffsetForLeaderEpochResponse,
    ProduceResponse,
    PushTelemetryResponse,
    RemoveRaftVoterResponse,
    RenewDelegationTokenResponse,
    ShareAcknowledgeResponse,
    ShareFetchResponse,
    ShareGroupDescribeResponse,
    ShareGroupHeartbeatResponse,
    SyncGroupResponse,
    TxnOffsetCommitResponse,
    UnregisterBrokerResponse,
    UpdateFeaturesResponse,
    UpdateRaftVoterResponse,
);

// Inter-broker, KRaft and SASL responses: nothing to report.
no_throttle_time_field!(
    BeginQuorumEpochResponse,
    DeleteShareGroupStateResponse,
    DescribeQuorumResponse,
    EndQuorumEpochResponse,
    EnvelopeResponse,
    InitializeShareGroupStateResponse,
    ReadShareGroupStateResponse,
    ReadShareGroupStateSummaryResponse,
    SaslAuthenticateResponse,
    SaslHandshakeResponse,
    VoteResponse,
    WriteShareGroupStateResponse,
    WriteTxnMarkersResponse,
);

/// Reads nothing more from a throttled connection until its throttle has passed.
#[derive(Debug, Default)]
pub(crate) struct ChannelMute {
    until: Option<tokio::time::Instant>,
}

impl ChannelMute {
    /// Mutes until `until`, or longer if already muted for longer.
    pub(crate) fn extend(&mut self, until: Instant) {
        let until = tokio::time::Instant::from_std(until);
        if self.until.is_none_or(|current| current < until) {
            self.until = Some(until);
            crate::metrics::connection_throttled();
        }
    }

    pub(crate) fn is_muted(&self) -> bool {
        self.until.is_some()
    }

    /// Resolves when the mute has passed (never while not muted), and unmutes.
    pub(crate) async fn passed(&mut self) {
        match self.until {
            Some(until) => {
                tokio::time::sleep_until(until).await;
                self.until = None;
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use tidelog_broker::quotas::{QuotaAlteration, QuotaEntity, CLIENT_ID};
    use tidelog_broker::BrokerConfig;

    use super::*;

    fn broker_with_quota(key: &str, value: f64) -> Arc<Broker> {
        let broker = Broker::in_memory(BrokerConfig::default());
        let alteration = QuotaAlteration {
            entity: QuotaEntity::new([(CLIENT_ID, Some("app"))]),
            ops: vec![(key.to_string(), Some(value))],
        };
        let results = broker.alter_client_quotas(&RequestContext::local(), &[alteration], false).unwrap();
        assert!(results[0].is_ok());
        broker
    }

    fn caller(client_id: &str) -> RequestContext {
        RequestContext::new(
            tidelog_broker::access::Principal::anonymous(),
            "kafka",
            Some(client_id),
            std::net::Ipv4Addr::LOCALHOST.into(),
        )
    }

    #[test]
    fn produce_bytes_over_the_quota_are_reported_to_the_encoder_and_mute_the_connection() {
        let broker = broker_with_quota("producer_byte_rate", 100.0);
        // Ten windows' worth is allowed at once (1,000 bytes); 1,500 earns (150-100)/100 × 10 s.
        let throttle = RequestThrottle::new(&broker, &caller("app"));
        {
            let _entered = throttle.enter();
            record_produce(&throttle, 1500);
            assert_eq!(current_throttle_ms(), 5000);
        }
        assert_eq!(current_throttle_ms(), 0, "outside the request nothing is reported");
        let until = throttle.mute_until(true).unwrap();
        assert!(until > Instant::now() + Duration::from_millis(4900));
        // Another client id has its own usage.
        let other = RequestThrottle::new(&broker, &caller("other"));
        record_produce(&other, 1500);
        assert_eq!(other.mute_until(true), None);
    }

    #[test]
    fn fetches_are_capped_to_the_window_and_answered_empty_when_throttled() {
        let broker = broker_with_quota("consumer_byte_rate", 100.0);
        let throttle = RequestThrottle::new(&broker, &caller("app"));
        let mut request = FetchRequest::default().with_max_bytes(50 << 20).with_min_bytes(1 << 20);
        cap_fetch(&throttle, &mut request);
        assert_eq!((request.max_bytes, request.min_bytes), (1000, 1000));

        let big = FetchResponse::default().with_responses(vec![
            kafka_protocol::messages::fetch_response::FetchableTopicResponse::default()
                .with_partitions(vec![kafka_protocol::messages::fetch_response::PartitionData::default()
                    .with_records(Some(bytes::Bytes::from(vec![0u8; 2000])))]),
        ]);
        let _entered = throttle.enter();
        let (answer, records) = throttle_fetch(big, Vec::new(), 12);
        assert!(answer.responses.is_empty() && records.is_empty(), "a throttled fetch carries no data");
        assert!(current_throttle_ms() > 0);
        // The bytes were taken back: a small fetch by the same client passes.
        let next = RequestThrottle::new(&broker, &caller("app"));
        let _entered = next.enter();
        let (answer, _) = throttle_fetch(FetchResponse::default(), Vec::new(), 12);
        assert!(answer.responses.is_empty());
        assert_eq!(next.decide(), 0);
    }

    #[test]
    fn request_time_over_request_percentage_is_throttled_at_most_one_window() {
        // 0.001 % of a thread over a 10 s window: any handling at all exceeds it.
        let broker = broker_with_quota("request_percentage", 0.001);
        let throttle = RequestThrottle::new(&broker, &caller("app"));
        {
            let _entered = throttle.enter();
            std::thread::sleep(Duration::from_millis(5));
        }
        let ms = throttle.decide();
        assert!(ms > 0 && ms <= 1000, "{ms}");
        assert_eq!(throttle.decide(), ms, "decided once");
        // An unanswered request (acks=0) is exempt from request quotas.
        let unanswered = RequestThrottle::new(&broker, &caller("app"));
        assert_eq!(unanswered.mute_until(false), None);
    }

    #[test]
    fn a_response_reports_the_throttle_unless_it_reports_a_longer_one() {
        let mut response = ProduceResponse::default();
        response.report_throttle_ms(250);
        assert_eq!(response.throttle_time_ms, 250);
        response.report_throttle_ms(100);
        assert_eq!(response.throttle_time_ms, 250);
    }
}
