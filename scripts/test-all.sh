#!/usr/bin/env bash
# The project's test command (README.md; .ci/run calls it): the Rust checks and tests, then
# the Python package built into a virtual environment under target/ and its pytest suite.
# Needs the Rust toolchain and Python >= 3.10 with venv (PYTHON=... picks the interpreter);
# the Python test requirements come from PyPI, pinned in crates/mixedlm-python/tests/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
started=$SECONDS

step "cargo fmt, clippy, test"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
rust_seconds=$((SECONDS - started))

python_started=$SECONDS
./scripts/test-python.sh
python_seconds=$((SECONDS - python_started))

step "done: Rust ${rust_seconds} s, Python ${python_seconds} s, total $((SECONDS - started)) s"
