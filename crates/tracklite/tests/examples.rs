//! Runs `examples/train.rs` and checks what it recorded, so that the
//! example cannot rot.
//!
//! The example's source is compiled into this test as a module and run in
//! process, with the arguments a user would give it: no nested `cargo`
//! call, and always the example as it is now. Only `main` (print the
//! summary line, set the exit status) is left to the example binary.

use std::path::Path;

use tracklite::{RunStatus, Store, ViewType};

#[allow(dead_code)]
#[path = "../examples/train.rs"]
mod train;

const STEPS: u64 = 200;

fn run_example(store: &Path, extra: &[&str]) -> train::Summary {
    let mut args = vec![
        "--store".to_string(),
        store.to_string_lossy().into_owned(),
        "--steps".into(),
        STEPS.to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let options = train::Options::parse(&args).expect("the arguments parse");
    train::train(&options).expect("training runs and is recorded")
}

#[test]
fn the_training_example_records_a_finished_run_whose_loss_falls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let summary = run_example(&path, &["--seed", "7"]);

    // Read back from a fresh handle, as another process would.
    let store = Store::open(&path).unwrap();
    let experiment = store
        .get_experiment_by_name(train::EXPERIMENT)
        .unwrap()
        .expect("the example's experiment exists");
    let runs = store
        .list_runs(&[experiment.experiment_id.as_str()], ViewType::ActiveOnly)
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, summary.run_id);

    let run = store.get_run(&summary.run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    assert_eq!(run.info.run_name, summary.run_name);
    for (key, value) in [
        ("learning_rate", "1"),
        ("hidden_units", "16"),
        ("steps", "200"),
        ("seed", "7"),
    ] {
        assert_eq!(
            run.params.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    assert!(run.tags.contains_key("model"), "{:?}", run.tags);
    assert_eq!(run.inputs.len(), 1);
    assert_eq!(run.inputs[0].dataset.name, "two-moons");

    // One training point per step, in order.
    let loss = store.metric_history(&summary.run_id, "train_loss").unwrap();
    assert_eq!(loss.len() as u64, STEPS);
    assert!(loss.iter().enumerate().all(|(i, p)| p.step == i as i64));
    assert!(loss.iter().all(|p| p.value.is_finite()));
    let (first, last) = (loss[0].value, loss[loss.len() - 1].value);
    assert!(
        last < 0.5 * first,
        "the training loss fell from {first} to only {last}"
    );
    assert_eq!(first, summary.first_train_loss);
    assert_eq!(last, summary.final_train_loss);
    assert_eq!(run.metrics["train_loss"].value, last);
    assert_eq!(run.metrics["train_loss"].count, STEPS);
    assert_eq!(
        store
            .metric_history(&summary.run_id, "train_accuracy")
            .unwrap()
            .len() as u64,
        STEPS
    );

    // Validation every EVAL_EVERY steps and at the last step.
    let val = store
        .metric_history(&summary.run_id, "val_accuracy")
        .unwrap();
    let mut want: Vec<i64> = (0..STEPS)
        .step_by(train::EVAL_EVERY as usize)
        .map(|s| s as i64)
        .collect();
    if want.last() != Some(&(STEPS as i64 - 1)) {
        want.push(STEPS as i64 - 1);
    }
    assert_eq!(val.iter().map(|p| p.step).collect::<Vec<_>>(), want);
    let final_accuracy = val.last().unwrap().value;
    assert_eq!(final_accuracy, summary.final_val_accuracy);
    assert!(
        final_accuracy >= 0.85,
        "validation accuracy only {final_accuracy}"
    );
    assert_eq!(
        store
            .metric_history(&summary.run_id, "val_loss")
            .unwrap()
            .len(),
        want.len()
    );

    let weights = store
        .read_artifact(&summary.run_id, "model/weights.json")
        .unwrap();
    assert!(String::from_utf8(weights).unwrap().contains("\"w1\""));

    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.points, STEPS * 2 + 2 * want.len() as u64);
}

#[test]
fn the_same_seed_gives_the_same_curve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let a = run_example(&path, &["--seed", "3"]);
    let b = run_example(&path, &["--seed", "3"]);
    let c = run_example(&path, &["--seed", "4"]);
    let store = Store::open(&path).unwrap();
    let values = |run_id: &str| -> Vec<u64> {
        store
            .metric_history(run_id, "train_loss")
            .unwrap()
            .iter()
            .map(|p| p.value.to_bits())
            .collect()
    };
    assert_ne!(a.run_id, b.run_id, "each invocation is a new run");
    assert_eq!(values(&a.run_id), values(&b.run_id));
    assert_ne!(values(&a.run_id), values(&c.run_id));
    let runs = store.list_runs(&[], ViewType::ActiveOnly).unwrap();
    assert_eq!(runs.len(), 3, "all runs share one store and experiment");
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let parse = |args: &[&str]| train::Options::parse(args);
    let ok = parse(&["--store=s", "--steps", "5", "--lr=0.1"]).unwrap();
    assert_eq!((ok.steps, ok.lr, ok.seed, ok.hidden), (5, 0.1, 42, 16));
    for (args, needle) in [
        (
            &["--store", "s", "--steps", "many"][..],
            "--steps takes a number",
        ),
        (&["--store", "s", "--steps", "0"][..], "at least 1"),
        (
            &["--store", "s", "--lr", "-1"][..],
            "--lr must be a positive",
        ),
        (&["--store", "s", "--hidden"][..], "--hidden needs a value"),
        (&["--store", "s", "--epochs", "3"][..], "unknown argument"),
    ] {
        let err = parse(args).unwrap_err();
        assert!(err.contains(needle), "{args:?}: {err:?}");
    }
}
