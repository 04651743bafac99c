//! The security page's two-step sign-in section: set up an authenticator
//! app (a QR code and its text, confirmed by a first code), see and
//! replace the recovery codes, turn it off.

use super::{handle_error, in_place, with_refresh, FormMessage, ReauthPrompt};
use crate::{
    error::{AppError, ErrorCode},
    mfa::{self, FactorStatus, TotpEnrollment},
};
use leptos::prelude::*;

/// The account's second factor, loaded by the page (created at its top).
pub fn status_resource() -> Resource<Result<FactorStatus, AppError>> {
    Resource::new(|| (), |_| with_refresh(mfa::server_fns::mfa_status))
}

/// Which action a recent sign-in is being asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Enroll,
    NewCodes,
}

#[component]
pub fn TwoStepSection(status: Resource<Result<FactorStatus, AppError>>) -> impl IntoView {
    let message = RwSignal::new(None::<String>);
    let enrollment = RwSignal::new(None::<TotpEnrollment>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let needs_proof = RwSignal::new(false);
    let waiting = RwSignal::new(None::<Waiting>);

    // Runs an action that may need a recent sign-in: on `reauth_required`
    // the prompt appears and, once answered, runs it again.
    let start = move |what: Waiting| {
        message.set(None);
        leptos::task::spawn_local(async move {
            let result = match what {
                Waiting::Enroll => with_refresh(mfa::server_fns::totp_enroll)
                    .await
                    .map(|e| enrollment.set(Some(e))),
                Waiting::NewCodes => with_refresh(mfa::server_fns::recovery_codes)
                    .await
                    .map(|c| codes.set(Some(c.recovery_codes))),
            };
            match result {
                Ok(()) => status.refetch(),
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
            start(what);
        }
    };

    let on_confirm = in_place(move |form| async move {
        match with_refresh(|| mfa::server_fns::totp_confirm(form.get("code"))).await {
            Ok(answer) => {
                enrollment.set(None);
                codes.set(Some(answer.recovery_codes));
                status.refetch();
            }
            Err(err) if err.error == ErrorCode::ReauthRequired => {
                waiting.set(None);
                needs_proof.set(true);
            }
            Err(err) => handle_error(&err, message),
        }
    });
    let on_disable = in_place(move |form| async move {
        match with_refresh(|| mfa::server_fns::totp_disable(form.get("password"))).await {
            Ok(_) => {
                message.set(Some(
                    "The authenticator app is off. Your other devices were signed out.".into(),
                ));
                status.refetch();
            }
            Err(err) => handle_error(&err, message),
        }
    });

    view! {
        <section aria-labelledby="two-step-heading" data-testid="two-step">
            <h2 id="two-step-heading">"Two-step sign-in"</h2>
            <FormMessage message=message.into() />
            <ReauthPrompt needed=needs_proof next="/security" then=retry />
            <Show when=move || codes.get().is_some()>
                <RecoveryCodes codes=codes />
            </Show>
            <Show when=move || enrollment.get().is_some()>
                {move || enrollment.get().map(|e| view! {
                    <div class="enroll" data-testid="totp-enroll">
                        <p>"Scan this code with your authenticator app (or type the key below into it), then enter the six-digit code it shows."</p>
                        <div class="qr" inner_html=e.qr_svg></div>
                        <p>"Key: " <code data-testid="totp-secret">{e.secret}</code></p>
                        <form method="post" action="/api/totp/confirm" on:submit=on_confirm novalidate>
                            <label for="totp_code">"Code"</label>
                            <input id="totp_code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required />
                            <button type="submit">"Turn on"</button>
                            <button type="button" class="link-button" on:click=move |_| enrollment.set(None)>"Cancel"</button>
                        </form>
                    </div>
                })}
            </Show>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(error) => view! { <super::LoadError error /> }.into_any(),
                        Ok(s) if s.totp => view! {
                            <p data-testid="totp-on">
                                "An authenticator app is on: signing in takes your password and a code. "
                                {format!("Recovery codes left: {}.", s.recovery_codes_left)}
                            </p>
                            <p>
                                <button type="button" class="secondary" on:click=move |_| start(Waiting::NewCodes)>"Make new recovery codes"</button>
                            </p>
                            <form method="post" action="/api/totp/disable" on:submit=on_disable novalidate>
                                <input type="hidden" name="next" value="/security" />
                                <label for="totp_off_password">"Password"</label>
                                <input id="totp_off_password" name="password" type="password" autocomplete="current-password" required />
                                <button type="submit" class="danger">"Turn off the authenticator app"</button>
                            </form>
                        }
                        .into_any(),
                        Ok(_) => view! {
                            <p>"Protect your account with a code from an authenticator app on your phone, asked for after your password."</p>
                            <button type="button" on:click=move |_| start(Waiting::Enroll) hidden=move || enrollment.get().is_some()>
                                "Set up an authenticator app"
                            </button>
                            <noscript><p class="aside">"Setting up an authenticator app needs JavaScript."</p></noscript>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Recovery codes, shown once.
#[component]
fn RecoveryCodes(codes: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-testid="recovery-codes">
            <p><strong>"Save these recovery codes now."</strong> " Each works once, in place of a code from your app, if you lose your phone. They will not be shown again."</p>
            <ul class="codes">
                {move || codes.get().unwrap_or_default().into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <button type="button" class="small secondary" on:click=move |_| codes.set(None)>"I have saved them"</button>
        </div>
    }
}
