//! Large requests are handled on tokio's blocking pool, never on a runtime worker.
//!
//! The work of a request grows with its size: a 24 MiB request holds millions of array
//! elements, and decoding, handling and encoding them took one worker 19 s (Produce, 3.1
//! million partitions) to over a minute (Metadata, 3.5 million topics) in a debug build.
//! With two workers, two such requests from a fuzzer stalled every other connection for
//! as long; see `crates/server/tests/connection_isolation.rs`. Beyond [`OFFLOAD_AT`] bytes, dispatch
//! runs on a blocking thread, and so does every later poll of the reply, so the CPU work
//! of handlers that continue after an await (Fetch, the group and transaction APIs) is
//! off the workers too. Waiting (fsync, long-poll) holds no thread: between polls the
//! reply is parked until its waker fires.
//!
//! The connection waits for the dispatch before reading its next request, which keeps
//! appends in arrival order; the reply then joins the others in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures::future::BoxFuture;
use futures::FutureExt;
use kafka_protocol::messages::ApiKey;
use tokio::sync::Notify;

use crate::dispatch::{dispatch, Dispatched, Routed};
use crate::errors::ConnectionError;
use crate::server;

/// Requests at least this large are handled on the blocking pool. Each poll there costs
/// a hand-over to another thread (one for a reply that is ready at once, two for one that
/// waits on an fsync), which ordinary traffic should not pay: clients cap a request at
/// about 1 MB by default (librdkafka's `message.max.bytes`, Java's `max.request.size`),
/// and at 256 KiB every pre-encoded 512 KiB produce of the benchmark paid it (broker CPU
/// 0.92 → 1.37 ms/MB at acks=1). Above the clients' default, a request is unusual and may
/// hold enough array elements to keep a worker busy for long.
pub(crate) const OFFLOAD_AT: usize = 2 * 1024 * 1024;

/// APIs whose handling may create, fsync or delete files whatever their size: topic
/// administration (a log directory and its fsyncs per partition), Metadata (auto-creation),
/// and the coordinator APIs whose first use creates an internal topic or reserves a block
/// of producer ids in the metadata log. They run on the blocking pool too.
const FILE_WORK_APIS: &[ApiKey] = &[
    ApiKey::Metadata,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::AlterClientQuotas,
    ApiKey::DeleteRecords,
    ApiKey::InitProducerId,
    ApiKey::OffsetCommit,
    ApiKey::TxnOffsetCommit,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    // The share-partition states, fsynced; the first use creates `__share_group_state`.
    ApiKey::ShareFetch,
    ApiKey::ShareAcknowledge,
    ApiKey::AlterShareGroupOffsets,
    ApiKey::DeleteShareGroupOffsets,
];

/// Whether the request in `frame` belongs on the blocking pool: it is large, or its API
/// does file work.
pub(crate) fn belongs_off_the_runtime(frame: &[u8]) -> bool {
    if frame.len() >= OFFLOAD_AT {
        return true;
    }
    let Some(key) = frame.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else { return false };
    ApiKey::try_from(key).is_ok_and(|api| FILE_WORK_APIS.contains(&api))
}

/// Dispatches `frame` and polls its reply once, both on a blocking thread. A reply that
/// is not ready by then is driven on the blocking pool from there on.
pub(crate) async fn dispatch_on_blocking_pool(
    ctx: Arc<server::Context>,
    peer: SocketAddr,
    frame: bytes::Bytes,
) -> Result<Dispatched, ConnectionError> {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal.clone());
    let routed = tokio::task::spawn_blocking(move || {
        Ok::<_, ConnectionError>(match dispatch(&ctx, peer, frame)? {
            Routed::Now(Dispatched { api, mut reply, throttle }) => {
                let first = reply.as_mut().poll(&mut Context::from_waker(&waker));
                Ok((api, reply, first, throttle))
            }
            Routed::Later(later) => Err(later),
        })
    })
    .await
    .map_err(lost)??;
    let (api, reply, first, throttle) = match routed {
        Ok(polled) => polled,
        // A request that waits before it is handled waits on the blocking pool too.
        Err(later) => {
            let Dispatched { api, reply, throttle } = off_the_runtime(later).await?;
            return Ok(Dispatched { api, reply: off_the_runtime(reply).boxed(), throttle });
        }
    };
    let reply = match first {
        Poll::Ready(answered) => futures::future::ready(answered).boxed(),
        Poll::Pending => drive(reply, signal).boxed(),
    };
    Ok(Dispatched { api, reply, throttle })
}

/// Runs `work` to the end with every poll on the blocking pool.
async fn off_the_runtime<T: Send + 'static>(
    mut work: BoxFuture<'static, Result<T, ConnectionError>>,
) -> Result<T, ConnectionError> {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal.clone());
    let first;
    (work, first) = tokio::task::spawn_blocking(move || {
        let first = work.as_mut().poll(&mut Context::from_waker(&waker));
        (work, first)
    })
    .await
    .map_err(lost)?;
    match first {
        Poll::Ready(done) => done,
        Poll::Pending => drive(work, signal).await,
    }
}

/// Polls `work`, already polled once with `signal`'s waker, on the blocking pool each
/// time that waker fires, until it is ready.
async fn drive<T: Send + 'static>(
    mut work: BoxFuture<'static, Result<T, ConnectionError>>,
    signal: Arc<Signal>,
) -> Result<T, ConnectionError> {
    loop {
        // A wake that came before this wait left a permit: none is lost.
        signal.woken.notified().await;
        let waker = Waker::from(signal.clone());
        let polled = tokio::task::spawn_blocking(move || {
            let poll = work.as_mut().poll(&mut Context::from_waker(&waker));
            (work, poll)
        })
        .await
        .map_err(lost)?;
        match polled {
            (_, Poll::Ready(done)) => return done,
            (pending, Poll::Pending) => work = pending,
        }
    }
}

/// The waker of an offloaded reply: it only records that the reply wants a poll.
#[derive(Default)]
struct Signal {
    woken: Notify,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.woken.notify_one();
    }
}

/// A blocking task that panicked or was cancelled at shutdown ends its connection.
fn lost(e: tokio::task::JoinError) -> ConnectionError {
    ConnectionError::Io(std::io::Error::other(format!("request handling on the blocking pool failed: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A reply that waits on a timer and a channel, as fetch and produce replies do.
    #[tokio::test]
    async fn a_reply_that_waits_is_driven_to_the_end_off_the_runtime() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let reply = async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let value = rx.await.unwrap_or(0);
            assert!(tokio::runtime::Handle::try_current().is_ok(), "runtime context on the blocking pool");
            Ok(if value == 7 { None } else { Some(crate::frame::Frame::default()) })
        }
        .boxed();
        let signal = Arc::new(Signal::default());
        let driven = tokio::spawn(drive(reply, signal.clone()));
        signal.wake_by_ref();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(7).unwrap();
        let answered = tokio::time::timeout(Duration::from_secs(5), driven).await.unwrap().unwrap();
        assert!(matches!(answered, Ok(None)));
    }
}

#[cfg(test)]
mod placement_tests {
    use super::*;

    fn request(api: ApiKey, len: usize) -> Vec<u8> {
        let mut frame = vec![0u8; len.max(8)];
        frame[..2].copy_from_slice(&(api as i16).to_be_bytes());
        frame
    }

    #[test]
    fn file_work_and_large_requests_go_to_the_blocking_pool() {
        assert!(belongs_off_the_runtime(&request(ApiKey::CreateTopics, 100)));
        assert!(belongs_off_the_runtime(&request(ApiKey::Metadata, 40)));
        assert!(!belongs_off_the_runtime(&request(ApiKey::Produce, 16 * 1024)));
        assert!(!belongs_off_the_runtime(&request(ApiKey::Fetch, 200)));
        assert!(belongs_off_the_runtime(&request(ApiKey::Produce, OFFLOAD_AT)));
        assert!(!belongs_off_the_runtime(&[0]), "too short to name an API");
    }
}
