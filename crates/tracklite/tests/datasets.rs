//! Datasets logged as run inputs.

use std::collections::BTreeMap;

use tracklite::{Dataset, DatasetInput, Error, NewRun, Store, ValidationError};

fn input(name: &str, digest: &str, context: &str) -> DatasetInput {
    DatasetInput {
        dataset: Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: "local".into(),
            source: "{\"uri\": \"/data/iris.csv\"}".into(),
            schema: Some("{\"columns\": 5}".into()),
            profile: None,
        },
        tags: BTreeMap::from([("mlflow.data.context".to_string(), context.to_string())]),
    }
}

#[test]
fn inputs_round_trip_and_are_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.create_run(NewRun::default()).unwrap().run_id;
    let b = store.create_run(NewRun::default()).unwrap().run_id;
    store
        .log_inputs(
            &a,
            &[
                input("iris", "abc123", "training"),
                input("iris-val", "def456", "validation"),
            ],
        )
        .unwrap();
    // The same input again is a no-op and keeps its first tags.
    store
        .log_inputs(&a, &[input("iris", "abc123", "other")])
        .unwrap();
    store
        .log_inputs(&b, &[input("iris", "abc123", "eval")])
        .unwrap();
    let run_a = store.get_run(&a).unwrap();
    assert_eq!(run_a.inputs.len(), 2);
    assert_eq!(run_a.inputs[0], input("iris", "abc123", "training"));
    assert_eq!(run_a.inputs[1].dataset.name, "iris-val");
    let run_b = store.get_run(&b).unwrap();
    assert_eq!(run_b.inputs, vec![input("iris", "abc123", "eval")]);
}

#[test]
fn inputs_are_validated_and_need_an_active_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let err = store
        .log_inputs(&run, &[input("iris", &"d".repeat(37), "training")])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation(ValidationError::TooLong {
                field: "dataset digest",
                length: 37,
                limit: 36,
                ..
            })
        ),
        "{err}"
    );
    let err = store
        .log_inputs(&run, &[input("iris", "d", &"x".repeat(501))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input tag value for key \"mlflow.data.context\" is 501 characters long; the limit is 500"
    );
    store.delete_run(&run).unwrap();
    let err = store
        .log_inputs(&run, &[input("iris", "d", "training")])
        .unwrap_err();
    assert!(matches!(err, Error::RunDeleted(_)), "{err}");
    assert!(store.get_run(&run).unwrap().inputs.is_empty());
}
