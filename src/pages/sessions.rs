use super::{in_place, with_refresh, Card, LocalTime};
use crate::{
    error::ErrorCode,
    sessions::{server_fns::list_sessions, SessionInfo},
    vocab::SessionKind,
};
use leptos::{ev::SubmitEvent, prelude::*};
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
    let needs_proof = RwSignal::new(super::query_error_is(ErrorCode::ReauthRequired));
    // The device a sign-out was asked for that first needs a recent
    // sign-in (another device's session; this one's needs none).
    let pending_one = RwSignal::new(None::<String>);
    let revoke_one = move |id: String| async move {
        match with_refresh(|| crate::sessions::server_fns::revoke_session(id.clone())).await {
            Ok(_) => {
                message.set(Some("That device was signed out.".into()));
                after_revoke();
            }
            Err(err) if err.error == ErrorCode::ReauthRequired => {
                message.set(Some(err.message));
                pending_one.set(Some(id));
                needs_proof.set(true);
            }
            Err(err) => super::handle_error(&err, message),
        }
    };
    let on_revoke_one = in_place(move |form| revoke_one(form.get("session_id")));
    let revoke_others = move || async move {
        match with_refresh(crate::sessions::server_fns::revoke_other_sessions).await {
            Ok(done) => {
                message.set(Some(format!(
                    "Signed out {} other device(s).",
                    done.revoked
                )));
                after_revoke();
            }
            Err(err) if err.error == ErrorCode::ReauthRequired => {
                message.set(Some(err.message));
                needs_proof.set(true);
            }
            Err(err) => super::handle_error(&err, message),
        }
    };
    let on_revoke_others = in_place(move |_| revoke_others());
    let retry = move || {
        message.set(None);
        match pending_one.get_untracked() {
            Some(id) => {
                pending_one.set(None);
                leptos::task::spawn_local(revoke_one(id));
            }
            None => leptos::task::spawn_local(revoke_others()),
        }
    };
    // Without JavaScript the prompt returns to the confirm step it came from.
    // The value is encoded: a crafted one cannot add parameters of its own.
    let reauth_next = format!(
        "/sessions?confirm={}",
        crate::redirect::encode_component(
            &confirm.get_untracked().unwrap_or_else(|| "others".into())
        )
    );

    view! {
        <Card title="Devices" heading="Devices you are signed in on" message>
            <super::ReauthPrompt needed=needs_proof next=reauth_next then=retry />
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
                                                <ConfirmForm
                                                    action="/api/revoke_other_sessions"
                                                    on_submit=on_revoke_others
                                                    question="Sign out every device except this one?"
                                                    yes="Yes, sign them out"
                                                />
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
        </Card>
    }
}

#[component]
fn SessionRow(
    session: SessionInfo,
    confirm: Memo<Option<String>>,
    on_revoke: impl Fn(SubmitEvent) + Copy + Send + Sync + 'static,
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
                {(session.kind == SessionKind::Api).then(|| view! { <span class="badge muted">"API"</span> })}
            </div>
            <dl class="session-meta">
                <dt>"Address"</dt>
                <dd>{session.ip.clone().unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Signed in with"</dt>
                <dd data-testid="method">
                    {session.method_title.clone()}
                </dd>
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
                <ConfirmForm
                    action="/api/revoke_session"
                    on_submit=on_revoke
                    question="Sign out this device?"
                    yes="Yes, sign out"
                    session_id=id.clone()
                />
            </Show>
        </li>
    }
}

/// The confirm step of a revocation: a form post back to `/sessions` (in
/// place once hydrated), or "Cancel".
#[component]
fn ConfirmForm(
    action: &'static str,
    on_submit: impl Fn(SubmitEvent) + Copy + Send + Sync + 'static,
    question: &'static str,
    yes: &'static str,
    /// The session to sign out; none for "all others".
    #[prop(optional, into)]
    session_id: Option<String>,
) -> impl IntoView {
    let small = session_id.is_some();
    view! {
        <form class="confirm" method="post" action=action on:submit=on_submit>
            {session_id.map(|id| view! { <input type="hidden" name="session_id" value=id /> })}
            <input type="hidden" name="next" value="/sessions" />
            <span>{question}</span>
            <button type="submit" class="danger" class:small=small>{yes}</button>
            <a href="/sessions">"Cancel"</a>
        </form>
    }
}
