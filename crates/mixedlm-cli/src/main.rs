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
mod glmm;
mod inference;
mod json;
mod memory;
mod predict;
mod profile;
mod stream;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: memory::Allocator = memory::Allocator;

fn main() -> ExitCode {
    memory::keep_freed_memory();
    install_panic_hook();
    // The panic hook's test needs a panic; no input of the program gives one (that would
    // be a bug), so the test asks for it.
    if std::env::var_os("MIXEDLM_TEST_PANIC").is_some() {
        panic!("MIXEDLM_TEST_PANIC is set");
    }
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            e.print();
            ExitCode::from(e.exit_code())
        }
    }
}

/// A panic is a bug in mixedlm, never the user's fault: say so and how to report it. The
/// readers catch panics of the Parquet/Arrow decoders on corrupt files and report the file
/// instead, so those pass silently. The message is written without `eprintln!`, which
/// panics when standard error is closed (a panic in the hook aborts: exit 134).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if mixedlm::design::decoding_untrusted() {
            return;
        }
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
        error::stderr_line(format!(
            "error: internal error in mixedlm{location}: {payload}"
        ));
        error::stderr_line(
            "hint: this is a bug; please report it with the command line and (if possible) the data",
        );
        std::process::exit(101);
    }));
}
