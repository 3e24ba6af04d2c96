#!/usr/bin/env bash
# Build pymixedlm into a virtual environment (target/pyvenv) and run its pytest suite.
#
# The extension is built with cargo's dev profile (dependencies at opt-level 3, as
# Cargo.toml sets), into the workspace's target directory, so that the dependencies
# `cargo test --workspace` compiled are reused where their features agree. Users get the
# release profile: `pip install crates/mixedlm-python`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
target=${CARGO_TARGET_DIR:-target}
venv="$target/pyvenv"
crate=crates/mixedlm-python

printf '\n== Python: virtual environment %s\n' "$venv"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
venv_python="$(cd "$venv" && pwd)/bin/python"
"$venv_python" -m pip install --quiet --disable-pip-version-check -r "$crate/tests/requirements.txt"

printf '\n== Python: build and install pymixedlm (maturin, dev profile)\n'
built=$SECONDS
MATURIN_PEP517_ARGS="--profile dev" "$venv_python" -m pip install --quiet \
    --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$crate"
printf 'built and installed in %s s\n' $((SECONDS - built))

# The Spark tests (tests/test_spark*.py) need a Java 17+ runtime; without one they are
# skipped (and said so), the rest of the suite runs.
if ! java -version >/dev/null 2>&1; then
    printf '\n*** WARNING: no Java runtime (`java -version` failed): the Spark tests will be SKIPPED.\n'
    printf '*** Install Java 17, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu),\n'
    printf '*** `brew install openjdk@17` (macOS), or set JAVA_HOME to a JDK 17+.\n'
fi

printf '\n== Python: pytest\n'
# run from the tests' folder so that the installed package, not the source tree, is imported
cd "$crate/tests"
"$venv_python" -m pytest -q -rs -p no:cacheprovider .
