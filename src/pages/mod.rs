//! Pages, and the pieces they share. Every form posts to its server function
//! and works without JavaScript; once hydrated, the same forms submit in the
//! background and update the page in place.

pub mod admin;
pub mod home;
pub mod login;
pub mod not_found;
pub mod outbox;
pub mod passkeys;
pub mod providers;
pub mod recovery;
pub mod register;
pub mod second_factor;
pub mod security;
pub mod sessions;
pub mod time;

use crate::error::{AppError, ErrorCode};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::future::Future;

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

/// A page's card: the document title, the heading and the message line.
#[component]
pub fn Card(
    title: &'static str,
    heading: &'static str,
    message: RwSignal<Option<String>>,
    #[prop(optional)] narrow: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <Title text=format!("{title} · gatehouse") />
        <section class="card" class:narrow=narrow>
            <h1>{heading}</h1>
            <FormMessage message=message.into() />
            {children()}
        </section>
    }
}

/// The email field of the sign-in and sign-up forms; on the sign-in form
/// (`passkeys`) the browser may offer passkeys in its suggestions.
#[component]
pub fn EmailField(#[prop(optional)] passkeys: bool) -> impl IntoView {
    let autocomplete = if passkeys {
        "username webauthn"
    } else {
        "username"
    };
    view! {
        <label for="email">"Email"</label>
        <input id="email" name="email" type="email" autocomplete=autocomplete required />
    }
}

/// The fields of a submitted form, read in the browser.
#[derive(Clone, Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The value of field `name` (empty if there is none).
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[cfg(feature = "hydrate")]
    fn of(ev: &SubmitEvent) -> Self {
        use leptos::wasm_bindgen::JsCast as _;
        let entries = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
            .and_then(|form| leptos::web_sys::FormData::new_with_form(&form).ok())
            .and_then(|data| js_sys::try_iter(&data).ok().flatten());
        let fields = entries
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let pair = js_sys::Array::from(&entry.ok()?);
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect();
        Self(fields)
    }
}

/// A form's submit handler. Once hydrated, the form is sent in the
/// background by `action` (given the form's fields) and the page updates in
/// place; without JavaScript the browser posts the form itself and follows
/// the server's 303.
pub fn in_place<Fut>(
    action: impl Fn(Fields) -> Fut + Copy + Send + Sync + 'static,
) -> impl Fn(SubmitEvent) + Copy + Send + Sync + 'static
where
    Fut: Future<Output = ()> + 'static,
{
    move |ev: SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            leptos::task::spawn_local(action(Fields::of(&ev)));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, action);
    }
}

/// After signing in with JavaScript: load `next` (a same-origin path) in full.
pub fn signed_in_here(next: &str) {
    #[cfg(feature = "hydrate")]
    crate::client::signed_in_here(next);
    #[cfg(not(feature = "hydrate"))]
    let _ = next;
}

/// Signs in from a hydrated form whose answer may ask for the second step:
/// the button waits while `call` runs; success loads `next` (or the second
/// step, coming back to `next`), failure says why.
pub async fn sign_in_two_step(
    call: impl Future<Output = Result<crate::auth::LoginAnswer, AppError>>,
    next: &str,
    pending: RwSignal<bool>,
    message: RwSignal<Option<String>>,
) {
    pending.set(true);
    match call.await {
        Ok(crate::auth::LoginAnswer::SignedIn(_)) => signed_in_here(next),
        Ok(crate::auth::LoginAnswer::SecondStep { .. }) => {
            signed_in_here(&crate::redirect::second_step_url(Some(next)))
        }
        Err(err) => {
            message.set(Some(err.message));
            pending.set(false);
        }
    }
}

/// Signs in (or up) from a hydrated form: the button waits while `call`
/// runs; success loads `next`, failure says why.
pub async fn sign_in_with<T>(
    call: impl Future<Output = Result<T, AppError>>,
    next: &str,
    pending: RwSignal<bool>,
    message: RwSignal<Option<String>>,
) {
    pending.set(true);
    match call.await {
        Ok(_) => signed_in_here(next),
        Err(err) => {
            message.set(Some(err.message));
            pending.set(false);
        }
    }
}

/// After signing out in this tab: tell the other tabs, then go to sign-in.
pub fn signed_out_here() {
    #[cfg(feature = "hydrate")]
    crate::client::signed_out_here();
}

/// A time as people say it ("3 minutes ago", "yesterday at 14:05"), the
/// exact time on hover. Rendered in UTC on the server, and in the reader's
/// own time zone once hydrated.
#[component]
pub fn LocalTime(at: String) -> impl IntoView {
    let parsed = time::parse(&at);
    let raw = at.clone();
    let say = move |offset| match parsed {
        Some(t) => (time::human(t, now(), offset), time::exact(t, offset)),
        None => (raw.clone(), raw.clone()),
    };
    let (text, exact) = say(::time::UtcOffset::UTC);
    let shown = RwSignal::new(text);
    let title = RwSignal::new(exact);
    #[cfg(feature = "hydrate")]
    {
        let say = say.clone();
        Effect::new(move |_| {
            let (text, exact) = say(crate::client::local_offset());
            shown.set(text);
            title.set(exact);
        });
    }
    view! { <time datetime=at title=move || title.get()>{move || shown.get()}</time> }
}

/// The current time (the browser's clock once hydrated).
fn now() -> ::time::OffsetDateTime {
    #[cfg(feature = "hydrate")]
    {
        let ms = js_sys::Date::now() as i128;
        ::time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
            .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH)
    }
    #[cfg(not(feature = "hydrate"))]
    ::time::OffsetDateTime::now_utc()
}

/// The sign-out button: a form post that works without JavaScript.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let on_submit = in_place(|_| async {
        let _ = crate::auth::server_fns::logout().await;
        signed_out_here();
    });
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

/// Whether a form post without JavaScript came back with `?error=<code>`.
pub fn query_error_is(code: ErrorCode) -> bool {
    use_query_map().read_untracked().get("error").as_deref() == Some(code.as_str())
}

/// Asks for the password again before a sensitive action ("sudo mode"):
/// shown once an action answered `reauth_required` (`needed`), or when a
/// form post without JavaScript came back with that error. Without
/// JavaScript it posts and returns to `next`; hydrated, a correct password
/// runs `then` (the action, again).
#[component]
pub fn ReauthPrompt(
    needed: RwSignal<bool>,
    /// Where a form post without JavaScript returns.
    #[prop(into)]
    next: String,
    then: impl Fn() + Copy + Send + Sync + 'static,
    /// Told apart from other prompts on the same page (element ids).
    #[prop(optional)]
    key: &'static str,
) -> impl IntoView {
    let password_id = format!("reauth_password{key}");
    let code_id = format!("reauth_code{key}");
    let message = RwSignal::new(None);
    let on_submit = in_place(move |form: Fields| async move {
        let call = || {
            crate::auth::server_fns::reauthenticate(
                Some(form.get("password")),
                Some(form.get("code")),
            )
        };
        match with_refresh(call).await {
            Ok(_) => {
                needed.set(false);
                then();
            }
            Err(err) => handle_error(&err, message),
        }
    });
    view! {
        <Show when=move || needed.get()>
            <form class="confirm" method="post" action="/api/reauthenticate" on:submit=on_submit data-testid="reauth">
                <input type="hidden" name="next" value=next.clone() />
                <p>"For your safety, confirm it's you before this change."</p>
                <label for=password_id.clone()>"Password"</label>
                <input id=password_id.clone() name="password" type="password" autocomplete="current-password" />
                <label for=code_id.clone()>"Or a code from your authenticator app"</label>
                <input id=code_id.clone() name="code" type="text" autocomplete="one-time-code" maxlength="20" />
                <button type="submit">"Confirm it's me"</button>
                <FormMessage message=message.into() />
            </form>
        </Show>
    }
}

/// A failed load, shown in place.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    leave_if_signed_out(&error);
    view! { <p class="form-error" role="alert">{error.message}</p> }
}

/// A loaded list: the error in place if loading failed, `empty` when there
/// is nothing, else `show(list)`.
pub fn list_view<T, V: IntoView + 'static>(
    loaded: Result<Vec<T>, AppError>,
    empty: &'static str,
    show: impl FnOnce(Vec<T>) -> V,
) -> AnyView {
    match loaded {
        Err(error) => view! { <LoadError error /> }.into_any(),
        Ok(list) if list.is_empty() => view! { <p class="aside">{empty}</p> }.into_any(),
        Ok(list) => show(list).into_any(),
    }
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
