//! Run artifacts: logging files, trees and bytes, listing, reading and
//! downloading, the path rules, custom locations and atomic writes.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use tracklite::{EntityKind, Error, FileInfo, NewRun, Store, ValidationError};

struct Fixture {
    dir: TempDir,
    store: Store,
    run_id: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    Fixture { dir, store, run_id }
}

impl Fixture {
    /// Writes a local file outside the store and returns its path.
    fn local(&self, rel: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join("local").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    fn list(&self, path: Option<&str>) -> Vec<FileInfo> {
        self.store.list_artifacts(&self.run_id, path).unwrap()
    }
}

fn file(path: &str, size: u64) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: false,
        file_size: Some(size),
    }
}

fn dir(path: &str) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: true,
        file_size: None,
    }
}

/// Every file name under `root`, recursively.
fn all_names(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries {
            let entry = entry.unwrap();
            names.push(entry.file_name().to_string_lossy().into_owned());
            if entry.file_type().unwrap().is_dir() {
                names.extend(all_names(&entry.path()));
            }
        }
    }
    names
}

fn assert_no_temp_files(root: &Path) {
    let temps: Vec<_> = all_names(root)
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

/// Asserts an artifact-path refusal that names the path and the rule.
fn assert_refused(result: Result<impl std::fmt::Debug, Error>, path: &str, rule: &str) {
    let err = result.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, Error::Validation(ValidationError::InvalidValue { value, .. }) if value == path),
        "{err:?}"
    );
    assert!(msg.contains(&format!("{path:?}")), "{msg}");
    assert!(msg.contains(rule), "{msg}");
}

#[test]
fn log_a_file_at_the_top_and_under_a_sub_path() {
    let f = fixture();
    let local = f.local("model.txt", b"weights");
    f.store.log_artifact(&f.run_id, &local, None).unwrap();
    f.store
        .log_artifact(&f.run_id, &local, Some("models/best"))
        .unwrap();
    assert_eq!(f.list(None), vec![file("model.txt", 7), dir("models")]);
    assert_eq!(f.list(Some("models")), vec![dir("models/best")]);
    assert_eq!(
        f.list(Some("models/best")),
        vec![file("models/best/model.txt", 7)]
    );
    assert_eq!(
        f.store.read_artifact(&f.run_id, "model.txt").unwrap(),
        b"weights"
    );
    assert_eq!(
        f.store
            .read_artifact(&f.run_id, "models/best/model.txt")
            .unwrap(),
        b"weights"
    );
    let root = f.store.artifact_dir(&f.run_id).unwrap();
    assert_eq!(
        root,
        f.store
            .path()
            .join("artifacts/0")
            .join(&f.run_id)
            .join("artifacts")
    );
    assert_eq!(
        fs::read(root.join("models/best/model.txt")).unwrap(),
        b"weights"
    );
    assert_no_temp_files(&root);
}

#[test]
fn log_a_directory_tree() {
    let f = fixture();
    f.local("tree/a.txt", b"a");
    f.local("tree/sub/b.bin", &[0u8; 1000]);
    f.local("tree/sub/deeper/c.txt", b"ccc");
    fs::create_dir_all(f.dir.path().join("local/tree/empty")).unwrap();
    let tree = f.dir.path().join("local/tree");

    f.store.log_artifacts(&f.run_id, &tree, None).unwrap();
    f.store
        .log_artifacts(&f.run_id, &tree, Some("copy/of"))
        .unwrap();

    assert_eq!(
        f.list(None),
        vec![file("a.txt", 1), dir("copy"), dir("empty"), dir("sub")]
    );
    assert_eq!(
        f.list(Some("sub")),
        vec![file("sub/b.bin", 1000), dir("sub/deeper")]
    );
    assert_eq!(
        f.list(Some("sub/deeper")),
        vec![file("sub/deeper/c.txt", 3)]
    );
    assert_eq!(f.list(Some("empty")), vec![]);
    assert_eq!(
        f.list(Some("copy/of")),
        vec![
            file("copy/of/a.txt", 1),
            dir("copy/of/empty"),
            dir("copy/of/sub")
        ]
    );
    assert_eq!(
        f.store
            .read_artifact(&f.run_id, "copy/of/sub/deeper/c.txt")
            .unwrap(),
        b"ccc"
    );
    assert_no_temp_files(&f.store.artifact_dir(&f.run_id).unwrap());
}

#[test]
fn log_bytes() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "notes.txt", b"hello")
        .unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "eval/metrics.json", br#"{"f1": 0.9}"#)
        .unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "empty.bin", b"")
        .unwrap();
    assert_eq!(
        f.list(None),
        vec![file("empty.bin", 0), dir("eval"), file("notes.txt", 5)]
    );
    assert_eq!(f.list(Some("eval")), vec![file("eval/metrics.json", 11)]);
    assert_eq!(
        f.store
            .read_artifact(&f.run_id, "eval/metrics.json")
            .unwrap(),
        br#"{"f1": 0.9}"#
    );
    assert!(f
        .store
        .read_artifact(&f.run_id, "empty.bin")
        .unwrap()
        .is_empty());
}

#[test]
fn listing_a_file_or_a_missing_path_is_empty() {
    let f = fixture();
    // Before anything is logged, the run has no artifact directory at all.
    assert_eq!(f.list(None), vec![]);
    assert_eq!(f.list(Some("")), vec![]);
    f.store
        .log_artifact_bytes(&f.run_id, "d/x.txt", b"x")
        .unwrap();
    assert_eq!(f.list(Some("")), vec![dir("d")]);
    assert_eq!(f.list(Some("d/x.txt")), vec![]);
    assert_eq!(f.list(Some("missing")), vec![]);
    assert_eq!(f.list(Some("d/x.txt/below")), vec![]);
    assert_eq!(f.list(Some("missing/deeper")), vec![]);
}

#[test]
fn reading_a_missing_artifact_or_a_directory_fails() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "d/x.txt", b"x")
        .unwrap();
    let err = f.store.read_artifact(&f.run_id, "d/y.txt").unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: EntityKind::Artifact,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("d/y.txt"), "{err}");
    assert_refused(f.store.read_artifact(&f.run_id, "d"), "d", "is a directory");
}

#[test]
fn download_a_file_a_directory_and_everything() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "top.txt", b"top")
        .unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "d/x.txt", b"x")
        .unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "d/e/y.txt", b"yy")
        .unwrap();
    let script = f.local("run.sh", b"#!/bin/sh\n");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    f.store.log_artifact(&f.run_id, &script, Some("d")).unwrap();

    let out = f.dir.path().join("out");
    let got = f
        .store
        .download_artifacts(&f.run_id, Some("d/x.txt"), &out.join("one"))
        .unwrap();
    assert_eq!(got, out.join("one/d/x.txt"));
    assert_eq!(fs::read(&got).unwrap(), b"x");

    let got = f
        .store
        .download_artifacts(&f.run_id, Some("d"), &out.join("dir"))
        .unwrap();
    assert_eq!(got, out.join("dir/d"));
    assert_eq!(fs::read(got.join("x.txt")).unwrap(), b"x");
    assert_eq!(fs::read(got.join("e/y.txt")).unwrap(), b"yy");
    let mode = fs::metadata(got.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "the executable bit is kept");

    let got = f
        .store
        .download_artifacts(&f.run_id, None, &out.join("all"))
        .unwrap();
    assert_eq!(got, out.join("all"));
    assert_eq!(fs::read(got.join("top.txt")).unwrap(), b"top");
    assert_eq!(fs::read(got.join("d/e/y.txt")).unwrap(), b"yy");
    assert_no_temp_files(&out);

    let err = f
        .store
        .download_artifacts(&f.run_id, Some("nope"), &out)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: EntityKind::Artifact,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn download_of_a_run_without_artifacts_is_an_empty_directory() {
    let f = fixture();
    let out = f.dir.path().join("out");
    let got = f.store.download_artifacts(&f.run_id, None, &out).unwrap();
    assert_eq!(got, out);
    assert!(all_names(&out).is_empty());
}

#[test]
fn an_artifact_of_the_same_name_is_replaced() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "r/v.txt", b"first, longer")
        .unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "r/v.txt", b"second")
        .unwrap();
    assert_eq!(
        f.store.read_artifact(&f.run_id, "r/v.txt").unwrap(),
        b"second"
    );
    let local = f.local("v.txt", b"third");
    f.store.log_artifact(&f.run_id, &local, Some("r")).unwrap();
    assert_eq!(
        f.store.read_artifact(&f.run_id, "r/v.txt").unwrap(),
        b"third"
    );
    assert_eq!(f.list(Some("r")), vec![file("r/v.txt", 5)]);
    assert_no_temp_files(&f.store.artifact_dir(&f.run_id).unwrap());
}

#[test]
fn malformed_paths_are_refused() {
    let f = fixture();
    let local = f.local("a.txt", b"a");
    let cases = [
        ("/etc", "absolute paths are refused"),
        ("/", "absolute paths are refused"),
        ("a/../../b", "'..' components"),
        ("..", "'..' components"),
        ("a//b", "empty components"),
        ("a/", "empty components"),
        ("./a", "'.' components"),
        ("a\\b", "backslashes are refused"),
        ("a\0b", "NUL"),
        (".x.tmp-1", "reserved for files being written"),
        (
            "d/.artifact.uploading.z",
            "reserved for files being written",
        ),
    ];
    for (path, rule) in cases {
        assert_refused(
            f.store.log_artifact(&f.run_id, &local, Some(path)),
            path,
            rule,
        );
        if !rule.contains("reserved") {
            assert_refused(f.store.read_artifact(&f.run_id, path), path, rule);
            assert_refused(f.store.list_artifacts(&f.run_id, Some(path)), path, rule);
            assert_refused(
                f.store
                    .download_artifacts(&f.run_id, Some(path), f.dir.path()),
                path,
                rule,
            );
        }
        let file_path = format!("{path}/f.txt");
        assert!(f
            .store
            .log_artifact_bytes(&f.run_id, &file_path, b"x")
            .is_err());
    }
    assert_refused(
        f.store.log_artifact_bytes(&f.run_id, "", b"x"),
        "",
        "empty components",
    );
    assert_refused(
        f.store.log_artifact_bytes(&f.run_id, "../up.txt", b"x"),
        "../up.txt",
        "'..' components",
    );
    assert_refused(
        f.store.log_artifact_bytes(&f.run_id, "/abs.txt", b"x"),
        "/abs.txt",
        "absolute paths are refused",
    );
    // Nothing was written anywhere.
    assert_eq!(f.list(None), vec![]);
    assert!(!f.dir.path().join("up.txt").exists());
}

#[test]
fn local_names_that_break_the_rules_are_refused_before_writing() {
    let f = fixture();
    f.local("tree/good.txt", b"g");
    let bad = f.local("tree/sub/bad\\name.txt", b"b");
    let err = f
        .store
        .log_artifacts(&f.run_id, &f.dir.path().join("local/tree"), None)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation(ValidationError::InvalidValue { value, .. }) if *value == bad.display().to_string()),
        "{err:?}"
    );
    assert!(err.to_string().contains("backslashes are refused"), "{err}");
    assert_eq!(f.list(None), vec![], "nothing of the tree was written");

    let leftover = f.local(".model.tmp-0123", b"t");
    let err = f
        .store
        .log_artifact(&f.run_id, &leftover, None)
        .unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[test]
fn symlinks_leading_outside_the_run_are_refused() {
    let f = fixture();
    let outside = f.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), b"secret").unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "inside/real.txt", b"real")
        .unwrap();
    let root = f.store.artifact_dir(&f.run_id).unwrap();
    symlink(&outside, root.join("escape")).unwrap();
    symlink(outside.join("secret.txt"), root.join("secret.txt")).unwrap();
    symlink(root.join("inside"), root.join("alias")).unwrap();
    symlink(root.join("nowhere"), root.join("dangling")).unwrap();
    let local = f.local("a.txt", b"a");
    let rule = "outside the run's artifact directory";

    // Writing through the link.
    assert_refused(
        f.store.log_artifact(&f.run_id, &local, Some("escape")),
        "escape",
        rule,
    );
    assert_refused(
        f.store
            .log_artifact(&f.run_id, &local, Some("escape/deeper")),
        "escape",
        rule,
    );
    assert_refused(
        f.store.log_artifact_bytes(&f.run_id, "escape/x.txt", b"x"),
        "escape",
        rule,
    );
    assert_refused(
        f.store.log_artifact_bytes(&f.run_id, "secret.txt", b"x"),
        "secret.txt",
        rule,
    );
    f.local("tree/escape/x.txt", b"x");
    assert_refused(
        f.store
            .log_artifacts(&f.run_id, &f.dir.path().join("local/tree"), None),
        "escape",
        rule,
    );
    assert_refused(
        f.store
            .log_artifact_bytes(&f.run_id, "dangling/x.txt", b"x"),
        "dangling",
        "symbolic link whose target does not exist",
    );
    assert_eq!(all_names(&outside), vec!["secret.txt".to_string()]);
    assert_eq!(fs::read(outside.join("secret.txt")).unwrap(), b"secret");

    // Reading through the link.
    assert_refused(
        f.store.read_artifact(&f.run_id, "secret.txt"),
        "secret.txt",
        rule,
    );
    assert_refused(
        f.store.read_artifact(&f.run_id, "escape/secret.txt"),
        "escape/secret.txt",
        rule,
    );
    assert_refused(
        f.store.list_artifacts(&f.run_id, Some("escape")),
        "escape",
        rule,
    );
    assert_refused(
        f.store
            .download_artifacts(&f.run_id, Some("escape"), &f.dir.path().join("out")),
        "escape",
        rule,
    );

    // Listings and downloads show only what can be served; a link that
    // stays inside the run is followed.
    assert_eq!(f.list(None), vec![dir("alias"), dir("inside")]);
    assert_eq!(f.list(Some("alias")), vec![file("alias/real.txt", 4)]);
    f.store
        .log_artifact_bytes(&f.run_id, "alias/more.txt", b"more")
        .unwrap();
    assert_eq!(
        f.store.read_artifact(&f.run_id, "inside/more.txt").unwrap(),
        b"more"
    );
    let out = f.dir.path().join("out");
    f.store.download_artifacts(&f.run_id, None, &out).unwrap();
    let mut names = all_names(&out);
    names.sort();
    assert_eq!(
        names,
        ["alias", "inside", "more.txt", "more.txt", "real.txt", "real.txt"]
    );
}

#[test]
fn a_symlink_cycle_inside_the_run_does_not_loop() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "d/x.txt", b"x")
        .unwrap();
    let root = f.store.artifact_dir(&f.run_id).unwrap();
    symlink(&root, root.join("d/up")).unwrap();
    assert_eq!(f.list(Some("d")), vec![dir("d/up"), file("d/x.txt", 1)]);
    let out = f.dir.path().join("out");
    f.store.download_artifacts(&f.run_id, None, &out).unwrap();
    assert_eq!(fs::read(out.join("d/x.txt")).unwrap(), b"x");
    assert!(out.join("d/up").is_dir());
}

#[test]
fn deleted_and_unknown_runs_and_missing_files() {
    let f = fixture();
    let local = f.local("a.txt", b"a");
    f.store.log_artifact(&f.run_id, &local, None).unwrap();
    f.store.delete_run(&f.run_id).unwrap();
    for result in [
        f.store.log_artifact(&f.run_id, &local, None),
        f.store.log_artifact_bytes(&f.run_id, "b.txt", b"b"),
        f.store
            .log_artifacts(&f.run_id, &f.dir.path().join("local"), None),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::RunDeleted(id) if id == &f.run_id),
            "{err:?}"
        );
        assert!(err.to_string().contains("is deleted"), "{err}");
    }
    // A deleted run's artifacts can still be read, as in MLflow.
    assert_eq!(f.store.read_artifact(&f.run_id, "a.txt").unwrap(), b"a");
    f.store.restore_run(&f.run_id).unwrap();
    f.store
        .log_artifact_bytes(&f.run_id, "b.txt", b"b")
        .unwrap();

    let unknown = "0123456789abcdef0123456789abcdef";
    for err in [
        f.store.log_artifact(unknown, &local, None).unwrap_err(),
        f.store.list_artifacts(unknown, None).unwrap_err(),
        f.store.read_artifact(unknown, "a.txt").unwrap_err(),
        f.store.artifact_dir(unknown).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::NotFound {
                    kind: EntityKind::Run,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(matches!(
        f.store.artifact_dir("../x").unwrap_err(),
        Error::Validation(_)
    ));

    let missing = f.dir.path().join("no/such/file.txt");
    let err = f.store.log_artifact(&f.run_id, &missing, None).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == &missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("no/such/file.txt"), "{err}");
    let err = f
        .store
        .log_artifacts(&f.run_id, &missing, None)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == &missing),
        "{err:?}"
    );

    // A directory given to log_artifact, a file given to log_artifacts.
    let err = f
        .store
        .log_artifact(&f.run_id, &f.dir.path().join("local"), None)
        .unwrap_err();
    assert!(err.to_string().contains("log_artifacts"), "{err}");
    let err = f.store.log_artifacts(&f.run_id, &local, None).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn custom_experiment_locations() {
    let f = fixture();
    let plain = f.dir.path().join("plain location");
    let exp = f
        .store
        .create_experiment("plain", Some(plain.to_str().unwrap()), &[])
        .unwrap();
    let run = f
        .store
        .create_run(NewRun {
            experiment_id: Some(exp),
            ..NewRun::default()
        })
        .unwrap();
    f.store
        .log_artifact_bytes(&run.run_id, "p/x.txt", b"plain")
        .unwrap();
    let expected = plain.join(&run.run_id).join("artifacts");
    assert_eq!(f.store.artifact_dir(&run.run_id).unwrap(), expected);
    assert_eq!(fs::read(expected.join("p/x.txt")).unwrap(), b"plain");

    let uri_dir = f.dir.path().join("uri location");
    let uri = format!("file://{}", uri_dir.to_str().unwrap().replace(' ', "%20"));
    let exp = f.store.create_experiment("uri", Some(&uri), &[]).unwrap();
    let run = f
        .store
        .create_run(NewRun {
            experiment_id: Some(exp),
            ..NewRun::default()
        })
        .unwrap();
    assert!(
        run.artifact_uri.starts_with("file://"),
        "{}",
        run.artifact_uri
    );
    let local = f.local("m.txt", b"uri");
    f.store.log_artifact(&run.run_id, &local, None).unwrap();
    let expected = uri_dir.join(&run.run_id).join("artifacts");
    assert_eq!(f.store.artifact_dir(&run.run_id).unwrap(), expected);
    assert_eq!(fs::read(expected.join("m.txt")).unwrap(), b"uri");
    assert_eq!(
        f.store.list_artifacts(&run.run_id, None).unwrap(),
        vec![file("m.txt", 3)]
    );

    for remote in ["s3://bucket/prefix", "file://otherhost/data"] {
        let exp = f
            .store
            .create_experiment(remote, Some(remote), &[])
            .unwrap();
        let run = f
            .store
            .create_run(NewRun {
                experiment_id: Some(exp),
                ..NewRun::default()
            })
            .unwrap();
        let err = f
            .store
            .log_artifact_bytes(&run.run_id, "x.txt", b"x")
            .unwrap_err();
        assert!(matches!(err, Error::NotLocal { .. }), "{err:?}");
        assert!(err.to_string().contains(remote), "{err}");
        assert!(f.store.list_artifacts(&run.run_id, None).is_err());
    }
}

#[test]
fn leftover_temporary_files_of_a_crash_are_never_served() {
    let f = fixture();
    f.store
        .log_artifact_bytes(&f.run_id, "d/kept.txt", b"kept")
        .unwrap();
    let root = f.store.artifact_dir(&f.run_id).unwrap();
    // What a writer killed between creating and renaming leaves behind.
    fs::write(root.join(".x.tmp-0f3a9c"), b"half a fi").unwrap();
    fs::write(root.join("d/.kept.txt.tmp-77aa"), b"half").unwrap();
    fs::write(root.join(".artifact.uploading.abc"), b"mlflow's").unwrap();
    assert_eq!(f.list(None), vec![dir("d")]);
    assert_eq!(f.list(Some("d")), vec![file("d/kept.txt", 4)]);
    let err = f
        .store
        .read_artifact(&f.run_id, ".x.tmp-0f3a9c")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let out = f.dir.path().join("out");
    f.store.download_artifacts(&f.run_id, None, &out).unwrap();
    let mut names = all_names(&out);
    names.sort();
    assert_eq!(names, ["d", "kept.txt"]);
    // The next write of the same name is unaffected.
    f.store
        .log_artifact_bytes(&f.run_id, "d/kept.txt", b"again")
        .unwrap();
    assert_eq!(
        f.store.read_artifact(&f.run_id, "d/kept.txt").unwrap(),
        b"again"
    );
}
