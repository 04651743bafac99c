//! Command line: `gatehouse` (or `gatehouse serve`) serves; the other
//! subcommands administer accounts and signing keys against the configured
//! database.

use crate::{
    admin::service::Actor, clock::rfc3339, config::Config, keys::service::Rotation,
    request::ClientInfo, server, state::AppState, store::Db,
};
use clap::{Parser, Subcommand};
use std::{process::ExitCode, time::Duration};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Browser authentication done right"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Serve the app (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Administrator role.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Enable or disable an account.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Revoke sessions.
    Sessions {
        #[command(subcommand)]
        action: SessionsAction,
    },
    /// Access-token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand, Clone)]
enum KeysAction {
    /// One line per key: kid, state, created_at.
    List,
    /// Start signing with a standby key that has been published long
    /// enough, or publish one that will start once it has.
    Rotate,
    /// Refuse a key's tokens everywhere at once (sessions carry on by
    /// silent refresh).
    Revoke { kid: String },
}

#[derive(Subcommand, Clone)]
enum AdminAction {
    /// Make an account an administrator.
    Grant { email: String },
}

#[derive(Subcommand, Clone)]
enum UserAction {
    /// Disable an account and end all its sessions.
    Disable { email: String },
    /// Enable a disabled account.
    Enable { email: String },
}

#[derive(Subcommand, Clone)]
enum SessionsAction {
    /// Revoke every session of an account.
    Revoke {
        #[arg(long)]
        user: String,
    },
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    server::init_tracing();
    let result = match cli.command {
        None | Some(Command::Serve) => server::serve().await.map_err(|e| e.to_string()),
        Some(command) => administer_patiently(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an administrative command, again after a pause when the database
/// was busy (SQLite answers "database is locked" to a new connection while
/// running servers write): up to four tries over about two seconds. Every
/// command is safe to repeat: each step re-reads the state it changes.
async fn administer_patiently(command: Command) -> Result<(), String> {
    let mut pause = Duration::from_millis(250);
    for _ in 0..3 {
        match administer(command.clone()).await {
            // `StoreError::Unavailable`'s message: nothing was changed by
            // the statement that met it.
            Err(message) if message.starts_with("database unavailable") => {
                tracing::warn!(%message, "database busy; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            done => return done,
        }
    }
    administer(command).await
}

/// Runs an administrative command through the same services the admin
/// console uses, so both record the same events.
async fn administer(command: Command) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let database = redact_url(&config.database_url);
    let options = server::leptos_options(&config);
    let state = AppState::new(config, db, options).await;
    if let Command::Keys { action } = command {
        let result = manage_keys(&state, action).await;
        state.sessions.close().await;
        return result;
    }
    let admin = &state.admin;
    let here = ClientInfo {
        ip: None,
        user_agent: "gatehouse command line".into(),
    };
    let result = async {
        match command {
            Command::Serve | Command::Keys { .. } => unreachable!("handled above"),
            Command::Migrate => println!("migrations applied to {database}"),
            Command::Admin {
                action: AdminAction::Grant { email },
            } => {
                let user = admin.user_by_email(&email).await?;
                admin.grant_admin(&user).await?;
                println!("{} is now an administrator", user.email);
            }
            Command::User { action } => {
                let (email, disabled) = match action {
                    UserAction::Disable { email } => (email, true),
                    UserAction::Enable { email } => (email, false),
                };
                let user = admin.user_by_email(&email).await?;
                let ended = state
                    .account
                    .set_disabled(Actor::Cli, None, &user.id, disabled, &here)
                    .await?;
                if disabled {
                    println!("{} disabled; {ended} session(s) ended", user.email);
                } else {
                    println!("{} enabled", user.email);
                }
            }
            Command::Sessions {
                action: SessionsAction::Revoke { user },
            } => {
                let user = admin.user_by_email(&user).await?;
                let ended = admin.revoke_all(Actor::Cli, &user, &here).await?;
                println!("{ended} session(s) of {} revoked", user.email);
            }
        }
        Ok::<_, crate::error::AppError>(())
    }
    .await;
    state.sessions.close().await;
    result.map_err(|e| e.message)
}

/// `gatehouse keys …`; errors say what to do (they name keys, never
/// secrets).
async fn manage_keys(state: &AppState, action: KeysAction) -> Result<(), String> {
    let keys = &state.signing;
    // Keys are made by a server's first start (which also opens the
    // upgrade window for HS256 tokens); the command line only moves them.
    if keys.list().await.map_err(|e| e.to_string())?.is_empty() {
        return Err("there are no signing keys yet: a server makes the first one when it starts".into());
    }
    match action {
        KeysAction::List => {
            for key in keys.list().await.map_err(|e| e.to_string())? {
                println!("{} {} {}", key.kid, key.state, rfc3339(key.created_at));
            }
        }
        KeysAction::Rotate => match keys.rotate().await.map_err(|e| e.to_string())? {
            Rotation::Promoted { kid } => println!("{kid} is now current"),
            Rotation::Pending { kid, at } => println!(
                "{kid} is published as standby and becomes current at {} \
                 (after GATEHOUSE_JWKS_MAX_AGE; run `gatehouse keys rotate` then, \
                 or let a running server do it)",
                rfc3339(at)
            ),
        },
        KeysAction::Revoke { kid } => {
            let was = keys.revoke(&kid).await.map_err(|e| e.to_string())?;
            println!("{kid} revoked (it was {})", was.as_str());
        }
    }
    Ok(())
}

/// The database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
