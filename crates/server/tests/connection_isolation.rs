//! One connection never stalls another: while several connections flood the broker with
//! mutated and oversized requests, a well-behaved librdkafka producer and consumer keep
//! getting answers, within a bound far below the multi-second stalls once reported.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Message;
use tidelog_broker::NewTopic;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::raw;

const FLOOD: Duration = Duration::from_secs(8);
/// Connections sending mutated requests, each reconnecting after every round.
const MUTATORS: usize = 6;
/// Connections sending oversized requests one after another, each waiting for its answer:
/// two keep both of the test runtime's workers busy when requests are handled on them,
/// and the broker never has more than two to work through when the flood stops.
const HEAVY_SENDERS: usize = 2;
/// Size of the hand-built requests with huge arrays (about a million elements), far
/// under `socket.request.max.bytes`, so the broker reads and handles them. Each took a
/// runtime worker for seconds in a debug build.
const OVERSIZED_BYTES: usize = 8 << 20;
/// Topic the attackers' seed requests name: mutations turn it into other names.
const FLOOD_TOPIC: &str = "flood";
const STEADY_TOPIC: &str = "steady";

/// xorshift64*: a small deterministic generator, so a failing flood can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.into()))
}

/// Valid requests of the APIs clients use most; the flood mutates them.
fn seeds() -> Vec<Vec<u8>> {
    let batch = tidelog_broker::records::encode_batch(
        &[(Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"value")))],
        tidelog_broker::now_ms(),
        Compression::None,
    )
    .expect("batch encodes");
    let produce =
        ProduceRequest::default().with_acks(1).with_timeout_ms(1000).with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(FLOOD_TOPIC))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch.into()))])]);
    let metadata = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(topic_name(FLOOD_TOPIC)))]));
    let fetch =
        FetchRequest::default().with_max_wait_ms(100).with_max_bytes(1 << 20).with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(FLOOD_TOPIC))
            .with_partitions(vec![FetchPartition::default().with_partition(0).with_partition_max_bytes(1 << 20)])]);
    let list_offsets = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(topic_name(FLOOD_TOPIC))
        .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1)])]);
    let find_coordinator =
        FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("flood-group")).with_key_type(0);
    vec![
        raw::frame(ApiKey::ApiVersions, 3, 1, &ApiVersionsRequest::default()),
        raw::frame(ApiKey::Metadata, 12, 2, &metadata),
        raw::frame(ApiKey::Metadata, 4, 3, &metadata),
        raw::frame(ApiKey::Produce, 9, 4, &produce),
        raw::frame(ApiKey::Produce, 7, 5, &produce),
        raw::frame(ApiKey::Fetch, 12, 6, &fetch),
        raw::frame(ApiKey::ListOffsets, 7, 7, &list_offsets),
        raw::frame(ApiKey::FindCoordinator, 3, 8, &find_coordinator),
    ]
}

/// Byte values mutators like to put in length and count fields.
const INTERESTING: [i32; 8] = [-1, 0, 1, 0x7f, 0x7fff, 0xffff, 0x7fff_ffff, i32::MIN];

/// One to four random mutations of `frame`, as a fuzzer makes them: flipped bits,
/// interesting integers over fields, cuts, inserted bytes, a lying length prefix.
fn mutate(rng: &mut Rng, frame: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = 4 + rng.below(out.len().saturating_sub(4));
        match rng.below(6) {
            0 => {
                if let Some(b) = out.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                if let Some(b) = out.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
            2 => {
                let value = INTERESTING[rng.below(INTERESTING.len())].to_be_bytes();
                let end = (at + 4).min(out.len());
                out.splice(at..end, value);
            }
            3 => out.truncate(at.max(4)),
            4 => {
                let extra: Vec<u8> = (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect();
                let at = at.min(out.len());
                out.splice(at..at, extra);
            }
            _ => {
                // A declared length up to 100 MiB that the body does not fill.
                let declared = (rng.below(100 << 20) as u32).max(1);
                out[..4].copy_from_slice(&declared.to_be_bytes());
                continue;
            }
        }
        // Most fuzzers keep the frame length consistent so the body reaches the decoder.
        if rng.below(4) != 0 {
            let len = (out.len() - 4) as u32;
            out[..4].copy_from_slice(&len.to_be_bytes());
        }
    }
    out
}

/// A request header (v1: key, version, correlation id, client id) for a hand-built body.
fn header(key: ApiKey, version: i16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&(key as i16).to_be_bytes());
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&99i32.to_be_bytes());
    h.extend_from_slice(&5i16.to_be_bytes());
    h.extend_from_slice(b"flood");
    h
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn framed(body: Vec<u8>) -> Arc<Vec<u8>> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    Arc::new(out)
}

/// Well-formed requests of `OVERSIZED_BYTES` whose arrays have millions of elements,
/// built by hand (building them through the message types would take the test seconds).
fn oversized() -> Vec<Arc<Vec<u8>>> {
    // Metadata v4: topics [name], allow_auto_topic_creation.
    let mut metadata = header(ApiKey::Metadata, 4);
    let count = (OVERSIZED_BYTES / (2 + FLOOD_TOPIC.len())) as i32;
    metadata.extend_from_slice(&count.to_be_bytes());
    for _ in 0..count {
        string(&mut metadata, FLOOD_TOPIC);
    }
    metadata.push(0);
    // Produce v7: transactional id, acks, timeout, topics [name, partitions [index, records]].
    let mut produce = header(ApiKey::Produce, 7);
    produce.extend_from_slice(&(-1i16).to_be_bytes());
    produce.extend_from_slice(&1i16.to_be_bytes());
    produce.extend_from_slice(&1000i32.to_be_bytes());
    produce.extend_from_slice(&1i32.to_be_bytes());
    string(&mut produce, FLOOD_TOPIC);
    let count = (OVERSIZED_BYTES / 8) as i32;
    produce.extend_from_slice(&count.to_be_bytes());
    for i in 0..count {
        produce.extend_from_slice(&(i % 4).to_be_bytes());
        produce.extend_from_slice(&(-1i32).to_be_bytes());
    }
    // ListOffsets v1: replica id, topics [name, partitions [index, timestamp]].
    let mut list_offsets = header(ApiKey::ListOffsets, 1);
    list_offsets.extend_from_slice(&(-1i32).to_be_bytes());
    list_offsets.extend_from_slice(&1i32.to_be_bytes());
    string(&mut list_offsets, FLOOD_TOPIC);
    let count = (OVERSIZED_BYTES / 12) as i32;
    list_offsets.extend_from_slice(&count.to_be_bytes());
    for i in 0..count {
        list_offsets.extend_from_slice(&(i % 4).to_be_bytes());
        list_offsets.extend_from_slice(&(-1i64).to_be_bytes());
    }
    // Fetch v4: replica id, max wait, min bytes, max bytes, isolation level,
    // topics [name, partitions [index, fetch offset, partition max bytes]].
    let mut fetch = header(ApiKey::Fetch, 4);
    for field in [-1i32, 0, 1, 1 << 20] {
        fetch.extend_from_slice(&field.to_be_bytes());
    }
    fetch.push(0);
    fetch.extend_from_slice(&1i32.to_be_bytes());
    string(&mut fetch, FLOOD_TOPIC);
    let count = (OVERSIZED_BYTES / 16) as i32;
    fetch.extend_from_slice(&count.to_be_bytes());
    for i in 0..count {
        fetch.extend_from_slice(&(i % 4).to_be_bytes());
        fetch.extend_from_slice(&0i64.to_be_bytes());
        fetch.extend_from_slice(&1024i32.to_be_bytes());
    }
    vec![framed(metadata), framed(produce), framed(list_offsets), framed(fetch)]
}

#[derive(Default)]
struct FloodStats {
    connections: AtomicU64,
    mutated: AtomicU64,
    oversized: AtomicU64,
}

/// Connects again and again until `stop`, sends one to four mutated requests and reads
/// until the broker answers or closes the connection.
async fn mutator(addr: std::net::SocketAddr, seed: u64, stop: Arc<AtomicBool>, stats: Arc<FloodStats>) {
    let mut rng = Rng(seed);
    let seeds = seeds();
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else { continue };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        for _ in 0..1 + rng.below(4) {
            let seed = &seeds[rng.below(seeds.len())];
            let frame = mutate(&mut rng, seed);
            if stream.write_all(&frame).await.is_err() {
                break;
            }
            stats.mutated.fetch_add(1, Ordering::Relaxed);
        }
        while raw::read_frame(&mut stream, Duration::from_millis(200)).await.is_some() {}
    }
}

/// Sends the oversized requests in turn until `stop`, each on a new connection, and
/// reads each answer.
async fn heavy_sender(
    addr: std::net::SocketAddr,
    first: usize,
    stop: Arc<AtomicBool>,
    big: Arc<Vec<Arc<Vec<u8>>>>,
    stats: Arc<FloodStats>,
) {
    let mut next = first;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else { continue };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(&big[next % big.len()]).await.is_ok() {
            stats.oversized.fetch_add(1, Ordering::Relaxed);
            raw::read_frame(&mut stream, Duration::from_secs(120)).await;
        }
        next += 1;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

/// Produces one record every 10 ms until `until`; returns each send→ack latency.
async fn steady_produce(producer: &rdkafka::producer::FutureProducer, first: usize, until: Instant) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    let mut i = first;
    while Instant::now() < until {
        pace.tick().await;
        let value = i.to_string();
        let sent = Instant::now();
        producer
            .send(FutureRecord::<(), _>::to(STEADY_TOPIC).payload(&value), Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i} not delivered: {e}"));
        latencies.push(sent.elapsed());
        i += 1;
    }
    latencies
}

/// Reads `STEADY_TOPIC` in order until it has `expected` records (unknown, `usize::MAX`,
/// while they are still being produced); returns each record's time from its creation
/// to its arrival here, in offset order.
async fn steady_consume(consumer: StreamConsumer, expected: Arc<AtomicUsize>) -> Vec<Duration> {
    let mut stream = consumer.stream();
    let mut ages = Vec::new();
    while ages.len() < expected.load(Ordering::Relaxed) {
        let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(100), stream.next()).await else {
            continue;
        };
        let message = message.expect("consumer reads without error");
        let value = std::str::from_utf8(message.payload().unwrap_or_default()).unwrap_or_default();
        assert_eq!(value, ages.len().to_string(), "records arrive once each and in order");
        let created = message.timestamp().to_millis().expect("records carry their creation time");
        ages.push(Duration::from_millis(tidelog_broker::now_ms().saturating_sub(created).max(0) as u64));
    }
    ages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_mutated_and_oversized_requests_does_not_stall_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    for name in [STEADY_TOPIC, FLOOD_TOPIC] {
        let partitions = if name == FLOOD_TOPIC { 4 } else { 1 };
        server
            .broker()
            .create_topic(
                &tidelog_broker::access::RequestContext::local(),
                NewTopic { name: name.into(), partitions: Some(partitions), ..Default::default() },
                false,
            )
            .unwrap();
    }
    let producer = common::producer(&server, &[("acks", "all"), ("linger.ms", "0")]);
    let expected = Arc::new(AtomicUsize::new(usize::MAX));
    let consumer = tokio::spawn(steady_consume(common::consumer(&server, STEADY_TOPIC, 1), expected.clone()));

    let mut baseline = steady_produce(&producer, 0, Instant::now() + Duration::from_secs(2)).await;
    baseline.sort();

    // The flood runs on its own runtime, so building and sending it never takes the
    // broker's worker threads (they share the machine's cores all the same).
    let flood = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (stop, stats) = (Arc::new(AtomicBool::new(false)), Arc::new(FloodStats::default()));
    let big = Arc::new(oversized());
    let mutators = (0..MUTATORS)
        .map(|n| flood.spawn(mutator(server.kafka_addr(), 0x5eed + n as u64, stop.clone(), stats.clone())));
    let heavy = (0..HEAVY_SENDERS)
        .map(|n| flood.spawn(heavy_sender(server.kafka_addr(), n, stop.clone(), big.clone(), stats.clone())));
    let attackers: Vec<_> = mutators.chain(heavy).collect();
    let mut during = steady_produce(&producer, baseline.len(), Instant::now() + FLOOD).await;
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.await.unwrap();
    }
    tokio::task::spawn_blocking(move || drop(flood)).await.unwrap();
    during.sort();

    let produced = baseline.len() + during.len();
    expected.store(produced, Ordering::Relaxed);
    let ages = tokio::time::timeout(Duration::from_secs(20), consumer)
        .await
        .expect("the consumer reads every record")
        .unwrap();
    let worst_age_before = ages[..baseline.len()].iter().max().copied().unwrap_or_default();
    let worst_age = ages[baseline.len()..].iter().max().copied().unwrap_or_default();
    let worst = *during.last().unwrap();
    eprintln!(
        "flood: {} connections, {} mutated and {} oversized requests; steady produce→ack before: p50 {:?} p99 {:?} max {:?}; during: p50 {:?} p99 {:?} max {:?}; {produced} produced and consumed, worst produce→consume before {worst_age_before:?}, during {worst_age:?}",
        stats.connections.load(Ordering::Relaxed),
        stats.mutated.load(Ordering::Relaxed),
        stats.oversized.load(Ordering::Relaxed),
        percentile(&baseline, 0.5),
        percentile(&baseline, 0.99),
        baseline.last().unwrap(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        worst,
    );
    assert!(stats.oversized.load(Ordering::Relaxed) >= HEAVY_SENDERS as u64, "the flood sent oversized requests");
    assert!(stats.mutated.load(Ordering::Relaxed) >= 1000, "the flood sent mutated requests");
    // Why 1 s: the pair's worst produce→ack is tens of milliseconds without a flood (debug
    // build, acks=all, a shared 2-core machine; up to ~200 ms seen), and stays there during
    // it with large requests handled off the runtime workers (95–383 ms in the runs so
    // far). Handled on the workers, this flood held them for seconds: p99 4.2 s, worst
    // 8.1 s, like the 2.5–5.0 s stalls reported. 1 s is far above the one, far below the other.
    assert!(worst < Duration::from_secs(1), "worst produce→ack during the flood: {worst:?}");
    // The consumer's worst is the same wait seen from the other side, in whole milliseconds;
    // the figure before the flood includes the consumer's start, so it is not compared.
    assert!(worst_age < Duration::from_secs(1), "worst produce→consume during the flood: {worst_age:?}");
    server.shutdown().await.unwrap();
}
