//! Temporary files that artifact writes killed mid-write leave behind:
//! `check` reports them, `gc` removes the stale ones and keeps those of
//! live writers and fresh ones.

mod common;

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::spawn_child;
use tracklite::{NewRun, Store};

const STORE_VAR: &str = "TRACKLITE_TEST_LEFTOVER_STORE";
const RUN_VAR: &str = "TRACKLITE_TEST_LEFTOVER_RUN";
const SOURCE_VAR: &str = "TRACKLITE_TEST_LEFTOVER_SOURCE";

/// The child: logs an artifact copied from a pipe, which blocks once it has
/// read what the parent wrote, until the parent kills it.
#[test]
fn leftover_child_entry() {
    let (Ok(path), Ok(run_id), Ok(source)) = (
        std::env::var(STORE_VAR),
        std::env::var(RUN_VAR),
        std::env::var(SOURCE_VAR),
    ) else {
        return;
    };
    let store = Store::open(path).unwrap();
    store
        .log_artifact(&run_id, Path::new(&source), Some("d"))
        .unwrap();
    panic!("the pipe was closed before the child was killed");
}

fn make_fifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated string that lives until the call returns.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

/// Every regular file under `root` whose name marks an unfinished write.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(root) else {
        return found;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(temp_files(&entry.path()));
        } else if kind.is_file() && name.contains(".tmp-")
            || name.starts_with(".artifact.uploading.")
        {
            found.push(entry.path());
        }
    }
    found.sort();
    found
}

/// Makes a file look last written two hours ago.
fn age(path: &Path) {
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
}

/// The notes of `check` that report a leftover at `path`.
fn noted(store: &Store, path: &Path) -> Vec<String> {
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    let path = path.display().to_string();
    report
        .notes
        .into_iter()
        .filter(|n| n.starts_with(&path) && n.contains("temporary file"))
        .collect()
}

#[test]
fn a_writer_killed_mid_write_leaves_a_file_that_check_reports_and_gc_removes() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let store_path = tmp.path().join("store");
    let store = Store::open(&store_path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let fifo = tmp.path().join("weights.bin");
    make_fifo(&fifo);

    let mut child = spawn_child(
        "leftover_child_entry",
        &[
            (STORE_VAR, store_path.display().to_string()),
            (RUN_VAR, run_id.clone()),
            (SOURCE_VAR, fifo.display().to_string()),
        ],
    );
    // Opening the pipe's writing end waits for the child to open it.
    let mut pipe = fs::File::options().write(true).open(&fifo).unwrap();
    pipe.write_all(b"half").unwrap();
    let run_dir = store.artifact_dir(&run_id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let temp = loop {
        let found = temp_files(&run_dir);
        if let [one] = &found[..] {
            if fs::metadata(one).unwrap().len() == 4 {
                break one.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the child wrote no temporary file"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(temp.starts_with(run_dir.join("d")), "{temp:?}");
    let name = temp.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(".weights.bin.tmp-"), "{name}");

    // While the writer lives, its file is kept even when it looks old:
    // the writer holds it locked.
    age(&temp);
    let report = store.gc(None).unwrap();
    assert_eq!(report.temp_files_removed, 0);
    assert!(temp.exists());

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(pipe);
    assert_eq!(temp_files(&run_dir), vec![temp.clone()], "left behind");
    assert!(store.list_artifacts(&run_id, Some("d")).unwrap().is_empty());

    let notes = noted(&store, &temp);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("4 bytes"), "{}", notes[0]);
    assert!(notes[0].contains("gc removes it"), "{}", notes[0]);

    let report = store.gc(None).unwrap();
    assert_eq!(report.temp_files_removed, 1);
    assert!(temp_files(&run_dir).is_empty());
    assert!(noted(&store, &temp).is_empty());
    // The store still takes the artifact.
    let local = tmp.path().join("weights.bin.real");
    fs::write(&local, b"whole").unwrap();
    store.log_artifact(&run_id, &local, Some("d")).unwrap();
    assert_eq!(
        store.read_artifact(&run_id, "d/weights.bin.real").unwrap(),
        b"whole"
    );
}

#[test]
fn gc_removes_only_stale_unlocked_temporary_files_of_the_store() {
    let _serial = common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    store
        .log_artifact_bytes(&run_id, "a/b/kept.txt", b"kept")
        .unwrap();
    let root = store.artifact_dir(&run_id).unwrap();
    let artifacts = store.path().join("artifacts");

    // Left by killed writers, long ago: ours, MLflow's, and one in a folder
    // of logged-model artifacts.
    let stale = [
        root.join(".x.txt.tmp-0f3a9c"),
        root.join("a/b/.kept.txt.tmp-77aa"),
        root.join("a/.artifact.uploading.abc"),
        artifacts.join("0/models/m-1/artifacts/.MLmodel.tmp-01"),
    ];
    // Being written now (fresh), or held by a live writer.
    let fresh = root.join("a/.y.bin.tmp-fresh");
    let locked = root.join(".z.bin.tmp-locked");
    for path in stale.iter().chain([&fresh, &locked]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"partial").unwrap();
    }
    for path in stale.iter().chain([&locked]) {
        age(path);
    }
    let holder = fs::File::open(&locked).unwrap();
    holder.lock().unwrap();
    // Not files of unfinished writes: a link of that form (not followed),
    // a folder of that form, an ordinary hidden file.
    let target = tmp.path().join("outside.tmp-target");
    fs::write(&target, b"not ours").unwrap();
    age(&target);
    symlink(&target, root.join(".link.tmp-1")).unwrap();
    fs::create_dir(root.join(".dir.tmp-1")).unwrap();
    fs::write(root.join(".hidden"), b"h").unwrap();
    age(&root.join(".hidden"));

    for path in stale.iter().chain([&fresh, &locked]) {
        assert_eq!(noted(&store, path).len(), 1, "{path:?} is not reported");
    }
    assert_eq!(store.check(false).unwrap().notes.len(), 6);

    // A gc limited to some runs leaves them.
    let gone = store.create_run(NewRun::default()).unwrap().run_id;
    store.delete_run(&gone).unwrap();
    let report = store.gc(Some(std::slice::from_ref(&gone))).unwrap();
    assert_eq!(report.removed_runs, vec![gone]);
    assert_eq!(report.temp_files_removed, 0);

    let report = store.gc(None).unwrap();
    assert_eq!(report.temp_files_removed, stale.len() as u64);
    for path in &stale {
        assert!(!path.exists(), "{path:?} was kept");
    }
    assert_eq!(temp_files(&artifacts), vec![locked.clone(), fresh.clone()]);
    assert_eq!(fs::read(&target).unwrap(), b"not ours");
    assert!(root.join(".link.tmp-1").exists());
    assert!(root.join(".dir.tmp-1").is_dir());
    assert!(root.join(".hidden").exists());
    assert_eq!(
        store.read_artifact(&run_id, "a/b/kept.txt").unwrap(),
        b"kept"
    );

    // Once its writer is gone, the old one goes too.
    drop(holder);
    assert_eq!(store.gc(None).unwrap().temp_files_removed, 1);
    assert_eq!(temp_files(&artifacts), vec![fresh]);
}
