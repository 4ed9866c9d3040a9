//! A store that its user cannot write: the reading commands still work
//! (a read-only open, which creates no file), and a writing command that
//! fails because of a read-only `index.sqlite-shm` left behind names that
//! file. The commands run as the unprivileged user `nobody` (through
//! `setpriv`), which needs root; the tests skip with a message otherwise.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use tracklite::{NewRun, RunStatus, Store, INDEX_FILE};

const NOBODY: u32 = 65534;

/// Runs the CLI as `nobody`, or None when that is not possible here.
fn as_nobody(store: &Path, args: &[&str]) -> Option<Output> {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("setpriv:") {
        eprintln!("skipped: cannot run as nobody here: {stderr}");
        return None;
    }
    Some(out)
}

/// A closed store with one finished run, readable by everyone.
fn store(dir: &Path) -> (std::path::PathBuf, String) {
    let path = dir.join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    store.log_metric(&run, "loss", 0.5, 1, 1).unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    drop(store);
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    (path, run)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_store_its_user_cannot_write_is_read_without_creating_files() {
    let dir = tempfile::tempdir().unwrap();
    let (path, run) = store(dir.path());
    let before = files(&path);
    let Some(out) = as_nobody(&path, &["runs"]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&run), "{stdout}");
    assert!(stderr.contains("opened read-only"), "{stderr}");
    // No -shm or -wal left behind, and the store stays writable for its owner.
    assert_eq!(files(&path), before);
    let store = Store::open(&path).unwrap();
    store.set_tag(&run, "after", "yes").unwrap();
}

#[test]
fn a_read_only_shm_file_left_behind_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = store(dir.path());
    // The store belongs to nobody, but an -shm file left by another user
    // (read-only for nobody) stands in the way of writing.
    for entry in walk(&path) {
        chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let mut shm = path.join(INDEX_FILE).into_os_string();
    shm.push("-shm");
    std::fs::write(&shm, vec![0u8; 32 << 10]).unwrap();
    std::fs::set_permissions(&shm, std::fs::Permissions::from_mode(0o444)).unwrap();
    let Some(out) = as_nobody(&path, &["gc"]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "gc succeeded: {stderr}");
    assert!(
        stderr.contains("index.sqlite-shm") && stderr.contains("delete it"),
        "{stderr}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() {
            for e in std::fs::read_dir(&all[i]).unwrap() {
                all.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    all
}
