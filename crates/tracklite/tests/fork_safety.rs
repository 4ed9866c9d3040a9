//! fork(2) while another thread of the parent is inside tracklite: the child
//! must never inherit a lock held by a thread that does not exist in it.
//! A background thread hammers the store (index writes, reads, metric
//! writers) while the main thread forks 100 times; every child uses the
//! store at once and must finish. A child that hangs is ended by an alarm
//! it sets itself, and counts as a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tracklite::{NewRun, RunStatus, Store, ViewType};

const FORKS: usize = 100;
/// Seconds a child may take before its alarm ends it: far more than the
/// few milliseconds its work takes, so only a deadlock reaches it.
const CHILD_DEADLINE_S: u32 = 20;

/// The child's work: the store's index, log and writer cache, then exit
/// without running the parent's destructors or exit handlers.
fn child(store: &Store, run_id: &str, n: usize) -> ! {
    // SAFETY: alarm only arms a timer of this process.
    unsafe { libc::alarm(CHILD_DEADLINE_S) };
    let ok = store
        .log_metric(run_id, "child", n as f64, 1_700_000_000_000, n as i64)
        .and_then(|()| store.get_run(run_id))
        .and_then(|_| {
            store.search_runs(
                &["0"],
                "metrics.child >= 0",
                ViewType::ActiveOnly,
                10,
                &[],
                None,
            )
        })
        .is_ok();
    // SAFETY: _exit ends the process at once; nothing of it is used after.
    unsafe { libc::_exit(if ok { 0 } else { 3 }) }
}

#[test]
fn forking_while_another_thread_uses_the_store_never_deadlocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (store, run_id, stop) = (store.clone(), run_id.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                store
                    .log_metric(&run_id, "loss", 1.0 / (i + 1) as f64, i, i)
                    .unwrap();
                store.set_tag(&run_id, "i", &i.to_string()).unwrap();
                let other = store.create_run(NewRun::default()).unwrap().run_id;
                let mut w = store.metric_writer(&other).unwrap();
                w.log("x", 1.0, i, i).unwrap();
                w.close().unwrap();
                store.end_run(&other, RunStatus::Finished).unwrap();
                store.get_run(&run_id).unwrap();
                i += 1;
            }
            i
        })
    };
    let mut failures = Vec::new();
    for n in 0..FORKS {
        // SAFETY: the child only runs `child`, which ends it with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            child(&store, &run_id, n);
        }
        let mut status = 0;
        // SAFETY: waits for the child just made; `status` is a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            failures.push((n, status));
            // Each hung child costs its whole deadline: a few are proof enough.
            if failures.len() == 3 {
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let iterations = hammer.join().unwrap();
    assert!(iterations > 0);
    assert!(
        failures.is_empty(),
        "children hung or failed (fork number, wait status): {failures:?}"
    );
    // Every child's point is in the parent's view of the store.
    let history = store.metric_history(&run_id, "child").unwrap();
    assert_eq!(history.len(), FORKS);
}
