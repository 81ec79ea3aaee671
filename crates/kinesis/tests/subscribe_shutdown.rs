//! The Kinesis listener stops promptly on shutdown even with a SubscribeToShard stream
//! open: the stream ends instead of running out its five minutes, so graceful shutdown,
//! which waits for responses in flight, is not held up by it.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tidelog_broker::{Broker, BrokerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;

/// Well past what a prompt stop takes, well short of the 5 s heartbeat and 5 min limit.
const PROMPTLY: Duration = Duration::from_secs(3);

async fn send(addr: SocketAddr, operation: &str, input: &Value) -> TcpStream {
    let body = input.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: Kinesis_20131202.{operation}\r\n\
         Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut connection = TcpStream::connect(addr).await.unwrap();
    connection.write_all(request.as_bytes()).await.unwrap();
    connection
}

/// One request answered in full: its JSON body.
async fn call(addr: SocketAddr, operation: &str, input: Value) -> Value {
    let mut response = Vec::new();
    send(addr, operation, &input).await.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{operation}: {text}");
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_to_shard_ends_promptly_on_shutdown() {
    let broker = Broker::in_memory(BrokerConfig::default());
    tidelog_kinesis::model::create_stream(
        &broker,
        &tidelog_broker::access::RequestContext::local(),
        "s",
        1,
        false,
        Default::default(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(tidelog_kinesis::serve(listener, broker, stopped));

    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let registered =
        call(addr, "RegisterStreamConsumer", json!({ "StreamARN": stream_arn, "ConsumerName": "c" })).await;
    let consumer_arn = registered["Consumer"]["ConsumerARN"].as_str().unwrap().to_string();
    let input = json!({
        "ConsumerARN": consumer_arn,
        "ShardId": "shardId-000000000000",
        "StartingPosition": { "Type": "LATEST" },
    });
    let mut subscription = send(addr, "SubscribeToShard", &input).await;
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("initial-response") {
        let mut chunk = [0u8; 4096];
        let n = timeout(PROMPTLY, subscription.read(&mut chunk)).await.expect("no initial-response").unwrap();
        assert!(n > 0, "the subscription closed before its initial-response");
        received.extend_from_slice(&chunk[..n]);
    }

    stop.send_replace(true);
    let ended = timeout(PROMPTLY, subscription.read_to_end(&mut received)).await;
    assert!(ended.is_ok(), "the SubscribeToShard stream was still open after shutdown");
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));
    timeout(PROMPTLY, server).await.expect("the listener did not stop").unwrap();
}
