//! One client connection: read length-prefixed frames, dispatch each, write responses
//! in request order. Requests may pipeline (clients keep up to 5 in flight); appends
//! happen in arrival order at dispatch, only the waiting (fsync, long-poll) overlaps.
//! A protocol violation closes this connection only, with a logged reason.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::stream::FuturesOrdered;
use futures::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};
use tracing::{debug, warn};

use crate::dispatch::dispatch;
use crate::server::Context;

/// Requests read ahead of their responses; beyond this the connection stops reading.
const MAX_IN_FLIGHT: usize = 32;

pub(crate) async fn run(stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let _open = crate::metrics::ConnectionGuard::open();
    let (read_half, write_half) = stream.into_split();
    let codec = || {
        LengthDelimitedCodec::builder().length_field_type::<u32>().max_frame_length(ctx.max_request_bytes).new_codec()
    };
    let mut frames = FramedRead::with_capacity(read_half, codec(), 64 * 1024);
    let mut out = write_half;
    let mut in_flight = FuturesOrdered::new();
    let mut reading = true;
    loop {
        tokio::select! {
            frame = frames.next(), if reading && in_flight.len() < MAX_IN_FLIGHT => match frame {
                Some(Ok(frame)) => match dispatch(&ctx, peer, frame.freeze()) {
                    Ok(reply) => in_flight.push_back(reply),
                    Err(e) => {
                        warn!(%peer, reason = %e, "closing kafka connection");
                        crate::metrics::connection_error();
                        reading = false;
                    }
                },
                Some(Err(e)) => {
                    warn!(%peer, reason = %e, "closing kafka connection: bad frame");
                    crate::metrics::connection_error();
                    reading = false;
                }
                None => reading = false,
            },
            Some(reply) = in_flight.next(), if !in_flight.is_empty() => match reply {
                Ok(Some(frame)) => {
                    if let Err(e) = frame.write_to(&mut out).await {
                        debug!(%peer, error = %e, "client went away");
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(%peer, reason = %e, "closing kafka connection");
                    crate::metrics::connection_error();
                    return;
                }
            },
            _ = tidelog_broker::shutdown::stopped(&mut shutdown), if reading => reading = false,
        }
        if !reading && in_flight.is_empty() {
            debug!(%peer, "kafka connection closed");
            return;
        }
    }
}
