//! Passkeys on the pages: signing in with one (a button, and the email
//! field's autofill where the browser offers it), and adding, renaming and
//! removing them on the security page. Passkeys need JavaScript; without it
//! these controls are not offered.

use super::{handle_error, in_place, with_refresh, FormMessage, LocalTime, ReauthPrompt};
use crate::{
    error::{AppError, ErrorCode},
    mfa::{self, PasskeyInfo},
};
use leptos::prelude::*;

/// Whether this page runs hydrated in a browser that supports passkeys
/// (false on the server and until hydration, so both renders agree).
fn passkeys_here() -> RwSignal<bool> {
    let here = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| here.set(crate::client::webauthn::supported()));
    here
}

/// Signs in with the browser's answer to `options`; `autofill` runs the
/// request in the email field's suggestions instead of at once.
#[cfg(feature = "hydrate")]
async fn passkey_sign_in(
    options: serde_json::Value,
    autofill: Option<&web_sys::AbortSignal>,
) -> Result<(), AppError> {
    let credential = crate::client::webauthn::sign_in(&options, autofill)
        .await
        .map_err(|m| AppError::new(ErrorCode::InvalidInput, m))?;
    mfa::server_fns::passkey_login_finish(credential)
        .await
        .map(|_| ())
}

/// "Sign in with a passkey", and passkeys in the email field's autofill.
#[component]
pub fn PasskeySignIn(
    next: String,
    message: RwSignal<Option<String>>,
    pending: RwSignal<bool>,
) -> impl IntoView {
    let available = passkeys_here();
    let next = StoredValue::new(next);
    #[cfg(feature = "hydrate")]
    let autofill = StoredValue::new_local(None::<web_sys::AbortController>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if !crate::client::webauthn::autofill_available().await {
                return;
            }
            let Ok(controller) = web_sys::AbortController::new() else {
                return;
            };
            let signal = controller.signal();
            autofill.set_value(Some(controller));
            let Ok(options) = mfa::server_fns::passkey_login_start().await else {
                return;
            };
            // Only a passkey picked from the suggestions comes back; a
            // stopped or failed suggestion leaves the form as it was.
            if passkey_sign_in(options, Some(&signal)).await.is_ok() {
                super::signed_in_here(&next.get_value());
            }
        });
    });
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(controller) = autofill.get_value() {
                controller.abort();
            }
            message.set(None);
            pending.set(true);
            leptos::task::spawn_local(async move {
                let result = match mfa::server_fns::passkey_login_start().await {
                    Ok(options) => passkey_sign_in(options, None).await,
                    Err(err) => Err(err),
                };
                match result {
                    Ok(()) => super::signed_in_here(&next.get_value()),
                    Err(err) => {
                        message.set(Some(err.message));
                        pending.set(false);
                    }
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (next, message, pending);
    };
    view! {
        <Show when=move || available.get()>
            <p class="or">"or"</p>
            <button type="button" class="secondary wide" on:click=on_click disabled=move || pending.get()>
                "Sign in with a passkey"
            </button>
        </Show>
    }
}

/// The account's passkeys, loaded by the page (created at its top).
pub fn passkeys_resource() -> Resource<Result<Vec<PasskeyInfo>, AppError>> {
    Resource::new(|| (), |_| with_refresh(mfa::server_fns::passkey_list))
}

/// Which passkey action a recent sign-in is being asked for.
#[derive(Clone, PartialEq, Eq)]
enum Waiting {
    Add(String),
    Remove(String),
}

/// The security page's passkey section.
#[component]
pub fn PasskeysSection(passkeys: Resource<Result<Vec<PasskeyInfo>, AppError>>) -> impl IntoView {
    let available = passkeys_here();
    let message = RwSignal::new(None::<String>);
    let needs_proof = RwSignal::new(false);
    let waiting = RwSignal::new(None::<Waiting>);

    let run = move |what: Waiting| {
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = match &what {
                Waiting::Add(name) => add_passkey(name.clone()).await,
                Waiting::Remove(id) => with_refresh(|| mfa::server_fns::passkey_remove(id.clone()))
                    .await
                    .map(|_| "Passkey removed.".to_owned()),
            };
            match result {
                Ok(done) => {
                    message.set(Some(done));
                    passkeys.refetch();
                }
                Err(err) if err.error == ErrorCode::ReauthRequired => {
                    waiting.set(Some(what));
                    needs_proof.set(true);
                }
                Err(err) => handle_error(&err, message),
            }
        });
    };
    let retry = move || {
        if let Some(what) = waiting.get_untracked() {
            run(what);
        }
    };
    let on_add = in_place(move |form| async move { run(Waiting::Add(form.get("name"))) });
    let on_remove = in_place(move |form| async move { run(Waiting::Remove(form.get("id"))) });
    let on_rename = in_place(move |form| async move {
        match with_refresh(|| mfa::server_fns::passkey_rename(form.get("id"), form.get("name")))
            .await
        {
            Ok(_) => passkeys.refetch(),
            Err(err) => handle_error(&err, message),
        }
    });

    view! {
        <section aria-labelledby="passkeys-heading" data-testid="passkeys">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <FormMessage message=message.into() />
            <ReauthPrompt needed=needs_proof next="/security" then=retry key="_passkey" />
            <p>"A passkey signs you in with your device's screen lock or security key instead of a password, and cannot be phished."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    super::list_view(passkeys.await, "No passkeys yet.", |list| view! {
                        <ul class="sessions">
                            {list.into_iter().map(|p| view! { <PasskeyRow passkey=p on_rename on_remove /> }).collect_view()}
                        </ul>
                    })
                })}
            </Transition>
            <Show
                when=move || available.get()
                fallback=|| view! { <p class="aside">"Adding a passkey needs JavaScript and a browser that supports passkeys."</p> }
            >
                <form method="post" action="/api/passkey/register_start" on:submit=on_add novalidate>
                    <label for="passkey_name">"Passkey name"</label>
                    <input id="passkey_name" name="name" type="text" maxlength="64" autocomplete="off" placeholder="e.g. Work laptop" required />
                    <button type="submit">"Add a passkey"</button>
                </form>
            </Show>
        </section>
    }
}

/// Creates a passkey in this browser and registers it under `name`.
async fn add_passkey(name: String) -> Result<String, AppError> {
    if name.trim().is_empty() {
        return Err(AppError::invalid_input("Give the passkey a name."));
    }
    let options = with_refresh(mfa::server_fns::passkey_register_start).await?;
    #[cfg(feature = "hydrate")]
    let credential = crate::client::webauthn::create(&options)
        .await
        .map_err(|m| AppError::new(ErrorCode::InvalidInput, m))?;
    #[cfg(not(feature = "hydrate"))]
    let credential = {
        let _ = options;
        String::new()
    };
    let added = mfa::server_fns::passkey_register_finish(name, credential).await?;
    Ok(format!("Passkey “{}” added.", added.name))
}

#[component]
fn PasskeyRow(
    passkey: PasskeyInfo,
    on_rename: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
    on_remove: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let rename_id = format!("rename_{}", passkey.id);
    view! {
        <li class="session" data-testid="passkey">
            <div class="session-main"><strong>{passkey.name.clone()}</strong></div>
            <p class="aside">
                "Added " <LocalTime at=passkey.created_at.clone() />
                {match passkey.last_used_at.clone() {
                    Some(at) => view! { " · last used " <LocalTime at /> }.into_any(),
                    None => view! { " · never used" }.into_any(),
                }}
            </p>
            <form method="post" action="/api/passkey/rename" on:submit=on_rename class="confirm">
                <input type="hidden" name="id" value=passkey.id.clone() />
                <input type="hidden" name="next" value="/security" />
                <label for=rename_id.clone()>"New name"</label>
                <input id=rename_id name="name" type="text" maxlength="64" autocomplete="off" required />
                <button type="submit" class="small secondary">"Rename"</button>
            </form>
            <form method="post" action="/api/passkey/remove" on:submit=on_remove class="confirm">
                <input type="hidden" name="id" value=passkey.id.clone() />
                <input type="hidden" name="next" value="/security" />
                <button type="submit" class="small danger">"Remove"</button>
            </form>
        </li>
    }
}
