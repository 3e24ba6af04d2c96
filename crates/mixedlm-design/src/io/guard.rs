//! Decoding untrusted bytes: a panic inside the parquet or arrow crates (they index into
//! buffers whose lengths come from the file) becomes a [`ReadError::Malformed`].
//!
//! A panic hook runs before the panic is caught; while [`decoding_untrusted`] is true it
//! should stay quiet (the command line's hook does), since the panic is reported as an
//! error about the file, not a bug.

use super::{InputFormat, ReadError};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Whether this thread is decoding a file inside the readers' panic guard: a panic now is
/// turned into an error about the file, so a panic hook need not report it.
pub fn decoding_untrusted() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Run `decode`; a panic in it becomes [`ReadError::Malformed`] naming the file.
pub(crate) fn catch_decoder_panic<T>(
    path: &Path,
    format: InputFormat,
    decode: impl FnOnce() -> Result<T, ReadError>,
) -> Result<T, ReadError> {
    DEPTH.with(|d| d.set(d.get() + 1));
    // The decoder's state is dropped with the panic; nothing it touched is used afterwards.
    let result = catch_unwind(AssertUnwindSafe(decode));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".to_string());
        Err(ReadError::Malformed {
            path: path.to_path_buf(),
            format,
            detail: format!("corrupt data: {what}"),
        })
    })
}
