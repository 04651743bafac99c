use leptos::prelude::*;
use leptos_meta::Title;

/// Administration (administrators only).
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin · gatehouse" />
        <section class="card">
            <h1>"Administration"</h1>
            <p>"Administrators manage accounts with the gatehouse command line (see the README)."</p>
        </section>
    }
}
