//! Load from pre-encoded Kafka requests over plain TCP: the client does next to no work
//! per record, so these rows show what the broker itself sustains on this machine. The
//! librdkafka rows show what a real client gets; on two shared cores the client's own
//! CPU bounds those, and the difference between the two is the client's share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use tidelog_log::batch::batches;

use crate::kafka_load::LoadResult;

pub const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 12;
const METADATA_VERSION: i16 = 12;

/// One request as sent on the wire: size prefix, header, body.
pub fn frame<R: Encodable>(key: ApiKey, version: i16, request: &R) -> anyhow::Result<Vec<u8>> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("tidelog-bench")));
    let mut body = BytesMut::new();
    header.encode(&mut body, key.request_header_version(version))?;
    request.encode(&mut body, version)?;
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads one response and decodes it past its header.
pub fn read_response<R: Decodable>(stream: &mut impl Read, key: ApiKey, version: i16) -> anyhow::Result<R> {
    ResponseBuffer::default().read(stream, key, version)
}

/// Memory for large responses, reused once the response decoded from it is dropped:
/// fetch responses are tens of MB, and a fresh buffer for each cost the client a page
/// fault per 4 KiB (and zeroing them, once reused, was 15% of its CPU).
#[derive(Default)]
struct ResponseBuffer(Bytes);

impl ResponseBuffer {
    fn read<R: Decodable>(&mut self, stream: &mut impl Read, key: ApiKey, version: i16) -> anyhow::Result<R> {
        let mut body = match std::mem::take(&mut self.0).try_into_mut() {
            Ok(mut unused) => {
                unused.clear();
                Vec::from(unused)
            }
            Err(_) => Vec::new(),
        };
        let mut len = [0u8; 4];
        stream.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        body.reserve(len);
        // Reads into the spare capacity without zeroing it first.
        stream.take(len as u64).read_to_end(&mut body)?;
        ensure!(body.len() == len, "the connection closed after {} of {len} response bytes", body.len());
        self.0 = Bytes::from(body);
        let mut body = self.0.clone();
        ResponseHeader::decode(&mut body, key.response_header_version(version))?;
        R::decode(&mut body, version)
    }
}

/// `count` records of `record_bytes` each, in one uncompressed batch.
pub fn record_batch(count: usize, record_bytes: usize) -> anyhow::Result<Bytes> {
    let value = Bytes::from(vec![b'x'; record_bytes]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch when offset - sequence changes; the first
            // record's -1 is the batch's "no sequence".
            sequence: i as i32 - 1,
            timestamp: now,
            key: Some(Bytes::from((i % 1024).to_string())),
            value: Some(value.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )?;
    Ok(buf.freeze())
}

/// A produce request carrying `batch` for every partition of `topic`.
pub fn produce_request(topic: &str, partitions: i32, acks: i16, batch: &Bytes) -> ProduceRequest {
    let data = (0..partitions)
        .map(|p| PartitionProduceData::default().with_index(p).with_records(Some(batch.clone())))
        .collect();
    ProduceRequest::default().with_acks(acks).with_timeout_ms(30_000).with_topic_data(vec![TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_data(data)])
}

pub fn check_produced(response: &ProduceResponse) -> anyhow::Result<()> {
    for topic in &response.responses {
        for p in &topic.partition_responses {
            ensure!(p.error_code == 0, "produce to partition {} failed with error {}", p.index, p.error_code);
        }
    }
    Ok(())
}

pub struct RawProduce<'a> {
    pub topic: &'a str,
    pub partitions: i32,
    pub records: u64,
    pub record_bytes: usize,
    /// Records per partition in each request.
    pub batch_records: usize,
    pub acks: i16,
    pub connections: usize,
    pub in_flight: usize,
    /// As an idempotent producer: a producer id from InitProducerId, and every batch
    /// with the next sequence of its partition (one connection then, as clients do).
    pub idempotent: bool,
}

impl<'a> RawProduce<'a> {
    /// 1 KiB records, 64 per partition per request, acks=1, two connections with 4
    /// requests in flight each.
    pub fn kib_records(topic: &'a str, partitions: i32, records: u64) -> Self {
        RawProduce {
            topic,
            partitions,
            records,
            record_bytes: 1024,
            batch_records: 64,
            acks: 1,
            connections: 2,
            in_flight: 4,
            idempotent: false,
        }
    }
}

/// Sends the same encoded produce request again and again, `in_flight` requests
/// pipelined on each connection; latency is per request, send → response.
pub fn produce(bootstrap: &str, spec: &RawProduce<'_>) -> anyhow::Result<LoadResult> {
    let batch = record_batch(spec.batch_records, spec.record_bytes)?;
    let per_request = spec.batch_records as u64 * spec.partitions as u64;
    let requests = spec.records.div_ceil(per_request);
    let connections = if spec.idempotent { 1 } else { spec.connections };
    let per_connection = requests.div_ceil(connections as u64);
    let producer = if spec.idempotent { Some(init_producer_id(bootstrap)?) } else { None };
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let batch = batch.clone();
                scope.spawn(move || match producer {
                    None => {
                        let frame = Bytes::from(frame(
                            ApiKey::Produce,
                            PRODUCE_VERSION,
                            &produce_request(spec.topic, spec.partitions, spec.acks, &batch),
                        )?);
                        pipelined(
                            bootstrap,
                            std::iter::repeat_n(frame, per_connection as usize).map(Ok),
                            spec.in_flight,
                        )
                    }
                    Some((id, epoch)) => {
                        let mut sequences = vec![0i32; spec.partitions as usize];
                        let frames = (0..per_connection as usize).map(move |_| {
                            let data = sequences
                                .iter_mut()
                                .enumerate()
                                .map(|(p, sequence)| {
                                    let stamped = stamp_producer(&batch, id, epoch, *sequence);
                                    *sequence += spec.batch_records as i32;
                                    PartitionProduceData::default().with_index(p as i32).with_records(Some(stamped))
                                })
                                .collect();
                            let mut request = produce_request(spec.topic, 0, spec.acks, &batch);
                            request.topic_data[0].partition_data = data;
                            frame(ApiKey::Produce, PRODUCE_VERSION, &request).map(Bytes::from)
                        });
                        pipelined(bootstrap, frames, spec.in_flight)
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??);
        }
        anyhow::Ok(all)
    })?;
    let records = per_connection * connections as u64 * per_request;
    Ok(LoadResult {
        records,
        payload_bytes: records * spec.record_bytes as u64,
        elapsed: started.elapsed(),
        latencies_ms: latencies,
    })
}

/// A producer id and epoch for an idempotent producer.
fn init_producer_id(bootstrap: &str) -> anyhow::Result<(i64, i16)> {
    const VERSION: i16 = 4;
    let mut stream = TcpStream::connect(bootstrap)?;
    let request = InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(60_000);
    stream.write_all(&frame(ApiKey::InitProducerId, VERSION, &request)?)?;
    let response: InitProducerIdResponse = read_response(&mut stream, ApiKey::InitProducerId, VERSION)?;
    ensure!(response.error_code == 0, "InitProducerId failed with error {}", response.error_code);
    Ok((response.producer_id.0, response.producer_epoch))
}

/// `batch` with the producer id, epoch and base sequence set, and its CRC recomputed
/// (it covers everything from the attributes on).
fn stamp_producer(batch: &[u8], producer_id: i64, epoch: i16, base_sequence: i32) -> Bytes {
    const CRC_START: usize = 21;
    let mut b = batch.to_vec();
    b[43..51].copy_from_slice(&producer_id.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// One connection: a writer keeps `in_flight` requests outstanding, this thread reads
/// the responses in order (Kafka answers a connection's requests in order).
fn pipelined(
    bootstrap: &str,
    frames: impl ExactSizeIterator<Item = anyhow::Result<Bytes>> + Send,
    in_flight: usize,
) -> anyhow::Result<Vec<f64>> {
    let requests = frames.len();
    let mut reader = TcpStream::connect(bootstrap)?;
    reader.set_nodelay(true)?;
    let mut writer = reader.try_clone()?;
    let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
    let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        permit_tx.send(())?;
    }
    // Moved in, so that an early error drops the permits and the writer stops too.
    std::thread::scope(move |scope| {
        let write = scope.spawn(move || -> anyhow::Result<()> {
            for frame in frames {
                permit_rx.recv().context("reader stopped")?;
                sent_tx.send(Instant::now())?;
                writer.write_all(&frame?)?;
            }
            Ok(())
        });
        let mut latencies = Vec::with_capacity(requests);
        for _ in 0..requests {
            let response: ProduceResponse = read_response(&mut reader, ApiKey::Produce, PRODUCE_VERSION)?;
            check_produced(&response)?;
            latencies.push(sent_rx.recv()?.elapsed().as_secs_f64() * 1e3);
            // The writer may have finished; a closed channel is fine then.
            let _ = permit_tx.send(());
        }
        write.join().map_err(|_| anyhow::anyhow!("the writer panicked"))??;
        Ok(latencies)
    })
}

/// Fetches every partition of `topic` from offset 0 until `expected` records arrived,
/// one Fetch in flight as consumers do; records are counted from batch headers only.
pub fn fetch(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    expected: u64,
    record_bytes: usize,
) -> anyhow::Result<LoadResult> {
    let mut stream = TcpStream::connect(bootstrap)?;
    stream.set_nodelay(true)?;
    let mut offsets = vec![0i64; partitions as usize];
    let (mut records, started) = (0u64, Instant::now());
    let (mut latencies, mut buffer) = (Vec::new(), ResponseBuffer::default());
    while records < expected {
        ensure!(started.elapsed() < Duration::from_secs(300), "fetched only {records} of {expected} records");
        let request = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(50 << 20)
            .with_isolation_level(0)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(
                    offsets
                        .iter()
                        .enumerate()
                        .map(|(p, &offset)| {
                            FetchPartition::default()
                                .with_partition(p as i32)
                                .with_fetch_offset(offset)
                                .with_partition_max_bytes(10 << 20)
                        })
                        .collect(),
                )]);
        let sent = Instant::now();
        stream.write_all(&frame(ApiKey::Fetch, FETCH_VERSION, &request)?)?;
        let response: FetchResponse = buffer.read(&mut stream, ApiKey::Fetch, FETCH_VERSION)?;
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
        for p in response.responses.iter().flat_map(|t| t.partitions.iter()) {
            if p.error_code != 0 {
                bail!("fetch from partition {} failed with error {}", p.partition_index, p.error_code);
            }
            for batch in p.records.as_deref().map(batches).into_iter().flatten() {
                let (header, _) = batch?;
                let next = header.last_offset() + 1;
                if next > offsets[p.partition_index as usize] {
                    records += header.records_count as u64;
                    offsets[p.partition_index as usize] = next;
                }
            }
        }
    }
    Ok(LoadResult {
        records,
        payload_bytes: records * record_bytes as u64,
        elapsed: started.elapsed(),
        latencies_ms: latencies,
    })
}

/// A Metadata request for one topic.
pub fn metadata_frame(topic: &str) -> anyhow::Result<Vec<u8>> {
    let request = MetadataRequest::default().with_topics(Some(vec![metadata_request::MetadataRequestTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.to_string()))))]));
    frame(ApiKey::Metadata, METADATA_VERSION, &request)
}

pub fn read_metadata(stream: &mut impl Read) -> anyhow::Result<MetadataResponse> {
    read_response(stream, ApiKey::Metadata, METADATA_VERSION)
}

pub fn read_produce(stream: &mut impl Read) -> anyhow::Result<ProduceResponse> {
    read_response(stream, ApiKey::Produce, PRODUCE_VERSION)
}
