//! The export journal (schema 9): the store id, and what is recorded per
//! target, run and series.

use tracklite::{Error, NewRun, RunStatus, Store};

const REMOTE_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REMOTE_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_store_id_is_made_once_and_differs_between_stores() {
    let dir = tempfile::tempdir().unwrap();
    let id = Store::open(dir.path().join("a"))
        .unwrap()
        .store_id()
        .unwrap();
    assert_eq!(id.len(), 32);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let again = Store::open(dir.path().join("a"))
        .unwrap()
        .store_id()
        .unwrap();
    assert_eq!(id, again);
    let read_only = Store::open_read_only(dir.path().join("a")).unwrap();
    assert_eq!(read_only.store_id().unwrap(), id);
    let other = Store::open(dir.path().join("b"))
        .unwrap()
        .store_id()
        .unwrap();
    assert_ne!(id, other);
}

#[test]
fn targets_have_separate_journals() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let experiment = store.experiment_id_for("e").unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let one = store.export_journal("http://127.0.0.1:5000");
    let two = store.export_journal("http://127.0.0.1:6000");
    assert!(store.export_targets().unwrap().is_empty());

    one.record_experiment(&experiment, "17").unwrap();
    one.record_run(&run, REMOTE_A).unwrap();
    one.record_sent(
        &run,
        &pairs(&[("lr", "0.1")]),
        &pairs(&[("team", "x")]),
        &[("loss".into(), 10), ("acc".into(), 3)],
    )
    .unwrap();
    one.record_sent(&run, &[], &[], &[("loss".into(), 25)])
        .unwrap();
    one.record_end(&run, RunStatus::Killed, Some(5)).unwrap();

    assert_eq!(one.experiments().unwrap()[&experiment], "17");
    let runs = one.runs().unwrap();
    let known = &runs[&run];
    assert_eq!(known.remote_id, REMOTE_A);
    assert!(known.param_sent("lr", "0.1"));
    assert!(!known.param_sent("lr", "0.10"));
    assert!(known.tag_sent("team", "x"));
    assert!(!known.tag_sent("lr", "0.1"));
    assert_eq!(known.points_sent("loss"), 25);
    assert_eq!(known.points_sent("acc"), 3);
    assert_eq!(known.points_sent("other"), 0);
    assert_eq!(
        (known.status, known.end_time),
        (Some(RunStatus::Killed), Some(5))
    );

    assert!(two.runs().unwrap().is_empty());
    assert!(two.experiments().unwrap().is_empty());
    assert_eq!(
        store.export_targets().unwrap(),
        vec!["http://127.0.0.1:5000".to_string()]
    );
}

#[test]
fn a_run_recorded_under_another_remote_id_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let journal = store.export_journal("http://h");
    journal.record_run(&run, REMOTE_A).unwrap();
    journal
        .record_sent(&run, &pairs(&[("p", "1")]), &[], &[("m".into(), 4)])
        .unwrap();
    // The same id again keeps what was sent.
    journal.record_run(&run, REMOTE_A).unwrap();
    assert_eq!(journal.runs().unwrap()[&run].points_sent("m"), 4);
    journal.record_run(&run, REMOTE_B).unwrap();
    let known = &journal.runs().unwrap()[&run];
    assert_eq!(known.remote_id, REMOTE_B);
    assert!(known.params.is_empty() && known.series.is_empty());
    journal.forget_run(&run).unwrap();
    assert!(journal.runs().unwrap().is_empty());
}

#[test]
fn what_was_sent_is_recorded_only_for_a_journaled_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let journal = store.export_journal("http://h");
    let err = journal
        .record_sent(&run, &[], &[], &[("m".into(), 1)])
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(journal.record_end(&run, RunStatus::Finished, None).is_err());
}

#[test]
fn a_read_only_store_reads_the_journal_and_refuses_records() {
    let dir = tempfile::tempdir().unwrap();
    let run = {
        let store = Store::open(dir.path()).unwrap();
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        store
            .export_journal("http://h")
            .record_run(&run, REMOTE_A)
            .unwrap();
        run
    };
    let store = Store::open_read_only(dir.path()).unwrap();
    let journal = store.export_journal("http://h");
    assert_eq!(journal.runs().unwrap()[&run].remote_id, REMOTE_A);
    let err = journal.record_run(&run, REMOTE_B).unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
}
