//! The security dashboard on `/admin`: charts of what happened to every
//! account per hour and per day, the accounts guesses are aimed at, and the
//! busiest client networks. Rendered in full on the server; nothing in it
//! needs JavaScript.

use super::chart::{self, BarChart, DataTable, Series, Span};
use crate::{
    admin::{server_fns::admin_dashboard, BucketCounts, BusyNetwork, Dashboard, GuessedAccount},
    error::{AppError, ErrorCode},
    pages::{with_refresh, LoadError},
};
use leptos::prelude::*;

/// The charts of one span: sign-ins stacked by outcome, then one chart each
/// for sign-ups, resets and revocations, and the table of all of them.
const CHARTS: &[(&str, &str, &[Series])] = &[
    (
        "Sign-ins",
        "sign-ins",
        &[chart::SIGNED_IN, chart::FAILED, chart::THROTTLED],
    ),
    ("Sign-ups", "sign-ups", &[chart::SIGN_UPS]),
    ("Password resets", "resets", &[chart::RESETS]),
    ("Sessions revoked", "revocations", &[chart::REVOKED]),
];

/// A failed load of an administrators-only part: nothing when the caller
/// is not an administrator (the console above already says so), else why.
pub fn refused_or_error(error: AppError) -> AnyView {
    if error.error == ErrorCode::Forbidden {
        ().into_any()
    } else {
        view! { <LoadError error /> }.into_any()
    }
}

#[component]
pub fn DashboardSection() -> impl IntoView {
    let dashboard = Resource::new(|| (), |_| with_refresh(admin_dashboard));
    view! {
        <Transition fallback=|| view! { <p>"Loading the dashboard…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(d) => view! { <DashboardView d /> }.into_any(),
                    Err(error) => refused_or_error(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let Dashboard {
        hourly,
        daily,
        guessed_accounts,
        busy_networks,
    } = d;
    view! {
        <section class="card dashboard" aria-labelledby="dashboard-heading" data-testid="dashboard">
            <h2 id="dashboard-heading">"Security dashboard"</h2>
            <SpanCharts heading="Last 24 hours" span=Span::Hourly buckets=hourly />
            <SpanCharts heading="Last 30 days" span=Span::Daily buckets=daily />
            <h3>"Most guessed-at accounts, last hour"</h3>
            <GuessedList accounts=guessed_accounts />
            <h3>"Busiest client networks, last hour"</h3>
            <NetworkList networks=busy_networks />
        </section>
    }
    .into_any()
}

#[component]
fn SpanCharts(heading: &'static str, span: Span, buckets: Vec<BucketCounts>) -> impl IntoView {
    let key = if span == Span::Hourly {
        "hourly"
    } else {
        "daily"
    };
    view! {
        <h3>{heading}</h3>
        <div class="charts">
            {CHARTS
                .iter()
                .map(|(title, id, series)| {
                    view! {
                        <BarChart title=*title span buckets=buckets.clone() series=*series
                            testid=format!("chart-{key}-{id}") />
                    }
                })
                .collect_view()}
        </div>
        <DataTable span buckets />
    }
    .into_any()
}

#[component]
fn GuessedList(accounts: Vec<GuessedAccount>) -> impl IntoView {
    if accounts.is_empty() {
        return view! { <p class="aside">"No failed sign-ins in the last hour."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Most guessed-at accounts">
            <table data-testid="guessed-accounts">
                <thead>
                    <tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Failed"</th>
                        <th scope="col">"Throttled"</th>
                    </tr>
                </thead>
                <tbody>
                    {accounts.into_iter().map(|a| view! {
                        <tr>
                            <th scope="row">{a.email}</th>
                            <td>{a.failed}</td>
                            <td>{a.throttled}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn NetworkList(networks: Vec<BusyNetwork>) -> impl IntoView {
    if networks.is_empty() {
        return view! { <p class="aside">"No sign-in attempts or sign-ups counted in the last hour."</p> }
            .into_any();
    }
    view! {
        <p class="hint">
            "Networks as the throttle counts them: an IPv4 address, or an IPv6 /64, /56 or /48."
        </p>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Busiest client networks">
            <table data-testid="busy-networks">
                <thead>
                    <tr>
                        <th scope="col">"Network"</th>
                        <th scope="col">"Counted"</th>
                        <th scope="col">"Attempts"</th>
                        <th scope="col">"State"</th>
                    </tr>
                </thead>
                <tbody>
                    {networks.into_iter().map(|n| view! {
                        <tr>
                            <th scope="row"><code>{n.network}</code></th>
                            <td>{if n.counted == "sign_up" { "sign-ups" } else { "sign-in attempts" }}</td>
                            <td>{n.attempts}</td>
                            <td>{if n.blocked { "refused for now" } else { "allowed" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
