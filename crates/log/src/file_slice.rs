//! A run of whole batches in a segment file, located but not read: a Kafka fetch hands
//! it to the socket with `sendfile`, so the bytes never pass through user space.

use std::fs::File;
use std::io;
use std::sync::Arc;

/// Bytes `position .. position + len` of `file`. The open file keeps the bytes readable
/// even if retention deletes the segment meanwhile; a segment never changes bytes it
/// has written.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
    /// Base offset of the first batch.
    pub first_offset: u64,
    /// The offset after the last batch.
    pub next_offset: u64,
}

impl FileSlice {
    /// The slice's bytes, read into memory.
    pub fn read(&self) -> io::Result<bytes::Bytes> {
        read_at(&self.file, self.position, self.len).map(bytes::Bytes::from)
    }
}

/// `len` bytes of `file` from `position`, read straight into fresh memory: reads are up to
/// megabytes, and zero-filling the buffer first cost as much CPU as the read itself
/// (memset and page faults, seen in a broker profile).
pub(crate) fn read_at(file: &File, position: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let at = position + buf.len() as u64;
        let read = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at)?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("the file ends before byte {at}")));
        }
    }
    // The capacity may exceed `len`, and so may the last read.
    buf.truncate(len);
    Ok(buf)
}

/// What a read hands back: bytes in memory, or where they lie in a file.
#[derive(Debug, Clone)]
pub enum Records {
    Memory(bytes::Bytes),
    File(FileSlice),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Memory(bytes) => bytes.len(),
            Records::File(slice) => slice.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes themselves, read from the file if they are still there.
    pub fn into_memory(self) -> io::Result<bytes::Bytes> {
        match self {
            Records::Memory(bytes) => Ok(bytes),
            Records::File(slice) => slice.read(),
        }
    }
}

impl Default for Records {
    fn default() -> Self {
        Records::Memory(bytes::Bytes::new())
    }
}
