//! gatehouse: browser authentication done right, as a Leptos app.

/// Declares modules that exist only in the server build.
macro_rules! server_only {
    ($($(#[$attr:meta])* pub mod $name:ident;)*) => {
        $($(#[$attr])* #[cfg(feature = "ssr")] pub mod $name;)*
    };
}

pub mod admin;
pub mod app;
pub mod auth;
pub mod error;
pub mod export;
pub mod federation;
pub mod mfa;
pub mod pages;
pub mod recovery;
pub mod redirect;
pub mod sessions;
pub mod vocab;

server_only! {
    pub mod account;
    pub mod api;
    pub mod cli;
    pub mod clock;
    pub mod config;
    pub mod crypto;
    pub mod http;
    pub mod ids;
    pub mod keys;
    pub mod openapi;
    pub mod request;
    pub mod server;
    pub mod state;
    pub mod store;
    pub mod telemetry;
}

#[cfg(feature = "hydrate")]
pub mod client;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console while developing; a release build
    // leaves out the formatting they need (a smaller first download).
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Pages other than the first ones a visitor sees are split into their
    // own wasm pieces (lazy routes); hydrating such a page first loads its
    // piece, so hydration is asynchronous.
    wasm_bindgen_futures::spawn_local(async {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Some(body) = document.body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // A marker for end-to-end tests and styling: the page is now
        // interactive.
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}
