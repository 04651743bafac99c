//! Everyone's recent security events on `/admin`, filtered by kind and by
//! part of the account's email, a page at a time (keyset: each page asks
//! for the events older than the last one shown). The filter is a GET form
//! and the pages are links, so it all works without JavaScript.

use super::dashboard::refused_or_error;
use crate::{
    admin::{server_fns::admin_events, AccountEventInfo, EventPage},
    pages::{with_refresh, LocalTime},
    vocab::EventKind,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The query parameters of the event log on `/admin`.
const KIND: &str = "event_kind";
const EMAIL: &str = "event_email";
const BEFORE: &str = "before";

#[component]
pub fn EventLog() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| {
        query
            .read()
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let filter = Memo::new(move |_| (param(KIND), param(EMAIL), param(BEFORE)));
    let page = Resource::new(
        move || filter.get(),
        |(kind, email, before)| {
            with_refresh(move || admin_events(kind.clone(), email.clone(), before.clone()))
        },
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading events…"</p> }>
            {move || Suspend::new(async move {
                let (kind, email, before) = filter.get_untracked();
                match page.await {
                    Ok(page) => view! { <EventSection page kind email paged=before.is_some() /> }.into_any(),
                    Err(error) => refused_or_error(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn EventSection(
    page: EventPage,
    kind: Option<String>,
    email: Option<String>,
    /// Whether this is an older page (so a link back to the newest helps).
    paged: bool,
) -> impl IntoView {
    let older = page
        .next
        .as_ref()
        .map(|next| events_href(kind.as_deref(), email.as_deref(), Some(next)));
    let newest = paged.then(|| events_href(kind.as_deref(), email.as_deref(), None));
    let chosen = kind.clone().unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="events-heading" data-testid="event-log">
            <h2 id="events-heading">"Security events"</h2>
            <form method="get" action="/admin" class="filters" role="search" aria-label="Filter events">
                <label for="event_kind">"Kind"</label>
                <select id="event_kind" name=KIND>
                    <option value="" selected=chosen.is_empty()>"All kinds"</option>
                    {EventKind::ALL.iter().map(|k| {
                        let selected = chosen == k.as_str();
                        view! { <option value=k.as_str() selected=selected>{k.title()}</option> }
                    }).collect_view()}
                </select>
                <label for="event_email">"Account email contains"</label>
                <input id="event_email" name=EMAIL type="search" value=email.clone().unwrap_or_default() />
                <button type="submit">"Filter"</button>
            </form>
            {if page.events.is_empty() {
                view! { <p class="aside">"No events match."</p> }.into_any()
            } else {
                view! {
                    <ul class="events" data-testid="admin-events">
                        {page.events.into_iter().map(|e| view! { <EventRow e /> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <nav class="actions" aria-label="Event pages">
                {newest.map(|href| view! { <a href=href>"Newest events"</a> })}
                {older.map(|href| view! { <a href=href rel="next" data-testid="older-events">"Older events"</a> })}
            </nav>
        </section>
    }
    .into_any()
}

#[component]
fn EventRow(e: AccountEventInfo) -> impl IntoView {
    view! {
        <li class="event" data-testid="admin-event" data-kind=e.kind.as_str()>
            <strong>{e.kind.title()}</strong>
            " · " <span class="event-account">{e.email}</span>
            <div class="event-meta">
                <LocalTime at=e.at />
                {e.device.map(|d| view! { " · " {d} })}
                {e.network.map(|n| view! { " · from " <code>{n}</code> })}
            </div>
            {(!e.detail.is_empty()).then(|| view! { <div class="event-detail">{e.detail}</div> })}
        </li>
    }
    .into_any()
}

/// The address of a page of the log with these filters.
fn events_href(kind: Option<&str>, email: Option<&str>, before: Option<&str>) -> String {
    let params: Vec<String> = [(KIND, kind), (EMAIL, email), (BEFORE, before)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={}", encode(v))))
        .collect();
    if params.is_empty() {
        "/admin#events-heading".to_owned()
    } else {
        format!("/admin?{}#events-heading", params.join("&"))
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::pages::admin::events::events_href;

    #[test]
    fn page_links_keep_the_filters() {
        assert_eq!(
            events_href(Some("sign_in"), Some("a+b@x"), Some("17.3")),
            "/admin?event_kind=sign_in&event_email=a%2Bb%40x&before=17.3#events-heading"
        );
        assert_eq!(events_href(None, None, None), "/admin#events-heading");
    }
}
