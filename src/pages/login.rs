use super::{query_error, FormMessage};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Sign in. `?next=` says where to go afterwards; `?error=` carries why the
/// person landed here (e.g. signed out from another device).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let message = RwSignal::new(query_error());
    let pending = RwSignal::new(false);

    let on_submit = {
        let next = next.clone();
        move |ev: leptos::ev::SubmitEvent| {
            #[cfg(feature = "hydrate")]
            {
                ev.prevent_default();
                let email = super::form_field(&ev, "email");
                let password = super::form_field(&ev, "password");
                let next = next.clone();
                pending.set(true);
                leptos::task::spawn_local(async move {
                    match crate::auth::login(email, password, None).await {
                        Ok(_) => crate::client::signed_in_here(&next),
                        Err(err) => {
                            message.set(Some(err.message));
                            pending.set(false);
                        }
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (ev, &next);
        }
    };

    view! {
        <Title text="Sign in · gatehouse" />
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <FormMessage message=message.into() />
            <form method="post" action="/api/login" on:submit=on_submit novalidate>
                <input type="hidden" name="next" value=next.clone() />
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <button type="submit" disabled=move || pending.get()>"Sign in"</button>
            </form>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a> "."</p>
        </section>
    }
}
