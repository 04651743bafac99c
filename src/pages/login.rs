use super::{in_place, query_error, signed_in_here, Card, EmailField};
use crate::error::ErrorCode;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Sign in. `?next=` says where to go afterwards; `?error=` carries why the
/// person landed here (e.g. signed out from another device).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    // `?link=<name>`: a provider vouched for an address an account already
    // uses; after this sign-in the browser goes back to the provider, and
    // the round trip links it to the account just signed in to.
    let link = query
        .read_untracked()
        .get("link")
        .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()));
    let buttons = super::providers::buttons_resource();
    // Hydrated, the page goes straight back to the provider after signing
    // in. A form posted without JavaScript lands on the security page
    // instead, whose "Link" button is a plain link: a form's redirect to
    // another origin would break the CSP's `form-action 'self'`.
    let link_now = link
        .as_ref()
        .map(|name| super::providers::start_url(name, Some(&next), None));
    let next = match &link {
        Some(name) => format!("/security?link={name}"),
        None => next,
    };
    let next_for_passkey = link_now.clone().unwrap_or_else(|| next.clone());
    let link_now = StoredValue::new(link_now);
    let message = RwSignal::new(query_error().or_else(|| {
        link.as_ref().map(|_| {
            "An account with this email address already exists. Sign in to it (with your password, a passkey or a code): the provider is then linked to it, and you can use either next time.".to_owned()
        })
    }));
    let pending = RwSignal::new(false);
    let next_for_providers = next.clone();

    let on_submit = in_place(move |form| async move {
        let call = crate::auth::server_fns::login(form.get("email"), form.get("password"), None);
        let next = link_now.get_value().unwrap_or_else(|| form.get("next"));
        super::sign_in_two_step(call, &next, pending, message).await
    });

    view! {
        <Card title="Sign in" heading="Sign in" message narrow=true>
            <form method="post" action="/api/login" on:submit=on_submit novalidate>
                <input type="hidden" name="next" value=next />
                <EmailField passkeys=true />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <button type="submit" disabled=move || pending.get()>"Sign in"</button>
            </form>
            <super::passkeys::PasskeySignIn next=next_for_passkey message pending />
            {link.is_none().then(|| view! {
                <super::providers::ProviderButtons buttons next=next_for_providers />
            })}
            <p class="aside"><a href="/forgot-password">"Forgot your password?"</a></p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a> "."</p>
        </Card>
    }
}

/// The second step of a sign-in: a code from the authenticator app, or a
/// recovery code. Reached after a correct password on an account with a
/// second factor, with or without JavaScript.
#[component]
pub fn SecondStepPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let expired = super::query_error_is(ErrorCode::InvalidToken);
    let message = RwSignal::new(if expired {
        Some(STEP_EXPIRED.to_owned())
    } else {
        query_error()
    });
    let pending = RwSignal::new(false);

    let on_submit = in_place(move |form| async move {
        pending.set(true);
        match crate::mfa::server_fns::login_mfa(form.get("code"), None).await {
            Ok(_) => signed_in_here(&form.get("next")),
            Err(err) => {
                message.set(Some(err.message));
                pending.set(false);
            }
        }
    });

    view! {
        <Card title="Two-step sign-in" heading="Enter your code" message narrow=true>
            <form method="post" action="/api/login_mfa" on:submit=on_submit novalidate>
                <input type="hidden" name="next" value=next />
                <p>"Open your authenticator app and enter the six-digit code it shows for gatehouse. No phone at hand? Enter one of your recovery codes instead."</p>
                <label for="code">"Code"</label>
                <input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="20" required />
                <button type="submit" disabled=move || pending.get()>"Continue"</button>
            </form>
            <p class="aside"><a href="/login">"Start again with your password"</a></p>
        </Card>
    }
}

const STEP_EXPIRED: &str = "This sign-in has expired. Please enter your email and password again.";
