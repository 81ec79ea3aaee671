//! The Kafka listener: accepts connections, gives each its own task, and on shutdown
//! stops accepting, lets every connection answer what it already read, then returns.

use std::sync::Arc;
use std::time::Duration;

use tidelog_broker::config::keys;
use tidelog_broker::Broker;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::connection;

/// What the front-end needs besides the broker: the address clients are told to use.
#[derive(Debug, Clone)]
pub struct KafkaListener {
    pub advertised_host: String,
    pub advertised_port: i32,
}

pub(crate) struct Context {
    pub broker: Arc<Broker>,
    pub listener: KafkaListener,
    pub max_request_bytes: usize,
}

/// How long connections get to answer in-flight requests at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves Kafka clients on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    advertised: KafkaListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let max_request_bytes = broker.config().get(keys::SOCKET_REQUEST_MAX_BYTES) as usize;
    let ctx = Arc::new(Context { broker, listener: advertised, max_request_bytes });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    debug!(%peer, "kafka connection opened");
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection::run(stream, peer, ctx.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = tidelog_broker::shutdown::stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    info!(connections = connections.len(), "kafka listener stopping; draining connections");
    if tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} }).await.is_err() {
        warn!("connections did not drain in time; closing them");
        connections.abort_all();
    }
}
