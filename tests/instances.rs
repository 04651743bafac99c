//! Several instances on one database (one SQLite file here, one PostgreSQL
//! database when `GATEHOUSE_TEST_POSTGRES` is set).
#![cfg(feature = "ssr")]

mod common;

use common::{email, Browser, TestApp, CHROME};
use reqwest::StatusCode;
use std::collections::HashSet;

#[tokio::test]
async fn parallel_refreshes_spread_over_two_instances_get_one_successor() {
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn_in(dir.path(), &[]).await;
    let two = TestApp::spawn_in(dir.path(), &[]).await;
    let b = one.signed_up(&email("two-instances")).await;
    let original = b.refresh_token();
    let calls = (0..20).map(|i| {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let tab = Browser::new(base, CHROME);
        tab.set_cookie("__Host-gh_refresh", &original);
        async move {
            let res = tab.post_form("/api/refresh", &[]).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            tab.refresh_token()
        }
    });
    let successors: HashSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(
        successors.len(),
        1,
        "one identical successor across instances"
    );
}
