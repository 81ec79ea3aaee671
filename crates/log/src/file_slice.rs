//! A run of whole batches in a segment file, located but not read: a Kafka fetch hands
//! it to the socket with `sendfile`, so the bytes never pass through user space.

use std::fs::File;
use std::os::unix::fs::FileExt;
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
    pub fn read(&self) -> std::io::Result<bytes::Bytes> {
        let mut buf = vec![0u8; self.len];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(buf.into())
    }
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
    pub fn into_memory(self) -> std::io::Result<bytes::Bytes> {
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
