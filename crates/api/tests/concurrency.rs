//! DESIGN.md rule 3 under load: while writers append, every reader paging
//! the change feed sees every change it is owed exactly once, in order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use vtj_api::wire::ChangePage;
use vtj_store::Store;
use vtj_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_every_change_once_in_order_while_writers_append() {
    let h = Arc::new(
        start(Options { persons: 5_000, days: 1, config: |c| c.rate_per_second = 1e6, ..Options::default() }).await,
    );
    let start_cursor = h.store().last_cursor().unwrap().0;
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let (db, done) = (h.db.clone(), done.clone());
        tokio::task::spawn_blocking(move || {
            let mut s = vtj_store::SqliteStore::open(&db).unwrap();
            for _ in 0..25 {
                simulate(&mut s, 1);
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    let mut readers = Vec::new();
    for page in [1usize, 7, 50, 1000] {
        let (h, done) = (h.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut cursor = start_cursor;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (st, body) = h
                    .get(KS, &format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain={cursor}&sivunKoko={page}"))
                    .await;
                assert_eq!(st, StatusCode::OK);
                let p: ChangePage = serde_json::from_slice(&body).unwrap();
                seen.extend(p.muutokset);
                cursor = p.viimeinen_kirjausavain;
                // Only a page that started after the writer finished and
                // says "up to date" proves nothing more is coming.
                if finished && p.ajantasalla {
                    return seen;
                }
            }
        }));
    }
    writer.await.unwrap();
    let mut results = Vec::new();
    for r in readers {
        results.push(r.await.unwrap());
    }

    let s = h.store();
    let permit = s.permit(KS).unwrap().unwrap();
    let expected = served_cursors(&s, &permit, start_cursor);
    assert!(expected.len() > 100, "the writer produced enough to matter: {}", expected.len());
    for seen in &results {
        let cursors: Vec<i64> = seen.iter().map(|c| c.kirjausavain).collect();
        assert_eq!(cursors, expected, "every change once, in cursor order");
        assert_eq!(seen, &results[0], "every reader got the same changes");
    }
}
