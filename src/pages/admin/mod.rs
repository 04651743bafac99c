//! `/admin`: the console (find users, see and end their sessions, disable
//! or enable accounts), the security dashboard and everyone's security
//! events.

mod chart;
mod dashboard;
mod events;

use self::{dashboard::DashboardSection, events::EventLog};
use super::{list_view, with_refresh, Card, LocalTime, ReauthPrompt};
use crate::{
    admin::{
        server_fns::{admin_sessions, admin_users},
        AdminUser,
    },
    error::ErrorCode,
    vocab::Role,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The admin console: search users, see a user's sessions, disable or enable
/// accounts, revoke sessions; below it the security dashboard and the event
/// log. Its forms are plain posts (a full page load afterwards), which work
/// the same with or without JavaScript.
#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| query.read().get("query").unwrap_or_default());
    let selected = Memo::new(move |_| query.read().get("user"));
    let message = RwSignal::new(super::query_error());
    let users = Resource::new(
        move || search.get(),
        |q| with_refresh(move || admin_users(Some(q.clone()))),
    );
    let sessions = Resource::new(
        move || selected.get(),
        |user| async move {
            match user {
                Some(id) => with_refresh(move || admin_sessions(id.clone()))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
    );
    let here = Memo::new(move |_| {
        let mut path = String::from("/admin");
        let q = query.read().to_query_string();
        let q = q.trim_start_matches('?');
        let kept: Vec<&str> = q
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("error="))
            .collect();
        if !kept.is_empty() {
            path.push('?');
            path.push_str(&kept.join("&"));
        }
        path
    });

    // Ending someone's sessions needs this administrator's recent sign-in:
    // a refused action comes back here and asks for it in place.
    let needs_proof = RwSignal::new(super::query_error_is(ErrorCode::ReauthRequired));
    let proved = move || message.set(Some("Confirmed. You can do it now.".into()));

    view! {
        <Card title="Admin" heading="Administration" message>
            <ReauthPrompt needed=needs_proof next=here.get_untracked() then=proved />
            <form method="get" action="/admin" class="search" role="search">
                <label for="query">"Find users by email"</label>
                <input id="query" name="query" type="search" value=move || search.get() />
                <button type="submit">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    list_view(users.await, "No users match.", |list| view! {
                        <ul class="sessions" data-testid="admin-users">
                            {list.into_iter().map(|u| view! { <UserRow user=u here /> }).collect_view()}
                        </ul>
                    })
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(Some(list)) => {
                            view! {
                                <h2>"Sessions"</h2>
                                {list.is_empty().then(|| view! { <p class="aside">"No active sessions."</p> })}
                                <ul class="sessions" data-testid="admin-sessions">
                                    {list
                                        .into_iter()
                                        .map(|s| {
                                            view! {
                                                <li class="session">
                                                    <strong class="device">{s.device.clone()}</strong>
                                                    " · " {s.kind.as_str()} " · "
                                                    {s.ip.clone().unwrap_or_else(|| "unknown".into())}
                                                    " · last active " <LocalTime at=s.last_used_at.clone() />
                                                    <form method="post" action="/api/admin/revoke_session" class="confirm">
                                                        <input type="hidden" name="session_id" value=s.id.clone() />
                                                        <input type="hidden" name="next" value=move || here.get() />
                                                        <button type="submit" class="danger small">"Revoke"</button>
                                                    </form>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        _ => ().into_any(),
                    }
                })}
            </Transition>
        </Card>
        <DashboardSection />
        <EventLog />
    }
}

#[component]
fn UserRow(user: AdminUser, here: Memo<String>) -> impl IntoView {
    let (action, label) = if user.disabled {
        ("/api/admin/enable_user", "Enable")
    } else {
        ("/api/admin/disable_user", "Disable")
    };
    let sessions_href = format!("/admin?user={}", user.id);
    view! {
        <li class="session" data-testid="admin-user">
            <div class="session-main">
                <strong>{user.email.clone()}</strong>
                {(user.role == Role::Admin).then(|| view! { <span class="badge">"admin"</span> })}
                {user.disabled.then(|| view! { <span class="badge muted">"disabled"</span> })}
                {user.second_factor.then(|| view! { <span class="badge muted">"two-step"</span> })}
                {user.providers.iter().map(|p| view! { <span class="badge muted" data-provider=p.clone()>{format!("via {p}")}</span> }).collect_view()}
            </div>
            <p class="aside">
                <a href=sessions_href>{format!("{} active session(s)", user.sessions)}</a>
            </p>
            <form method="post" action=action class="confirm">
                <input type="hidden" name="user_id" value=user.id.clone() />
                <input type="hidden" name="next" value=move || here.get() />
                <button type="submit" class=if user.disabled { "small" } else { "danger small" }>{label}</button>
            </form>
            {user.second_factor.then(|| view! {
                <form method="post" action="/api/admin/reset_mfa" class="confirm">
                    <input type="hidden" name="user_id" value=user.id.clone() />
                    <input type="hidden" name="next" value=move || here.get() />
                    <button type="submit" class="small secondary">"Reset second factor"</button>
                </form>
            })}
        </li>
    }
}
