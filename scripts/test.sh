#!/usr/bin/env bash
# Runs every test of medlink: sets up what the interop tests need, then the whole Rust test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each setup script is idempotent and installs only what is missing.
for setup in scripts/setup-*.sh; do
  [ -e "$setup" ] || continue
  echo "==> $setup"
  bash "$setup"
done

export MEDLINK_VENV="${MEDLINK_VENV:-$PWD/.venv}"
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo test (release)"
cargo test --workspace --release --locked -- --test-threads=2
