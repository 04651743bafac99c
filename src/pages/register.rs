use super::{query_error, FormMessage};
use leptos::prelude::*;
use leptos_meta::Title;

/// Create an account; signs in on success.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let message = RwSignal::new(query_error());
    let pending = RwSignal::new(false);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            let email = super::form_field(&ev, "email");
            let password = super::form_field(&ev, "password");
            pending.set(true);
            leptos::task::spawn_local(async move {
                match crate::auth::register(email, password).await {
                    Ok(_) => crate::client::signed_in_here("/"),
                    Err(err) => {
                        message.set(Some(err.message));
                        pending.set(false);
                    }
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    view! {
        <Title text="Create account · gatehouse" />
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <FormMessage message=message.into() />
            <form method="post" action="/api/register" on:submit=on_submit novalidate>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
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
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a> "."</p>
        </section>
    }
}
