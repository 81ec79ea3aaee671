//! The Kafka request histogram measures what its name says: from the request frame read in
//! full to the response written, the handler's synchronous work included. It used to
//! start only after the handler returned, so a Produce's appends (all of an acks=1
//! Produce's work) never showed in it.

mod common;

use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiKey;
use tidelog_broker::access::RequestContext;
use tidelog_broker::NewTopic;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::raw;

const DURATION_SUM: &str = "tidelog_kafka_request_duration_seconds_sum{api=\"Produce\"}";
const DURATION_COUNT: &str = "tidelog_kafka_request_duration_seconds_count{api=\"Produce\"}";

/// A Produce v7 (acks=1) naming `partitions` partitions of `topic`, each without records:
/// every one is refused, which is quick, but they add up to a handler that takes a while.
fn wide_produce(topic: &str, partitions: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(ApiKey::Produce as i16).to_be_bytes());
    body.extend_from_slice(&7i16.to_be_bytes());
    body.extend_from_slice(&1i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&(-1i16).to_be_bytes()); // client id
    body.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id
    body.extend_from_slice(&1i16.to_be_bytes()); // acks
    body.extend_from_slice(&1000i32.to_be_bytes()); // timeout
    body.extend_from_slice(&1i32.to_be_bytes());
    body.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&partitions.to_be_bytes());
    for i in 0..partitions {
        body.extend_from_slice(&(i % 2).to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes()); // null records
    }
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_produce_histogram_includes_the_handlers_work() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]).await;
    server
        .broker()
        .create_topic(
            &RequestContext::local(),
            NewTopic { name: "wide".into(), partitions: Some(2), ..Default::default() },
            false,
        )
        .unwrap();
    let before = common::scrape_metrics(&server).await;
    let (sum_before, count_before) =
        (common::metric(&before, DURATION_SUM).unwrap_or(0.0), common::metric(&before, DURATION_COUNT).unwrap_or(0.0));

    let frame = wide_produce("wide", 200_000);
    let mut stream = TcpStream::connect(server.kafka_addr()).await.unwrap();
    let sent = Instant::now();
    stream.write_all(&frame).await.unwrap();
    let answer = raw::read_frame(&mut stream, Duration::from_secs(60)).await;
    let round_trip = sent.elapsed();
    assert!(answer.is_some(), "the produce is answered");

    let after = common::scrape_metrics(&server).await;
    let observed = common::metric(&after, DURATION_SUM).unwrap() - sum_before;
    assert_eq!(common::metric(&after, DURATION_COUNT).unwrap() - count_before, 1.0);
    eprintln!("round trip {round_trip:?}, histogram {observed:.4} s");
    // Sending the 1.6 MB frame and reading the answer take a few milliseconds of the round
    // trip; the rest is the broker's, and the histogram must show most of it. (Timed from
    // after the handler, it showed microseconds.)
    assert!(round_trip > Duration::from_millis(20), "the handler takes long enough to tell: {round_trip:?}");
    assert!(observed > round_trip.as_secs_f64() / 2.0, "histogram {observed} s for a {round_trip:?} round trip");
    assert!(observed <= round_trip.as_secs_f64(), "histogram {observed} s longer than the round trip {round_trip:?}");
    server.shutdown().await.unwrap();
}
