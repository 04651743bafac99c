use crate::vocab::Role;
use leptos::prelude::*;
use leptos_meta::Title;

const LINK_SENT: &str = "A new link is on its way. It works for 24 hours.";

/// Asks an unverified person to confirm their address, with "send again".
#[component]
fn VerifyBanner() -> impl IntoView {
    let sent = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("sent")
        .is_some();
    let message = RwSignal::new(
        sent.then(|| LINK_SENT.to_owned())
            .or_else(super::query_error),
    );
    let on_send = super::in_place(move |_| async move {
        match super::with_refresh(crate::recovery::server_fns::send_verification).await {
            Ok(_) => message.set(Some(LINK_SENT.into())),
            Err(err) => super::handle_error(&err, message),
        }
    });
    view! {
        <div class="notice" data-testid="verify-banner">
            <p>
                <strong>"Please confirm your email address. "</strong>
                "We sent a link to it when you signed up."
            </p>
            <form method="post" action="/api/send_verification" on:submit=on_send>
                <input type="hidden" name="next" value="/?sent=1" />
                <button type="submit" class="small secondary">"Send the link again"</button>
            </form>
            <super::FormMessage message=message.into() />
        </div>
    }
}

/// The start page: who you are when signed in, an introduction otherwise.
#[component]
pub fn HomePage() -> impl IntoView {
    // Its own copy of the signed-in person, not the header's: one resource
    // awaited under two Suspense boundaries can leave a server render
    // waiting forever (leptos-rs/leptos#4851).
    let user = Resource::new(|| (), |_| crate::auth::server_fns::whoami());
    let notices = crate::pages::security::notices_resource();
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
                                {(!me.email_verified).then(|| view! { <VerifyBanner /> })}
                                <crate::pages::security::Notices pending=notices />
                                <ul class="links">
                                    <li><a href="/sessions">"Devices you are signed in on"</a></li>
                                    <li><a href="/security">"Security log and password"</a></li>
                                    {(me.role == Role::Admin).then(|| view! { <li><a href="/admin">"Administration"</a></li> })}
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
