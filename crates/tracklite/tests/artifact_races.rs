//! Races against artifact writes: a directory of the run swapped with a
//! symbolic link to a directory outside the run while artifacts are being
//! written into it. Nothing may ever land outside the run.
//!
//! The swap is an atomic exchange of two names (`renameat2` with
//! `RENAME_EXCHANGE`), which only Linux has; the store's code under test is
//! portable.
#![cfg(target_os = "linux")]

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracklite::{Error, NewRun, Store, ValidationError};

/// Swaps the directory entries `a` and `b` in one step.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let a = CString::new(a.as_os_str().as_bytes()).expect("no NUL in the path");
    let b = CString::new(b.as_os_str().as_bytes()).expect("no NUL in the path");
    // SAFETY: both arguments are NUL-terminated strings that live until the
    // call returns; AT_FDCWD makes the paths relative to the working
    // directory (they are absolute anyway).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Every path under `root`, recursively, links not followed.
fn everything_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(everything_under(&entry.path()));
        }
        found.push(entry.path());
    }
    found
}

/// One way of writing into the swapped directory `sub`, by number.
fn log_one(
    store: &Store,
    run_id: &str,
    local: &Path,
    tree: &Path,
    i: u64,
) -> (String, Result<(), Error>) {
    match i % 4 {
        0 => {
            let path = format!("sub/bytes-{i}.txt");
            let result = store.log_artifact_bytes(run_id, &path, b"bytes");
            (path, result)
        }
        1 => {
            // Creates a directory inside the swapped one.
            let path = format!("sub/made-{i}/bytes.txt");
            let result = store.log_artifact_bytes(run_id, &path, b"bytes");
            (path, result)
        }
        2 => {
            let under = format!("sub/copies-{i}");
            let result = store.log_artifact(run_id, local, Some(&under));
            (format!("{under}/local.txt"), result)
        }
        _ => {
            let under = format!("sub/tree-{i}");
            let result = store.log_artifacts(run_id, tree, Some(&under));
            (format!("{under}/deeper/leaf.txt"), result)
        }
    }
}

#[test]
fn a_directory_swapped_with_a_symlink_never_lets_a_file_out() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let local = tmp.path().join("local.txt");
    fs::write(&local, b"local").unwrap();
    let tree = tmp.path().join("tree");
    fs::create_dir_all(tree.join("deeper")).unwrap();
    fs::write(tree.join("deeper/leaf.txt"), b"leaf").unwrap();

    store
        .log_artifact_bytes(&run_id, "sub/first.txt", b"first")
        .unwrap();
    let root = store.artifact_dir(&run_id).unwrap();
    let sub = root.join("sub");
    // The link sits next to the directory; each exchange swaps the two.
    let link = root.join("link");
    symlink(&outside, &link).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps, sub, link) = (stop.clone(), swaps.clone(), sub.clone(), link.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed)
                && n < 50_000_000
                && started.elapsed() < Duration::from_secs(60)
            {
                exchange(&sub, &link).unwrap();
                n += 1;
                swaps.store(n, Ordering::Relaxed);
            }
            n
        })
    };

    let (calls, started) = (4_000u64, Instant::now());
    let (mut written, mut refused, mut escaped_at) = (Vec::new(), 0u64, None);
    let (mut made, mut unclear) = (0u64, Vec::new());
    for i in 0..calls {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        made += 1;
        let (path, result) = log_one(&store, &run_id, &local, &tree, i);
        match result {
            Ok(()) => written.push(path),
            Err(e) => {
                refused += 1;
                // A refusal names the artifact path and why.
                let msg = e.to_string();
                let clear = matches!(&e, Error::Validation(ValidationError::InvalidValue { value, .. }) if value.starts_with("sub"))
                    && (msg.contains("symbolic link") || msg.contains("outside the run"));
                if !clear {
                    unclear.push(format!("{path}: {e:?}"));
                }
            }
        }
        if escaped_at.is_none() && fs::read_dir(&outside).unwrap().next().is_some() {
            escaped_at = Some(i);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swapped = swapper.join().unwrap();
    let escaped = everything_under(&outside);
    eprintln!(
        "{made} calls ({} written, {refused} refused) against {swapped} swaps; \
         {} paths outside the run (first after call {escaped_at:?})",
        written.len(),
        escaped.len()
    );
    assert!(
        escaped.is_empty(),
        "{} paths were written outside the run, the first after call {escaped_at:?}: {:?}",
        escaped.len(),
        &escaped[..escaped.len().min(5)]
    );
    assert!(
        unclear.is_empty(),
        "{} calls failed with an unclear error, such as {:?}",
        unclear.len(),
        &unclear[..unclear.len().min(3)]
    );
    assert!(swapped > 0);
    assert!(!written.is_empty(), "every call was refused");

    // The real directory now has one of the two names; every write that
    // succeeded is in it.
    let real = if fs::symlink_metadata(&sub).unwrap().is_dir() {
        &sub
    } else {
        &link
    };
    for path in &written {
        let inside = real.join(path.strip_prefix("sub/").unwrap());
        assert!(inside.is_file(), "{path} is not in the run: {inside:?}");
    }
    // Refused calls left no temporary file behind.
    let temps: Vec<_> = everything_under(real)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}
