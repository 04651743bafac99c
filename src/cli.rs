//! Command line: `gatehouse` (or `gatehouse serve`) serves; the other
//! subcommands administer accounts against the configured database.

use crate::{
    config::Config,
    db::{now_ms, Db},
    server,
};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

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

#[derive(Subcommand)]
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
}

#[derive(Subcommand)]
enum AdminAction {
    /// Make an account an administrator.
    Grant { email: String },
}

#[derive(Subcommand)]
enum UserAction {
    /// Disable an account and end all its sessions.
    Disable { email: String },
    /// Enable a disabled account.
    Enable { email: String },
}

#[derive(Subcommand)]
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
        Some(command) => administer(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn administer(command: Command) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let user_by_email = |email: String| {
        let db = db.clone();
        async move {
            let email = email.trim().to_lowercase();
            db.user_by_email(&email)
                .await
                .map_err(|e| e.message)?
                .ok_or_else(|| format!("no account with email {email}"))
        }
    };
    match command {
        Command::Serve => unreachable!("handled by run"),
        Command::Migrate => println!("migrations applied to {}", redact_url(&config.database_url)),
        Command::Admin {
            action: AdminAction::Grant { email },
        } => {
            let user = user_by_email(email).await?;
            db.set_role(&user.id, "admin")
                .await
                .map_err(|e| e.message)?;
            println!("{} is now an administrator", user.email);
        }
        Command::User { action } => {
            let (email, disabled) = match action {
                UserAction::Disable { email } => (email, true),
                UserAction::Enable { email } => (email, false),
            };
            let user = user_by_email(email).await?;
            db.set_disabled(&user.id, disabled)
                .await
                .map_err(|e| e.message)?;
            if disabled {
                let ended = db
                    .revoke_user_sessions(&user.id, None, "account_disabled", now_ms())
                    .await
                    .map_err(|e| e.message)?;
                println!("{} disabled; {} session(s) ended", user.email, ended.len());
            } else {
                println!("{} enabled", user.email);
            }
        }
        Command::Sessions {
            action: SessionsAction::Revoke { user },
        } => {
            let user = user_by_email(user).await?;
            let ended = db
                .revoke_user_sessions(&user.id, None, "revoked", now_ms())
                .await
                .map_err(|e| e.message)?;
            println!("{} session(s) of {} revoked", ended.len(), user.email);
        }
    }
    db.close().await;
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
