//! Sign-in providers on the pages: "Continue with …" on the sign-in and
//! sign-up pages, and the linked providers on the security page. Every
//! round trip is a plain link (`rel="external"`, so the router leaves it to
//! the browser): it works with JavaScript and without.

use super::{in_place, list_view, with_refresh, FormMessage, LocalTime};
use crate::{
    error::AppError,
    federation::{
        server_fns::{oidc_identities, oidc_providers, oidc_unlink},
        IdentityInfo, ProviderButton,
    },
    redirect::{encode_component, safe_next},
};
use leptos::prelude::*;

pub type ButtonsResource = Resource<Result<Vec<ProviderButton>, AppError>>;
pub type IdentitiesResource = Resource<Result<Vec<IdentityInfo>, AppError>>;

/// The configured providers (created at a page's top).
pub fn buttons_resource() -> ButtonsResource {
    Resource::new(|| (), |_| oidc_providers())
}

/// The signed-in account's linked providers (created at a page's top).
pub fn identities_resource() -> IdentitiesResource {
    Resource::new(|| (), |_| with_refresh(oidc_identities))
}

/// The start of a round trip to `name`, coming back to `next`.
pub fn start_url(name: &str, next: Option<&str>, intent: Option<&str>) -> String {
    let mut url = format!("/auth/oidc/{}/start", encode_component(name));
    let mut sep = '?';
    if let Some(next) = next.and_then(safe_next).filter(|n| *n != "/") {
        url.push_str(&format!("{sep}next={}", encode_component(next)));
        sep = '&';
    }
    if let Some(intent) = intent {
        url.push_str(&format!("{sep}intent={intent}"));
    }
    url
}

fn label_of(buttons: &[ProviderButton], name: &str) -> String {
    buttons
        .iter()
        .find(|b| b.name == name)
        .map_or_else(|| name.to_owned(), |b| b.label.clone())
}

/// "Continue with <label>" for each provider; one that cannot be reached
/// right now says so instead of failing after the click.
#[component]
pub fn ProviderButtons(buttons: ButtonsResource, next: String) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || {
                let next = next.clone();
                Suspend::new(async move {
                    let list = buttons.await.unwrap_or_default();
                    (!list.is_empty()).then(|| view! {
                        <div class="providers" data-testid="providers">
                            <p class="divider"><span>"or"</span></p>
                            {list.into_iter().map(|b| {
                                let text = format!("Continue with {}", b.label);
                                if b.available {
                                    let href = start_url(&b.name, Some(&next), None);
                                    view! {
                                        <a class="button secondary provider" rel="external" href=href data-provider=b.name>{text}</a>
                                    }.into_any()
                                } else {
                                    view! {
                                        <p class="aside provider-down" data-provider=b.name>
                                            {text} " is unavailable right now."
                                        </p>
                                    }.into_any()
                                }
                            }).collect_view()}
                        </div>
                    })
                })
            }}
        </Transition>
    }
}

/// The security page's "Sign-in providers": those linked (with unlink and
/// "confirm it's me" links), and links for the others.
#[component]
pub fn ProvidersSection(buttons: ButtonsResource, identities: IdentitiesResource) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map().read_untracked();
    let message = RwSignal::new(if query.get("linked").is_some() {
        Some("Provider linked. You can now sign in with it.".to_owned())
    } else if query.get("link").is_some() {
        // After "sign in first" (`/login?link=<name>`) without JavaScript.
        Some(
            "Signed in. One more step: press “Link” below to link the provider to this account."
                .to_owned(),
        )
    } else {
        None
    });
    let on_unlink = in_place(move |form| async move {
        let provider = form.get("provider");
        match with_refresh(|| oidc_unlink(provider.clone())).await {
            Ok(_) => {
                message.set(Some("Provider unlinked.".into()));
                identities.refetch();
            }
            Err(err) => super::handle_error(&err, message),
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let all = buttons.await.unwrap_or_default();
                if all.is_empty() {
                    return None;
                }
                let linked = identities.await;
                let linked_names: Vec<String> = linked
                    .as_ref()
                    .map(|l| l.iter().map(|i| i.provider.clone()).collect())
                    .unwrap_or_default();
                let others: Vec<ProviderButton> = all
                    .iter()
                    .filter(|b| b.available && !linked_names.contains(&b.name))
                    .cloned()
                    .collect();
                let labels = all.clone();
                Some(view! {
                    <section aria-labelledby="providers-heading" data-testid="linked-providers">
                        <h2 id="providers-heading">"Sign-in providers"</h2>
                        <FormMessage message=message.into() />
                        {list_view(linked, "No provider is linked.", move |list| view! {
                            <ul class="identities">
                                {list.into_iter().map(|i| {
                                    let label = label_of(&labels, &i.provider);
                                    let reauth = start_url(&i.provider, Some("/security"), Some("reauth"));
                                    view! {
                                        <li data-provider=i.provider.clone()>
                                            <strong>{label.clone()}</strong>
                                            {i.email.clone().map(|e| format!(" · {e}"))}
                                            <div class="event-meta">
                                                "Linked " <LocalTime at=i.linked_at.clone() />
                                                {i.last_used_at.clone().map(|at| view! { " · last used " <LocalTime at /> })}
                                            </div>
                                            <form method="post" action="/api/oidc/unlink" on:submit=on_unlink>
                                                <input type="hidden" name="next" value="/security" />
                                                <input type="hidden" name="provider" value=i.provider.clone() />
                                                <button type="submit" class="small secondary">{format!("Unlink {label}")}</button>
                                            </form>
                                            <a class="aside" rel="external" href=reauth>{format!("Confirm it's me with {label}")}</a>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })}
                        {others.into_iter().map(|b| {
                            let href = start_url(&b.name, Some("/security?linked=1"), None);
                            view! {
                                <p><a class="button secondary provider" rel="external" href=href data-provider=b.name>{format!("Link {}", b.label)}</a></p>
                            }
                        }).collect_view()}
                    </section>
                })
            })}
        </Transition>
    }
}
