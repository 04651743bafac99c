use super::{in_place, query_error, sign_in_with, Card, EmailField};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Sign in. `?next=` says where to go afterwards; `?error=` carries why the
/// person landed here (e.g. signed out from another device).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let message = RwSignal::new(query_error());
    let pending = RwSignal::new(false);

    let on_submit = in_place(move |form| async move {
        let call = crate::auth::login(form.get("email"), form.get("password"), None);
        sign_in_with(call, &form.get("next"), pending, message).await
    });

    view! {
        <Card title="Sign in" heading="Sign in" message narrow=true>
            <form method="post" action="/api/login" on:submit=on_submit novalidate>
                <input type="hidden" name="next" value=next />
                <EmailField />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <button type="submit" disabled=move || pending.get()>"Sign in"</button>
            </form>
            <p class="aside"><a href="/forgot-password">"Forgot your password?"</a></p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a> "."</p>
        </Card>
    }
}
