//! `tracklite check` notes the temporary files that interrupted artifact
//! writes left behind; `tracklite gc` removes the stale ones and says so.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use tracklite::{NewRun, Store};

fn cli(store: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .env_remove("TRACKLITE_STORE")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn check_notes_and_gc_removes_a_stale_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    store
        .log_artifact_bytes(&run_id, "d/model.bin", b"whole")
        .unwrap();
    // What a writer killed between creating and renaming leaves, aged.
    let temp = store
        .artifact_dir(&run_id)
        .unwrap()
        .join("d/.model.bin.tmp-0f3a9c");
    fs::write(&temp, b"half").unwrap();
    fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 60 * 60))
        .unwrap();
    drop(store);

    let text = stdout(&cli(&path, &["check"]));
    let note = format!("note: {}: a temporary file", temp.display());
    assert!(text.contains(&note), "{text}");
    assert!(text.ends_with("ok\n"), "{text}");

    let text = stdout(&cli(&path, &["gc"]));
    assert_eq!(
        text,
        "no deleted runs to remove\nremoved 1 temporary files left by interrupted artifact writes\n"
    );
    assert!(!temp.exists());
    let doc: serde_json::Value =
        serde_json::from_slice(&cli(&path, &["gc", "--json"]).stdout).unwrap();
    assert_eq!(doc["temp_files_removed"], 0);
    assert!(!stdout(&cli(&path, &["check"])).contains("note:"));
}
