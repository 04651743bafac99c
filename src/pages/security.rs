use super::{in_place, list_view, with_refresh, Card, LocalTime, ReauthPrompt};
use crate::{
    error::ErrorCode,
    sessions::{
        server_fns::{notices, security_events},
        SecurityEventInfo,
    },
};
use leptos::prelude::*;

const EMAIL_LINK_SENT: &str = "We sent a link to the new address: your address changes when you follow it. Your current address got a notice.";

/// The security log, password and email changes, and account deletion.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let sent = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("sent")
        .is_some();
    let message =
        RwSignal::new(super::query_error().or_else(|| sent.then(|| EMAIL_LINK_SENT.to_owned())));
    let events = Resource::new(|| (), |_| with_refresh(security_events));
    let confirm_delete = RwSignal::new(false);
    let two_step = super::second_factor::status_resource();
    let passkeys = super::passkeys::passkeys_resource();
    let buttons = super::providers::buttons_resource();
    let identities = super::providers::identities_resource();
    // The layout's signed-in person (`app::UserResource`), by its type.
    let user = expect_context::<UserResource>();

    let on_change_password = in_place(move |form| async move {
        let call = || {
            crate::sessions::server_fns::change_password(
                form.get("current_password"),
                form.get("new_password"),
            )
        };
        match with_refresh(call).await {
            Ok(_) => {
                message.set(Some(
                    "Password changed. Your other devices were signed out.".into(),
                ));
                events.refetch();
            }
            Err(err) => super::handle_error(&err, message),
        }
    });
    let on_change_email = in_place(move |form| async move {
        let call = || {
            crate::recovery::server_fns::change_email(form.get("new_email"), form.get("password"))
        };
        match with_refresh(call).await {
            Ok(_) => message.set(Some(EMAIL_LINK_SENT.into())),
            Err(err) => super::handle_error(&err, message),
        }
    });
    let on_delete = in_place(move |form| async move {
        match with_refresh(|| crate::sessions::server_fns::delete_account(form.get("password")))
            .await
        {
            Ok(_) => super::signed_out_here(),
            Err(err) => super::handle_error(&err, message),
        }
    });

    view! {
        <Card title="Security" heading="Security" message>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // An account opened through a provider has no password
                    // yet: it sets one (after a recent sign-in) instead.
                    let has_password = user
                        .await
                        .ok()
                        .flatten()
                        .is_none_or(|u| u.has_password);
                    let (heading, button) = if has_password {
                        ("Change password", "Change password")
                    } else {
                        ("Set a password", "Set password")
                    };
                    view! {
                        <h2>{heading}</h2>
                        <form method="post" action="/api/change_password" on:submit=on_change_password novalidate>
                            <input type="hidden" name="next" value="/security" />
                            {if has_password {
                                view! {
                                    <label for="current_password">"Current password"</label>
                                    <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
                                }.into_any()
                            } else {
                                view! {
                                    <p>"You sign in with a provider. A password lets you sign in without it too."</p>
                                    <input type="hidden" name="current_password" value="" />
                                }.into_any()
                            }}
                            <label for="new_password">"New password"</label>
                            <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required />
                            <button type="submit">{button}</button>
                        </form>
                    }
                })}
            </Transition>
            <h2>"Change email address"</h2>
            <form method="post" action="/api/change_email" on:submit=on_change_email novalidate>
                <input type="hidden" name="next" value="/security?sent=1" />
                <label for="new_email">"New email address"</label>
                <input id="new_email" name="new_email" type="email" autocomplete="email" required />
                <CurrentPassword user id="email_password" label="Current password" />
                <button type="submit">"Change email address"</button>
            </form>
            <super::second_factor::TwoStepSection status=two_step />
            <super::passkeys::PasskeysSection passkeys />
            <super::providers::ProvidersSection buttons identities />
            <h2>"Recent activity"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    list_view(events.await, "Nothing yet.", |list| view! {
                        <ol class="events" data-testid="events">
                            {list.into_iter().map(|e| view! { <EventRow event=e /> }).collect_view()}
                        </ol>
                    })
                })}
            </Transition>
            <DownloadData />
            <h2>"Delete account"</h2>
            <Show
                when=move || confirm_delete.get()
                fallback=move || {
                    view! {
                        <p>
                            "Deleting removes your account, every session and this log. "
                            <button type="button" class="link-button danger-text" on:click=move |_| confirm_delete.set(true)>
                                "Delete my account…"
                            </button>
                        </p>
                        <noscript>
                            <form method="post" action="/api/delete_account">
                                <input type="hidden" name="next" value="/login" />
                                <CurrentPassword user id="delete_password_nojs" label="Password" />
                                <button type="submit" class="danger">"Delete my account for good"</button>
                            </form>
                        </noscript>
                    }
                }
            >
                <form class="confirm" method="post" action="/api/delete_account" on:submit=on_delete>
                    <input type="hidden" name="next" value="/login" />
                    <p>"This cannot be undone."</p>
                    <CurrentPassword user id="delete_password" label="Password" />
                    <button type="submit" class="danger">"Delete my account for good"</button>
                    <button type="button" class="link-button" on:click=move |_| confirm_delete.set(false)>"Cancel"</button>
                </form>
            </Show>
        </Card>
    }
}

/// The signed-in person, as the layout loaded it (`app::UserResource`).
type UserResource = Resource<Result<Option<crate::auth::CurrentUser>, crate::error::AppError>>;

/// The current password a sensitive change asks for; an account without
/// one (opened through a provider) confirms with a recent sign-in instead,
/// so the field is left out rather than required and impossible to fill.
#[component]
fn CurrentPassword(user: UserResource, id: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let has_password = user.await.ok().flatten().is_none_or(|u| u.has_password);
                if has_password {
                    view! {
                        <label for=id>{label}</label>
                        <input id=id name="password" type="password" autocomplete="current-password" required />
                    }
                    .into_any()
                } else {
                    view! {
                        <p class="hint">"You have no password: a recent sign-in confirms it's you."</p>
                        <input type="hidden" name="password" value="" />
                    }
                    .into_any()
                }
            })}
        </Transition>
    }
}

/// "Download my data": a plain form post, with JavaScript or without; the
/// answer is a file the browser saves while the page stays. Without a
/// recent sign-in the post comes back here with `?error=reauth_required`,
/// and the prompt asks for the password (or a code) first.
#[component]
fn DownloadData() -> impl IntoView {
    let needs_proof = RwSignal::new(super::query_error_is(ErrorCode::ReauthRequired));
    let message = RwSignal::new(None::<String>);
    let proved = move || message.set(Some("Confirmed. You can download your data now.".into()));
    view! {
        <section aria-labelledby="data-heading" data-testid="your-data">
            <h2 id="data-heading">"Your data"</h2>
            <p>"Everything gatehouse keeps about your account (your details, devices, this log and your sign-in methods) as one JSON file. It holds no password, code or key."</p>
            <ReauthPrompt needed=needs_proof next="/security" then=proved key="_export" />
            <super::FormMessage message=message.into() />
            <form method="post" action="/api/export_data">
                <button type="submit" class="secondary" data-testid="download-data">"Download my data"</button>
            </form>
        </section>
    }
}

#[component]
fn EventRow(event: SecurityEventInfo) -> impl IntoView {
    view! {
        <li class="event" data-kind=event.kind.as_str()>
            <strong>{event.kind.title()}</strong>
            " · "
            <LocalTime at=event.at.clone() />
            <div class="event-meta">
                {event.device.clone()}
                {event.ip.clone().map(|ip| format!(" · {ip}"))}
            </div>
            <div class="event-detail">{event.detail.clone()}</div>
        </li>
    }
}

/// The pending notices, loaded by the page that shows them (created at the
/// page's top, never inside a `Suspend`: a resource created while a
/// suspended view renders can leave the server render waiting).
pub fn notices_resource() -> Resource<Result<Vec<SecurityEventInfo>, crate::error::AppError>> {
    Resource::new(|| (), |_| notices())
}

/// "New device or address" notices, until dismissed.
#[component]
pub fn Notices(
    pending: Resource<Result<Vec<SecurityEventInfo>, crate::error::AppError>>,
) -> impl IntoView {
    let hidden = RwSignal::new(false);
    let on_dismiss = in_place(move |_| async move {
        hidden.set(true);
        let _ = crate::sessions::server_fns::dismiss_notices().await;
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = pending.await.unwrap_or_default();
                (!list.is_empty() && !hidden.get())
                    .then(|| {
                        view! {
                            <div class="notice" role="status" data-testid="new-device-notice">
                                <p>
                                    <strong>"Your account was used from a new device or address. "</strong>
                                    {list.first().map(|e| e.detail.clone())}
                                    " If this wasn't you, "
                                    <a href="/sessions">"review your devices"</a>
                                    " and change your password."
                                </p>
                                <form method="post" action="/api/dismiss_notices" on:submit=on_dismiss>
                                    <input type="hidden" name="next" value="/" />
                                    <button type="submit" class="small secondary">"Dismiss"</button>
                                </form>
                            </div>
                        }
                    })
            })}
        </Transition>
    }
}
