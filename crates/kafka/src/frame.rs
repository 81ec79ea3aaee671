//! A response frame as a list of chunks, written with one vectored write.
//!
//! A fetch response is mostly record batches read from segments. Encoding them into one
//! response buffer copied every fetched byte once more in user space and faulted in a
//! fresh multi-megabyte buffer per response (both seen in a broker profile). Instead the
//! encoder writes into [`ChunkedBuf`], which keeps the record sets it is handed as
//! separate, shared chunks and copies only the small fields around them.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Record sets smaller than this are copied: an extra chunk costs more than the copy.
const SHARE_AT_LEAST: usize = 4096;

/// Most chunks handed to one `writev` (Linux accepts 1,024).
const MAX_IOVECS: usize = 64;

/// One whole response, size prefix included, as consecutive chunks.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    chunks: VecDeque<Bytes>,
}

impl Frame {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    #[cfg(test)]
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    /// Writes every chunk, handing the socket several at a time.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(mut self, out: &mut W) -> io::Result<()> {
        while !self.chunks.is_empty() {
            let slices: Vec<IoSlice<'_>> = self.chunks.iter().take(MAX_IOVECS).map(|c| IoSlice::new(c)).collect();
            let mut written = out.write_vectored(&slices).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while written > 0 {
                let first = self.chunks.front_mut().expect("written bytes came from a chunk");
                if written >= first.len() {
                    written -= first.len();
                    self.chunks.pop_front();
                } else {
                    first.advance(written);
                    written = 0;
                }
            }
        }
        Ok(())
    }
}

/// An encoding target that copies everything except the byte strings it was told to
/// share: when the encoder puts exactly one of those (same memory, same length), the
/// bytes so far become a chunk and the shared `Bytes` follows as its own chunk.
pub(crate) struct ChunkedBuf {
    head: BytesMut,
    flushed: usize,
    chunks: VecDeque<Bytes>,
    /// Still to come, in the order the encoder writes them.
    shared: VecDeque<Bytes>,
}

impl ChunkedBuf {
    pub(crate) fn new(capacity: usize, shared: impl IntoIterator<Item = Bytes>) -> Self {
        ChunkedBuf {
            head: BytesMut::with_capacity(capacity),
            flushed: 0,
            chunks: VecDeque::new(),
            shared: shared.into_iter().filter(|b| b.len() >= SHARE_AT_LEAST).collect(),
        }
    }

    pub(crate) fn finish(mut self) -> Frame {
        if !self.head.is_empty() {
            self.chunks.push_back(self.head.freeze());
        }
        Frame { chunks: self.chunks }
    }

    fn is_next_shared(&self, src: &[u8]) -> bool {
        self.shared.front().is_some_and(|s| s.as_ptr() == src.as_ptr() && s.len() == src.len())
    }
}

// SAFETY: every method but `put_slice` delegates to `head`, a `BytesMut`, whose own
// implementation upholds the trait's contract. `put_slice` either delegates too or moves
// whole initialised chunks out, which only ever shrinks what `head` has written.
unsafe impl BufMut for ChunkedBuf {
    fn remaining_mut(&self) -> usize {
        self.head.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller's guarantee for `ChunkedBuf` is the one `head` needs.
        unsafe { self.head.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.head.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if !self.is_next_shared(src) {
            self.head.put_slice(src);
            return;
        }
        let shared = self.shared.pop_front().expect("checked just above");
        if !self.head.is_empty() {
            self.flushed += self.head.len();
            self.chunks.push_back(self.head.split().freeze());
        }
        self.flushed += shared.len();
        self.chunks.push_back(shared);
    }
}

/// Positions count from the start of the frame. Seeking and ranges reach only the bytes
/// after the last shared chunk: the message encoders use them for record-batch headers
/// they build themselves, never across a byte string they were given.
impl ByteBufMut for ChunkedBuf {
    fn offset(&self) -> usize {
        self.flushed + self.head.len()
    }

    fn seek(&mut self, offset: usize) {
        self.head.resize(offset.saturating_sub(self.flushed), 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        let base = self.flushed;
        &mut self.head[r.start - base..r.end - base]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::PartitionData;
    use kafka_protocol::protocol::Encodable;

    #[test]
    fn shares_the_named_byte_strings_and_copies_the_rest() {
        let big = Bytes::from(vec![7u8; 10_000]);
        let small = Bytes::from(vec![9u8; 10]);
        let partitions = [
            PartitionData::default().with_records(Some(big.clone())),
            PartitionData::default().with_records(Some(small.clone())),
        ];
        for version in [4, 11, 12, 16] {
            let mut buf = ChunkedBuf::new(64, [big.clone(), small.clone()]);
            let mut expected = BytesMut::new();
            for p in &partitions {
                p.encode(&mut buf, version).unwrap();
                p.encode(&mut expected, version).unwrap();
            }
            let frame = buf.finish();
            assert_eq!(frame.to_vec(), expected.to_vec(), "v{version}");
            // the first partition's fields, its shared record set, then the rest copied
            assert_eq!(frame.chunk_count(), 3, "v{version}");
            assert_eq!(frame.chunks[1].as_ptr(), big.as_ptr());
        }
    }

    #[test]
    fn an_equal_copy_is_not_mistaken_for_the_shared_bytes() {
        let shared = Bytes::from(vec![1u8; 5000]);
        let copy = shared.to_vec();
        let mut buf = ChunkedBuf::new(16, [shared]);
        buf.put_slice(&copy);
        assert_eq!(buf.finish().chunk_count(), 1);
    }

    #[tokio::test]
    async fn writes_every_chunk_even_when_the_writer_takes_a_few_bytes_at_a_time() {
        let chunks: Vec<Bytes> = (0..200u8).map(|i| Bytes::from(vec![i; 5000])).collect();
        let mut buf = ChunkedBuf::new(16, chunks.clone());
        for c in &chunks {
            buf.put_slice(c);
        }
        let frame = buf.finish();
        let expected = frame.to_vec();
        assert_eq!(frame.len(), 200 * 5000);
        let (mut client, mut server) = tokio::io::duplex(777);
        let writer = tokio::spawn(async move { frame.write_to(&mut client).await });
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut server, &mut got).await.unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(got, expected);
    }
}
