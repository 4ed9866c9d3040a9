//! Search filters on metrics whose latest value is ±inf or NaN, against
//! what MLflow's SQL store answers: it keeps ±inf as ±f64::MAX (and NaN as
//! a value that only `!=` matches), so a filter sees ±inf as ±f64::MAX.

use tracklite::{NewRun, Store, ViewType};

/// (filter, which of [+inf, -inf, NaN, 1.0] it matches in MLflow's store).
const CASES: &[(&str, [bool; 4])] = &[
    ("metrics.m > 0", [true, false, false, true]),
    ("metrics.m < 0", [false, true, false, false]),
    ("metrics.m >= 1", [true, false, false, true]),
    ("metrics.m <= 1", [false, true, false, true]),
    ("metrics.m < 1e308", [false, true, false, true]),
    ("metrics.m > -1e308", [true, false, false, true]),
    (
        "metrics.m = 1.7976931348623157e308",
        [true, false, false, false],
    ),
    (
        "metrics.m >= 1.7976931348623157e308",
        [true, false, false, false],
    ),
    (
        "metrics.m > 1.7976931348623157e308",
        [false, false, false, false],
    ),
    (
        "metrics.m = -1.7976931348623157e308",
        [false, true, false, false],
    ),
    (
        "metrics.m <= -1.7976931348623157e308",
        [false, true, false, false],
    ),
    (
        "metrics.m < -1.7976931348623157e308",
        [false, false, false, false],
    ),
    ("metrics.m != 1", [true, true, true, false]),
    (
        "metrics.m != 1.7976931348623157e308",
        [false, true, true, true],
    ),
    ("metrics.m = 1", [false, false, false, true]),
    ("metrics.m = 0", [false, false, false, false]),
    ("metrics.m < 0.5", [false, true, false, false]),
    ("metrics.m != 0", [true, true, true, true]),
    // Bounds beyond f64::MAX parse to ±inf, as in Python.
    ("metrics.m > 1e308", [true, false, false, false]),
    ("metrics.m < 1e309", [true, true, false, true]),
    ("metrics.m > 1e309", [false, false, false, false]),
    ("metrics.m >= -1e309", [true, true, false, true]),
    ("metrics.m < -1e308", [false, true, false, false]),
    ("metrics.m = 1e309", [false, false, false, false]),
    ("metrics.m != 1e309", [true, true, true, true]),
    ("metrics.m > -1.8e308", [true, true, false, true]),
];

#[test]
fn filters_on_infinite_and_nan_latest_values_match_mlflow() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let values = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0];
    let runs: Vec<String> = values
        .iter()
        .map(|&v| {
            let run = store.create_run(NewRun::default()).unwrap().run_id;
            store.log_metric(&run, "m", v, 1, 0).unwrap();
            run
        })
        .collect();
    // Other runs, so that the planner has choices to make.
    for i in 0..200 {
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        store.log_metric(&run, "other", i as f64, 1, 0).unwrap();
    }
    let mut wrong = Vec::new();
    let orders: [&[&str]; 3] = [&[], &["metrics.m DESC"], &["metrics.m ASC"]];
    for ((filter, expected), order) in CASES
        .iter()
        .flat_map(|c| orders.iter().map(move |o| (c, *o)))
    {
        let page = store
            .search_runs(&["0"], filter, ViewType::ActiveOnly, 1000, order, None)
            .unwrap();
        let got: Vec<bool> = runs
            .iter()
            .map(|r| page.runs.iter().any(|x| &x.info.run_id == r))
            .collect();
        if got != expected {
            wrong.push(format!(
                "{filter} {order:?}: got {got:?}, MLflow {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Logged-model metric filters, as MLflow 3.17's SQL store answers them:
/// its logged-model metrics compare ±inf as ±f64::MAX and NaN as 0.
/// (filter, which of the models with a point at [+inf, -inf, NaN, 1.0] match).
const MODEL_CASES: &[(&str, [bool; 4])] = &[
    ("metrics.m > 0", [true, false, false, true]),
    ("metrics.m < 0", [false, true, false, false]),
    ("metrics.m < 1e308", [false, true, true, true]),
    (
        "metrics.m = 1.7976931348623157e308",
        [true, false, false, false],
    ),
    ("metrics.m != 1", [true, true, true, false]),
    ("metrics.m > 1e308", [true, false, false, false]),
    ("metrics.m < 1e309", [true, true, true, true]),
    ("metrics.m != 1e309", [true, true, true, true]),
    ("metrics.m = 0", [false, false, true, false]),
];

#[test]
fn model_filters_on_infinite_and_nan_points_match_mlflow() {
    use tracklite::{ModelMetric, NewLoggedModel};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let models: Vec<String> = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0]
        .iter()
        .map(|&value| {
            let id = store
                .create_logged_model(NewLoggedModel::default())
                .unwrap()
                .model_id;
            store
                .log_model_metrics(&[ModelMetric {
                    model_id: id.clone(),
                    key: "m".into(),
                    value,
                    timestamp: 1,
                    step: 0,
                    run_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                }])
                .unwrap();
            id
        })
        .collect();
    let mut wrong = Vec::new();
    for (filter, expected) in MODEL_CASES {
        let page = store
            .search_logged_models(&["0"], filter, &[], 100, &[], None)
            .unwrap();
        let got: Vec<bool> = models
            .iter()
            .map(|id| page.models.iter().any(|m| &m.model_id == id))
            .collect();
        if got != *expected {
            wrong.push(format!("{filter}: got {got:?}, MLflow {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
