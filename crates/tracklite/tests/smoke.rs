use tracklite::{NewRun, RunStatus, Store};

#[test]
fn log_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    let run = store.create_run(NewRun::default()).unwrap();
    for i in 0..100_000i64 {
        store
            .log_metric(&run.run_id, "loss", i as f64, 1000 + i, i)
            .unwrap();
    }
    store.log_param(&run.run_id, "lr", "0.1").unwrap();
    let r = store.get_run(&run.run_id).unwrap();
    assert_eq!(r.metrics["loss"].count, 100_000);
    assert_eq!(r.metrics["loss"].value, 99_999.0);
    let h = store.metric_history(&run.run_id, "loss").unwrap();
    assert_eq!(h.len(), 100_000);
    assert!(h
        .iter()
        .enumerate()
        .all(|(i, p)| p.step == i as i64 && p.value == i as f64));
    store.end_run(&run.run_id, RunStatus::Finished).unwrap();
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    drop(store);
    let store = Store::open(dir.path().join("s")).unwrap();
    assert_eq!(
        store.metric_history(&run.run_id, "loss").unwrap().len(),
        100_000
    );
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
}
