//! Logged models: their lifecycle, tags, params and metrics, the models
//! runs give as outputs and take as inputs, and the search over models.

use tracklite::{
    DatasetFilter, EntityKind, Error, LifecycleStage, LoggedModel, LoggedModelOrder,
    LoggedModelOutput, LoggedModelStatus, ModelMetric, NewLoggedModel, NewRun, RunStatus, Store,
    ValidationError,
};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn named(store: &Store, experiment_id: &str, name: &str) -> LoggedModel {
    store
        .create_logged_model(NewLoggedModel {
            experiment_id: Some(experiment_id.into()),
            name: Some(name.into()),
            ..NewLoggedModel::default()
        })
        .unwrap()
}

fn metric(model_id: &str, key: &str, value: f64, timestamp: i64, step: i64) -> ModelMetric {
    ModelMetric {
        model_id: model_id.into(),
        key: key.into(),
        value,
        timestamp,
        step,
        run_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

fn is_invalid(e: &Error) -> bool {
    matches!(e, Error::Validation(ValidationError::InvalidValue { .. }))
}

#[test]
fn create_and_get_with_defaults() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap();
    let before = tracklite::now_ms();
    let m = store
        .create_logged_model(NewLoggedModel {
            source_run_id: Some(run.run_id.clone()),
            model_type: Some("agent".into()),
            tags: pairs(&[("team", "cv"), ("mlflow.user", "ada")]),
            params: pairs(&[("alpha", "0.5")]),
            ..NewLoggedModel::default()
        })
        .unwrap();
    assert!(m.model_id.starts_with("m-"), "{}", m.model_id);
    assert_eq!(m.model_id.len(), 34);
    assert!(m.model_id[2..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(m.experiment_id, "0");
    assert_eq!(m.name.split('-').count(), 3, "a generated name: {}", m.name);
    assert_eq!(m.status, LoggedModelStatus::Pending);
    assert_eq!(m.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(m.source_run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(m.model_type.as_deref(), Some("agent"));
    assert_eq!(m.tags["team"], "cv");
    assert_eq!(m.params["alpha"], "0.5");
    assert!(m.metrics.is_empty());
    assert!(m.creation_timestamp >= before);
    assert_eq!(m.creation_timestamp, m.last_updated_timestamp);
    assert_eq!(
        m.artifact_location,
        format!(
            "{}/0/models/{}/artifacts",
            store.artifact_root(),
            m.model_id
        )
    );
    assert_eq!(store.get_logged_model(&m.model_id, false).unwrap(), m);

    // A model of an experiment with its own artifact location lives there.
    let exp = store
        .create_experiment("located", Some("/data/artifacts/"), &[])
        .unwrap();
    let placed = named(&store, &exp, "placed");
    assert_eq!(
        placed.artifact_location,
        format!("/data/artifacts/models/{}/artifacts", placed.model_id)
    );
}

#[test]
fn creation_is_checked() {
    let (_dir, store) = store();
    let model = |new: NewLoggedModel| store.create_logged_model(new).unwrap_err();
    for bad in ["", "a/b", "v1.0", "a:b", "50%", "it's", "\"q\""] {
        let e = model(NewLoggedModel {
            name: Some(bad.into()),
            ..NewLoggedModel::default()
        });
        assert!(is_invalid(&e), "{bad}: {e:?}");
    }
    let e = model(NewLoggedModel {
        experiment_id: Some("42".into()),
        ..NewLoggedModel::default()
    });
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: EntityKind::Experiment,
                ..
            }
        ),
        "{e:?}"
    );
    let e = model(NewLoggedModel {
        source_run_id: Some("0123456789abcdef0123456789abcdef".into()),
        ..NewLoggedModel::default()
    });
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: EntityKind::Run,
                ..
            }
        ),
        "{e:?}"
    );
    let e = model(NewLoggedModel {
        params: pairs(&[("lr", "0.1"), ("lr", "0.2")]),
        ..NewLoggedModel::default()
    });
    assert!(matches!(e, Error::Validation(_)), "{e:?}");
    let e = model(NewLoggedModel {
        tags: pairs(&[("bad;key", "x")]),
        ..NewLoggedModel::default()
    });
    assert!(
        matches!(e, Error::Validation(ValidationError::InvalidKey { .. })),
        "{e:?}"
    );
    let exp = store.create_experiment("gone", None, &[]).unwrap();
    store.delete_experiment(&exp).unwrap();
    let e = model(NewLoggedModel {
        experiment_id: Some(exp),
        ..NewLoggedModel::default()
    });
    assert!(
        matches!(
            e,
            Error::Deleted {
                kind: EntityKind::Experiment,
                ..
            }
        ),
        "{e:?}"
    );
    // Nothing was created by the failed calls.
    let page = store
        .search_logged_models(&["0"], "", &[], 100, &[], None)
        .unwrap();
    assert!(page.models.is_empty());

    let e = store
        .get_logged_model("m-0123456789abcdef0123456789abcdef", false)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: EntityKind::LoggedModel,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(is_invalid(
        &store.get_logged_model("../etc", false).unwrap_err()
    ));
}

#[test]
fn finalize_delete_and_tags() {
    let (_dir, store) = store();
    let m = named(&store, "0", "model");
    let ready = store
        .finalize_logged_model(&m.model_id, LoggedModelStatus::Ready)
        .unwrap();
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    assert!(ready.last_updated_timestamp >= m.last_updated_timestamp);
    assert_eq!("FAILED".parse(), Ok(LoggedModelStatus::Failed));
    assert!("DONE".parse::<LoggedModelStatus>().is_err());

    store
        .set_logged_model_tags(&m.model_id, &pairs(&[("a", "1"), ("b", "2"), ("a", "3")]))
        .unwrap();
    store
        .set_logged_model_tags(&m.model_id, &pairs(&[("b", "4")]))
        .unwrap();
    let got = store.get_logged_model(&m.model_id, false).unwrap();
    assert_eq!(
        got.tags,
        [("a", "3"), ("b", "4")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );
    store.delete_logged_model_tag(&m.model_id, "a").unwrap();
    let e = store.delete_logged_model_tag(&m.model_id, "a").unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert_eq!(
        store
            .get_logged_model(&m.model_id, false)
            .unwrap()
            .tags
            .len(),
        1
    );

    store.delete_logged_model(&m.model_id).unwrap();
    let e = store.get_logged_model(&m.model_id, false).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let deleted = store.get_logged_model(&m.model_id, true).unwrap();
    assert_eq!(deleted.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(deleted.status, LoggedModelStatus::Ready);
    // Deleting again is accepted, as in MLflow.
    store.delete_logged_model(&m.model_id).unwrap();
    let e = store
        .delete_logged_model("m-0123456789abcdef0123456789abcdef")
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[test]
fn params_are_immutable_and_all_or_nothing() {
    let (_dir, store) = store();
    let m = store
        .create_logged_model(NewLoggedModel {
            params: pairs(&[("lr", "0.1")]),
            ..NewLoggedModel::default()
        })
        .unwrap();
    store
        .log_logged_model_params(&m.model_id, &pairs(&[("lr", "0.1"), ("depth", "3")]))
        .unwrap();
    let e = store
        .log_logged_model_params(&m.model_id, &pairs(&[("layers", "2"), ("lr", "0.2")]))
        .unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
    assert!(
        e.to_string().contains("\"0.1\"") && e.to_string().contains("\"0.2\""),
        "{e}"
    );
    let params = store.get_logged_model(&m.model_id, false).unwrap().params;
    assert_eq!(params.len(), 2, "{params:?}");
    assert!(!params.contains_key("layers"));
    let e = store
        .log_logged_model_params(&m.model_id, &pairs(&[("v", &"x".repeat(6001))]))
        .unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::TooLong { .. })),
        "{e:?}"
    );
}

#[test]
fn run_outputs_and_inputs() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let a = named(&store, "0", "a").model_id;
    let b = named(&store, "0", "b").model_id;
    let out = |id: &str, step| LoggedModelOutput {
        model_id: id.into(),
        step,
    };
    store
        .log_outputs(&run, &[out(&b, 5), out(&a, 0), out(&b, 5)])
        .unwrap();
    store.log_outputs(&run, &[out(&b, 7)]).unwrap();
    assert_eq!(
        store.run_outputs(&run).unwrap(),
        [out(&b, 5), out(&a, 0), out(&b, 7)]
    );
    store.log_model_inputs(&run, &[&a, &a]).unwrap();
    assert_eq!(
        store.run_model_inputs(&run).unwrap(),
        std::slice::from_ref(&a)
    );

    let missing = "m-0123456789abcdef0123456789abcdef";
    let e = store.log_outputs(&run, &[out(missing, 0)]).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = store.log_model_inputs(&run, &[missing]).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let other = store.create_run(NewRun::default()).unwrap().run_id;
    assert!(store.run_outputs(&other).unwrap().is_empty());
    store.delete_run(&other).unwrap();
    let e = store.log_outputs(&other, &[out(&a, 0)]).unwrap_err();
    assert!(matches!(e, Error::RunDeleted(_)), "{e:?}");
    let e = store
        .run_outputs("0123456789abcdef0123456789abcdef")
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: EntityKind::Run,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn metrics_keep_exact_values_and_are_deduplicated() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let m = named(&store, "0", "m").model_id;
    let odd_nan = f64::from_bits(0x7ff8_0000_0000_0abc);
    let mut points = vec![
        metric(&m, "acc", 0.9, 10, 1),
        metric(&m, "acc", odd_nan, 11, 2),
        metric(&m, "loss", f64::INFINITY, 10, 1),
        metric(&m, "loss", -0.0, 12, 1),
    ];
    points[0].run_id = Some(run.clone());
    points[0].dataset_name = Some("eval".into());
    points[0].dataset_digest = Some("d1".into());
    store.log_model_metrics(&points).unwrap();
    // The same points again are kept once; another dataset is another point.
    let mut again = points[0].clone();
    store.log_model_metrics(&[again.clone()]).unwrap();
    again.dataset_name = Some("test".into());
    store.log_model_metrics(&[again]).unwrap();
    let got = store.get_logged_model(&m, false).unwrap().metrics;
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0], points[0]);
    assert_eq!(got[1].value.to_bits(), odd_nan.to_bits());
    assert_eq!(got[2].value, f64::INFINITY);
    assert_eq!(got[3].value.to_bits(), (-0.0f64).to_bits());
    assert_eq!(got[4].dataset_name.as_deref(), Some("test"));

    // All or nothing: an unknown model or a finished-and-deleted run fails
    // the whole call.
    let missing = "m-0123456789abcdef0123456789abcdef";
    let e = store
        .log_model_metrics(&[metric(&m, "x", 1.0, 0, 0), metric(missing, "x", 1.0, 0, 0)])
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    store.end_run(&run, RunStatus::Finished).unwrap();
    store.delete_run(&run).unwrap();
    let mut late = metric(&m, "x", 1.0, 0, 0);
    late.run_id = Some(run);
    let e = store.log_model_metrics(&[late]).unwrap_err();
    assert!(matches!(e, Error::RunDeleted(_)), "{e:?}");
    assert_eq!(store.get_logged_model(&m, false).unwrap().metrics.len(), 5);

    let e = store
        .log_model_metrics(&[metric(&m, "bad;key", 1.0, 0, 0)])
        .unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::InvalidKey { .. })),
        "{e:?}"
    );
    let many: Vec<_> = (0..1001).map(|i| metric(&m, "x", 1.0, i, 0)).collect();
    let e = store.log_model_metrics(&many).unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::BatchTooLarge { .. })),
        "{e:?}"
    );
}

/// Model names of a search's first page.
fn search(store: &Store, filter: &str, order: &[LoggedModelOrder]) -> Vec<String> {
    search_in(store, &["0"], filter, &[], order)
}

fn search_in(
    store: &Store,
    experiments: &[&str],
    filter: &str,
    datasets: &[DatasetFilter],
    order: &[LoggedModelOrder],
) -> Vec<String> {
    store
        .search_logged_models(experiments, filter, datasets, 1000, order, None)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .models
        .into_iter()
        .map(|m| m.name)
        .collect()
}

/// Three models in the Default experiment:
/// - alpha: READY, type classifier, tag team=cv, param lr=0.1, acc 0.7 then 0.9 (eval)
/// - beta: PENDING, type regressor, tag team=NLP, acc NaN
/// - gamma: FAILED, no type, param lr=0.2, no metric
fn three_models(store: &Store) -> [String; 3] {
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let alpha = store
        .create_logged_model(NewLoggedModel {
            name: Some("alpha".into()),
            model_type: Some("classifier".into()),
            source_run_id: Some(run.clone()),
            tags: pairs(&[("team", "cv")]),
            params: pairs(&[("lr", "0.1")]),
            ..NewLoggedModel::default()
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    let beta = store
        .create_logged_model(NewLoggedModel {
            name: Some("beta".into()),
            model_type: Some("regressor".into()),
            tags: pairs(&[("team", "NLP")]),
            ..NewLoggedModel::default()
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    let gamma = store
        .create_logged_model(NewLoggedModel {
            name: Some("gamma".into()),
            params: pairs(&[("lr", "0.2")]),
            ..NewLoggedModel::default()
        })
        .unwrap();
    store
        .finalize_logged_model(&alpha.model_id, LoggedModelStatus::Ready)
        .unwrap();
    store
        .finalize_logged_model(&gamma.model_id, LoggedModelStatus::Failed)
        .unwrap();
    let mut late = metric(&alpha.model_id, "acc", 0.9, 20, 1);
    late.dataset_name = Some("eval".into());
    late.dataset_digest = Some("e1".into());
    store
        .log_model_metrics(&[
            metric(&alpha.model_id, "acc", 0.7, 10, 0),
            late,
            metric(&beta.model_id, "acc", f64::NAN, 10, 0),
        ])
        .unwrap();
    [alpha.model_id, beta.model_id, gamma.model_id]
}

#[test]
fn search_filters() {
    let (_dir, store) = store();
    let [alpha, _, _] = three_models(&store);
    let cases: &[(&str, &[&str])] = &[
        ("", &["gamma", "beta", "alpha"]),
        ("name = 'beta'", &["beta"]),
        ("attributes.name != 'beta'", &["gamma", "alpha"]),
        ("name LIKE '%a'", &["gamma", "beta", "alpha"]),
        ("name LIKE 'A%'", &[]),
        ("name ILIKE 'A%'", &["alpha"]),
        ("name IN ('alpha', 'gamma')", &["gamma", "alpha"]),
        ("name NOT IN ('alpha')", &["gamma", "beta"]),
        ("status = 'READY'", &["alpha"]),
        ("status != 'PENDING'", &["gamma", "alpha"]),
        ("model_type = 'classifier'", &["alpha"]),
        // A model without a type has no value to differ from.
        ("model_type != 'classifier'", &["beta"]),
        ("tags.team = 'cv'", &["alpha"]),
        ("tags.team ILIKE 'nlp'", &["beta"]),
        ("tags.team IN ('cv', 'NLP')", &["beta", "alpha"]),
        ("tags.team IS NULL", &["gamma"]),
        ("tags.team IS NOT NULL", &["beta", "alpha"]),
        ("params.lr = '0.2'", &["gamma"]),
        ("params.lr != '0.2'", &["alpha"]),
        ("`params`.`lr` LIKE '0.%' AND tags.team = 'cv'", &["alpha"]),
        // Any point counts, not only the latest; beta's NaN point compares
        // as 0, as in MLflow's SQL store.
        ("metrics.acc < 0.8", &["beta", "alpha"]),
        ("metrics.acc >= 0.9", &["alpha"]),
        ("metrics.acc = 0.7", &["alpha"]),
        ("metrics.acc != 0.7", &["beta", "alpha"]),
        ("metrics.acc > -1e308", &["beta", "alpha"]),
        ("metrics.acc = 0", &["beta"]),
        ("metrics.missing > 0", &[]),
        (
            "creation_timestamp > 0 AND last_updated_timestamp > 0",
            &["gamma", "beta", "alpha"],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(search(&store, filter, &[]), *want, "{filter}");
    }
    let source = store.get_logged_model(&alpha, false).unwrap();
    let by_run = format!(
        "source_run_id = '{}'",
        source.source_run_id.as_deref().unwrap()
    );
    assert_eq!(search(&store, &by_run, &[]), ["alpha"]);
    let by_id = format!("model_id = '{alpha}'");
    assert_eq!(search(&store, &by_id, &[]), ["alpha"]);
    let by_location = format!("artifact_location = '{}'", source.artifact_location);
    assert_eq!(search(&store, &by_location, &[]), ["alpha"]);
    let created = format!("creation_time = {}", source.creation_timestamp);
    assert!(search(&store, &created, &[]).contains(&"alpha".to_string()));

    for bad in [
        "size = 'x'",
        "datasets.name = 'x'",
        "metrics.acc LIKE '0.%'",
        "metrics.acc = 'x'",
        "name < 'b'",
        "creation_time LIKE '1%'",
        "name = 'a' OR name = 'b'",
        "name = alpha",
    ] {
        let e = store
            .search_logged_models(&["0"], bad, &[], 10, &[], None)
            .unwrap_err();
        assert!(matches!(e, Error::InvalidFilter { .. }), "{bad}: {e:?}");
    }
}

#[test]
fn search_with_datasets() {
    let (_dir, store) = store();
    three_models(&store);
    let eval = |digest: Option<&str>| DatasetFilter {
        name: "eval".into(),
        digest: digest.map(String::from),
    };
    let s =
        |filter: &str, datasets: &[DatasetFilter]| search_in(&store, &["0"], filter, datasets, &[]);
    // With no metric clause, a model needs a point on the dataset.
    assert_eq!(s("", &[eval(None)]), ["alpha"]);
    assert_eq!(s("", &[eval(Some("e1"))]), ["alpha"]);
    assert!(s("", &[eval(Some("other"))]).is_empty());
    // Metric clauses only look at points on the datasets.
    assert_eq!(s("metrics.acc > 0.8", &[eval(None)]), ["alpha"]);
    assert!(s("metrics.acc < 0.8", &[eval(None)]).is_empty());
    assert_eq!(s("metrics.acc < 0.8", &[]), ["beta", "alpha"]);
    let e = store
        .search_logged_models(
            &["0"],
            "",
            &[DatasetFilter {
                name: String::new(),
                digest: None,
            }],
            10,
            &[],
            None,
        )
        .unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
}

#[test]
fn search_order() {
    let (_dir, store) = store();
    three_models(&store);
    let by = |field: &str, ascending| LoggedModelOrder::new(field, ascending);
    assert_eq!(
        search(&store, "", &[by("name", true)]),
        ["alpha", "beta", "gamma"]
    );
    assert_eq!(
        search(&store, "", &[by("name", false)]),
        ["gamma", "beta", "alpha"]
    );
    assert_eq!(
        search(&store, "", &[by("creation_time", true)]),
        ["alpha", "beta", "gamma"]
    );
    // Missing values last in both directions.
    assert_eq!(
        search(&store, "", &[by("model_type", false)]),
        ["beta", "alpha", "gamma"]
    );
    assert_eq!(
        search(&store, "", &[by("model_type", true)]),
        ["alpha", "beta", "gamma"]
    );
    // The latest point of a metric; NaN after numbers, missing last.
    assert_eq!(
        search(&store, "", &[by("metrics.acc", true)]),
        ["alpha", "beta", "gamma"]
    );
    assert_eq!(
        search(&store, "", &[by("metrics.acc", false)]),
        ["alpha", "beta", "gamma"]
    );
    assert_eq!(
        search(
            &store,
            "",
            &[
                LoggedModelOrder::parse("status DESC").unwrap(),
                by("name", true)
            ]
        ),
        ["alpha", "beta", "gamma"]
    );
    // Only points on the dataset count.
    let mut on_eval = by("metrics.acc", true);
    on_eval.dataset_name = Some("eval".into());
    assert_eq!(search(&store, "", &[on_eval]), ["alpha", "gamma", "beta"]);
    for bad in ["params.lr", "size", "tags.team"] {
        let e = store
            .search_logged_models(&["0"], "", &[], 10, &[by(bad, true)], None)
            .unwrap_err();
        assert!(matches!(e, Error::InvalidFilter { .. }), "{bad}: {e:?}");
    }
}

#[test]
fn search_scope_and_pages() {
    let (_dir, store) = store();
    let exp = store.create_experiment("other", None, &[]).unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(named(&store, "0", &format!("m{i}")).model_id);
    }
    named(&store, &exp, "elsewhere");
    store.delete_logged_model(&ids[3]).unwrap();
    assert_eq!(search_in(&store, &[&exp], "", &[], &[]), ["elsewhere"]);
    assert_eq!(search_in(&store, &["0", &exp], "", &[], &[]).len(), 7);
    assert!(search_in(&store, &[], "", &[], &[]).is_empty());
    assert!(!search(&store, "", &[]).contains(&"m3".to_string()));

    let order = [LoggedModelOrder::new("name", true)];
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = store
            .search_logged_models(&["0"], "", &[], 2, &order, token.as_deref())
            .unwrap();
        pages += 1;
        seen.extend(page.models.into_iter().map(|m| m.name));
        if pages == 1 {
            // Models created while paging do not shift later pages.
            named(&store, "0", "a-newcomer");
        }
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["m0", "m1", "m2", "m4", "m5", "m6"]);

    let e = store
        .search_logged_models(&["0"], "", &[], 0, &[], None)
        .unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
    let e = store
        .search_logged_models(&["0"], "", &[], 10, &[], Some("%%%"))
        .unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
    let e = store
        .search_logged_models(&["x"], "", &[], 10, &[], None)
        .unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
}

#[test]
fn models_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (id, run) = {
        let store = Store::open(dir.path()).unwrap();
        let run = store.create_run(NewRun::default()).unwrap().run_id;
        let m = named(&store, "0", "kept");
        store
            .log_model_metrics(&[metric(&m.model_id, "acc", f64::NAN, 1, 0)])
            .unwrap();
        store
            .log_outputs(
                &run,
                &[LoggedModelOutput {
                    model_id: m.model_id.clone(),
                    step: 3,
                }],
            )
            .unwrap();
        (m.model_id, run)
    };
    let store = Store::open(dir.path()).unwrap();
    let m = store.get_logged_model(&id, false).unwrap();
    assert_eq!(m.name, "kept");
    assert!(m.metrics[0].value.is_nan());
    assert_eq!(store.run_outputs(&run).unwrap()[0].step, 3);
}

#[test]
fn concurrent_creation_from_threads() {
    let (_dir, store) = store();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let m = named(&store, "0", &format!("t{t}-{i}"));
                    store
                        .log_model_metrics(&[metric(&m.model_id, "acc", i as f64, 1, 0)])
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let page = store
        .search_logged_models(&["0"], "metrics.acc >= 5", &[], 100, &[], None)
        .unwrap();
    assert_eq!(page.models.len(), 20);
}

#[test]
fn recording_models_appends_to_the_run_history_tag() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let tag = "mlflow.log-model.history";
    store
        .record_logged_model(&run, r#"{"artifact_path": "a", "flavors": {}}"#)
        .unwrap();
    store
        .record_logged_model(&run, r#"{"artifact_path": "b"}"#)
        .unwrap();
    // The text stays as `json.dumps` writes a list.
    assert_eq!(
        store.get_run(&run).unwrap().tags[tag],
        r#"[{"artifact_path": "a", "flavors": {}}, {"artifact_path": "b"}]"#
    );
    // Writers from several threads never lose each other's entries.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (store, run) = (store.clone(), run.clone());
            std::thread::spawn(move || {
                for i in 0..5 {
                    store
                        .record_logged_model(&run, &format!(r#"{{"t": {t}, "i": {i}}}"#))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let value = store.get_run(&run).unwrap().tags[tag].clone();
    let list: serde_json::Value = serde_json::from_str(&value).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 22);

    let e = store.record_logged_model(&run, "[1, 2]").unwrap_err();
    assert!(is_invalid(&e), "{e:?}");
    // Past the tag limit: refused, and the tag is left as it was.
    let big = format!(r#"{{"x": "{}"}}"#, "y".repeat(8000));
    let e = store.record_logged_model(&run, &big).unwrap_err();
    assert!(
        matches!(e, Error::Validation(ValidationError::TooLong { .. })),
        "{e:?}"
    );
    assert_eq!(store.get_run(&run).unwrap().tags[tag], value);
    store.set_tag(&run, tag, "not json").unwrap();
    let e = store.record_logged_model(&run, "{}").unwrap_err();
    assert!(matches!(e, Error::MalformedTag { .. }), "{e:?}");
    store.set_tag(&run, tag, "[]").unwrap();
    store.record_logged_model(&run, "{}").unwrap();
    assert_eq!(store.get_run(&run).unwrap().tags[tag], "[{}]");
    store.delete_run(&run).unwrap();
    let e = store.record_logged_model(&run, "{}").unwrap_err();
    assert!(matches!(e, Error::RunDeleted(_)), "{e:?}");
}

#[test]
fn gc_removes_a_runs_model_outputs_and_inputs() {
    let (dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let kept = store.create_run(NewRun::default()).unwrap().run_id;
    let a = named(&store, "0", "a").model_id;
    for r in [&run, &kept] {
        let output = LoggedModelOutput {
            model_id: a.clone(),
            step: 1,
        };
        store.log_outputs(r, &[output]).unwrap();
        store.log_model_inputs(r, &[&a]).unwrap();
    }
    store.delete_run(&run).unwrap();
    store.gc(None).unwrap();
    let index = rusqlite::Connection::open(dir.path().join("store/index.sqlite")).unwrap();
    for table in ["run_model_outputs", "run_model_inputs"] {
        let runs: Vec<String> = index
            .prepare(&format!("SELECT run_uuid FROM {table}"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(runs, std::slice::from_ref(&kept), "{table}");
    }
    // The model itself stays: another run still names it.
    assert_eq!(store.run_model_inputs(&kept).unwrap(), [a]);
}
