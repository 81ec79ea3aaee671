//! `/health` through the life of a process: starting (the data directory is still
//! opening), ready, stopping — answered over real HTTP.

use std::collections::BTreeMap;

use tidelog_admin::{Admin, Listeners};
use tidelog_broker::{Broker, BrokerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: tidelog\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn health_follows_startup_ready_and_stopping() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let admin = Admin::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(tidelog_admin::serve(listener, admin.clone(), stopped));

    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 503);
    assert!(body.contains(r#""status":"starting""#), "{body}");
    assert_eq!(get(addr, "/health/live").await.0, 200, "alive while recovering");
    assert_eq!(get(addr, "/health/ready").await.0, 503);
    assert_eq!(get(addr, "/v1/topics").await.0, 503);
    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("tidelog_kafka_connections_active 0"), "unlabelled metrics are listed before they move");
    assert!(metrics.contains("tidelog_fsync_duration_seconds_count"), "{metrics}");

    let broker = Broker::in_memory(BrokerConfig::from_pairs(BTreeMap::<String, String>::new()).unwrap());
    let listeners = Listeners { kafka: "127.0.0.1:9092".into(), kinesis: None, admin: Some(format!("http://{addr}")) };
    admin.ready(broker, listeners);
    let (status, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""ready":true"#), "{body}");
    let (status, cluster) = get(addr, "/v1/cluster").await;
    assert_eq!(status, 200);
    assert!(cluster.contains(r#""kafka":"127.0.0.1:9092""#), "{cluster}");

    admin.stopping();
    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 503);
    assert!(body.contains(r#""status":"stopping""#), "{body}");

    stop.send_replace(true);
    server.await.unwrap();
}
