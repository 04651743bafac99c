//! Pages reached from mail and for getting back in: asking for a reset link,
//! choosing a new password, confirming an address, and "this wasn't me".
//! Opening a link changes nothing (a mail scanner may open it); its button
//! does, by a post that works without JavaScript.

use super::{in_place, query_error, Card, EmailField, Fields};
use crate::{auth::Done, error::AppError};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::future::Future;

/// The `?token=` of this page's address, and a message if it has none.
fn token_of_page() -> (String, Option<String>) {
    let token = use_query_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let missing = token.is_empty().then(|| {
        "This link is incomplete. Open it again from the message, or ask for a new one.".to_owned()
    });
    (token, missing)
}

/// Whether a form post without JavaScript came back here done (`?done`).
fn done_in_query() -> bool {
    use_query_map().read_untracked().get("done").is_some()
}

/// Ask for a password-reset link.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let message = RwSignal::new(query_error());
    let sent = RwSignal::new(use_query_map().read_untracked().get("sent").is_some());
    let pending = RwSignal::new(false);
    let on_submit = in_place(move |form: Fields| async move {
        pending.set(true);
        match crate::recovery::server_fns::request_password_reset(form.get("email")).await {
            Ok(_) => {
                message.set(None);
                sent.set(true);
            }
            Err(err) => message.set(Some(err.message)),
        }
        pending.set(false);
    });
    view! {
        <Card title="Forgot your password?" heading="Forgot your password?" message narrow=true>
            <Show
                when=move || sent.get()
                fallback=move || view! {
                    <p>"Enter your account's email address and we will send you a link to choose a new password."</p>
                    <form method="post" action="/api/request_password_reset" on:submit=on_submit novalidate>
                        <input type="hidden" name="next" value="/forgot-password?sent=1" />
                        <EmailField />
                        <button type="submit" disabled=move || pending.get()>"Send me a link"</button>
                    </form>
                }
            >
                <p role="status" data-testid="reset-sent">
                    "If an account uses that address, a link is on its way. It works once, for 30 minutes. "
                    "Nothing arrived? Check your spam folder, or ask again in a minute."
                </p>
            </Show>
            <p class="aside">"Remembered it? " <a href="/login">"Sign in"</a> "."</p>
        </Card>
    }
}

/// Choose a new password from a reset link.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let (token, missing) = token_of_page();
    let message = RwSignal::new(query_error().or(missing));
    let pending = RwSignal::new(false);
    let on_submit = in_place(move |form: Fields| async move {
        let call = crate::recovery::server_fns::reset_password(
            form.get("token"),
            form.get("new_password"),
        );
        super::sign_in_two_step(call, "/", pending, message).await
    });
    view! {
        <Card title="Choose a new password" heading="Choose a new password" message narrow=true>
            <form method="post" action="/api/reset_password" on:submit=on_submit novalidate>
                <input type="hidden" name="next" value="/" />
                <input type="hidden" name="token" value=token />
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required />
                <p class="aside">"Every device signed in to your account will be signed out; this one will be signed in."</p>
                <button type="submit" disabled=move || pending.get()>"Set password and sign in"</button>
            </form>
            <p class="aside">"Link expired? " <a href="/forgot-password">"Ask for a new one"</a> "."</p>
        </Card>
    }
}

/// A page whose one button uses the link's token: `call` once hydrated, a
/// post to `endpoint` without JavaScript, then `done`.
#[component]
fn LinkAction<F, Fut>(
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    endpoint: &'static str,
    page: &'static str,
    done: fn() -> AnyView,
    call: F,
) -> impl IntoView
where
    F: Fn(String) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Done, AppError>> + 'static,
{
    let (token, missing) = token_of_page();
    let finished = RwSignal::new(done_in_query());
    let message = RwSignal::new(query_error().or(missing.filter(|_| !finished.get_untracked())));
    let pending = RwSignal::new(false);
    let on_submit = in_place(move |form: Fields| async move {
        pending.set(true);
        match call(form.get("token")).await {
            Ok(_) => {
                message.set(None);
                finished.set(true);
            }
            Err(err) => message.set(Some(err.message)),
        }
        pending.set(false);
    });
    view! {
        <Card title=title heading=title message narrow=true>
            <Show
                when=move || finished.get()
                fallback=move || view! {
                    <p>{intro}</p>
                    <form method="post" action=endpoint on:submit=on_submit>
                        <input type="hidden" name="next" value=format!("{page}?done=1") />
                        <input type="hidden" name="token" value=token.clone() />
                        <button type="submit" disabled=move || pending.get()>{button}</button>
                    </form>
                }
            >
                <div role="status" data-testid="link-done">{done()}</div>
            </Show>
        </Card>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    view! {
        <LinkAction
            title="Confirm your email address"
            intro="Confirm that this address is yours."
            button="Confirm my address"
            endpoint="/api/verify_email"
            page="/verify-email"
            done=|| view! { <p>"Your email address is confirmed. " <a href="/">"Continue"</a> "."</p> }.into_any()
            call=crate::recovery::server_fns::verify_email
        />
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    view! {
        <LinkAction
            title="Confirm your new address"
            intro="Use this address for your account from now on. Every other device signed in to it will be signed out."
            button="Use this address"
            endpoint="/api/confirm_email_change"
            page="/confirm-email"
            done=|| view! { <p>"Your account uses its new address now. " <a href="/">"Continue"</a> "."</p> }.into_any()
            call=crate::recovery::server_fns::confirm_email_change
        />
    }
}

#[component]
pub fn NotMePage() -> impl IntoView {
    view! {
        <LinkAction
            title="This wasn't me"
            intro="Sign out the device from the alert at once. Then choose a new password, so whoever signed in cannot do it again."
            button="Sign that device out"
            endpoint="/api/not_me"
            page="/not-me"
            done=|| view! {
                <p>"That device is signed out. Whoever used it knew your password: "
                    <a href="/forgot-password">"choose a new password now"</a> "."</p>
            }.into_any()
            call=crate::recovery::server_fns::not_me
        />
    }
}
