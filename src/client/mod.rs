//! Browser-side session upkeep (hydrated builds only).
//!
//! - Refreshes the access token shortly before it expires; the expiry comes
//!   from the server with the page, so the HttpOnly cookie is never read.
//! - One tab refreshes at a time: the refresh runs under a Web Lock
//!   (`navigator.locks`), and the new expiry is shared through
//!   `localStorage` (a timestamp, never a token), so a tab that waited for the
//!   lock sees that another tab already refreshed.
//! - Signing out in one tab sends the others to the sign-in page
//!   (BroadcastChannel).

pub mod webauthn;

use crate::error::{AppError, ErrorCode};
use js_sys::{Function, Promise, Reflect};
use std::{cell::RefCell, future::Future, rc::Rc};
use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

const CHANNEL: &str = "gatehouse-auth";
const LOCK: &str = "gatehouse-refresh";
const EXPIRY_KEY: &str = "gatehouse.access_expires_at";
const SIGNED_OUT: &str = "signed-out";

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

fn now_secs() -> f64 {
    js_sys::Date::now() / 1000.0
}

async fn sleep_secs(seconds: f64) {
    let ms = (seconds * 1000.0).clamp(0.0, 2_000_000_000.0) as i32;
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The newest access-token expiry any tab has seen (unix seconds).
fn shared_expiry() -> Option<i64> {
    storage()?.get_item(EXPIRY_KEY).ok()??.parse().ok()
}

fn set_shared_expiry(expires_at: i64) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(EXPIRY_KEY, &expires_at.to_string());
    }
}

fn broadcast(message: &str) {
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let _ = channel.post_message(&JsValue::from_str(message));
        channel.close();
    }
}

thread_local! {
    /// Whether this page is already leaving for the sign-in page.
    static LEAVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Leaves for the sign-in page, saying why, and coming back here afterwards.
/// Only the first call counts: when several requests of a page learn at
/// once that its sign-in is gone, the first answer says why (say,
/// `session_revoked`), and later ones (a refresh that finds its cookie
/// already cleared) must not replace it with a vaguer reason.
pub fn go_to_login(reason: Option<ErrorCode>) {
    if LEAVING.with(|leaving| leaving.replace(true)) {
        return;
    }
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let _ = location.assign(&crate::redirect::login_url(Some(&here), reason));
}

/// After signing in with JavaScript: load the next page in full, so it
/// renders (and hydrates) signed in. Only a same-origin path is followed,
/// by the same check the server applies.
pub fn signed_in_here(next: &str) {
    let next = crate::redirect::safe_next(next).unwrap_or("/");
    let _ = window().location().assign(next);
}

/// After signing out in this tab: tell the other tabs, then go to sign-in.
pub fn signed_out_here() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(EXPIRY_KEY);
    }
    broadcast(SIGNED_OUT);
    let _ = window().location().assign("/login");
}

/// The reader's offset from UTC, now.
pub fn local_offset() -> time::UtcOffset {
    // `getTimezoneOffset` is minutes *behind* UTC.
    let behind = js_sys::Date::new_0().get_timezone_offset() as i32;
    time::UtcOffset::from_whole_seconds(-behind * 60).unwrap_or(time::UtcOffset::UTC)
}

/// Runs `job` while holding the cross-tab refresh lock, or directly in a
/// browser without Web Locks.
async fn with_refresh_lock<F, Fut>(job: F) -> Result<i64, AppError>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = Result<i64, AppError>> + 'static,
{
    let navigator = window().navigator();
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks"))
        .ok()
        .filter(|l| !l.is_undefined() && !l.is_null());
    let request = locks.as_ref().and_then(|l| {
        Reflect::get(l, &JsValue::from_str("request"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        return job().await;
    };
    let outcome: Rc<RefCell<Option<Result<i64, AppError>>>> = Rc::default();
    let slot = outcome.clone();
    let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        future_to_promise(async move {
            let result = job().await;
            *slot.borrow_mut() = Some(result);
            Ok(JsValue::UNDEFINED)
        })
    });
    let held = request
        .call2(&locks, &JsValue::from_str(LOCK), &callback)
        .ok()
        .and_then(|p| p.dyn_into::<Promise>().ok());
    if let Some(held) = held {
        let _ = JsFuture::from(held).await;
    }
    let result = outcome.borrow_mut().take();
    result.unwrap_or_else(|| Err(AppError::from(ErrorCode::Internal)))
}

/// Refreshes unless another tab already did since `known_expiry`; returns
/// the new access-token expiry (unix seconds).
async fn coordinated_refresh(known_expiry: i64) -> Result<i64, AppError> {
    with_refresh_lock(move || async move {
        if let Some(shared) = shared_expiry() {
            if shared > known_expiry && shared as f64 - now_secs() > 1.0 {
                return Ok(shared);
            }
        }
        let refreshed = crate::auth::server_fns::refresh().await?;
        let expires_at = (js_sys::Date::parse(&refreshed.expires_at) / 1000.0) as i64;
        set_shared_expiry(expires_at);
        Ok(expires_at)
    })
    .await
}

/// Refreshes now (after a `token_expired` answer). `Send` so it can run
/// inside resources.
pub fn refresh_now() -> impl Future<Output = Result<(), AppError>> + Send {
    send_wrapper::SendWrapper::new(async move {
        let known = shared_expiry().unwrap_or(0).min(now_secs() as i64);
        match coordinated_refresh(known).await {
            Ok(_) => Ok(()),
            Err(err) => {
                if err.error.ends_renewal() {
                    go_to_login(Some(err.error));
                }
                Err(err)
            }
        }
    })
}

/// Starts the refresh loop for a page that loaded signed in, and listens
/// for sign-outs in other tabs.
pub fn start_session_keeper(access_expires_at: i64) {
    listen_for_sign_out();
    set_shared_expiry(access_expires_at.max(shared_expiry().unwrap_or(0)));
    wasm_bindgen_futures::spawn_local(async move {
        let mut expiry = access_expires_at;
        let mut lifetime = (expiry as f64 - now_secs()).max(1.0);
        loop {
            // Refresh when a fifth of the lifetime is left (1 s to 30 s early).
            let margin = (lifetime / 5.0).clamp(1.0, 30.0);
            sleep_secs(expiry as f64 - now_secs() - margin).await;
            if let Some(shared) = shared_expiry() {
                if shared > expiry && shared as f64 - now_secs() > margin {
                    // Another tab refreshed; the cookies are shared.
                    lifetime = (shared - expiry) as f64;
                    expiry = shared;
                    continue;
                }
            }
            match coordinated_refresh(expiry).await {
                Ok(new_expiry) => {
                    lifetime = (new_expiry as f64 - now_secs()).max(1.0);
                    expiry = new_expiry;
                }
                Err(err) if err.error.ends_renewal() => {
                    go_to_login(Some(err.error));
                    return;
                }
                // Offline or the server is briefly away: try again soon.
                Err(_) => sleep_secs(2.0).await,
            }
        }
    });
}

fn listen_for_sign_out() {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if event.data().as_string().as_deref() == Some(SIGNED_OUT) {
                go_to_login(None);
            }
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Both live as long as the page.
    on_message.forget();
    std::mem::forget(channel);
}
