//! Reading request frames (a 4-byte size, then that many bytes) within two bounds:
//! `socket.request.max.bytes` per frame and `queued.max.request.bytes` across every
//! connection, partly read frames included.
//!
//! Before a frame's body is read, its size is reserved from the byte budget shared by
//! all connections (see `budget`); a connection whose frame does not fit stops reading
//! until other requests are answered and give their bytes back. The reservation travels
//! with the frame and is released when the connection drops it, once the response is
//! written.
//!
//! Memory follows the bytes that arrived, never the size a client declared: the body
//! buffer starts small and doubles as it fills, so a client that declares 100 MiB and
//! sends 8 costs 8. Reads stop at the frame's end plus the next size prefix, so no bytes
//! of a later frame are held before that frame has its reservation.
//!
//! Every state lives in [`RequestReader`], not in the future of [`RequestReader::next`]:
//! the connection polls it in a `select!`, and dropping that future loses nothing.

use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

use crate::budget::{RequestBudget, Reservation, Reserve};
use crate::errors::ConnectionError;

/// The first read of a body takes at most this much; the buffer doubles from there.
const FIRST_READ: usize = 1024 * 1024 + 64 * 1024;

/// One request frame read in full (size prefix excluded).
#[derive(Debug)]
pub(crate) struct RequestFrame {
    pub bytes: Bytes,
    /// When its last byte arrived: where the request's latency starts.
    pub read_at: Instant,
    /// Its share of the budget, given back on drop.
    pub reservation: Option<Reservation>,
}

enum State {
    /// Reading the size prefix; `have` bytes of it are in `size`.
    Size { size: [u8; 4], have: usize },
    /// Waiting for the budget to hold a frame of `len` bytes.
    Reserving { len: usize, reserve: BoxFuture<'static, Reservation> },
    /// Reading `len` bytes of body (and then up to the next size prefix) into `body`.
    Body { len: usize, body: BytesMut, reservation: Option<Reservation> },
}

pub(crate) struct RequestReader {
    socket: OwnedReadHalf,
    max_frame: usize,
    budget: Arc<RequestBudget>,
    state: State,
}

impl RequestReader {
    pub(crate) fn new(socket: OwnedReadHalf, max_frame: usize, budget: Arc<RequestBudget>) -> Self {
        RequestReader { socket, max_frame, budget, state: State::Size { size: [0; 4], have: 0 } }
    }

    /// The next frame; `None` when the client closed the connection between frames.
    /// Cancel safe: a dropped call resumes where it stopped.
    pub(crate) async fn next(&mut self) -> Result<Option<RequestFrame>, ConnectionError> {
        loop {
            match &mut self.state {
                State::Size { size, have } if *have < size.len() => {
                    let n = self.socket.read(&mut size[*have..]).await?;
                    if n == 0 {
                        return match *have {
                            0 => Ok(None),
                            _ => Err(cut_short("size prefix")),
                        };
                    }
                    *have += n;
                }
                State::Size { size, .. } => {
                    let len = u32::from_be_bytes(*size) as usize;
                    if len > self.max_frame {
                        return Err(ConnectionError::FrameTooLarge { size: len, max: self.max_frame });
                    }
                    self.state = match self.budget.reserve(len) {
                        Reserve::Unbounded => State::Body { len, body: BytesMut::new(), reservation: None },
                        Reserve::Granted(r) => State::Body { len, body: BytesMut::new(), reservation: Some(r) },
                        Reserve::Wait(reserve) => State::Reserving { len, reserve },
                    };
                }
                State::Reserving { len, reserve } => {
                    let reservation = reserve.await;
                    self.state = State::Body { len: *len, body: BytesMut::new(), reservation: Some(reservation) };
                }
                State::Body { len, body, reservation } if body.len() >= *len => {
                    let next_size = body.split_off(*len);
                    let frame = RequestFrame {
                        bytes: std::mem::take(body).freeze(),
                        read_at: Instant::now(),
                        reservation: reservation.take(),
                    };
                    let mut size = [0u8; 4];
                    size[..next_size.len()].copy_from_slice(&next_size);
                    self.state = State::Size { size, have: next_size.len() };
                    return Ok(Some(frame));
                }
                State::Body { len, body, .. } => {
                    // Up to the end of this frame and the next size prefix, never further.
                    let wanted = *len + 4 - body.len();
                    if body.capacity() == body.len() {
                        // The first read room covers a whole ordinary frame (clients send up
                        // to about 1 MB), so those are read without regrowing and copying;
                        // larger declared frames grow only as their bytes arrive.
                        body.reserve(body.len().max(FIRST_READ).min(wanted));
                    }
                    let n = self.socket.read_buf(&mut (&mut *body).limit(wanted)).await?;
                    if n == 0 {
                        return Err(cut_short("body"));
                    }
                }
            }
        }
    }
}

fn cut_short(what: &str) -> ConnectionError {
    ConnectionError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("connection closed inside a request frame's {what}"),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// A reader on one end of a loopback connection, and the other end to write to.
    async fn pair(max_frame: usize, budget: &Arc<RequestBudget>) -> (RequestReader, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (read, _) = server.into_split();
        (RequestReader::new(read, max_frame, budget.clone()), client)
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    async fn next_within(reader: &mut RequestReader, wait: Duration) -> Option<RequestFrame> {
        tokio::time::timeout(wait, reader.next()).await.ok().map(|r| r.unwrap().unwrap())
    }

    #[tokio::test]
    async fn frames_split_and_joined_anyhow_come_out_whole() {
        let budget = RequestBudget::new(-1);
        let (mut reader, mut client) = pair(1 << 20, &budget).await;
        let bodies: Vec<Vec<u8>> = vec![vec![1; 10], vec![2; 200_000], vec![], vec![3; 7]];
        let stream: Vec<u8> = bodies.iter().flat_map(|b| framed(b)).collect();
        let writer = tokio::spawn(async move {
            for piece in stream.chunks(3001) {
                client.write_all(piece).await.unwrap();
            }
            client
        });
        for body in &bodies {
            assert_eq!(reader.next().await.unwrap().unwrap().bytes.as_ref(), body.as_slice());
        }
        drop(writer.await.unwrap());
        assert!(reader.next().await.unwrap().is_none(), "a close between frames is the end");
    }

    #[tokio::test]
    async fn a_declared_size_is_checked_before_and_never_allocated_ahead_of_the_bytes() {
        let budget = RequestBudget::new(-1);
        let (mut reader, mut client) = pair(1000, &budget).await;
        client.write_all(&1001u32.to_be_bytes()).await.unwrap();
        assert!(matches!(reader.next().await, Err(ConnectionError::FrameTooLarge { size: 1001, max: 1000 })));

        let (mut reader, mut client) = pair(100 << 20, &budget).await;
        client.write_all(&(100u32 << 20).to_be_bytes()).await.unwrap();
        client.write_all(&[7; 1000]).await.unwrap();
        assert!(next_within(&mut reader, Duration::from_millis(200)).await.is_none());
        let State::Body { body, .. } = &reader.state else { panic!("reading the body") };
        assert_eq!(body.len(), 1000);
        assert!(body.capacity() <= FIRST_READ, "{} bytes allocated for 1000 received", body.capacity());
        drop(client);
        assert!(matches!(reader.next().await, Err(ConnectionError::Io(_))), "cut short inside the body");
    }

    #[tokio::test]
    async fn a_frame_waits_for_the_budget_until_earlier_frames_are_dropped() {
        let budget = RequestBudget::new(1000);
        let (mut first, mut first_client) = pair(10_000, &budget).await;
        let (mut second, mut second_client) = pair(10_000, &budget).await;
        first_client.write_all(&framed(&[1; 600])).await.unwrap();
        let held = first.next().await.unwrap().unwrap();
        assert_eq!(budget.reserved(), 600);

        second_client.write_all(&framed(&[2; 600])).await.unwrap();
        assert!(next_within(&mut second, Duration::from_millis(200)).await.is_none(), "600 + 600 > 1000");
        assert!(matches!(second.state, State::Reserving { .. }), "nothing of its body read");
        drop(held);
        let second_frame = next_within(&mut second, Duration::from_secs(5)).await.expect("400 + 600 fit");
        assert_eq!(second_frame.bytes.len(), 600);

        // Larger than the whole budget: it takes all of it, once everything is back.
        first_client.write_all(&framed(&[3; 5000])).await.unwrap();
        let all = next_within(&mut first, Duration::from_secs(5)).await;
        assert!(all.is_none(), "waits while the second frame holds 600");
        drop(second_frame);
        let all = next_within(&mut first, Duration::from_secs(5)).await;
        let all = all.expect("the whole budget was free again");
        assert_eq!(all.bytes.len(), 5000);
        assert_eq!(budget.reserved(), 1000);
        drop(all);
        assert_eq!(budget.reserved(), 0);
    }
}
