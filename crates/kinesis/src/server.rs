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
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
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
use crate::error;
use crate::http::{self, Admission, Encoding};
use crate::limits::Limits;
use crate::metrics;
use crate::ops::{self, Subscriptions};

const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// PutRecords and PutRecord carry up to 10 MiB of data, base64-encoded in JSON: room
/// for that and the members around it.
const MAX_BODY_BYTES: usize = 16 << 20;
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
    let account: String = broker.config().get(keys::KINESIS_ACCOUNT_ID);
    if error::is_account_id(&account) {
        error::set_account(&account);
    } else {
        tracing::error!(account = %account, "kinesis.account.id must be 12 digits; ARNs use the default account");
    }
    let service = Service { broker, limits, subscriptions: Default::default(), stop: stop.clone() };
    // Every path and method: AWS routes by the target header and answers other methods itself.
    let app = Router::new().fallback(handle).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(service);
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

async fn handle(
    State(service): State<Service>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (operation, encoding) = match http::admit(&method, &headers, target, &body, ops::is_served) {
        Admission::Answered(response) => {
            let refused = (!response.status().is_success()).then_some("UnknownOperationException");
            metrics::answered("", refused, started);
            return http::finish(response, &headers, &request_id);
        }
        Admission::Operation { name, encoding } => (name, encoding),
    };
    // The SDK's user agent stands where Kafka clients send their client.id.
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok());
    let call = Call {
        broker: service.broker,
        caller: RequestContext::new(Principal::anonymous(), "kinesis", user_agent, peer.ip()),
        limits: service.limits,
        subscriptions: service.subscriptions,
        region: region(&headers),
    };
    let parsed = match encoding {
        Encoding::Cbor => RequestBody::cbor(&body),
        Encoding::Json => RequestBody::json(body),
    };
    let outcome = match operation {
        "SubscribeToShard" => match parsed.and_then(|input| ops::subscription(&call, &input, service.stop.clone())) {
            Ok(events) => {
                metrics::answered("SubscribeToShard", None, started);
                return http::finish(event_stream(events), &headers, &request_id);
            }
            Err(e) => Err(e),
        },
        operation => match parsed {
            Ok(input) => ops::dispatch(&call, operation, &input).await,
            Err(e) => Err(e),
        },
    };
    metrics::answered(operation, outcome.as_ref().err().map(|e| e.kind), started);
    let response = match outcome {
        Ok(output) => encoding.respond(StatusCode::OK, output),
        Err(e) => {
            tracing::debug!(target, error = %e, "kinesis request refused");
            encoding.respond(e.status(), Answer::Tree(e.body()))
        }
    };
    http::finish(response, &headers, &request_id)
}

/// A streaming answer: each message is written as the stream yields it, and the response
/// ends with the stream.
fn event_stream(events: BoxStream<'static, Bytes>) -> Response {
    let mut response = Response::new(Body::from_stream(events.map(Ok::<_, std::convert::Infallible>)));
    response.headers_mut().insert("content-type", HeaderValue::from_static(EVENT_STREAM));
    response
}
