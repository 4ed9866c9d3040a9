//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tracklite::Error;

/// Asserts an error about an entity's lifecycle state (deleted, already in
/// the stage asked for, not deleted) whose message mentions every needle.
pub fn assert_invalid_state<T: std::fmt::Debug>(result: Result<T, Error>, needles: &[&str]) {
    match &result {
        Err(
            e @ (Error::Deleted { .. } | Error::AlreadyInStage { .. } | Error::NotDeleted { .. }),
        ) => {
            let msg = e.to_string();
            for n in needles {
                assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
            }
        }
        other => panic!("expected a state error mentioning {needles:?}, got {other:?}"),
    }
}

/// Asserts the error of a write to deleted run `run_id`.
pub fn assert_run_deleted<T: std::fmt::Debug>(result: Result<T, Error>, run_id: &str) {
    match &result {
        Err(e @ Error::RunDeleted(id)) => {
            assert_eq!(id, run_id);
            assert!(e.to_string().contains("is deleted"), "{e}");
        }
        other => panic!("expected RunDeleted for {run_id}, got {other:?}"),
    }
}

/// The value every test point at `step` of writer `writer` carries, so that
/// a reader can tell a right point from a wrong one.
pub fn value_for(writer: u64, step: i64) -> f64 {
    (writer as f64) * 1e9 + step as f64 * 0.5 + 0.25
}

/// Re-runs this test binary as a child process that executes only the test
/// `entry`, with `vars` set. The entry test does its child work when it
/// sees the variables, and nothing otherwise.
pub fn spawn_child(entry: &str, vars: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([entry, "--exact", "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("the child test process starts")
}

/// A small deterministic generator (splitmix64), for reproducible damage.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Serialises the tests of one file that spawn child processes or depend
/// on a file being closed: a child being spawned shares every open file of
/// the test process until it starts its program, so a lock another test
/// released, or the space of a file it deleted, could stay held meanwhile.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `case` with the mount point of a small tmpfs of its own (`size`,
/// as `mount -o size=` takes it), unmounted afterwards. Mounting needs
/// root: without it, says so and returns without running `case`.
pub fn on_small_disk(size: &str, case: impl FnOnce(&Path) + std::panic::UnwindSafe) {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small-disk");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&mnt)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: mounting a small tmpfs needs root ({mounted:?})");
        return;
    }
    let result = std::panic::catch_unwind(|| case(&mnt));
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Fills the file system of `dir` to its last byte with the file
/// `dir/filler`, whose path it returns.
pub fn fill_disk(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![7u8; 64 << 10];
    while file.write(&chunk).is_ok_and(|n| n > 0) {}
    while file.write(&[7u8]).is_ok_and(|n| n == 1) {}
    filler
}
