use crate::app::use_user;
use leptos::prelude::*;
use leptos_meta::Title;

/// The start page: who you are when signed in, an introduction otherwise.
#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_user();
    view! {
        <Title text="gatehouse" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(me)) => {
                        view! {
                            <section class="card">
                                <h1>"Welcome back"</h1>
                                <p data-testid="whoami">
                                    "You are signed in as " <strong>{me.email.clone()}</strong> "."
                                </p>
                                <crate::pages::security::Notices />
                                <ul class="links">
                                    <li><a href="/sessions">"Devices you are signed in on"</a></li>
                                    <li><a href="/security">"Security log and password"</a></li>
                                    {(me.role == "admin").then(|| view! { <li><a href="/admin">"Administration"</a></li> })}
                                </ul>
                            </section>
                        }
                            .into_any()
                    }
                    _ => {
                        view! {
                            <section class="card">
                                <h1>"gatehouse"</h1>
                                <p>
                                    "Sign-in that stays out of your way: short-lived access tokens, "
                                    "rotating refresh tokens in HttpOnly cookies, and a list of every device "
                                    "you are signed in on, each one revocable at once."
                                </p>
                                <p class="actions">
                                    <a class="button" href="/login">"Sign in"</a>
                                    <a class="button secondary" href="/register">"Create an account"</a>
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
