//! `/dev/outbox`: in development without a mail server, every message
//! gatehouse would have sent, newest first, with its links clickable. Not
//! found in production.

use super::{Card, LoadError};
use crate::{error::ErrorCode, recovery::OutboxMessage};
use leptos::prelude::*;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let messages = Resource::new(|| (), |_| crate::recovery::server_fns::dev_outbox());
    let message = RwSignal::new(None);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match messages.await {
                    Err(err) if err.error == ErrorCode::NotFound => {
                        view! { <crate::pages::not_found::NotFound /> }.into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                    Ok(list) => view! {
                        <Card title="Outbox" heading="Outbox (development)" message>
                            <p class="aside">
                                "Without GATEHOUSE_SMTP_URL, messages are written here instead of being sent."
                            </p>
                            {if list.is_empty() {
                                view! { <p class="aside">"No messages yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ol class="outbox" data-testid="outbox">
                                        {list.into_iter().map(|m| view! { <Letter message=m /> }).collect_view()}
                                    </ol>
                                }.into_any()
                            }}
                        </Card>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Letter(message: OutboxMessage) -> impl IntoView {
    let lines = message
        .text
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            if message.links.iter().any(|l| l == trimmed) {
                view! { <a href=trimmed.to_owned()>{trimmed.to_owned()}</a> <br /> }.into_any()
            } else {
                view! { {line.to_owned()} <br /> }.into_any()
            }
        })
        .collect_view();
    view! {
        <li class="letter" data-testid="letter">
            <h2>{message.subject.clone()}</h2>
            <p class="event-meta">"To " {message.to.clone()} " · " {message.date.clone()}</p>
            <div class="letter-body">{lines}</div>
        </li>
    }
}
