//! Malformed and hostile input over raw TCP: each gets Kafka's error answer or a closed
//! connection, while other connections and the stored data are unaffected.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::Compression;
use tidelog_broker::NewTopic;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(server: &tidelog_server::Running) -> TcpStream {
    TcpStream::connect(server.kafka_addr()).await.unwrap()
}

async fn send_raw(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
}

fn frame<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, request: &R) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("bad-input-test")));
    let mut body = BytesMut::new();
    header.encode(&mut body, key.request_header_version(version)).unwrap();
    request.encode(&mut body, version).unwrap();
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Reads one response frame; `None` when the server closed the connection.
async fn read_frame(stream: &mut TcpStream) -> Option<Bytes> {
    let mut len = [0u8; 4];
    match tokio::time::timeout(WAIT, stream.read_exact(&mut len)).await.expect("server answers or closes in time") {
        Ok(_) => {}
        Err(_) => return None,
    }
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.ok()?;
    Some(body.into())
}

async fn call<Req: Encodable, Resp: Decodable>(
    stream: &mut TcpStream,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Resp {
    send_raw(stream, &frame(key, version, 42, request)).await;
    let mut body = read_frame(stream).await.expect("a response, not a closed connection");
    let header = ResponseHeader::decode(&mut body, key.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 42);
    Resp::decode(&mut body, version).unwrap()
}

async fn api_versions_ok(stream: &mut TcpStream) {
    let response: ApiVersionsResponse = call(stream, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, 0);
}

async fn assert_closed(stream: &mut TcpStream) {
    assert!(read_frame(stream).await.is_none(), "expected the server to close the connection");
}

#[tokio::test]
async fn hostile_frames_close_only_their_own_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    let mut bystander = connect(&server).await;
    api_versions_ok(&mut bystander).await;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", {
            let mut f = 64u32.to_be_bytes().to_vec();
            f.extend((0..64u8).map(|i| i.wrapping_mul(37)));
            f
        }),
        ("oversized length", 0x7fff_ffffu32.to_be_bytes().to_vec()),
        ("negative length", (-5i32).to_be_bytes().to_vec()),
        ("empty frame", 0u32.to_be_bytes().to_vec()),
        ("unknown api key", {
            let mut f = 12u32.to_be_bytes().to_vec();
            f.extend_from_slice(&[0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 0]);
            f
        }),
        ("unsupported produce version", {
            let mut f = 14u32.to_be_bytes().to_vec();
            f.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0, 1, 0, 0]);
            f
        }),
        // Metadata v1 claiming 2^31-1 topics in a 4-byte array: must not size an allocation from it.
        ("absurd array count", {
            let mut body = vec![0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff];
            body.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
            let mut f = (body.len() as u32).to_be_bytes().to_vec();
            f.extend(body);
            f
        }),
        ("absurd compact array count", {
            let request = MetadataRequest::default().with_topics(Some(vec![]));
            let mut f = frame(ApiKey::Metadata, 12, 1, &request);
            // Replace the empty compact array (varint 1) with a count of ~4 billion.
            let at = f.len() - 4;
            f.splice(at..at + 1, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            let len = (f.len() - 4) as u32;
            f[..4].copy_from_slice(&len.to_be_bytes());
            f
        }),
    ];
    for (name, bytes) in cases {
        let mut attacker = connect(&server).await;
        send_raw(&mut attacker, &bytes).await;
        assert_closed(&mut attacker).await;
        api_versions_ok(&mut bystander).await;
        eprintln!("{name}: connection closed, bystander unaffected");
    }

    // A frame cut short by a disconnect leaves nothing behind.
    let mut torn = connect(&server).await;
    send_raw(&mut torn, &[0, 0, 0, 100, 1, 2, 3]).await;
    drop(torn);
    api_versions_ok(&mut bystander).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unsupported_api_versions_version_gets_error_35_and_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    let mut stream = connect(&server).await;
    // A future ApiVersions version: header v2 layout, body we cannot know.
    let mut body = vec![0, 18, 0, 99, 0, 0, 0, 9, 0, 0, 0];
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.append(&mut body);
    send_raw(&mut stream, &f).await;
    let mut reply = read_frame(&mut stream).await.unwrap();
    let header = ResponseHeader::decode(&mut reply, 0).unwrap();
    assert_eq!(header.correlation_id, 9);
    let response = ApiVersionsResponse::decode(&mut reply, 0).unwrap();
    assert_eq!(response.error_code, 35);
    assert!(response.api_keys.iter().any(|k| k.api_key == ApiKey::Produce as i16));
    server.shutdown().await.unwrap();
}

fn batch(values: &[&str]) -> Vec<u8> {
    let records: Vec<_> = values.iter().map(|v| (None, Some(Bytes::copy_from_slice(v.as_bytes())))).collect();
    tidelog_broker::records::encode_batch(&records, tidelog_broker::now_ms(), Compression::None).unwrap()
}

fn produce(topic: &str, partition: i32, records: Vec<u8>) -> ProduceRequest {
    ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_string(topic.into())))
        .with_partition_data(vec![PartitionProduceData::default()
            .with_index(partition)
            .with_records(Some(records.into()))])])
}

async fn produce_error(stream: &mut TcpStream, topic: &str, partition: i32, records: Vec<u8>) -> (i16, i64) {
    let response: ProduceResponse = call(stream, ApiKey::Produce, 9, &produce(topic, partition, records)).await;
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

#[tokio::test]
async fn bad_batches_get_kafka_errors_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    server
        .broker()
        .create_topic(
            &tidelog_broker::access::RequestContext::local(),
            NewTopic { name: "t".into(), partitions: Some(1), ..Default::default() },
            false,
        )
        .unwrap();
    let mut stream = connect(&server).await;

    let mut bad_crc = batch(&["a", "b"]);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x55;
    assert_eq!(produce_error(&mut stream, "t", 0, bad_crc).await, (2, -1), "CORRUPT_MESSAGE");

    let mut absurd_count = batch(&["a", "b"]);
    absurd_count[57..61].copy_from_slice(&1_000_000_000i32.to_be_bytes());
    absurd_count[23..27].copy_from_slice(&999_999_999i32.to_be_bytes());
    let crc = crc32c::crc32c(&absurd_count[21..]);
    absurd_count[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(produce_error(&mut stream, "t", 0, absurd_count).await.0, 2, "record count beyond the bytes is corrupt");

    let mut old_magic = batch(&["a"]);
    old_magic[16] = 1;
    assert_eq!(produce_error(&mut stream, "t", 0, old_magic).await.0, 87, "INVALID_RECORD");

    let truncated = batch(&["abc"])[..30].to_vec();
    assert_eq!(produce_error(&mut stream, "t", 0, truncated).await.0, 2);
    assert_eq!(produce_error(&mut stream, "t", 7, batch(&["x"])).await.0, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    assert_eq!(produce_error(&mut stream, "nope", 0, batch(&["x"])).await.0, 3);

    // Nothing above was stored; the connection still works and the next batch gets offset 0.
    assert_eq!(produce_error(&mut stream, "t", 0, batch(&["good", "good"])).await, (0, 0));
    assert_eq!(server.broker().partition("t", 0).unwrap().offsets().log_end_offset, 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_topic_named_many_times_in_metadata_is_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    server
        .broker()
        .create_topic(
            &tidelog_broker::access::RequestContext::local(),
            NewTopic { name: "t".into(), partitions: Some(3), ..Default::default() },
            false,
        )
        .unwrap();
    let mut stream = connect(&server).await;
    let named = |name: &'static str| {
        metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_static_str(name))))
    };
    // As Kafka does: repeating a topic must not multiply the work and the answer.
    let request = MetadataRequest::default().with_topics(Some(vec![named("t"), named("t"), named("t"), named("u")]));
    let response: MetadataResponse = call(&mut stream, ApiKey::Metadata, 12, &request).await;
    let names: Vec<_> = response.topics.iter().map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect();
    assert_eq!(names, [Some("t".to_string()), Some("u".to_string())]);
    assert_eq!(response.topics[0].partitions.len(), 3);
    server.shutdown().await.unwrap();
}
