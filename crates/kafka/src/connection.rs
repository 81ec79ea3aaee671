//! One client connection: read request frames (within the broker-wide request budget,
//! see `request_frame`), dispatch each, write responses in request order. Requests may
//! pipeline (clients keep up to 5 in flight); appends happen in arrival order at
//! dispatch, only the waiting (fsync, long-poll) overlaps. A large request is dispatched
//! on the blocking pool (see `offload`) and nothing more is read until it has been.
//! A protocol violation closes this connection only, with a logged reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures::future::{self, BoxFuture, FutureExt, Join, Ready};
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use kafka_protocol::messages::ApiKey;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::admission::Admitted;
use crate::budget::Reservation;
use crate::dispatch::{dispatch, Dispatched, Reply, Routed};
use crate::errors::ConnectionError;
use crate::offload;
use crate::quota_throttle::{ChannelMute, RequestThrottle};
use crate::request_frame::{RequestFrame, RequestReader};
use crate::server::Context;

/// Requests read ahead of their responses; beyond this the connection stops reading.
const MAX_IN_FLIGHT: usize = 32;

/// What a request keeps until its response is written: the API and the time its frame
/// was read (for the metrics), its share of the request budget, and its client quota
/// measurements (whether the connection is muted after it).
struct Answered {
    api: ApiKey,
    read_at: Instant,
    _reservation: Option<Reservation>,
    throttle: Option<Arc<RequestThrottle>>,
}

impl Answered {
    fn new(api: ApiKey, frame: &mut RequestFrame) -> Self {
        Answered { api, read_at: frame.read_at, _reservation: frame.reservation.take(), throttle: None }
    }
}

type InFlight = Join<Reply, Ready<Answered>>;

fn in_flight(dispatched: Dispatched, mut answered: Answered) -> InFlight {
    answered.throttle = dispatched.throttle;
    future::join(dispatched.reply, future::ready(answered))
}

/// A request still being dispatched: a large one on the blocking pool, or one that waits
/// before it can be handled ([`Routed::Later`]).
type Dispatching = BoxFuture<'static, (Result<Dispatched, ConnectionError>, RequestFrame)>;

pub(crate) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
    _admitted: Admitted,
) {
    let _open = crate::metrics::ConnectionGuard::open();
    let (read_half, mut out) = stream.into_split();
    let mut requests = RequestReader::new(read_half, ctx.max_request_bytes, ctx.request_budget.clone());
    let mut replies = FuturesOrdered::<InFlight>::new();
    let mut dispatching: Option<Dispatching> = None;
    let mut reading = true;
    // A throttled client (KIP-219): its responses still go out, nothing more is read.
    let mut mute = ChannelMute::default();
    loop {
        tokio::select! {
            request = requests.next(), if reading && !mute.is_muted() && dispatching.is_none() && replies.len() < MAX_IN_FLIGHT => {
                match request {
                    Ok(Some(mut frame)) if offload::belongs_off_the_runtime(&frame.bytes) => {
                        let (ctx, bytes) = (ctx.clone(), std::mem::take(&mut frame.bytes));
                        dispatching = Some(
                            async move { (offload::dispatch_on_blocking_pool(ctx, peer, bytes).await, frame) }.boxed(),
                        );
                    }
                    Ok(Some(mut frame)) => match dispatch(&ctx, peer, std::mem::take(&mut frame.bytes)) {
                        Ok(Routed::Now(dispatched)) => {
                            let answered = Answered::new(dispatched.api, &mut frame);
                            replies.push_back(in_flight(dispatched, answered));
                        }
                        Ok(Routed::Later(later)) => dispatching = Some(async move { (later.await, frame) }.boxed()),
                        Err(e) => reading = close_for(peer, &e),
                    },
                    Ok(None) => reading = false,
                    Err(e) => reading = close_for(peer, &e),
                }
            }
            (dispatched, mut frame) = async {
                match dispatching.as_mut() {
                    Some(dispatching) => dispatching.await,
                    None => future::pending().await,
                }
            }, if dispatching.is_some() => {
                dispatching = None;
                match dispatched {
                    Ok(dispatched) => {
                        let answered = Answered::new(dispatched.api, &mut frame);
                        replies.push_back(in_flight(dispatched, answered));
                    }
                    Err(e) => reading = close_for(peer, &e),
                }
            }
            Some((reply, answered)) = replies.next(), if !replies.is_empty() => {
                match reply {
                    Ok(Some(frame)) => {
                        if let Err(e) = frame.write_to(&mut out).await {
                            debug!(%peer, error = %e, "client went away");
                            return;
                        }
                        if let Some(until) = answered.throttle.as_ref().and_then(|t| t.mute_until(true)) {
                            mute.extend(until);
                        }
                    }
                    Ok(None) => {
                        if let Some(until) = answered.throttle.as_ref().and_then(|t| t.mute_until(false)) {
                            mute.extend(until);
                        }
                    }
                    Err(e) => {
                        close_for(peer, &e);
                        return;
                    }
                }
                crate::metrics::request_answered(answered.api, answered.read_at);
                // Dropping `answered` gives the request's bytes back to the budget.
            }
            () = mute.passed(), if mute.is_muted() => {}
            _ = tidelog_broker::shutdown::stopped(&mut shutdown), if reading => reading = false,
        }
        if !reading && dispatching.is_none() && replies.is_empty() {
            debug!(%peer, "kafka connection closed");
            return;
        }
    }
}

/// Logs why the connection is being closed and counts it; returns `false`, the new
/// value of `reading`. A client that resets or drops its connection, even inside a
/// frame, is an ordinary close (clients do it on every shutdown and timeout), as Kafka
/// treats it: logged at debug and not counted as a protocol violation.
fn close_for(peer: SocketAddr, e: &ConnectionError) -> bool {
    if e.is_client_gone() {
        debug!(%peer, reason = %e, "client went away");
    } else {
        warn!(%peer, reason = %e, "closing kafka connection");
        crate::metrics::connection_error();
    }
    false
}
