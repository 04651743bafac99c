//! Command line: `gatehouse` (or `gatehouse serve`) serves; the other
//! subcommands administer accounts and signing keys against the configured
//! database, back it up and restore it.

use crate::{
    admin::service::Actor,
    clock::rfc3339,
    config::{Config, ConfigError},
    error::{AppError, ErrorCode},
    keys::{service::Rotation, KeyError},
    request::ClientInfo,
    server,
    state::AppState,
    store::{backup, restore, ConnectError, Db},
};
use clap::{Parser, Subcommand};
use std::{path::Path, path::PathBuf, process::ExitCode, time::Duration};

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
    /// Write a consistent copy of the SQLite database to FILE, while
    /// servers run; never overwrites a file. (PostgreSQL: use pg_dump.)
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup FILE; every server using
    /// it must be stopped. The replaced database is kept beside it.
    Restore { file: PathBuf },
    /// Print everything kept about an account, as one JSON document.
    ExportUser { email: String },
    /// Delete expired rows now (every server does it hourly), in the same
    /// small batches; prints what went and the longest batch.
    Purge,
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
    if let Err(err) = server::init_tracing() {
        eprintln!("gatehouse: {err}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        None | Some(Command::Serve) => server::serve().await.map_err(|e| e.to_string()),
        Some(Command::Backup { file }) => back_up(&file).await,
        Some(Command::Restore { file }) => restore_from(&file).await,
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

/// Why an administrative command failed: the message to print, and
/// whether the database was busy, so that trying again may work.
#[derive(Debug)]
struct Failure {
    message: String,
    busy: bool,
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        Self {
            message: err.to_string(),
            busy: false,
        }
    }
}

impl From<ConnectError> for Failure {
    fn from(err: ConnectError) -> Self {
        Self {
            busy: err.is_busy(),
            message: err.to_string(),
        }
    }
}

/// The services answer a statement that met a busy or absent database
/// (`StoreError::Unavailable`) with `unavailable`.
impl From<AppError> for Failure {
    fn from(err: AppError) -> Self {
        Self {
            busy: err.error == ErrorCode::Unavailable,
            message: err.message,
        }
    }
}

impl From<KeyError> for Failure {
    fn from(err: KeyError) -> Self {
        Self {
            busy: matches!(&err, KeyError::Store(store) if store.is_unavailable()),
            message: err.to_string(),
        }
    }
}

/// Runs an administrative command, again after a pause when the database
/// was busy (SQLite answers `SQLITE_BUSY` to a new connection while running
/// servers write): up to four tries over about two seconds. Every command
/// is safe to repeat: each step re-reads the state it changes.
async fn administer_patiently(command: Command) -> Result<(), String> {
    let mut pause = Duration::from_millis(250);
    for _ in 0..3 {
        match administer(command.clone()).await {
            // Nothing was changed by the statement that met it.
            Err(failure) if failure.busy => {
                tracing::warn!(message = %failure.message, "database busy; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            done => return done.map_err(|failure| failure.message),
        }
    }
    administer(command).await.map_err(|failure| failure.message)
}

/// Runs an administrative command through the same services the admin
/// console uses, so both record the same events.
async fn administer(command: Command) -> Result<(), Failure> {
    let config = Config::from_env()?;
    let db = Db::connect(&config.database_url).await?;
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
            Command::Serve
            | Command::Keys { .. }
            | Command::Backup { .. }
            | Command::Restore { .. } => unreachable!("handled above"),
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
                let ended = state.account.revoke_all(Actor::Cli, &user, &here).await?;
                println!("{ended} session(s) of {} revoked", user.email);
            }
            Command::Purge => {
                let report = state.sessions.purge().await?;
                println!(
                    "purged {} session(s), {} event(s), {} other row(s) in {} batch(es) \
                     of at most {} rows; {} ms in all, the longest batch {:.1} ms",
                    report.sessions,
                    report.events,
                    report.other,
                    report.batches,
                    report.largest_batch,
                    report.took.as_millis(),
                    report.longest_batch.as_secs_f64() * 1000.0
                );
            }
            Command::ExportUser { email } => {
                let user = admin.user_by_email(&email).await?;
                let data = state.account.export(&user).await?;
                let text = serde_json::to_string_pretty(&data)
                    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
                println!("{text}");
            }
        }
        Ok::<_, AppError>(())
    }
    .await;
    state.sessions.close().await;
    Ok(result?)
}

/// `gatehouse keys …`; errors say what to do (they name keys, never
/// secrets).
async fn manage_keys(state: &AppState, action: KeysAction) -> Result<(), Failure> {
    let keys = &state.signing;
    // Keys are made by a server's first start (which also opens the
    // upgrade window for HS256 tokens); the command line only moves them.
    if keys.list().await?.is_empty() {
        return Err(Failure {
            message: "there are no signing keys yet: a server makes the first one when it starts"
                .into(),
            busy: false,
        });
    }
    match action {
        KeysAction::List => {
            for key in keys.list().await? {
                println!("{} {} {}", key.kid, key.state, rfc3339(key.created_at));
            }
        }
        KeysAction::Rotate => match keys.rotate().await? {
            Rotation::Promoted { kid } => println!("{kid} is now current"),
            Rotation::Pending { kid, at } => println!(
                "{kid} is published as standby and becomes current at {} \
                 (after GATEHOUSE_JWKS_MAX_AGE; run `gatehouse keys rotate` then, \
                 or let a running server do it)",
                rfc3339(at)
            ),
        },
        KeysAction::Revoke { kid } => {
            let was = keys.revoke(&kid).await?;
            println!("{kid} revoked (it was {})", was.as_str());
        }
    }
    Ok(())
}

/// Whether the database is PostgreSQL (which has its own backup tools);
/// an error for a database that is neither that nor SQLite.
fn is_postgres(url: &str) -> Result<bool, String> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(false),
        "postgres" | "postgresql" => Ok(true),
        _ => Err(ConnectError::UnsupportedScheme(format!("{scheme}:")).to_string()),
    }
}

/// `gatehouse backup FILE`.
async fn back_up(file: &Path) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let url = &config.database_url;
    if is_postgres(url)? {
        return Err(format!(
            "the database is PostgreSQL: back it up with pg_dump, which takes a consistent \
             copy while servers run, for example\n  \
             pg_dump --format=custom --file='{}' '{}'\n\
             (the password is shown as ***: give it by PGPASSWORD or ~/.pgpass, not in the URL)",
            file.display(),
            redact_url(url)
        ));
    }
    let bytes = backup::backup(url, file).await.map_err(|e| e.to_string())?;
    println!(
        "backup of {} written to {} ({bytes} bytes)",
        redact_url(url),
        file.display()
    );
    Ok(())
}

/// `gatehouse restore FILE`.
async fn restore_from(file: &Path) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let url = &config.database_url;
    if is_postgres(url)? {
        return Err(format!(
            "the database is PostgreSQL: restore a pg_dump backup with pg_restore, with every \
             server stopped, for example\n  \
             pg_restore --clean --if-exists --dbname='{}' '{}'\n\
             (the password is shown as ***: give it by PGPASSWORD or ~/.pgpass, not in the URL)",
            redact_url(url),
            file.display()
        ));
    }
    let restored = restore::restore(url, file)
        .await
        .map_err(|e| e.to_string())?;
    println!("{} restored into {}", file.display(), redact_url(url));
    if !restored.applied.is_empty() {
        println!(
            "it came from an older gatehouse: {} newer migration(s) applied",
            restored.applied.len()
        );
    }
    if let Some(kept) = restored.kept {
        println!("the database it replaced is kept at {}", kept.display());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{tests::busy_error, StoreError};

    #[tokio::test]
    async fn only_a_busy_database_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let busy_statement = AppError::from(StoreError::from(busy_error(dir.path()).await));
        assert!(Failure::from(busy_statement).busy);
        let busy_keys = KeyError::Store(StoreError::from(busy_error(dir.path()).await));
        assert!(Failure::from(busy_keys).busy);
        let busy_open = ConnectError::Open(busy_error(dir.path()).await);
        assert!(Failure::from(busy_open).busy);

        // What an error says does not matter, only what it is.
        let says_so = AppError::new(ErrorCode::Internal, "database unavailable: locked");
        assert!(!Failure::from(says_so).busy);
        assert!(!Failure::from(KeyError::UnknownKey("database unavailable".into())).busy);
        assert!(!Failure::from(ConnectError::UnsupportedScheme("mysql:".into())).busy);
        let missing = ConnectError::Migrate(sqlx::migrate::MigrateError::VersionMissing(1));
        assert!(!Failure::from(missing).busy);
    }
}
