//! Bar charts drawn on the server as inline SVG: no chart library in the
//! browser, and nothing the CSP has to allow (colours and sizes come from
//! classes in `style/main.css`, never `style` attributes). Each chart is an
//! image with a text summary for screen readers, and its numbers are in a
//! table behind a disclosure.

use crate::{admin::BucketCounts, pages::time};
use leptos::prelude::*;

/// What one bar (or part of a stacked bar) counts.
#[derive(Clone, Copy)]
pub struct Series {
    pub label: &'static str,
    /// Its colour: a class with `fill` (and `background` for the legend).
    pub class: &'static str,
    pub value: fn(&BucketCounts) -> i64,
}

pub const SIGNED_IN: Series = Series {
    label: "succeeded",
    class: "bar-ok",
    value: |b| b.sign_in,
};
pub const FAILED: Series = Series {
    label: "failed",
    class: "bar-failed",
    value: |b| b.sign_in_failed,
};
pub const THROTTLED: Series = Series {
    label: "throttled",
    class: "bar-throttled",
    value: |b| b.sign_in_throttled,
};
pub const SIGN_UPS: Series = Series {
    label: "sign-ups",
    class: "bar-signup",
    value: |b| b.registered,
};
pub const RESETS: Series = Series {
    label: "password resets",
    class: "bar-reset",
    value: |b| b.password_reset,
};
pub const REVOKED: Series = Series {
    label: "sessions revoked",
    class: "bar-revoked",
    value: |b| b.revoked,
};

/// Every series, in the data table's column order.
pub const ALL: [Series; 6] = [SIGNED_IN, FAILED, THROTTLED, SIGN_UPS, RESETS, REVOKED];

/// The bucket size of a chart.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Hourly,
    Daily,
}

impl Span {
    /// "per hour, last 24 hours (UTC)".
    pub fn describe(self) -> &'static str {
        match self {
            Span::Hourly => "per hour over the last 24 hours (UTC)",
            Span::Daily => "per day over the last 30 days (UTC)",
        }
    }

    /// The short label under a bar: "14:00", "6 Dec".
    fn tick(self, start: &str) -> String {
        let Some(at) = time::parse(start) else {
            return start.to_owned();
        };
        match self {
            Span::Hourly => format!("{:02}:00", at.hour()),
            Span::Daily => format!("{} {}", at.day(), &format!("{}", at.month())[..3]),
        }
    }

    /// The bucket's name in the table and the summary: "6 Dec 14:00", "6 Dec".
    fn name(self, start: &str) -> String {
        let Some(at) = time::parse(start) else {
            return start.to_owned();
        };
        let day = format!("{} {}", at.day(), &format!("{}", at.month())[..3]);
        match self {
            Span::Hourly => format!("{day} {:02}:00", at.hour()),
            Span::Daily => day,
        }
    }

    /// Every how many bars a tick is labelled.
    fn tick_every(self) -> usize {
        match self {
            Span::Hourly => 6,
            Span::Daily => 7,
        }
    }
}

// The drawing's own units; the SVG scales to its box by `viewBox`.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 26.0;

/// A bar chart of `series` (stacked when several) over `buckets`.
#[component]
pub fn BarChart(
    title: &'static str,
    span: Span,
    buckets: Vec<BucketCounts>,
    series: &'static [Series],
    /// Names the chart for tests (`data-testid`).
    testid: String,
) -> impl IntoView {
    let totals: Vec<i64> = buckets
        .iter()
        .map(|b| series.iter().map(|s| (s.value)(b)).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    let summary = summarize(title, span, &buckets, series, &totals);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / buckets.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let scale = if max > 0 { plot_h / max as f64 } else { 0.0 };
    let base = TOP + plot_h;
    let n = buckets.len();
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
            let mut top = base;
            let parts = series
                .iter()
                .filter_map(|s| {
                    let value = (s.value)(bucket);
                    (value > 0).then(|| {
                        let h = value as f64 * scale;
                        top -= h;
                        view! {
                            <rect class=format!("bar {}", s.class) x=fmt(x) y=fmt(top)
                                width=fmt(bar_w) height=fmt(h) data-value=value.to_string() />
                        }
                    })
                })
                .collect_view();
            let tick = (n - 1 - i).is_multiple_of(span.tick_every()).then(|| {
                view! {
                    <text class="tick" x=fmt(x + bar_w / 2.0) y=fmt(HEIGHT - 8.0) text-anchor="middle">
                        {span.tick(&bucket.start)}
                    </text>
                }
            });
            view! { {parts} {tick} }.into_any()
        })
        .collect_view();
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            <svg viewBox=view_box role="img" aria-label=summary.clone() focusable="false">
                <line class="axis" x1=fmt(LEFT) y1=fmt(base) x2=fmt(WIDTH - RIGHT) y2=fmt(base) />
                <line class="grid" x1=fmt(LEFT) y1=fmt(TOP) x2=fmt(WIDTH - RIGHT) y2=fmt(TOP) />
                {(max > 0).then(|| view! {
                    <text class="tick" x=fmt(LEFT - 6.0) y=fmt(TOP + 4.0) text-anchor="end">{max}</text>
                })}
                <text class="tick" x=fmt(LEFT - 6.0) y=fmt(base + 4.0) text-anchor="end">"0"</text>
                {bars}
            </svg>
            {(series.len() > 1).then(|| view! {
                <ul class="legend">
                    {series.iter().map(|s| view! {
                        <li><span class=format!("swatch {}", s.class)></span>{s.label}</li>
                    }).collect_view()}
                </ul>
            })}
        </figure>
    }
    .into_any()
}

/// Every series of every bucket, as a table behind a disclosure.
#[component]
pub fn DataTable(span: Span, buckets: Vec<BucketCounts>) -> impl IntoView {
    let caption = format!("Events {}", span.describe());
    view! {
        <details class="data">
            <summary>{format!("Table: events {}", span.describe())}</summary>
            <div class="table-scroll" tabindex="0" role="region" aria-label=caption.clone()>
                <table>
                    <caption>{caption.clone()}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{if span == Span::Hourly { "Hour" } else { "Day" }}</th>
                            <th scope="col">"Sign-ins"</th>
                            <th scope="col">"Failed"</th>
                            <th scope="col">"Throttled"</th>
                            <th scope="col">"Sign-ups"</th>
                            <th scope="col">"Resets"</th>
                            <th scope="col">"Revoked"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {buckets.into_iter().rev().map(|b| view! {
                            <tr>
                                <th scope="row"><time datetime=b.start.clone()>{span.name(&b.start)}</time></th>
                                {ALL.iter().map(|s| view! { <td>{(s.value)(&b)}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
    .into_any()
}

/// The text a screen reader hears for a chart: totals, and the busiest bucket.
fn summarize(
    title: &str,
    span: Span,
    buckets: &[BucketCounts],
    series: &[Series],
    totals: &[i64],
) -> String {
    let parts: Vec<String> = series
        .iter()
        .map(|s| {
            let total: i64 = buckets.iter().map(|b| (s.value)(b)).sum();
            format!("{total} {}", s.label)
        })
        .collect();
    let busiest = totals
        .iter()
        .enumerate()
        .filter(|(_, t)| **t > 0)
        .max_by_key(|(i, t)| (**t, *i))
        .map(|(i, t)| format!("; the most, {t}, in {}", span.name(&buckets[i].start)))
        .unwrap_or_default();
    format!(
        "{title} {}: {}{busiest}.",
        span.describe(),
        parts.join(", ")
    )
}

/// A coordinate, with one decimal.
fn fmt(v: f64) -> String {
    format!("{v:.1}")
}
