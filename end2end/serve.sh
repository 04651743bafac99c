#!/usr/bin/env bash
# Starts the built server for the Playwright tests, on a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
# A fresh data folder each run, at a known place so tests can use the CLI on it.
data="${E2E_DATA_DIR:-$PWD/end2end/test-data}"
rm -rf "$data" && mkdir -p "$data"
export GATEHOUSE_DATA_DIR="$data"
export DATABASE_URL="sqlite://$data/e2e.db"
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3210}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export GATEHOUSE_ACCESS_TTL="${GATEHOUSE_ACCESS_TTL:-4}"
# Every test signs up from 127.0.0.1; the suite is not a sign-up flood.
export GATEHOUSE_REGISTER_LIMIT="${GATEHOUSE_REGISTER_LIMIT:-10000}"
export RUST_LOG="${RUST_LOG:-warn,gatehouse=info}"
exec "$target/debug/gatehouse" serve
