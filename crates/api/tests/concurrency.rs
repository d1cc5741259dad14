//! DESIGN.md rule 3 under load: while writers append, every reader paging
//! the change feed sees every change it is owed exactly once, in order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use vtj_store::Store;
use vtj_testkit::*;
use vtj_wire::MuutoksetResponse;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_every_change_once_in_order_while_writers_append() {
    let h = Arc::new(
        start(Options {
            persons: 5_000,
            days: 1,
            config: |c| {
                c.rate_per_second = 1e6;
                // Small pages: many page boundaries fall among the writer's commits.
                c.limits.page = 7;
            },
            ..Options::default()
        })
        .await,
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
    for pause_ms in [0u64, 1, 3, 10] {
        let (h, done) = (h.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut cursor = start_cursor;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (st, body) = h.post(KS, "/muutokset", &json!({ "viimeisinKirjausavain": cursor })).await;
                assert_eq!(st, StatusCode::OK);
                let p: MuutoksetResponse = serde_json::from_slice(&body).unwrap();
                assert!(p.muutokset.len() <= 7);
                seen.extend(p.muutokset);
                cursor = p.viimeisin_kirjausavain;
                // Only a page that started after the writer finished and
                // says "up to date" proves nothing more is coming.
                if finished && p.ajan_tasalla {
                    return seen;
                }
                tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
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
    let expected = served_records(&s, &permit, start_cursor);
    assert!(expected.len() > 100, "the writer produced enough to matter: {}", expected.len());
    for seen in &results {
        // DVV's records carry no cursor of their own: the sequence of
        // records itself must be the log's, once each, in order.
        assert_eq!(seen.len(), expected.len(), "every change once");
        assert!(seen == &expected, "every change once, in cursor order");
    }
}
