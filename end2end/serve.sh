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
# The test provider Playwright starts (playwright.config.ts).
export GATEHOUSE_OIDC_TESTID_ISSUER="http://127.0.0.1:${E2E_OIDC_PORT:-3219}"
export GATEHOUSE_OIDC_TESTID_CLIENT_ID=gatehouse-e2e
export GATEHOUSE_OIDC_TESTID_CLIENT_SECRET=e2e-client-secret-0123456789
export GATEHOUSE_OIDC_TESTID_LABEL="Test ID"
export RUST_LOG="${RUST_LOG:-warn,gatehouse=info}"
# A wasm built without `--split` (a plain `cargo leptos end-to-end`, say)
# imports a placeholder module only the split step replaces: no page would
# hydrate, and every test would fail for that one reason.
if grep -qs "__wasm_split_placeholder__" "$LEPTOS_SITE_ROOT"/pkg/*.js; then
  echo "serve.sh: $LEPTOS_SITE_ROOT was built without --split; build it with scripts/test (or cargo leptos end-to-end --split)" >&2
  exit 1
fi
exec "$target/debug/gatehouse" serve
