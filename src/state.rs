//! Shared server state, built once at start-up: the configuration, the keys
//! and revocation set every request checks, and one service per capability.
//! The database handle is given to the services and to nobody else.

use crate::{
    account::AccountService,
    admin::service::AdminService,
    auth::{passwords::PasswordHasherPool, service::AuthService},
    config::Config,
    federation::service::FederationService,
    keys::{KeyService, Keyring},
    mfa::service::MfaService,
    recovery::{links::Links, mail::Mailer, service::RecoveryService},
    sessions::{revocations::Revocations, service::SessionService, tokens::TokenKeys},
    store::Db,
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// The state every request reaches: one pointer to [`Services`], so cloning
/// it (once per request and per server function) is a single reference-count
/// update, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the HTTP layers take: the configuration, not the services.
impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What the state holds, built once at start-up.
pub struct Services {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    /// Signs and verifies access tokens (no database).
    pub keys: Arc<TokenKeys>,
    /// The signing keys' life cycle.
    pub signing: KeyService,
    /// Sessions ended recently, checked on every request (no database).
    pub revocations: Revocations,
    pub auth: Arc<AuthService>,
    pub sessions: Arc<SessionService>,
    pub admin: Arc<AdminService>,
    pub recovery: Arc<RecoveryService>,
    pub mfa: Arc<MfaService>,
    /// The account lifecycle: commands that span the capabilities above.
    pub account: Arc<AccountService>,
    /// OpenID Connect providers: buttons and round trips.
    pub federation: Arc<FederationService>,
    /// For the metrics: the password workers' load and the mail backlog.
    pub passwords: PasswordHasherPool,
    pub mailer: Mailer,
}

impl AppState {
    /// Wires the services to one database. The signing keys are loaded by
    /// the server at its start ([`KeyService::start`]), not here: the
    /// command line must not begin the HS256 upgrade window.
    pub async fn new(config: Config, db: Db, leptos_options: LeptosOptions) -> Self {
        let config = Arc::new(config);
        let ring = Arc::new(Keyring::new(&config.secret, config.issuer()));
        let signing = KeyService::new(db.clone(), config.clone(), ring.clone());
        let keys = Arc::new(TokenKeys::new(&config.secret, ring));
        let revocations = Revocations::default();
        let passwords = tokio::task::spawn_blocking(PasswordHasherPool::new)
            .await
            .expect("building the password hasher does not panic");
        let sessions = Arc::new(SessionService::new(
            db.clone(),
            config.clone(),
            keys.clone(),
            revocations.clone(),
        ));
        let mailer = Mailer::start(&config);
        let links = Arc::new(Links::new(db.clone(), mailer.clone(), config.clone()));
        let mfa = Arc::new(MfaService::new(
            db.clone(),
            &config,
            sessions.clone(),
            links.clone(),
        ));
        let auth = Arc::new(AuthService::new(
            db.clone(),
            config.clone(),
            keys.clone(),
            passwords.clone(),
            sessions.clone(),
            links.clone(),
            mfa.clone(),
        ));
        let recovery = Arc::new(RecoveryService::new(
            db.clone(),
            auth.clone(),
            sessions.clone(),
            links.clone(),
        ));
        let admin = Arc::new(AdminService::new(db.clone(), sessions.clone()));
        let federation = Arc::new(FederationService::new(db.clone(), &config));
        let account = Arc::new(AccountService::new(
            db,
            auth.clone(),
            sessions.clone(),
            links,
            mfa.clone(),
        ));
        Self(Arc::new(Services {
            leptos_options,
            config,
            keys,
            signing,
            revocations,
            auth,
            sessions,
            admin,
            recovery,
            mfa,
            account,
            federation,
            passwords,
            mailer,
        }))
    }
}
