//! Property test: random sequences of operations applied to a store and to
//! a simple in-memory model give the same results.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use tracklite::{Error, LifecycleStage, NewRun, RunStatus, Store};

#[derive(Debug, Clone)]
enum Op {
    CreateRun,
    LogMetric {
        run: usize,
        key: usize,
        value: f64,
        step: i64,
        ts: i64,
    },
    WriterBatch {
        run: usize,
        key: usize,
        n: usize,
        step: i64,
    },
    LogParam {
        run: usize,
        key: usize,
        value: usize,
    },
    SetTag {
        run: usize,
        key: usize,
        value: usize,
    },
    DeleteTag {
        run: usize,
        key: usize,
    },
    DeleteRun {
        run: usize,
    },
    RestoreRun {
        run: usize,
    },
    EndRun {
        run: usize,
    },
    Reopen,
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let run = 0usize..4;
    let key = 0usize..3;
    prop_oneof![
        2 => Just(Op::CreateRun),
        10 => (run.clone(), key.clone(), value(), -3i64..50, 0i64..5)
            .prop_map(|(run, key, value, step, ts)| Op::LogMetric { run, key, value, step, ts }),
        2 => (run.clone(), key.clone(), 1usize..400, 0i64..50)
            .prop_map(|(run, key, n, step)| Op::WriterBatch { run, key, n, step }),
        3 => (run.clone(), key.clone(), 0usize..2).prop_map(|(run, key, value)| Op::LogParam { run, key, value }),
        2 => (run.clone(), key.clone(), 0usize..3).prop_map(|(run, key, value)| Op::SetTag { run, key, value }),
        1 => (run.clone(), key.clone()).prop_map(|(run, key)| Op::DeleteTag { run, key }),
        1 => run.clone().prop_map(|run| Op::DeleteRun { run }),
        1 => run.clone().prop_map(|run| Op::RestoreRun { run }),
        1 => run.clone().prop_map(|run| Op::EndRun { run }),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default, Debug)]
struct ModelRun {
    id: String,
    deleted: bool,
    status: Option<RunStatus>,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    metrics: BTreeMap<String, Vec<(i64, i64, f64)>>,
}

/// What the outcome of an operation is, in kinds the model can predict.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    NotFound,
    InvalidState,
    RunDeleted,
    ParamChanged,
}

fn outcome(r: Result<(), Error>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(Error::NotFound { .. }) => Outcome::NotFound,
        Err(Error::Deleted { .. } | Error::AlreadyInStage { .. } | Error::NotDeleted { .. }) => {
            Outcome::InvalidState
        }
        Err(Error::RunDeleted(_)) => Outcome::RunDeleted,
        Err(Error::ParamChanged { .. }) => Outcome::ParamChanged,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn comparable(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn key(k: usize) -> String {
    format!("m/{k}")
}

fn apply(store: &mut Store, path: &Path, model: &mut Vec<ModelRun>, op: &Op) {
    let active = |model: &Vec<ModelRun>, run: usize| match model.get(run) {
        Some(r) if !r.deleted => Outcome::Ok,
        Some(_) => Outcome::RunDeleted,
        None => Outcome::NotFound,
    };
    let id = |model: &Vec<ModelRun>, run: usize| {
        model
            .get(run)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".into())
    };
    match *op {
        Op::CreateRun => {
            let info = store.create_run(NewRun::default()).unwrap();
            model.push(ModelRun {
                id: info.run_id,
                ..Default::default()
            });
        }
        Op::LogMetric {
            run,
            key: k,
            value,
            step,
            ts,
        } => {
            let expected = active(model, run);
            let got = outcome(store.log_metric(&id(model, run), &key(k), value, ts, step));
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run]
                    .metrics
                    .entry(key(k))
                    .or_default()
                    .push((step, ts, value));
            }
        }
        Op::WriterBatch {
            run,
            key: k,
            n,
            step,
        } => {
            let expected = active(model, run);
            let got = match store.metric_writer(&id(model, run)) {
                Ok(mut w) => {
                    for i in 0..n {
                        w.log(&key(k), i as f64, i as i64, step + i as i64).unwrap();
                    }
                    w.close().unwrap();
                    Outcome::Ok
                }
                Err(e) => outcome(Err(e)),
            };
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                let series = model[run].metrics.entry(key(k)).or_default();
                series.extend((0..n).map(|i| (step + i as i64, i as i64, i as f64)));
            }
        }
        Op::LogParam { run, key: k, value } => {
            let value = format!("v{value}");
            let mut expected = active(model, run);
            if expected == Outcome::Ok {
                if let Some(old) = model[run].params.get(&key(k)) {
                    if *old != value {
                        expected = Outcome::ParamChanged;
                    }
                }
            }
            let got = outcome(store.log_param(&id(model, run), &key(k), &value));
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run].params.insert(key(k), value);
            }
        }
        Op::SetTag { run, key: k, value } => {
            let expected = active(model, run);
            let got = outcome(store.set_tag(&id(model, run), &key(k), &format!("t{value}")));
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run].tags.insert(key(k), format!("t{value}"));
            }
        }
        Op::DeleteTag { run, key: k } => {
            let mut expected = active(model, run);
            if expected == Outcome::Ok && !model[run].tags.contains_key(&key(k)) {
                expected = Outcome::NotFound;
            }
            let got = outcome(store.delete_tag(&id(model, run), &key(k)));
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run].tags.remove(&key(k));
            }
        }
        Op::DeleteRun { run } | Op::RestoreRun { run } => {
            let delete = matches!(op, Op::DeleteRun { .. });
            let expected = match model.get(run) {
                None => Outcome::NotFound,
                Some(r) if r.deleted == delete => Outcome::InvalidState,
                Some(_) => Outcome::Ok,
            };
            let id = id(model, run);
            let got = outcome(if delete {
                store.delete_run(&id)
            } else {
                store.restore_run(&id)
            });
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run].deleted = delete;
            }
        }
        Op::EndRun { run } => {
            let expected = active(model, run);
            let got = outcome(
                store
                    .end_run(&id(model, run), RunStatus::Finished)
                    .map(|_| ()),
            );
            assert_eq!(got, expected, "{op:?}");
            if got == Outcome::Ok {
                model[run].status = Some(RunStatus::Finished);
            }
        }
        Op::Reopen => {
            *store = Store::open(path).unwrap();
        }
    }
}

fn compare(store: &Store, model: &[ModelRun]) {
    for m in model {
        let run = store.get_run(&m.id).unwrap();
        let stage = if m.deleted {
            LifecycleStage::Deleted
        } else {
            LifecycleStage::Active
        };
        assert_eq!(run.info.lifecycle_stage, stage);
        assert_eq!(run.info.status, m.status.unwrap_or(RunStatus::Running));
        assert_eq!(run.params, m.params);
        let tags: BTreeMap<_, _> = run
            .tags
            .into_iter()
            .filter(|(k, _)| !k.starts_with("mlflow."))
            .collect();
        assert_eq!(tags, m.tags);
        assert_eq!(run.metrics.len(), m.metrics.len());
        for (k, points) in &m.metrics {
            let mut got: Vec<(i64, i64, u64)> = store
                .metric_history(&m.id, k)
                .unwrap()
                .iter()
                .map(|p| (p.step, p.timestamp, p.value.to_bits()))
                .collect();
            let mut want: Vec<(i64, i64, u64)> = points
                .iter()
                .map(|&(s, t, v)| (s, t, v.to_bits()))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "history of {k}");
            let s = run.metrics[k];
            let latest = points
                .iter()
                .map(|&(st, t, v)| (st, t, comparable(v)))
                .fold(None, |acc: Option<(i64, i64, f64)>, p| match acc {
                    Some(a) if (a.0, a.1, a.2) >= (p.0, p.1, p.2) => Some(a),
                    _ => Some(p),
                })
                .unwrap();
            assert_eq!(
                (s.step, s.timestamp, comparable(s.value)),
                latest,
                "latest of {k}"
            );
            assert_eq!(s.count, points.len() as u64);
            let finite: Vec<f64> = points.iter().map(|p| p.2).filter(|v| !v.is_nan()).collect();
            if finite.is_empty() {
                assert!(s.min.is_nan() && s.max.is_nan());
            } else {
                assert_eq!(s.min, finite.iter().copied().fold(f64::INFINITY, f64::min));
                assert_eq!(
                    s.max,
                    finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let mut store = Store::open(&path).unwrap();
        let mut model = Vec::new();
        for op in &ops {
            apply(&mut store, &path, &mut model, op);
        }
        compare(&store, &model);
        let report = store.check(false).unwrap();
        prop_assert!(report.is_clean(), "{}", report);
        drop(store);
        compare(&Store::open(&path).unwrap(), &model);
    }
}
