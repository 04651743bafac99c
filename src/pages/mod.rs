//! Pages, and the pieces they share. Every form posts to its server function
//! and works without JavaScript; once hydrated, the same forms submit in the
//! background and update the page in place.

pub mod admin;
pub mod home;
pub mod login;
pub mod register;
pub mod security;
pub mod sessions;

use crate::error::{AppError, ErrorCode};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The message for an `?error=<code>` in the address (left there by a form
/// post without JavaScript), if any.
pub fn query_error() -> Option<String> {
    let code = use_query_map().read_untracked().get("error")?;
    ErrorCode::parse(&code).map(|c| c.default_message().to_owned())
}

/// A form's error (or notice) line, announced to screen readers.
#[component]
pub fn FormMessage(message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="form-error" role="alert" data-testid="form-error">{move || message.get()}</p>
        </Show>
    }
}

/// A time, rendered in UTC on the server and switched to the reader's local
/// time after hydration (so hydration never sees different text).
#[component]
pub fn LocalTime(at: String) -> impl IntoView {
    let utc = at.replace('T', " ").replace('Z', " UTC");
    let shown = RwSignal::new(utc);
    #[cfg(feature = "hydrate")]
    {
        let at = at.clone();
        Effect::new(move |_| {
            if let Some(local) = crate::client::local_time(&at) {
                shown.set(local);
            }
        });
    }
    view! { <time datetime=at>{move || shown.get()}</time> }
}

/// The sign-out button: a form post that works without JavaScript.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            leptos::task::spawn_local(async move {
                let _ = crate::auth::logout().await;
                crate::client::signed_out_here();
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form class="inline" method="post" action="/api/logout" on:submit=on_submit>
            <input type="hidden" name="next" value="/login" />
            <button type="submit" class="link-button" data-testid="sign-out">"Sign out"</button>
        </form>
    }
}

/// What to do with a failed action on a signed-in page: leave for the
/// sign-in page if the sign-in is gone, else show the message.
pub fn handle_error(err: &AppError, message: RwSignal<Option<String>>) {
    leave_if_signed_out(err);
    message.set(Some(err.message.clone()));
}

/// Leaves for the sign-in page (saying why) when `err` means the sign-in is gone.
pub fn leave_if_signed_out(err: &AppError) {
    if err.error.ends_sign_in() {
        #[cfg(feature = "hydrate")]
        crate::client::go_to_login(Some(err.error));
    }
}

/// A failed load, shown in place.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    leave_if_signed_out(&error);
    view! { <p class="form-error" role="alert">{error.message}</p> }
}

/// Calls a server function; a `token_expired` answer triggers one refresh and
/// one retry (never for other errors).
pub async fn with_refresh<T, Fut>(call: impl Fn() -> Fut) -> Result<T, AppError>
where
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    match call().await {
        #[cfg(feature = "hydrate")]
        Err(err) if err.error == ErrorCode::TokenExpired => {
            crate::client::refresh_now().await?;
            call().await
        }
        other => other,
    }
}

/// Reads the named fields of a submitted form (in the browser).
#[cfg(feature = "hydrate")]
pub fn form_field(ev: &leptos::ev::SubmitEvent, name: &str) -> String {
    use leptos::wasm_bindgen::JsCast as _;
    ev.target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
        .and_then(|form| leptos::web_sys::FormData::new_with_form(&form).ok())
        .and_then(|data| data.get(name).as_string())
        .unwrap_or_default()
}
