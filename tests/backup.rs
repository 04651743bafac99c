//! `gatehouse backup` and `gatehouse restore` through the real binary, on
//! real SQLite files, against a real server writing meanwhile; and the
//! advice given for PostgreSQL.
#![cfg(feature = "ssr")]

mod common;

use common::{email, on_postgres, TestApp, PASSWORD, SECRET};
use reqwest::StatusCode;
use std::{
    path::Path,
    process::Output,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// Runs the gatehouse binary with `args` against the database `url`.
async fn gatehouse(url: &str, data_dir: &Path, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("GATEHOUSE_SECRET", SECRET)
        .env("GATEHOUSE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output().expect("the gatehouse binary runs"))
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("test.db").display())
}

/// Signs `address` in on the server at `app`; the status.
async fn sign_in_status(app: &TestApp, address: &str) -> StatusCode {
    app.browser()
        .post_form("/api/login", &[("email", address), ("password", PASSWORD)])
        .await
        .status
}

/// Runs `sql` on the SQLite file `file`.
async fn on_file(file: &Path, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_backup_under_load_restores_into_a_fresh_place_where_everyone_signs_in() {
    if on_postgres() {
        return; // SQLite's own backup; PostgreSQL has pg_dump.
    }
    let app = Arc::new(TestApp::spawn_with(&[("GATEHOUSE_REGISTER_LIMIT", "100000")]).await);
    let mut before: Vec<String> = Vec::new();
    for _ in 0..3 {
        let address = email("early");
        app.signed_up(&address).await;
        before.push(address);
    }

    // Write load: new accounts and sign-ins, until told to stop.
    let registered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    {
        let (app, registered, stop) = (app.clone(), registered.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let address = email("load");
                app.signed_up(&address).await;
                registered.lock().unwrap().push(address);
            }
        }));
    }
    {
        let (app, stop, who) = (app.clone(), stop.clone(), before[0].clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(sign_in_status(&app, &who).await, StatusCode::OK);
            }
        }));
    }
    common::eventually(
        "registrations under way",
        Duration::from_secs(30),
        || async { registered.lock().unwrap().len() >= 3 },
    )
    .await;

    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("gatehouse-backup.db");
    // Every account whose registration was answered before the backup started.
    before.extend(registered.lock().unwrap().iter().cloned());
    let url = sqlite_url(&app.data_dir);
    let out = gatehouse(&url, &app.data_dir, &["backup", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("written to"), "{said}");
    let during = registered.lock().unwrap().len();
    // One more account after the backup finished: it must not be in it.
    common::eventually(
        "a registration after the backup",
        Duration::from_secs(30),
        || async { registered.lock().unwrap().len() > during },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("the load ran without a failure");
    }
    let after = registered.lock().unwrap().last().cloned().unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077,
        0,
        "only its owner reads a backup"
    );

    // A fresh place: restore there, start a server on it.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_url = sqlite_url(fresh.path());
    let out = gatehouse(
        &fresh_url,
        fresh.path(),
        &["restore", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = TestApp::spawn_in(fresh.path(), &[]).await;
    for address in &before {
        assert_eq!(
            sign_in_status(&restored, address).await,
            StatusCode::OK,
            "{address} was registered before the backup"
        );
    }
    assert_eq!(
        sign_in_status(&restored, &after).await,
        StatusCode::UNAUTHORIZED,
        "an account made after the backup is not in it"
    );
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    if on_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    app.signed_up(&email("ada")).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("taken.db");
    std::fs::write(&file, "keep me").unwrap();
    let url = sqlite_url(&app.data_dir);
    let out = gatehouse(&url, &app.data_dir, &["backup", file.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    // Nothing half-written is left beside it either.
    assert_eq!(std::fs::read_dir(backups.path()).unwrap().count(), 1);

    let empty = backups.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let out = gatehouse(&url, &app.data_dir, &["backup", empty.to_str().unwrap()]).await;
    assert!(!out.status.success(), "an empty file is a file too");
    assert_eq!(std::fs::read(&empty).unwrap().len(), 0);
}

/// A backup of a server's database with one account, `address`.
async fn backup_of_one_account(address: &str) -> (TestApp, tempfile::TempDir, std::path::PathBuf) {
    let app = TestApp::spawn().await;
    app.signed_up(address).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("one.db");
    let out = gatehouse(
        &sqlite_url(&app.data_dir),
        &app.data_dir,
        &["backup", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    (app, backups, file)
}

#[tokio::test]
async fn a_restore_refuses_foreign_newer_and_broken_files_and_a_running_server() {
    if on_postgres() {
        return;
    }
    let ada = email("ada");
    let (mut app, backups, file) = backup_of_one_account(&ada).await;
    let target = tempfile::tempdir().unwrap();
    let target_url = sqlite_url(target.path());
    let restore = |from: std::path::PathBuf| {
        let url = target_url.clone();
        let dir = target.path().to_path_buf();
        async move { gatehouse(&url, &dir, &["restore", from.to_str().unwrap()]).await }
    };
    let variant = |name: &str| {
        let copy = backups.path().join(name);
        std::fs::copy(&file, &copy).unwrap();
        copy
    };

    let altered = variant("altered.db");
    on_file(
        &altered,
        "UPDATE _sqlx_migrations SET checksum = X'00' \
         WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let out = restore(altered).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("was altered"), "{}", stderr(&out));

    let foreign = variant("foreign.db");
    on_file(
        &foreign,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20200101000000, 'someone else''s', TRUE, X'01', 0)",
    )
    .await;
    let out = restore(foreign).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not one of this build's"),
        "{}",
        stderr(&out)
    );

    let newer = variant("newer.db");
    on_file(
        &newer,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29991231000000, 'from the future', TRUE, X'01', 0)",
    )
    .await;
    let out = restore(newer).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("newer gatehouse"), "{}", stderr(&out));

    let not_sqlite = backups.path().join("notes.txt");
    std::fs::write(&not_sqlite, "x".repeat(4096)).unwrap();
    let out = restore(not_sqlite).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a SQLite database"),
        "{}",
        stderr(&out)
    );

    let out = restore(backups.path().join("missing.db")).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a file"), "{}", stderr(&out));

    // Nothing was put in place by any of them.
    assert!(!target.path().join("test.db").exists());

    // The server whose database it is is still running: refused, and its
    // database still answers.
    let own_url = sqlite_url(&app.data_dir);
    let out = gatehouse(
        &own_url,
        &app.data_dir,
        &["restore", file.to_str().unwrap()],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("in use by a running gatehouse"),
        "{}",
        stderr(&out)
    );
    let bob = email("bob");
    app.signed_up(&bob).await;

    // Stopped, the backup goes back in place: Bob (made after it) is gone,
    // and the replaced database is kept.
    app.stop().await;
    let out = gatehouse(
        &own_url,
        &app.data_dir,
        &["restore", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("kept at"), "{said}");
    let again = TestApp::spawn_in(&app.data_dir, &[]).await;
    assert_eq!(sign_in_status(&again, &ada).await, StatusCode::OK);
    assert_eq!(sign_in_status(&again, &bob).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_backup_from_an_older_build_is_brought_up_to_date() {
    if on_postgres() {
        return;
    }
    // An older build's database: every migration but the last.
    let older = tempfile::tempdir().unwrap();
    let mut names: Vec<_> = std::fs::read_dir("migrations/sqlite")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.pop();
    let old_migrations = older.path().join("migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    for path in &names {
        std::fs::copy(path, old_migrations.join(path.file_name().unwrap())).unwrap();
    }
    let file = older.path().join("old.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool.close().await;

    let target = tempfile::tempdir().unwrap();
    let out = gatehouse(
        &sqlite_url(target.path()),
        target.path(),
        &["restore", file.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("1 newer migration(s) applied"), "{said}");
    let app = TestApp::spawn_in(target.path(), &[]).await;
    let address = email("later");
    app.signed_up(&address).await;
    assert_eq!(sign_in_status(&app, &address).await, StatusCode::OK);
}

#[tokio::test]
async fn on_postgresql_backup_and_restore_name_its_own_tools_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://gatehouse:hunter2-secret@127.0.0.1:1/gatehouse";
    let out = gatehouse(url, dir.path(), &["backup", "/tmp/gatehouse.dump"]).await;
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("pg_dump --format=custom"), "{said}");
    assert!(
        said.contains("postgres://gatehouse:***@127.0.0.1:1/gatehouse"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");

    let out = gatehouse(url, dir.path(), &["restore", "/tmp/gatehouse.dump"]).await;
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("pg_restore"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}
