//! The Leptos application: the HTML shell, the layout and the routes.

use crate::{
    auth::{server_fns::whoami, CurrentUser},
    error::AppError,
    pages::{
        admin::AdminPage,
        home::HomePage,
        login::{LoginPage, SecondStepPage},
        not_found::NotFound,
        outbox::OutboxPage,
        recovery::{
            ConfirmEmailPage, ForgotPasswordPage, NotMePage, ResetPasswordPage, VerifyEmailPage,
        },
        register::RegisterPage,
        security::SecurityPage,
        sessions::SessionsPage,
    },
    vocab::Role,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Pages only a signed-in person may see (with everything below them); a
/// signed-out visit is sent to `/login?next=<path>`. Add a page here when
/// its route is added below.
pub const SIGNED_IN_PAGES: &[&str] = &["/sessions", "/security", "/admin"];

/// Whether `path` is, or is below, a page in [`SIGNED_IN_PAGES`].
pub fn requires_sign_in(path: &str) -> bool {
    SIGNED_IN_PAGES.iter().any(|page| {
        path.strip_prefix(page)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The signed-in person (or `None`), loaded once per page and shared.
pub type UserResource = Resource<Result<Option<CurrentUser>, AppError>>;

/// The signed-in person from context, if loaded.
pub fn use_user() -> UserResource {
    expect_context::<UserResource>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let user: UserResource = Resource::new(|| (), |_| whoami());
    provide_context(user);

    // Routes render in `Async` mode: the whole page, resources resolved,
    // arrives as plain HTML, so every page works without JavaScript.
    view! {
        <Title text="gatehouse" />
        <Router>
            <Header />
            <SessionKeeper />
            <main id="main">
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/login/code") view={Lazy::<SecondStepRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/security") view={Lazy::<SecurityRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmailRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/not-me") view={Lazy::<NotMeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/dev/outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Every page but sign-in is split into its own piece of the wasm (a lazy
/// route), fetched when the page is first shown (or before hydrating it
/// when a visit starts there), so the first download holds only the
/// sign-in page and what every page shares.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage,
    RegisterRoute => RegisterPage,
    SecondStepRoute => SecondStepPage,
    SessionsRoute => SessionsPage,
    SecurityRoute => SecurityPage,
    AdminRoute => AdminPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    VerifyEmailRoute => VerifyEmailPage,
    ConfirmEmailRoute => ConfirmEmailPage,
    NotMeRoute => NotMePage,
    OutboxRoute => OutboxPage,
}

/// Site header: the name, and links that depend on who is signed in.
#[component]
fn Header() -> impl IntoView {
    let user = use_user();
    view! {
        <header class="site-header">
            <a class="brand" href="/">"gatehouse"</a>
            <nav aria-label="Main">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(me)) => {
                                view! {
                                    <a href="/sessions">"Devices"</a>
                                    <a href="/security">"Security"</a>
                                    {(me.role == Role::Admin).then(|| view! { <a href="/admin">"Admin"</a> })}
                                    <span class="who" data-testid="signed-in-as">{me.email.clone()}</span>
                                    <crate::pages::SignOutButton />
                                }
                                    .into_any()
                            }
                            _ => {
                                view! {
                                    <a href="/login">"Sign in"</a>
                                    <a href="/register">"Create account"</a>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}

/// Keeps the signed-in browser's access token fresh (after hydration only).
#[component]
fn SessionKeeper() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let user = use_user();
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            if let Some(Ok(Some(me))) = user.get() {
                if !started.get_value() {
                    started.set_value(true);
                    crate::client::start_session_keeper(me.access_expires_at);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::requires_sign_in;

    #[test]
    fn signed_in_pages() {
        assert!(requires_sign_in("/sessions"));
        assert!(requires_sign_in("/admin/users"));
        assert!(!requires_sign_in("/sessionsx"));
        assert!(!requires_sign_in("/"));
    }
}
