//! The sync client killed with SIGKILL at random moments, many times, during
//! the initial load and during catch-ups: after restarting it converges to
//! the permit's projection, and it applied exactly the changes served.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vtj_store::Store;
use vtj_sync::{Position, Register};
use vtj_testkit::*;

mod common;

#[test]
fn killed_sync_converges_and_applies_each_change_once() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = rt.block_on(start(Options {
        persons: 30_000,
        days: 1,
        config: |c| {
            c.rate_per_second = 1e6;
            (c.limits.page, c.limits.vko_page) = (3, 3);
        },
        ..Options::default()
    }));
    let register = h.dir.path().join("register.db");
    let mut writer = h.store();
    let kunnat = area_of(KS).into_iter().collect::<Vec<_>>().join(",");
    let (user, password) = h.user(KS);
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_vtj"))
            .args(["sync", "--service", &h.api_base(), "--user", user, "--kunnat", &kunnat, "--json"])
            .arg("--register")
            .arg(&register)
            .env("VTJ_PASSWORD", password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut killed_loading, mut killed_following) = (0, 0);
    // Up to 300 ms: a person record carries the whole VTJ person now, so
    // the load takes longer than it did with twenty groups.
    for (i, delay) in common::delays(0x9E37_79B9_7F4A_7C15, 40, 300).enumerate() {
        if i % 5 == 4 {
            // Give the catch-ups something to do.
            simulate(&mut writer, 2);
        }
        let mut child = sync();
        let t = Instant::now();
        std::thread::sleep(delay);
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if running {
            match Register::open(&register).unwrap().position().unwrap() {
                Position::Following { .. } => killed_following += 1,
                _ => killed_loading += 1,
            }
        }
        assert!(t.elapsed() < Duration::from_secs(30));
    }
    eprintln!("SIGKILL landed {killed_loading} times in the initial load, {killed_following} in catch-ups");
    assert!(
        killed_loading >= 3 && killed_following >= 3,
        "kills must land in both phases: {killed_loading} in the load, {killed_following} in catch-ups"
    );

    let status = sync().wait().unwrap();
    assert!(status.success());

    let mut reg = Register::open(&register).unwrap();
    let s = h.store();
    let permit = s.permit(KS).unwrap().unwrap();
    let expected = projection(&s, &permit, &[], today()).persons;
    let held = reg.snapshot().unwrap();
    assert_eq!(held.len(), expected.len());
    assert!(held == expected, "the register converged to the projection");

    // Exactly the changes served after the initial load, each once.
    let from = reg.loaded_at().unwrap().expect("the initial load completed");
    let served = served_records(&s, &permit, from).len() as u64;
    assert!(served > 50, "enough changes to matter: {served}");
    assert_eq!(reg.counters().unwrap().changes_applied, served);
}
