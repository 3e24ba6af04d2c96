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
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            e.print();
            ExitCode::from(e.exit_code())
        }
    }
}

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
