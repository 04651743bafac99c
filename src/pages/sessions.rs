use super::{with_refresh, FormMessage, LocalTime};
use crate::sessions::{list_sessions, SessionInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Every device the person is signed in on; revoke one, or all but this one.
/// Each revocation has a confirm step (`?confirm=<id>` or `?confirm=others`),
/// which works the same with and without JavaScript.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let confirm = Memo::new(move |_| query.read().get("confirm"));
    let message = RwSignal::new(super::query_error());
    let sessions = Resource::new(|| (), |_| with_refresh(list_sessions));

    let after_revoke = move || {
        sessions.refetch();
        use_navigate()("/sessions", Default::default());
    };
    let on_revoke_one = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            let id = super::form_field(&ev, "session_id");
            leptos::task::spawn_local(async move {
                match with_refresh(|| crate::sessions::revoke_session(id.clone())).await {
                    Ok(_) => {
                        message.set(Some("That device was signed out.".into()));
                        after_revoke();
                    }
                    Err(err) => super::handle_error(&err, message),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, after_revoke);
    };
    let on_revoke_others = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            leptos::task::spawn_local(async move {
                match with_refresh(crate::sessions::revoke_other_sessions).await {
                    Ok(done) => {
                        message.set(Some(format!(
                            "Signed out {} other device(s).",
                            done.revoked
                        )));
                        after_revoke();
                    }
                    Err(err) => super::handle_error(&err, message),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    view! {
        <Title text="Devices · gatehouse" />
        <section class="card">
            <h1>"Devices you are signed in on"</h1>
            <FormMessage message=message.into() />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Err(err) => view! { <super::LoadError error=err /> }.into_any(),
                        Ok(list) => {
                            let others = list.iter().filter(|s| !s.current).count();
                            view! {
                                <ul class="sessions" data-testid="sessions">
                                    {list
                                        .into_iter()
                                        .map(|s| view! { <SessionRow session=s confirm on_revoke=on_revoke_one /> })
                                        .collect_view()}
                                </ul>
                                {(others > 0)
                                    .then(|| {
                                        view! {
                                            <Show
                                                when=move || confirm.get().as_deref() == Some("others")
                                                fallback=|| {
                                                    view! {
                                                        <a class="button secondary" href="/sessions?confirm=others">
                                                            "Sign out all other devices"
                                                        </a>
                                                    }
                                                }
                                            >
                                                <form
                                                    class="confirm"
                                                    method="post"
                                                    action="/api/revoke_other_sessions"
                                                    on:submit=on_revoke_others
                                                >
                                                    <input type="hidden" name="next" value="/sessions" />
                                                    <p>"Sign out every device except this one?"</p>
                                                    <button type="submit" class="danger">"Yes, sign them out"</button>
                                                    <a href="/sessions">"Cancel"</a>
                                                </form>
                                            </Show>
                                        }
                                    })}
                                {(others == 0).then(|| view! { <p class="aside">"This is the only device you are signed in on."</p> })}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionRow(
    session: SessionInfo,
    confirm: Memo<Option<String>>,
    on_revoke: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = session.id.clone();
    let confirming = {
        let id = id.clone();
        move || confirm.get().as_deref() == Some(id.as_str())
    };
    let confirm_href = format!("/sessions?confirm={id}");
    view! {
        <li class="session" class:current=session.current data-testid="session">
            <div class="session-main">
                <strong class="device">{session.device.clone()}</strong>
                {session.current.then(|| view! { <span class="badge">"this device"</span> })}
                {(session.kind == "api").then(|| view! { <span class="badge muted">"API"</span> })}
            </div>
            <dl class="session-meta">
                <dt>"Address"</dt>
                <dd>{session.ip.clone().unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Signed in"</dt>
                <dd><LocalTime at=session.created_at.clone() /></dd>
                <dt>"Last active"</dt>
                <dd><LocalTime at=session.last_used_at.clone() /></dd>
            </dl>
            <Show
                when=confirming
                fallback=move || {
                    view! {
                        <a class="button secondary small" href=confirm_href.clone()>
                            {if session.current { "Sign out here" } else { "Sign out" }}
                        </a>
                    }
                }
            >
                <form class="confirm" method="post" action="/api/revoke_session" on:submit=on_revoke>
                    <input type="hidden" name="session_id" value=id.clone() />
                    <input type="hidden" name="next" value="/sessions" />
                    <span>"Sign out this device?"</span>
                    <button type="submit" class="danger small">"Yes, sign out"</button>
                    <a href="/sessions">"Cancel"</a>
                </form>
            </Show>
        </li>
    }
}
