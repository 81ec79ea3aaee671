//! The HTTP side: `POST /` with `X-Amz-Target: Kinesis_20131202.<Operation>` and an AWS
//! JSON 1.1 or CBOR 1.1 body, answered in the request's encoding. HTTP/1.1 and HTTP/2
//! (cleartext) on one listener. SubscribeToShard answers with an event stream.
//!
//! SigV4 `Authorization` headers are read for the region (used in ARNs) and otherwise
//! accepted as they are: signature verification comes with the security work.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::stream::{BoxStream, StreamExt};
use tidelog_broker::access::{Principal, RequestContext};
use tidelog_broker::config::keys;
use tidelog_broker::shutdown::stopped;
use tidelog_broker::Broker;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::answer::Answer;
use crate::body::RequestBody;
use crate::cbor;
use crate::error::KinesisError;
use crate::limits::Limits;
use crate::metrics;
use crate::ops::{self, Subscriptions};

const TARGET_PREFIX: &str = "Kinesis_20131202.";
const JSON: &str = "application/x-amz-json-1.1";
const CBOR: &str = "application/x-amz-cbor-1.1";
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// PutRecords carries up to 5 MiB of data, base64-encoded in JSON: room for that.
const MAX_BODY_BYTES: usize = 8 << 20;
const DEFAULT_REGION: &str = "us-east-1";

/// What every operation sees: the broker, the front-end's shared state and the caller's
/// region.
#[derive(Clone)]
pub struct Call {
    pub broker: Arc<Broker>,
    /// Who is asking: every broker call carries it.
    pub caller: RequestContext,
    pub limits: Arc<Limits>,
    pub subscriptions: Arc<Subscriptions>,
    pub region: String,
}

#[derive(Clone)]
struct Service {
    broker: Arc<Broker>,
    limits: Arc<Limits>,
    subscriptions: Arc<Subscriptions>,
    /// Ends SubscribeToShard streams, which graceful shutdown would otherwise wait for.
    stop: watch::Receiver<bool>,
}

/// Serves Kinesis clients until `stop` turns true; requests in flight are answered and
/// SubscribeToShard streams end, so this returns promptly.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let limits = Arc::new(Limits::new(broker.config().get(keys::KINESIS_ENFORCE_LIMITS)));
    let service = Service { broker, limits, subscriptions: Default::default(), stop: stop.clone() };
    let app = Router::new().route("/", post(handle)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(service);
    let shutdown = async move { stopped(&mut stop).await };
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
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

/// The body encoding of a request, which its answer uses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Json,
    Cbor,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Encoding {
        let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or(JSON);
        if kind.starts_with("application/x-amz-cbor") {
            Encoding::Cbor
        } else {
            Encoding::Json
        }
    }

    fn parse(self, body: Bytes) -> Result<RequestBody, KinesisError> {
        match self {
            Encoding::Cbor => RequestBody::cbor(&body),
            Encoding::Json => RequestBody::json(body),
        }
    }

    fn respond(self, status: StatusCode, answer: Answer, request_id: &str) -> Response {
        let (content_type, bytes) = match self {
            Encoding::Json => (JSON, answer.to_json()),
            Encoding::Cbor => (CBOR, cbor::encode(&answer.into_tree())),
        };
        let mut response = (status, bytes).into_response();
        let h = response.headers_mut();
        h.insert("content-type", HeaderValue::from_static(content_type));
        if let Ok(id) = HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", id);
        }
        response
    }
}

async fn handle(
    State(service): State<Service>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let encoding = Encoding::of(&headers);
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    // The SDK's user agent stands where Kafka clients send their client.id.
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok());
    let call = Call {
        broker: service.broker,
        caller: RequestContext::new(Principal::anonymous(), "kinesis", user_agent, peer.ip()),
        limits: service.limits,
        subscriptions: service.subscriptions,
        region: region(&headers),
    };
    let outcome = match target.strip_prefix(TARGET_PREFIX) {
        None => Err(KinesisError::new("UnknownOperationException", format!("Unknown target '{target}'"))),
        Some("SubscribeToShard") => {
            match encoding.parse(body).and_then(|input| ops::subscription(&call, &input, service.stop.clone())) {
                Ok(events) => {
                    metrics::answered("SubscribeToShard", None, started);
                    return event_stream(events, &request_id);
                }
                Err(e) => Err(e),
            }
        }
        Some(operation) => match encoding.parse(body) {
            Ok(input) => ops::dispatch(&call, operation, &input).await,
            Err(e) => Err(e),
        },
    };
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    metrics::answered(operation, outcome.as_ref().err().map(|e| e.kind), started);
    match outcome {
        Ok(output) => encoding.respond(StatusCode::OK, output, &request_id),
        Err(e) => {
            tracing::debug!(target, error = %e, "kinesis request refused");
            let body = serde_json::json!({ "__type": e.kind, "message": e.message });
            encoding.respond(StatusCode::BAD_REQUEST, Answer::Tree(body), &request_id)
        }
    }
}

/// A streaming answer: each message is written as the stream yields it, and the response
/// ends with the stream.
fn event_stream(events: BoxStream<'static, Bytes>, request_id: &str) -> Response {
    let mut response = Response::new(Body::from_stream(events.map(Ok::<_, std::convert::Infallible>)));
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static(EVENT_STREAM));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", id);
    }
    response
}
