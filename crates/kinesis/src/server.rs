//! The HTTP side: `POST /` with `X-Amz-Target: Kinesis_20131202.<Operation>` and an AWS
//! JSON 1.1 body, answered in kind. HTTP/1.1 and HTTP/2 (cleartext) on one listener.
//!
//! SigV4 `Authorization` headers are read for the region (used in ARNs) and otherwise
//! accepted as they are: signature verification comes with the security work.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tidelog_broker::Broker;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::KinesisError;
use crate::ops;

const TARGET_PREFIX: &str = "Kinesis_20131202.";
const JSON: &str = "application/x-amz-json-1.1";
/// PutRecords carries up to 5 MiB of data, base64-encoded in JSON: room for that.
const MAX_BODY_BYTES: usize = 8 << 20;
const DEFAULT_REGION: &str = "us-east-1";

/// What every operation sees: the broker and the caller's region.
pub struct Call {
    pub broker: Arc<Broker>,
    pub region: String,
}

/// Serves Kinesis clients until `stop` turns true; requests in flight are answered.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let app = Router::new().route("/", post(handle)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(broker);
    let stopped = async move {
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::error!(error = %e, "kinesis listener failed");
    }
}

/// The region of a SigV4 `Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn region(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split('/').nth(2))
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REGION)
        .to_string()
}

async fn handle(State(broker): State<Arc<Broker>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let outcome = match target.strip_prefix(TARGET_PREFIX) {
        None => Err(KinesisError::new("UnknownOperationException", format!("Unknown target '{target}'"))),
        Some(operation) => match content_kind(&headers) {
            Err(e) => Err(e),
            Ok(()) => {
                let call = Call { broker, region: region(&headers) };
                match parse_body(&body) {
                    Ok(input) => ops::dispatch(&call, operation, input).await,
                    Err(e) => Err(e),
                }
            }
        },
    };
    let (status, body) = match outcome {
        Ok(output) => (StatusCode::OK, output),
        Err(e) => {
            tracing::debug!(target, error = %e, "kinesis request refused");
            (StatusCode::BAD_REQUEST, serde_json::json!({ "__type": e.kind, "message": e.message }))
        }
    };
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static(JSON));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", id);
    }
    response
}

/// AWS JSON 1.1 (or plain JSON). CBOR, which the Java SDKs prefer, is not decoded yet:
/// those clients can set `aws.cborEnabled=false` meanwhile.
fn content_kind(headers: &HeaderMap) -> Result<(), KinesisError> {
    let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or(JSON);
    if kind.starts_with("application/x-amz-cbor") {
        return Err(KinesisError::serialization("CBOR request bodies are not supported yet; send AWS JSON 1.1"));
    }
    Ok(())
}

fn parse_body(body: &[u8]) -> Result<serde_json::Value, KinesisError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(KinesisError::serialization("the request body must be a JSON object")),
        Err(e) => Err(KinesisError::serialization(format!("malformed JSON: {e}"))),
    }
}
