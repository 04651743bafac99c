# Sourced by the other scripts: the toolchain route and shared settings.
# Keeps build output outside the clone so repeated runs stay warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# Leptos reads this at compile time; setting it for every cargo command keeps
# `cargo test` and `cargo leptos build` on one set of build artifacts.
export LEPTOS_OUTPUT_NAME=gatehouse

# The wasm32 standard library comes from rustup where it has the target;
# otherwise from Debian's rustc-web with rust-web-src, built with -Zbuild-std
# (passed only to the wasm build, never written into Cargo.toml).
if command -v rustup >/dev/null 2>&1 \
  && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  GATEHOUSE_WASM_ROUTE=rustup
  LEPTOS_LIB_ARGS=()
else
  GATEHOUSE_WASM_ROUTE=debian
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  LEPTOS_LIB_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
fi
export GATEHOUSE_WASM_ROUTE

# Every build passes `--split` (cargo-leptos has it only as a command-line
# flag, no Cargo.toml key): it puts each lazy route (src/app.rs) in its own
# wasm piece and replaces the placeholder module the lazy routes import.
# Without it the browser cannot load the wasm and no page hydrates. The
# development server, `cargo leptos watch --split`, is scripts/dev.

# Builds the server and the hydrating wasm in debug mode, once.
leptos_build() {
  cargo leptos build --split "${LEPTOS_LIB_ARGS[@]}" "$@"
}

# Builds the release server and wasm with hashed, precompressed (brotli,
# gzip) assets. On the build-std route the wasm also leaves out panic
# locations (file and line strings; ~6 KB of the brotli download).
leptos_release_build() {
  if [ "$GATEHOUSE_WASM_ROUTE" = debian ]; then
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zlocation-detail=none" \
      cargo leptos build --release --precompress --split "${LEPTOS_LIB_ARGS[@]}" "$@"
  else
    cargo leptos build --release --precompress --split "$@"
  fi
}
