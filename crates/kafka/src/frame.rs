//! A response frame as a list of chunks: bytes in memory, written with vectored writes,
//! and file slices, sent with `sendfile`.
//!
//! A fetch response is mostly record batches. Encoding them into one response buffer
//! copied every fetched byte through user space twice (file → read buffer → response)
//! and faulted in fresh multi-megabyte buffers (all seen in broker profiles). Instead the
//! encoder writes into [`ChunkedBuf`], which copies only the small fields and keeps each
//! record set as its own chunk: shared `Bytes` as they are, and batches still in a
//! segment file as a slice of it, which the kernel sends from the page cache.
//!
//! A file slice goes through the encoder as a placeholder: a static slice of zeros of
//! its length, which the encoder sizes and then "writes"; `ChunkedBuf` recognises that
//! exact slice and puts the file slice in its place.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::ops::Range;
use std::sync::LazyLock;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use tidelog_broker::{FileSlice, Records};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;

/// Record sets smaller than this are copied: an extra chunk costs more than the copy.
const SHARE_AT_LEAST: usize = 4096;

/// Most chunks handed to one `writev` (Linux accepts 1,024).
const MAX_IOVECS: usize = 64;

/// The largest file slice that can stand in a response: the placeholders' size. The
/// fetch handler asks for no more per partition; a single larger batch is read instead.
pub(crate) const MAX_FILE_SLICE: usize = 64 << 20;

/// Zero bytes, allocated once and never touched: the allocator maps them lazily, so they
/// cost address space, not memory. (A `static` array would add 64 MiB to the binary.)
static PLACEHOLDER: LazyLock<Vec<u8>> = LazyLock::new(|| vec![0; MAX_FILE_SLICE]);

/// The record set to put in a response for `records`: its bytes, or the placeholder
/// of a file slice. `None` when a slice is too small to be worth a `sendfile` (read it)
/// or too large for a placeholder.
pub(crate) fn encodable(records: &Records) -> Option<Bytes> {
    match records {
        Records::Memory(bytes) => Some(bytes.clone()),
        Records::File(slice) if slice.len < SHARE_AT_LEAST => None,
        Records::File(slice) => PLACEHOLDER.get(..slice.len).map(Bytes::from_static),
    }
}

#[derive(Debug)]
enum Chunk {
    Memory(Bytes),
    File(FileSlice),
}

/// One whole response, size prefix included, as consecutive chunks.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    chunks: VecDeque<Chunk>,
}

impl Frame {
    /// Writes every chunk: runs of memory chunks with `writev`, file slices with `sendfile`.
    pub(crate) async fn write_to(mut self, out: &mut OwnedWriteHalf) -> io::Result<()> {
        while let Some(chunk) = self.chunks.front_mut() {
            match chunk {
                Chunk::File(slice) => {
                    send_file(out, slice).await?;
                    self.chunks.pop_front();
                }
                Chunk::Memory(_) => self.write_memory(out).await?,
            }
        }
        Ok(())
    }

    /// One vectored write of the memory chunks at the front; drops what went out.
    async fn write_memory(&mut self, out: &mut OwnedWriteHalf) -> io::Result<()> {
        let slices: Vec<IoSlice<'_>> = self
            .chunks
            .iter()
            .take(MAX_IOVECS)
            .map_while(|c| match c {
                Chunk::Memory(bytes) => Some(IoSlice::new(bytes)),
                Chunk::File(_) => None,
            })
            .collect();
        let mut written = out.write_vectored(&slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            // Every byte written came from the memory chunks at the front.
            let Some(Chunk::Memory(first)) = self.chunks.front_mut() else { break };
            if written >= first.len() {
                written -= first.len();
                self.chunks.pop_front();
            } else {
                first.advance(written);
                written = 0;
            }
        }
        Ok(())
    }
}

/// `sendfile` until the whole slice is out, waiting for the socket between calls.
async fn send_file(out: &mut OwnedWriteHalf, slice: &FileSlice) -> io::Result<()> {
    let socket = out.as_ref();
    let mut position = slice.position;
    let end = slice.position + slice.len as u64;
    while position < end {
        socket.writable().await?;
        let left = (end - position) as usize;
        let sent = socket.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(socket, &*slice.file, Some(&mut position), left).map_err(io::Error::from)
        });
        match sent {
            // The frame's size promised these bytes; a file that ends early cannot keep it.
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "segment ended inside a fetched slice")),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An encoding target that copies everything except the record sets it was told to
/// keep: when the encoder puts exactly one of those (same memory, same length), the
/// bytes so far become a chunk and the record set follows as its own chunk.
pub(crate) struct ChunkedBuf {
    head: BytesMut,
    flushed: usize,
    chunks: VecDeque<Chunk>,
    /// Still to come, in the order the encoder writes them, with the bytes it will put.
    kept: VecDeque<(Bytes, Chunk)>,
}

impl ChunkedBuf {
    pub(crate) fn new(capacity: usize, records: impl IntoIterator<Item = Records>) -> Self {
        let kept = records
            .into_iter()
            // A file slice is always kept: copying its placeholder would send zeros.
            .filter(|r| matches!(r, Records::File(_)) || r.len() >= SHARE_AT_LEAST)
            .filter_map(|r| {
                let encoded = encodable(&r)?;
                let chunk = match r {
                    Records::Memory(bytes) => Chunk::Memory(bytes),
                    Records::File(slice) => Chunk::File(slice),
                };
                Some((encoded, chunk))
            })
            .collect();
        ChunkedBuf { head: BytesMut::with_capacity(capacity), flushed: 0, chunks: VecDeque::new(), kept }
    }

    /// The frame; an error if the encoder never put a file slice's placeholder where
    /// it was expected (the frame would carry zeros instead of records).
    pub(crate) fn finish(mut self) -> Result<Frame, &'static str> {
        if self.kept.iter().any(|(_, chunk)| matches!(chunk, Chunk::File(_))) {
            return Err("a fetched file slice was not found in the encoded response");
        }
        if !self.head.is_empty() {
            self.chunks.push_back(Chunk::Memory(self.head.freeze()));
        }
        Ok(Frame { chunks: self.chunks })
    }

    fn is_next_kept(&self, src: &[u8]) -> bool {
        self.kept.front().is_some_and(|(s, _)| s.as_ptr() == src.as_ptr() && s.len() == src.len())
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
        if !self.is_next_kept(src) {
            self.head.put_slice(src);
            return;
        }
        let (encoded, chunk) = self.kept.pop_front().expect("checked just above");
        if !self.head.is_empty() {
            self.flushed += self.head.len();
            self.chunks.push_back(Chunk::Memory(self.head.split().freeze()));
        }
        self.flushed += encoded.len();
        self.chunks.push_back(chunk);
    }
}

/// Positions count from the start of the frame. Seeking and ranges reach only the bytes
/// after the last kept chunk: the message encoders use them for record-batch headers
/// they build themselves, never across a record set they were given.
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
    use std::io::Write;
    use std::sync::Arc;

    use kafka_protocol::messages::fetch_response::PartitionData;
    use kafka_protocol::protocol::Encodable;
    use tokio::io::AsyncReadExt;

    use super::*;

    fn file_slice(contents: &[u8], position: u64, len: usize) -> FileSlice {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(contents).unwrap();
        FileSlice { file: Arc::new(file), position, len, first_offset: 0, next_offset: 1 }
    }

    /// What the peer of a connection receives when `frame` is written to it.
    async fn received(frame: Frame) -> Vec<u8> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_, mut out) = server.into_split();
        let writer = tokio::spawn(async move { frame.write_to(&mut out).await });
        let mut got = Vec::new();
        let mut client = client;
        let reader = async { client.read_to_end(&mut got).await };
        let (written, read) = tokio::join!(writer, reader);
        written.unwrap().unwrap();
        read.unwrap();
        got
    }

    #[tokio::test]
    async fn keeps_record_sets_out_of_the_copy_and_sends_the_same_bytes() {
        let in_memory = Bytes::from(vec![7u8; 10_000]);
        let small = Bytes::from(vec![9u8; 10]);
        let file_bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let slice = file_slice(&file_bytes, 1000, 200_000);
        let records =
            [Records::Memory(in_memory.clone()), Records::Memory(small.clone()), Records::File(slice.clone())];
        let partitions: Vec<PartitionData> =
            records.iter().map(|r| PartitionData::default().with_records(encodable(r))).collect();
        for version in [4, 11, 12, 16] {
            let mut buf = ChunkedBuf::new(64, records.clone());
            let mut expected = BytesMut::new();
            for (p, r) in partitions.iter().zip(&records) {
                p.encode(&mut buf, version).unwrap();
                let real = match r {
                    Records::File(_) => Bytes::copy_from_slice(&file_bytes[1000..201_000]),
                    Records::Memory(b) => b.clone(),
                };
                p.clone().with_records(Some(real)).encode(&mut expected, version).unwrap();
            }
            let frame = buf.finish().unwrap();
            // fields, the kept set, fields and the small set copied, the file slice, and
            // from v12 the last partition's tagged fields
            assert_eq!(frame.chunks.len(), if version >= 12 { 5 } else { 4 }, "v{version}");
            assert!(matches!(&frame.chunks[1], Chunk::Memory(b) if b.as_ptr() == in_memory.as_ptr()));
            assert!(matches!(&frame.chunks[3], Chunk::File(_)));
            assert_eq!(received(frame).await, expected.to_vec(), "v{version}");
        }
    }

    #[test]
    fn an_equal_copy_is_not_mistaken_for_the_kept_bytes() {
        let kept = Bytes::from(vec![1u8; 5000]);
        let copy = kept.to_vec();
        let mut buf = ChunkedBuf::new(16, [Records::Memory(kept)]);
        buf.put_slice(&copy);
        assert_eq!(buf.finish().unwrap().chunks.len(), 1);
    }

    #[tokio::test]
    async fn writes_many_chunks_in_order() {
        let chunks: Vec<Bytes> = (0..200u8).map(|i| Bytes::from(vec![i; 5000])).collect();
        let mut buf = ChunkedBuf::new(16, chunks.iter().cloned().map(Records::Memory));
        for c in &chunks {
            buf.put_slice(c);
        }
        let expected: Vec<u8> = chunks.concat();
        assert_eq!(received(buf.finish().unwrap()).await, expected);
    }

    #[test]
    fn a_file_slice_the_encoder_did_not_put_fails_the_frame() {
        let slice = file_slice(&[1u8; 10_000], 0, 10_000);
        let buf = ChunkedBuf::new(16, [Records::File(slice)]);
        assert!(buf.finish().is_err());
    }

    #[tokio::test]
    async fn a_file_that_ends_early_fails_the_write() {
        let frame = Frame { chunks: VecDeque::from([Chunk::File(file_slice(&[1u8; 100], 50, 100))]) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_, mut out) = server.into_split();
        let err = frame.write_to(&mut out).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
