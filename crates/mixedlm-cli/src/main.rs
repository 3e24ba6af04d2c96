//! The `mixedlm` command-line program: `mixedlm design`, `fit`, `compare`, `predict`,
//! `profile` and `bootstrap`.
//!
//! Exit codes: 0 success; 2 bad usage or bad data (message on standard error); 1 when
//! `--strict` was given and the fit did not converge; 101 only for an internal bug.

#![warn(missing_docs)]

mod args;
mod commands;
mod compare;
mod diagnostics;
mod error;
mod inference;
mod json;
mod predict;
mod profile;
mod stream;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
    install_panic_hook();
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            e.print();
            ExitCode::from(e.exit_code())
        }
    }
}

/// glibc's allocator gives every block of 128 KiB or more its own mapping and returns it
/// to the kernel when freed, so each large vector of a fit (a column, X, the fitted values)
/// is new memory, and on a virtual machine the first write to a new page costs about 3 µs
/// (a 100k-row fit touched some 1,200 new pages before this). With the mapping threshold at glibc's
/// maximum (32 MiB) and no trimming, freed blocks stay in the heap and the next vectors
/// reuse them: the reader's buffers serve the fit, and one fit's serve the next.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; it is called first thing in main,
    // before any other thread exists or any allocation this could disturb.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// A panic is a bug in mixedlm, never the user's fault: say so and how to report it.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error in mixedlm{location}: {payload}");
        eprintln!("hint: this is a bug; please report it with the command line and (if possible) the data");
        std::process::exit(101);
    }));
}
