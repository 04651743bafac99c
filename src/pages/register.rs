use super::{in_place, query_error, sign_in_with, Card, EmailField};
use leptos::prelude::*;

/// Create an account; signs in on success.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let message = RwSignal::new(query_error());
    let pending = RwSignal::new(false);
    let buttons = super::providers::buttons_resource();

    let on_submit = in_place(move |form| async move {
        let call = crate::auth::server_fns::register(form.get("email"), form.get("password"));
        sign_in_with(call, "/", pending, message).await
    });

    view! {
        <Card title="Create account" heading="Create an account" message narrow=true>
            <form method="post" action="/api/register" on:submit=on_submit novalidate>
                <EmailField />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    minlength="8"
                    aria-describedby="password-hint"
                    required
                />
                <p id="password-hint" class="hint">
                    "At least 8 characters. A few unrelated words make a strong, memorable password."
                </p>
                <button type="submit" disabled=move || pending.get()>"Create account"</button>
            </form>
            <super::providers::ProviderButtons buttons next="/".to_owned() />
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a> "."</p>
        </Card>
    }
}
