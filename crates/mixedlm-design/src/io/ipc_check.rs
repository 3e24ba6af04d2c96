//! Sizes an Arrow IPC file declares, checked before the arrow crate allocates them.
//!
//! The IPC reader allocates what a file declares: a message body of `bodyLength` bytes, a
//! compressed buffer's uncompressed length (its first 8 bytes). A corrupt length there is
//! an allocation the machine cannot make, which aborts the process instead of returning an
//! error. So every body must lie inside the file and every compressed buffer must
//! decompress to at most the memory available. Anything this walk cannot parse is left to
//! the arrow reader, which reports it.

use arrow_ipc::{root_as_footer, root_as_message, Message, RecordBatch as IpcBatch};
use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom};

const CONTINUATION: [u8; 4] = [0xff; 4];

/// Where the bytes are: in memory, or in a file read piece by piece (only the metadata and
/// the 8-byte prefixes of compressed buffers are read).
pub(crate) trait Source {
    /// Total length in bytes.
    fn len(&self) -> usize;
    /// Bytes `start..end`, or `None` if they cannot be read.
    fn read(&self, start: usize, end: usize) -> Option<Vec<u8>>;
}

impl Source for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn read(&self, start: usize, end: usize) -> Option<Vec<u8>> {
        self.get(start..end).map(<[u8]>::to_vec)
    }
}

/// A file and its length.
pub(crate) struct FileSource(pub RefCell<std::fs::File>, pub usize);

impl Source for FileSource {
    fn len(&self) -> usize {
        self.1
    }
    fn read(&self, start: usize, end: usize) -> Option<Vec<u8>> {
        if start > end || end > self.1 {
            return None;
        }
        let mut f = self.0.borrow_mut();
        f.seek(SeekFrom::Start(start as u64)).ok()?;
        let mut buf = vec![0u8; end - start];
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// `Err` with a description when a declared size cannot be honoured; `budget` bounds the
/// uncompressed size of one buffer.
pub(crate) fn check_declared_sizes(src: &dyn Source, budget: u64) -> Result<(), String> {
    if src.read(0, 6).as_deref() == Some(b"ARROW1") {
        check_file(src, budget)
    } else {
        check_stream(src, budget)
    }
}

/// The file format: the footer lists each message's offset and lengths.
fn check_file(src: &dyn Source, budget: u64) -> Result<(), String> {
    let n = src.len();
    let Some(tail) = n.checked_sub(10).and_then(|t| src.read(t, n)) else {
        return Ok(());
    };
    if n < 16 || &tail[4..] != b"ARROW1" {
        return Ok(());
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let Some(start) = usize::try_from(footer_len)
        .ok()
        .and_then(|l| (n - 10).checked_sub(l))
    else {
        return Ok(());
    };
    let Some(footer_bytes) = src.read(start, n - 10) else {
        return Ok(());
    };
    let Ok(footer) = root_as_footer(&footer_bytes) else {
        return Ok(());
    };
    let blocks = footer.dictionaries().into_iter().flatten();
    for block in blocks.chain(footer.recordBatches().into_iter().flatten()) {
        let (offset, meta, body) = (block.offset(), block.metaDataLength(), block.bodyLength());
        let end = span(offset, i64::from(meta), n)
            .and_then(|meta_end| span(meta_end as i64, body, n).map(|e| (meta_end, e)));
        let Some((meta_end, body_end)) = end else {
            return Err(format!(
                "a block at byte {offset} of {meta} + {body} bytes lies outside the file"
            ));
        };
        // The arrow reader parses the message from the whole block (metadata and body): a
        // flatbuffer whose offsets point into the body is valid there, so it is read here
        // too when the metadata alone does not parse (a valid file needs no more).
        let Some(meta_bytes) = src.read(offset as usize, meta_end) else {
            return Ok(());
        };
        if let Some(message) = parse_message(&meta_bytes) {
            check_buffers(&message, src, meta_end, body_end, budget)?;
            continue;
        }
        let Some(block_bytes) = src.read(offset as usize, body_end) else {
            return Ok(());
        };
        if let Some(message) = parse_message(&block_bytes) {
            check_buffers(&message, src, meta_end, body_end, budget)?;
        }
    }
    Ok(())
}

/// The stream format: messages one after another, each followed by its body.
fn check_stream(src: &dyn Source, budget: u64) -> Result<(), String> {
    let n = src.len();
    let mut pos = 0usize;
    while let Some(head) = src.read(pos, (pos + 8).min(n)).filter(|h| h.len() >= 4) {
        let (len, next) = if head[..4] == CONTINUATION {
            match head.get(4..8) {
                Some(l) => (l, pos + 8),
                None => return Ok(()),
            }
        } else {
            (&head[..4], pos + 4)
        };
        let len = i32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        if len == 0 {
            return Ok(());
        }
        let Some(meta_end) = span(next as i64, i64::from(len), n) else {
            return Ok(());
        };
        let Some(meta_bytes) = src.read(next, meta_end) else {
            return Ok(());
        };
        let Ok(message) = root_as_message(&meta_bytes) else {
            return Ok(());
        };
        let Some(body_end) = span(meta_end as i64, message.bodyLength(), n) else {
            return Err(format!(
                "a message at byte {pos} declares a body of {} bytes, past the end of the data",
                message.bodyLength()
            ));
        };
        check_buffers(&message, src, meta_end, body_end, budget)?;
        pos = body_end;
    }
    Ok(())
}

/// `start + len` when both are non-negative and it ends within `n` bytes.
fn span(start: i64, len: i64, n: usize) -> Option<usize> {
    let end = start.checked_add(len)?;
    (start >= 0 && len >= 0 && end <= n as i64).then_some(end as usize)
}

/// A message as the file block holds it (with or without the continuation marker), parsed
/// as the arrow reader parses it.
fn parse_message(meta: &[u8]) -> Option<Message<'_>> {
    let skip = if meta.starts_with(&CONTINUATION) {
        8
    } else {
        4
    };
    root_as_message(meta.get(skip..)?).ok()
}

/// The record batch (or dictionary batch) of a message, whose body is
/// `body_start..body_end`: every compressed buffer must lie in the body and declare at most
/// `budget` uncompressed bytes.
fn check_buffers(
    message: &Message<'_>,
    src: &dyn Source,
    body_start: usize,
    body_end: usize,
    budget: u64,
) -> Result<(), String> {
    let batch: Option<IpcBatch<'_>> = message
        .header_as_record_batch()
        .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
    let Some(batch) = batch else {
        return Ok(());
    };
    if batch.compression().is_none() {
        return Ok(());
    }
    for buffer in batch.buffers().into_iter().flatten() {
        let Some(end) = span(buffer.offset(), buffer.length(), body_end - body_start) else {
            return Err("a compressed buffer lies outside its message body".into());
        };
        let start = body_start + buffer.offset() as usize;
        if body_start + end - start < 8 {
            continue;
        }
        let Some(prefix) = src.read(start, start + 8) else {
            return Ok(());
        };
        let mut p = [0u8; 8];
        p.copy_from_slice(&prefix);
        let declared = i64::from_le_bytes(p);
        if declared > 0 && declared as u64 > budget {
            return Err(format!(
                "a compressed buffer declares {declared} bytes uncompressed, more than the \
                 {budget} bytes of memory available"
            ));
        }
    }
    Ok(())
}
