//! The admin HTTP listener (127.0.0.1:9644 by default): `/metrics` in Prometheus text
//! format, `/health` (live and ready), and `/v1/...` JSON views of the cluster, topics and
//! groups. It starts before the broker opens its data directory, so a supervisor sees
//! "starting" during recovery instead of a refused connection.

mod api;
mod exposition;
mod state;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use state::{Admin, Listeners, Phase};

/// Serves the admin endpoints on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/metrics", get(exposition::metrics))
        .route("/health", get(api::health))
        .route("/health/live", get(api::live))
        .route("/health/ready", get(api::ready))
        .route("/v1/cluster", get(api::cluster))
        .route("/v1/topics", get(api::topics))
        .route("/v1/topics/{name}", get(api::topic))
        .route("/v1/groups", get(api::groups))
        .route("/v1/groups/{id}", get(api::group))
        .fallback(api::not_found)
        .with_state(admin);
    let stopped = async move { tidelog_broker::shutdown::stopped(&mut stop).await };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::warn!(error = %e, "admin listener failed");
    }
}
