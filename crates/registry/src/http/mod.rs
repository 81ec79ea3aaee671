//! The Confluent Schema Registry REST API over axum: the routes Confluent serves for
//! subjects, schemas by id, config, mode and compatibility, answered in its JSON shapes
//! and error codes. Thin: every handler is one call into [`Registry`].

mod schemas;
mod settings;
mod subjects;
mod views;
mod wire;

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::store::Registry;
pub use wire::{CONTENT_TYPE, MAX_BODY_BYTES};

/// The routes, for serving or for driving in tests.
pub fn router(registry: Arc<Registry>) -> Router {
    let not_allowed = || wire::method_not_allowed;
    Router::new()
        .route("/", get(root))
        .route("/subjects", get(subjects::list))
        .route("/subjects/{subject}", post(subjects::lookup).delete(subjects::delete_subject))
        .route("/subjects/{subject}/versions", get(subjects::versions).post(subjects::register))
        .route("/subjects/{subject}/versions/{version}", get(subjects::version).delete(subjects::delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(subjects::version_schema))
        .route("/subjects/{subject}/versions/{version}/referencedby", get(subjects::referenced_by))
        .route("/schemas", get(schemas::list))
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::text_by_id))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects_of))
        .route("/schemas/ids/{id}/versions", get(schemas::versions_of))
        .route(
            "/config",
            get(settings::get_global_config).put(settings::put_global_config).delete(settings::delete_global_config),
        )
        .route("/config/{subject}", get(settings::get_config).put(settings::put_config).delete(settings::delete_config))
        .route("/mode", get(settings::get_global_mode).put(settings::put_global_mode))
        .route("/mode/{subject}", get(settings::get_mode).put(settings::put_mode).delete(settings::delete_mode))
        .route("/compatibility/subjects/{subject}/versions", post(settings::check_all))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(settings::check_version))
        .route("/contexts", get(contexts))
        .method_not_allowed_fallback(not_allowed())
        .fallback(wire::not_found)
        .with_state(registry)
}

async fn root() -> Response {
    wire::answer(&serde_json::json!({}))
}

/// Only the default context: subjects here are not qualified by contexts.
async fn contexts() -> Response {
    wire::answer(&["."])
}

/// Serves the REST API until `stop` turns true; requests in flight are answered.
pub async fn serve(listener: TcpListener, registry: Arc<Registry>, mut stop: watch::Receiver<bool>) {
    let app = router(registry);
    let stopped = async move { tidelog_broker::shutdown::stopped(&mut stop).await };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::error!(error = %e, "schema registry listener failed");
    }
}
