//! The Kafka listener: accepts connections, gives each its own task, and on shutdown
//! stops accepting, lets every connection answer what it already read, then returns.
//! Connections past `max.connections` or `max.connections.per.ip` are closed on arrival.

use std::sync::Arc;
use std::time::Duration;

use tidelog_broker::config::keys;
use tidelog_broker::Broker;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::admission::ConnectionLimits;
use crate::budget::RequestBudget;
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
    /// The address the listener is bound to (DescribeConfigs' `listeners`).
    pub bound_addr: Option<std::net::SocketAddr>,
    /// `socket.request.max.bytes`: the largest request frame read.
    pub max_request_bytes: usize,
    /// `queued.max.request.bytes`: request bytes read and not yet answered, all connections.
    pub request_budget: Arc<RequestBudget>,
    /// Share consumers' sessions on this listener (KIP-932).
    pub share_sessions: crate::share_sessions::ShareSessions,
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
    let config = broker.config();
    // Validated as non-negative: the fallback is never taken.
    let setting = |key| usize::try_from(config.get(key)).unwrap_or(usize::MAX);
    let max_request_bytes = setting(keys::SOCKET_REQUEST_MAX_BYTES);
    let limits = ConnectionLimits::new(setting(keys::MAX_CONNECTIONS), setting(keys::MAX_CONNECTIONS_PER_IP));
    let request_budget = RequestBudget::new(config.get(keys::QUEUED_MAX_REQUEST_BYTES));
    let bound_addr = listener.local_addr().ok();
    let ctx = Arc::new(Context {
        broker,
        listener: advertised,
        bound_addr,
        max_request_bytes,
        request_budget,
        share_sessions: Default::default(),
    });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match limits.admit(peer.ip()) {
                    Ok(admitted) => {
                        debug!(%peer, "kafka connection opened");
                        let _ = stream.set_nodelay(true);
                        connections.spawn(connection::run(stream, peer, ctx.clone(), shutdown.clone(), admitted));
                    }
                    Err(refused) => {
                        // Dropping the stream closes it, as Kafka does; nothing is read from it.
                        warn!(%peer, limit = refused.setting(), "closing kafka connection: too many connections");
                        crate::metrics::connection_rejected(refused.reason());
                    }
                },
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
