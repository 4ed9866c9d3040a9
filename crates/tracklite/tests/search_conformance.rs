//! Search conformance: MLflow's filter and order_by language over runs and
//! experiments, as MLflow's own SQL store answers it.
//!
//! The cases are tables of text (`RUN_CASES`, `EXPERIMENT_CASES`) over a
//! fixed data set (`build_runs`, `build_experiments`), so that the same
//! tables can be replayed against MLflow's SQLite store. Expected lists
//! name runs; `{a b}` is a group tied on every order key, which MLflow
//! orders by run id; `$r01` in a filter stands for the id of run r01.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use tracklite::{
    Dataset, DatasetInput, Error, Metric, NewRun, RunStatus, RunUpdate, Store, ValidationError,
    ViewType, SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_LIMIT,
};

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

/// One run of the data set.
struct RunSpec {
    name: &'static str,
    experiment: &'static str,
    start: i64,
    user: &'static str,
    /// Final status and end time, when the run ended.
    end: Option<(RunStatus, i64)>,
    params: &'static [(&'static str, &'static str)],
    tags: &'static [(&'static str, &'static str)],
    /// Points per metric key, logged in order: (step, value).
    metrics: &'static [(&'static str, &'static [(i64, f64)])],
    /// (name, digest, context)
    datasets: &'static [(&'static str, &'static str, &'static str)],
    deleted: bool,
}

const RUNS: &[RunSpec] = &[
    RunSpec {
        name: "r01",
        experiment: "A",
        start: 1000,
        user: "alice",
        end: Some((RunStatus::Finished, 1500)),
        params: &[("lr", "0.1"), ("opt", "adam"), ("batch size", "32")],
        tags: &[("team", "Vision")],
        metrics: &[
            ("acc", &[(0, 0.9)]),
            ("loss", &[(0, 0.5)]),
            ("f1 score", &[(0, 0.8)]),
        ],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "r02",
        experiment: "A",
        start: 2000,
        user: "bob",
        end: None,
        params: &[("lr", "0.01"), ("opt", "Adam")],
        tags: &[("team", "vision")],
        metrics: &[("acc", &[(0, NAN)]), ("loss", &[(0, 0.4)])],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "r03",
        experiment: "A",
        start: 3000,
        user: "alice",
        end: None,
        params: &[("lr", "0.001"), ("opt", "sgd")],
        tags: &[("team", "nlp_core")],
        metrics: &[("acc", &[(0, INF)]), ("loss", &[(0, -INF)])],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "r04",
        experiment: "A",
        start: 3000,
        user: "carol",
        end: None,
        params: &[("lr", "0.1"), ("opt", "SGD")],
        tags: &[("team", "nlp%core")],
        metrics: &[("acc", &[(0, 0.9)]), ("loss", &[(0, 1.0)])],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "r05",
        experiment: "A",
        start: 4000,
        user: "bob",
        end: None,
        params: &[],
        tags: &[],
        metrics: &[],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "r06",
        experiment: "A",
        start: 5000,
        user: "alice",
        end: None,
        params: &[("opt", "adam_w")],
        tags: &[],
        metrics: &[("acc", &[(0, -1.5)]), ("loss", &[(0, f64::MAX)])],
        datasets: &[],
        deleted: true,
    },
    RunSpec {
        name: "r07",
        experiment: "A",
        start: 6000,
        user: "dave",
        end: Some((RunStatus::Failed, 7000)),
        params: &[("a.b", "dot"), ("sp ace", "x y")],
        tags: &[("city", "Ärhus")],
        metrics: &[("m.x", &[(0, 3.0)]), ("acc", &[(0, 0.0)])],
        datasets: &[("mnist", "d1", "training")],
        deleted: false,
    },
    RunSpec {
        name: "r08",
        experiment: "A",
        start: 7000,
        user: "erin",
        end: Some((RunStatus::Killed, 7500)),
        params: &[("lr", "0.1")],
        tags: &[],
        // The latest acc (greatest step) is NaN.
        metrics: &[
            ("acc", &[(0, 0.5), (1, NAN)]),
            ("loss", &[(0, 0.3), (2, 0.2)]),
        ],
        datasets: &[("mnist", "d2", "eval"), ("cifar", "c1", "training")],
        deleted: false,
    },
    RunSpec {
        name: "r09",
        experiment: "A",
        start: 8000,
        user: "Alice",
        end: None,
        params: &[("quote", "it's")],
        tags: &[("team", "VISION")],
        metrics: &[("acc", &[(0, -INF)])],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "b1",
        experiment: "B",
        start: 1500,
        user: "alice",
        end: None,
        params: &[("lr", "0.1")],
        tags: &[],
        metrics: &[("acc", &[(0, 0.95)])],
        datasets: &[],
        deleted: false,
    },
    RunSpec {
        name: "b2",
        experiment: "B",
        start: 2500,
        user: "bob",
        end: None,
        params: &[("lr", "0.2")],
        tags: &[],
        metrics: &[],
        datasets: &[],
        deleted: true,
    },
];

/// experiments | view | filter | order_by clauses (`;` between) | expected
const RUN_CASES: &str = r#"
A | active |  |  | r09 r08 r07 r05 {r03 r04} r02 r01
A | active | metrics.acc > 0.5 |  | {r03 r04} r01
A | active | metrics.acc != 0.9 |  | r09 r08 r07 r03 r02
A | active | metrics.acc = 0.9 |  | r04 r01
A | active | metrics.acc >= 1e308 |  | r03
A | active | metrics.acc = 1.7976931348623157e308 |  | r03
A | active | metrics.acc < -1e308 |  | r09
A | active | metrics.acc <= -1.7976931348623157e308 |  | r09
A | active | metrics.loss > 1e400 |  |
A | active | metrics.loss < 1e400 |  | r08 {r03 r04} r02 r01
A | active | metrics.acc < 0 |  | r09
A | active | metrics.acc >= -.5 AND metrics.acc <= 0. |  | r07
A | active | metrics.`f1 score` > 0 |  | r01
A | active | metrics."f1 score" >= 0.8 |  | r01
A | active | metrics.m.x = 3 |  | r07
A | active | metrics.`m.x` = 3 |  | r07
A | active | metrics.nope > 0 |  |
A | active | params.lr = '0.1' |  | r08 r04 r01
A | active | params.lr != '0.1' |  | r03 r02
A | active | params.lr = "0.1" |  | r08 r04 r01
A | active | params.opt LIKE 'adam%' |  | r01
A | active | params.opt ILIKE 'adam%' |  | r02 r01
A | active | params.opt ILIKE '_gd' |  | {r03 r04}
A | active | params.opt LIKE '_gd' |  | r03
A | active | params.opt LIKE 'adam' |  | r01
A | active | params.opt LIKE '%' |  | {r03 r04} r02 r01
A | active | tags.team LIKE 'nlp_core' |  | {r03 r04}
A | active | tags.team LIKE 'nlp%core' |  | {r03 r04}
A | active | tags.team = 'nlp%core' |  | r04
A | active | tags.team ILIKE 'vision' |  | r09 r02 r01
A | active | tags.team LIKE 'V%' |  | r09 r01
A | active | tags.team != 'vision' |  | r09 {r03 r04} r01
A | active | params.lr IS NULL |  | r09 r07 r05
A | active | params.lr is not null |  | r08 {r03 r04} r02 r01
A | active | tags.team IS NULL |  | r08 r07 r05
A | active | tags.team IS NOT NULL AND params.opt IS NULL |  | r09
A | active | run_id IN ('$r01', '$r02') |  | r02 r01
A | active | run_id IN ('$r05',) |  | r05
A | active | run_id NOT IN ('$r01', "$r09") |  | r08 r07 r05 {r03 r04} r02
A | active | attributes.run_id = '$r05' |  | r05
A | active | run_id != '$r05' AND run_id LIKE '$r05' |  |
A | active | run_name = 'r01' |  | r01
A | active | attributes.run_name LIKE 'r0%' |  | r09 r08 r07 r05 {r03 r04} r02 r01
A | active | `Run Name` = 'r02' |  | r02
A | active | `run name` != 'r02' AND run.run_name ILIKE 'R0_' |  | r09 r08 r07 r05 {r03 r04} r01
A | active | tags.`mlflow.runName` = 'r03' |  | r03
A | active | status = 'FINISHED' |  | r01
A | active | attr.status != 'RUNNING' |  | r08 r07 r01
A | active | status LIKE '%ED' |  | r08 r07 r01
A | active | attribute.status ILIKE 'failed' |  | r07
A | active | user_id = 'alice' |  | r03 r01
A | active | user_id ILIKE 'ALICE' |  | r09 r03 r01
A | active | start_time >= 3000 |  | r09 r08 r07 r05 {r03 r04}
A | active | created < 2000 |  | r01
A | active | Created = 3000 |  | {r03 r04}
A | active | attributes.start_time > 2999.5 AND start_time < 4000 |  | {r03 r04}
A | active | end_time > 0 |  | r08 r07 r01
A | active | end_time != 1500 |  | r08 r07
A,B | active | artifact_uri LIKE '%/2/%' |  | b1
A | active | datasets.name = 'mnist' |  | r08 r07
A | active | datasets.digest = 'c1' |  | r08
A | active | datasets.context = 'training' |  | r08 r07
A | active | dataset.context = 'eval' |  | r08
A | active | datasets.name IN ('cifar', 'imagenet') |  | r08
A | active | datasets.name NOT IN ('mnist') |  | r08
A | active | datasets.name != 'cifar' |  | r08 r07
A | active | datasets.context LIKE 'train%' |  | r08 r07
A | active | datasets.digest ILIKE 'D_' |  | r08 r07
A | active | datasets.context IN ('eval') AND datasets.name = 'cifar' |  | r08
A | active | params.lr = '0.1' AND metrics.acc > 0.5 |  | r04 r01
A | active | params.lr = '0.1' and tags.team ILIKE 'VISION' AND |  | r01
A | active | params.`batch size` = '32' |  | r01
A | active | params."batch size" = '32' |  | r01
A | active | params.a.b = 'dot' |  | r07
A | active | params.`sp ace` = "x y" |  | r07
A | active | params.quote = "it's" |  | r09
A | active | params.quote = 'it''s' |  |
A | active | params.quote LIKE "it_s" |  | r09
A | active | tags.city ILIKE 'ä%' |  |
A | active | tags.city ILIKE 'Ä%' |  | r07
A | active | tags.city LIKE '_rhus' |  | r07
A | active | tags.city ILIKE '%RHUS' |  | r07
A | active | param.lr = '0.1' AND parameter.lr = '0.1' AND parameters.lr = '0.1' |  | r08 r04 r01
A | active | metric.acc > 0.5 AND tag.team = 'Vision' |  | r01
A | active | `params`.opt = 'sgd' |  | r03
A | active |  | metrics.acc DESC | r03 r04 r01 r07 r09 r08 r02 r05
A | active |  | metrics.acc ASC | r09 r07 r04 r01 r03 r08 r02 r05
A | active |  | metrics.acc | r09 r07 r04 r01 r03 r08 r02 r05
A | active |  | metrics.loss | r03 r08 r02 r01 r04 r09 r07 r05
A | active |  | metrics.loss DESC | r04 r01 r02 r08 r03 r09 r07 r05
A | active |  | params.lr DESC | r08 r04 r01 r02 r03 r09 r07 r05
A | active |  | params.lr | r03 r02 r08 r04 r01 r09 r07 r05
A | active |  | tags.team ASC | r09 r01 r04 r03 r02 r08 r07 r05
A | active |  | tags.team DESC | r02 r03 r04 r01 r09 r08 r07 r05
A | active |  | start_time ASC | r01 r02 {r03 r04} r05 r07 r08 r09
A | active |  | created DESC | r09 r08 r07 r05 {r03 r04} r02 r01
A | active |  | end_time DESC | r08 r07 r01 r09 r05 {r03 r04} r02
A | active |  | end_time | r01 r07 r08 r09 r05 {r03 r04} r02
A | active |  | run_name DESC | r09 r08 r07 r05 r04 r03 r02 r01
A | active |  | attributes.run_id | {r01 r02 r03 r04 r05 r07 r08 r09}
A | active |  | user_id ASC; start_time ASC | r09 r01 r03 r02 r05 r04 r07 r08
A | active |  | status DESC | r09 r05 {r03 r04} r02 r08 r01 r07
A | active |  | metrics.`f1 score` DESC | r01 r09 r08 r07 r05 {r03 r04} r02
A | active |  | params.opt ASC; metrics.acc DESC | r02 r04 r01 r03 r07 r09 r08 r05
A | active |  | tags.`mlflow.runName` DESC | r09 r08 r07 r05 r04 r03 r02 r01
A | active | metrics.acc > -1e400 | metrics.acc DESC | r03 r04 r01 r07 r09
A | deleted |  |  | r06
A | all |  |  | r09 r08 r07 r06 r05 {r03 r04} r02 r01
A | all | metrics.loss > 1e300 |  | r06
A | all | metrics.loss >= 1.7976931348623157e308 |  | r06
A | all |  | metrics.loss DESC | r06 r04 r01 r02 r08 r03 r09 r07 r05
A,B | active | params.lr = '0.1' |  | r08 r04 b1 r01
B | all |  |  | b2 b1
B | active |  |  | b1
B | deleted | params.lr = '0.2' |  | b2
A,B | active |  | metrics.acc DESC | r03 b1 r04 r01 r07 r09 r08 r02 r05
0 | active |  |  |
"#;

/// One row of `RUN_CASES`.
struct RunCase {
    experiments: Vec<String>,
    view: ViewType,
    filter: String,
    order_by: Vec<String>,
    expected: Vec<Vec<String>>,
}

fn parse_view(s: &str) -> ViewType {
    match s {
        "active" => ViewType::ActiveOnly,
        "deleted" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        other => panic!("unknown view {other}"),
    }
}

/// `a {b c} d` as groups: [[a], [b, c], [d]].
fn parse_expected(s: &str) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut open: Option<Vec<String>> = None;
    for word in s.split_whitespace() {
        let (starts, ends) = (word.starts_with('{'), word.ends_with('}'));
        let name = word.trim_matches(|c| c == '{' || c == '}').to_string();
        match (&mut open, starts) {
            (None, true) => open = Some(vec![name]),
            (Some(g), _) => g.push(name),
            (None, false) => groups.push(vec![name]),
        }
        if ends {
            groups.push(open.take().expect("a group was open"));
        }
    }
    assert!(open.is_none(), "unclosed group in {s:?}");
    groups
}

fn parse_cases(table: &str) -> Vec<RunCase> {
    table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
            assert!(
                cols.len() == 5 || (cols.len() == 4 && line.ends_with('|')),
                "{line}"
            );
            let cols: Vec<&str> = line.splitn(5, '|').map(str::trim).collect();
            assert_eq!(cols.len(), 5, "{line}");
            RunCase {
                experiments: cols[0].split(',').map(String::from).collect(),
                view: parse_view(cols[1]),
                filter: cols[2].to_string(),
                order_by: cols[3]
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                expected: parse_expected(cols[4]),
            }
        })
        .collect()
}

/// The store's ids of experiments "A" and "B" and of every run by name.
struct World {
    experiments: HashMap<&'static str, String>,
    runs: HashMap<String, String>,
}

impl World {
    fn experiment(&self, name: &str) -> String {
        self.experiments
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    fn substitute(&self, filter: &str) -> String {
        let mut out = filter.to_string();
        for (name, id) in &self.runs {
            out = out.replace(&format!("${name}"), id);
        }
        out
    }

    fn name_of(&self, id: &str) -> String {
        self.runs
            .iter()
            .find(|(_, v)| v.as_str() == id)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| format!("<unknown {id}>"))
    }

    /// Expected names in order: each tie group sorted by run id.
    fn resolve(&self, groups: &[Vec<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for g in groups {
            let mut g = g.clone();
            g.sort_by_key(|name| self.runs[name].clone());
            out.extend(g);
        }
        out
    }
}

fn build_runs(store: &Store) -> World {
    let mut experiments = HashMap::new();
    for name in ["A", "B"] {
        experiments.insert(name, store.create_experiment(name, None, &[]).unwrap());
    }
    let mut runs = HashMap::new();
    for spec in RUNS {
        let run = store
            .create_run(NewRun {
                experiment_id: Some(experiments[spec.experiment].clone()),
                run_name: Some(spec.name.into()),
                user_id: Some(spec.user.into()),
                start_time: Some(spec.start),
                ..NewRun::default()
            })
            .unwrap();
        let id = run.run_id;
        let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut points = Vec::new();
        for (key, values) in spec.metrics {
            for (step, value) in values.iter() {
                points.push(Metric::new(*key, *value, 1_000 + step, *step));
            }
        }
        store
            .log_batch(&id, &points, &pairs(spec.params), &pairs(spec.tags))
            .unwrap();
        if !spec.datasets.is_empty() {
            let inputs: Vec<DatasetInput> = spec
                .datasets
                .iter()
                .map(|(name, digest, context)| DatasetInput {
                    dataset: Dataset {
                        name: name.to_string(),
                        digest: digest.to_string(),
                        source_type: "local".into(),
                        source: format!("/data/{name}"),
                        schema: None,
                        profile: None,
                    },
                    tags: BTreeMap::from([("mlflow.data.context".into(), context.to_string())]),
                })
                .collect();
            store.log_inputs(&id, &inputs).unwrap();
        }
        if let Some((status, end)) = spec.end {
            store
                .update_run(
                    &id,
                    RunUpdate {
                        status: Some(status),
                        end_time: Some(end),
                        run_name: None,
                    },
                )
                .unwrap();
        }
        if spec.deleted {
            store.delete_run(&id).unwrap();
        }
        runs.insert(spec.name.to_string(), id);
    }
    World { experiments, runs }
}

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn search_names(
    store: &Store,
    world: &World,
    experiments: &[String],
    view: ViewType,
    filter: &str,
    order_by: &[String],
) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = experiments.iter().map(|e| world.experiment(e)).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let order: Vec<&str> = order_by.iter().map(String::as_str).collect();
    let page = store.search_runs(
        &ids,
        &world.substitute(filter),
        view,
        SEARCH_MAX_RESULTS_DEFAULT,
        &order,
        None,
    )?;
    assert!(page.next_page_token.is_none());
    Ok(page
        .runs
        .iter()
        .map(|r| world.name_of(&r.info.run_id))
        .collect())
}

#[test]
fn run_filter_and_order_cases() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let world = build_runs(&store);
    let mut failures = Vec::new();
    let cases = parse_cases(RUN_CASES);
    assert!(cases.len() > 100, "{} cases", cases.len());
    for case in &cases {
        let want = world.resolve(&case.expected);
        match search_names(
            &store,
            &world,
            &case.experiments,
            case.view,
            &case.filter,
            &case.order_by,
        ) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{:?} order_by {:?}: got {got:?}, want {want:?}",
                case.filter, case.order_by
            )),
            Err(e) => failures.push(format!("{:?}: {e}", case.filter)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn long_lists() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let world = build_runs(&store);
    // No experiment, no run, as in MLflow.
    let page = store
        .search_runs(&[], "", ViewType::All, 10, &[], None)
        .unwrap();
    assert!(page.runs.is_empty() && page.next_page_token.is_none());
    // Many ids, most of experiments that do not exist.
    let many: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let got = store
        .search_runs(&many, "params.lr = '0.1'", ViewType::All, 100, &[], None)
        .unwrap();
    let names: Vec<String> = got
        .runs
        .iter()
        .map(|r| world.name_of(&r.info.run_id))
        .collect();
    assert_eq!(names, ["r08", "r04", "b1", "r01"]);
    // A long run_id list.
    let mut ids: Vec<String> = (0..40_000).map(|i| format!("'{i:032x}'")).collect();
    ids.push(format!("'{}'", world.runs["r05"]));
    let filter = format!("run_id IN ({})", ids.join(", "));
    let got = store
        .search_runs(&many, &filter, ViewType::All, 100, &[], None)
        .unwrap();
    assert_eq!(got.runs.len(), 1);
    assert_eq!(got.runs[0].info.run_id, world.runs["r05"]);
}

#[test]
fn runs_come_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let world = build_runs(&store);
    let a = world.experiment("A");
    let page = store
        .search_runs(&[&a], "", ViewType::All, 100, &[], None)
        .unwrap();
    assert_eq!(page.runs.len(), 9);
    for run in &page.runs {
        // Debug output, because NaN != NaN.
        let alone = store.get_run(&run.info.run_id).unwrap();
        assert_eq!(format!("{run:?}"), format!("{alone:?}"));
    }
    let r08 = page.runs.iter().find(|r| r.info.run_name == "r08").unwrap();
    assert!(r08.metrics["acc"].value.is_nan());
    assert_eq!(r08.metrics["acc"].max, 0.5);
    assert_eq!(r08.inputs.len(), 2);
    assert_eq!(r08.inputs[0].dataset.digest, "d2");
    assert_eq!(r08.inputs[1].tags["mlflow.data.context"], "training");
}

/// (filter, character position, offending token, part of the message)
const FILTER_ERRORS: &[(&str, usize, &str, &str)] = &[
    (
        "params.lr = 0.1",
        12,
        "0.1",
        "expected a quoted string for param 'lr'",
    ),
    (
        "metrics.acc > 'x'",
        14,
        "'x'",
        "expected a number for metric 'acc'",
    ),
    (
        "params.lr > '0.1'",
        10,
        ">",
        "comparator > is not allowed for param 'lr'",
    ),
    (
        "metrics.acc LIKE 1",
        12,
        "LIKE",
        "comparator LIKE is not allowed for metric 'acc'",
    ),
    ("foo.x = 'a'", 0, "foo", "invalid entity type 'foo'"),
    (
        "Metrics.x > 1",
        0,
        "Metrics",
        "invalid entity type 'Metrics'",
    ),
    (
        "attributes.experiment_id = '1'",
        11,
        "experiment_id",
        "invalid attribute key 'experiment_id'",
    ),
    (
        "lifecycle_stage = 'active'",
        0,
        "lifecycle_stage",
        "invalid attribute key",
    ),
    (
        "params.lr = '0.1' OR params.opt = 'adam'",
        18,
        "OR",
        "OR is not supported",
    ),
    (
        "metrics.acc IS NULL",
        12,
        "IS NULL",
        "only supported for tags and params",
    ),
    (
        "start_time IS NOT NULL",
        11,
        "IS NOT NULL",
        "only supported for tags and params",
    ),
    ("status IN ('FINISHED')", 7, "IN", "only run_id supports IN"),
    ("run_id IN ()", 11, ")", "non-empty list"),
    ("run_id IN ('a', 1)", 16, "1", "expected a quoted string"),
    ("run_id IN 'a'", 10, "'a'", "expected '('"),
    (
        "datasets.size = 'x'",
        9,
        "size",
        "invalid dataset key 'size'",
    ),
    ("params.lr = abc", 12, "abc", "not quoted"),
    ("params.lr = `abc`", 12, "`abc`", "not quoted"),
    ("params.lr = 'abc", 12, "'abc", "not closed"),
    (
        "(params.lr = '0.1')",
        0,
        "(params.lr",
        "expected an identifier",
    ),
    ("params.lr == '0.1'", 10, "==", "unknown comparator '=='"),
    (
        "params.lr NOT LIKE 'x'",
        14,
        "LIKE",
        "expected IN after NOT",
    ),
    ("params.lr IS 'x'", 13, "'x'", "expected NULL or NOT NULL"),
    (
        "metrics.acc > 1 metrics.loss < 2",
        16,
        "metrics.loss",
        "expected AND",
    ),
    ("metrics.acc >", 13, "", "expected a value"),
    ("metrics.acc", 11, "", "expected a comparator"),
    ("params. = 'a'", 7, "", "expected a key after 'params.'"),
    ("params.`` = 'a'", 7, "``", "the param key is empty"),
    ("metrics.x = +1", 12, "+1", "expected a value"),
    ("metrics.x = 0x10", 12, "0x10", "expected a number"),
    (
        "start_time > '5'",
        13,
        "'5'",
        "expected a number for attribute start_time",
    ),
    (
        "datasets.name > 'a'",
        14,
        ">",
        "not allowed for dataset name",
    ),
    (
        "tags.t = 'x' AND params.été < 'ü'",
        28,
        "<",
        "not allowed for param 'été'",
    ),
];

fn filter_error(
    result: Result<impl std::fmt::Debug, Error>,
) -> (&'static str, String, usize, String, String) {
    match result {
        Err(Error::InvalidFilter {
            what,
            input,
            position,
            token,
            message,
        }) => (what, input, position, token, message),
        other => panic!("expected InvalidFilter, got {other:?}"),
    }
}

#[test]
fn filter_errors_point_at_the_offending_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for &(filter, position, token, needle) in FILTER_ERRORS {
        let result = store.search_runs(&["0"], filter, ViewType::All, 10, &[], None);
        let (what, input, pos, tok, message) = filter_error(result);
        assert_eq!(what, "filter");
        assert_eq!(input, filter);
        assert_eq!(
            (pos, tok.as_str()),
            (position, token),
            "{filter}: {message}"
        );
        assert!(
            message.contains(needle),
            "{filter}: {message:?} lacks {needle:?}"
        );
    }
    let err = store
        .search_runs(&["0"], "params.lr > '0.1'", ViewType::All, 10, &[], None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid filter \"params.lr > '0.1'\": comparator > is not allowed for param 'lr'; \
         expected one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL (at character 10, \">\")"
    );
}

/// (order_by clauses, index of the bad clause, position, token, part of the message)
const ORDER_ERRORS: &[(&[&str], usize, usize, &str, &str)] = &[
    (
        &["metrics.acc DESCENDING"],
        0,
        12,
        "DESCENDING",
        "expected ASC or DESC",
    ),
    (
        &["metrics.acc DESC extra"],
        0,
        17,
        "extra",
        "expected the end",
    ),
    (&["metrics.acc, params.lr"], 0, 11, ",", "expected the end"),
    (
        &["experiment_id"],
        0,
        0,
        "experiment_id",
        "invalid attribute key 'experiment_id'",
    ),
    (
        &["`run name`"],
        0,
        0,
        "`run name`",
        "invalid attribute key 'run name'",
    ),
    (
        &["datasets.name"],
        0,
        0,
        "datasets.name",
        "cannot be ordered by dataset",
    ),
    (
        &["start_time", "created DESC"],
        1,
        0,
        "created",
        "same field twice",
    ),
    (
        &["params.lr", "param.lr DESC"],
        1,
        0,
        "param.lr",
        "same field twice",
    ),
    (&[""], 0, 0, "", "names a field"),
    (&["foo.bar"], 0, 0, "foo", "invalid entity type 'foo'"),
];

#[test]
fn order_by_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for &(order_by, bad, position, token, needle) in ORDER_ERRORS {
        let result = store.search_runs(&["0"], "", ViewType::All, 10, order_by, None);
        let (what, input, pos, tok, message) = filter_error(result);
        assert_eq!((what, input.as_str()), ("order_by clause", order_by[bad]));
        assert_eq!(
            (pos, tok.as_str()),
            (position, token),
            "{order_by:?}: {message}"
        );
        assert!(
            message.contains(needle),
            "{order_by:?}: {message:?} lacks {needle:?}"
        );
    }
}

#[test]
fn max_results_and_page_token_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for bad in [0, SEARCH_MAX_RESULTS_LIMIT + 1] {
        match store.search_runs(&["0"], "", ViewType::All, bad, &[], None) {
            Err(Error::Validation(ValidationError::InvalidValue { field, value, .. })) => {
                assert_eq!((field, value), ("max_results", bad.to_string()));
            }
            other => panic!("{other:?}"),
        }
        assert!(store
            .search_experiments(ViewType::All, "", bad, &[], None)
            .is_err());
    }
    assert!(store
        .search_runs(
            &["0"],
            "",
            ViewType::All,
            SEARCH_MAX_RESULTS_LIMIT,
            &[],
            None
        )
        .is_ok());
    for token in ["not base64!", "aGVsbG8=", "e30="] {
        match store.search_runs(&["0"], "", ViewType::All, 10, &[], Some(token)) {
            Err(Error::Validation(ValidationError::InvalidValue { field, .. })) => {
                assert_eq!(field, "page token")
            }
            other => panic!("{token}: {other:?}"),
        }
    }
    assert!(matches!(
        store.search_runs(&["x"], "", ViewType::All, 10, &[], None),
        Err(Error::Validation(ValidationError::InvalidValue {
            field: "experiment id",
            ..
        }))
    ));
}

/// Pages of every size concatenate to the whole ordered result.
#[test]
fn pages_of_every_size_concatenate_to_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let world = build_runs(&store);
    let ids = [world.experiment("A"), world.experiment("B")];
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let cases: &[(&str, &[&str], usize)] = &[
        ("", &["metrics.acc DESC"], 11),
        ("", &[], 11),
        ("", &["params.lr", "start_time"], 11),
        ("status != 'KILLED'", &["metrics.acc"], 10),
        ("params.opt IS NULL", &["metrics.loss DESC", "created"], 6),
        ("tags.team LIKE '%'", &["metrics.acc"], 5),
    ];
    for &(filter, order, count) in cases {
        let whole = store
            .search_runs(&ids, filter, ViewType::All, 1000, order, None)
            .unwrap();
        let whole: Vec<String> = whole.runs.into_iter().map(|r| r.info.run_id).collect();
        assert_eq!(whole.len(), count, "{filter}");
        for size in 1..=whole.len() + 1 {
            let mut got = Vec::new();
            let mut token = None;
            let mut pages = 0;
            loop {
                let page = store
                    .search_runs(&ids, filter, ViewType::All, size, order, token.as_deref())
                    .unwrap();
                assert!(page.runs.len() <= size);
                got.extend(page.runs.into_iter().map(|r| r.info.run_id));
                pages += 1;
                match page.next_page_token {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            assert_eq!(got, whole, "page size {size}, {filter:?}, order {order:?}");
            assert_eq!(pages, whole.len().div_ceil(size).max(1), "page size {size}");
        }
    }
}

/// Runs created between pages (newest first: they would sort to the
/// front) do not shift the pages of a search already under way.
#[test]
fn runs_created_while_paging_are_not_returned_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = store.create_experiment("paging", None, &[]).unwrap();
    let mut created = HashSet::new();
    for i in 0..25 {
        let run = store
            .create_run(NewRun {
                experiment_id: Some(exp.clone()),
                start_time: Some(10_000 + i),
                ..NewRun::default()
            })
            .unwrap();
        created.insert(run.run_id);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut extra = 0;
    loop {
        let page = store
            .search_runs(&[&exp], "", ViewType::ActiveOnly, 4, &[], token.as_deref())
            .unwrap();
        seen.extend(page.runs.into_iter().map(|r| r.info.run_id));
        // A newer run, which sorts first, after every page.
        store
            .create_run(NewRun {
                experiment_id: Some(exp.clone()),
                start_time: Some(20_000 + extra),
                ..NewRun::default()
            })
            .unwrap();
        extra += 1;
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a run came back twice");
    assert_eq!(unique, created);
    // A new search sees the new runs.
    let all = store
        .search_runs(&[&exp], "", ViewType::ActiveOnly, 1000, &[], None)
        .unwrap();
    assert_eq!(all.runs.len(), 25 + extra as usize);
}

#[test]
fn metrics_still_held_by_this_process_are_searched() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store.create_run(NewRun::default()).unwrap();
    let mut writer = store.metric_writer(&run.run_id).unwrap();
    writer.log("acc", 0.75, 1, 0).unwrap();
    let page = store
        .search_runs(&["0"], "metrics.acc > 0.7", ViewType::All, 10, &[], None)
        .unwrap();
    assert_eq!(page.runs.len(), 1);
    assert_eq!(page.runs[0].metrics["acc"].value, 0.75);
    writer.close().unwrap();
}

/// filter | order_by (`;` between) | view | expected experiment names, in order
const EXPERIMENT_CASES: &str = r#"
 |  | active | misc_1 nlp-bert vision-vit vision-resnet Default
 |  | deleted | old
 |  | all | misc_1 old nlp-bert vision-vit vision-resnet Default
name LIKE 'vision%' |  | active | vision-vit vision-resnet
name ILIKE 'VISION-%' |  | active | vision-vit vision-resnet
name LIKE 'VISION-%' |  | active |
name LIKE 'misc_1' |  | active | misc_1
name LIKE 'nlp-_ert' |  | active | nlp-bert
name = 'nlp-bert' |  | active | nlp-bert
attribute.name != 'Default' |  | active | misc_1 nlp-bert vision-vit vision-resnet
tags.team = 'cv' |  | active | vision-resnet
tags.team ILIKE 'cv' |  | active | vision-vit vision-resnet
tags.team LIKE 'c%' |  | active | vision-resnet
tags.team != 'cv' |  | active | nlp-bert vision-vit
tags.team IS NULL |  | active | misc_1 Default
tag.prio IS NOT NULL |  | active | vision-resnet
tags.`sp ace` = 'v' |  | active | nlp-bert
experiment_id IN ('1', '3') |  | active | nlp-bert vision-resnet
attribute.experiment_id = '2' |  | active | vision-vit
experiment_id != '0' AND experiment_id NOT IN ('1') |  | active | misc_1 nlp-bert vision-vit
creation_time > 0 AND name LIKE 'n%' |  | active | nlp-bert
creation_time < 0 |  | active |
last_update_time >= 0 AND tags.team = 'nlp' |  | active | nlp-bert
 | name | active | Default misc_1 nlp-bert vision-resnet vision-vit
 | name DESC | active | vision-vit vision-resnet nlp-bert misc_1 Default
 | attribute.name ASC | all | Default misc_1 nlp-bert old vision-resnet vision-vit
 | experiment_id DESC | active | misc_1 nlp-bert vision-vit vision-resnet Default
 | experiment_id | active | Default vision-resnet vision-vit nlp-bert misc_1
 | creation_time ASC | active | Default vision-resnet vision-vit nlp-bert misc_1
 | last_update_time DESC; name | active | misc_1 nlp-bert vision-vit vision-resnet Default
"#;

fn build_experiments(store: &Store) -> HashMap<String, String> {
    let mut ids = HashMap::from([("Default".to_string(), "0".to_string())]);
    let specs: &[(&str, &[(&str, &str)])] = &[
        ("vision-resnet", &[("team", "cv"), ("prio", "high")]),
        ("vision-vit", &[("team", "CV")]),
        ("nlp-bert", &[("team", "nlp"), ("sp ace", "v")]),
        ("old", &[("team", "old")]),
        ("misc_1", &[]),
    ];
    for (name, tags) in specs {
        // Distinct creation times, so that the default order is fixed.
        std::thread::sleep(std::time::Duration::from_millis(3));
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let id = store.create_experiment(name, None, &tags).unwrap();
        ids.insert(name.to_string(), id);
    }
    store.delete_experiment(&ids["old"]).unwrap();
    ids
}

#[test]
fn experiment_cases() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = build_experiments(&store);
    let names: HashMap<&String, &String> = ids.iter().map(|(k, v)| (v, k)).collect();
    // Deleting "old" touched its last update time; keep it out of the way.
    let mut failures = Vec::new();
    for line in EXPERIMENT_CASES.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
        let order: Vec<&str> = cols[1]
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let want: Vec<&str> = cols[3].split_whitespace().collect();
        match store.search_experiments(parse_view(cols[2]), cols[0], 1000, &order, None) {
            Ok(page) => {
                let got: Vec<&str> = page
                    .experiments
                    .iter()
                    .map(|e| names[&e.experiment_id].as_str())
                    .collect();
                if got != want {
                    failures.push(format!("{line}: got {got:?}"));
                }
                for e in &page.experiments {
                    assert_eq!(e, &store.get_experiment(&e.experiment_id).unwrap());
                }
            }
            Err(e) => failures.push(format!("{line}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn experiment_errors_and_paging() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ids = build_experiments(&store);
    for (filter, position, token) in [
        ("attr.name = 'x'", 0, "attr"),
        ("attributes.name = 'x'", 0, "attributes"),
        ("params.x = 'a'", 0, "params"),
        ("name IN ('a')", 5, "IN"),
        ("name > 'a'", 5, ">"),
        ("name = 5", 7, "5"),
        ("creation_time > 1.5", 16, "1.5"),
        ("creation_time = '5'", 16, "'5'"),
        ("tags.team > 'a'", 10, ">"),
        ("name IS NULL", 5, "IS NULL"),
        ("experiment_id = 'x'", 16, "'x'"),
        ("experiment_id > '1'", 14, ">"),
        ("run_name = 'x'", 0, "run_name"),
    ] {
        let (what, _, pos, tok, message) =
            filter_error(store.search_experiments(ViewType::All, filter, 10, &[], None));
        assert_eq!(what, "filter");
        assert_eq!(
            (pos, tok.as_str()),
            (position, token),
            "{filter}: {message}"
        );
    }
    let (what, _, _, _, message) =
        filter_error(store.search_experiments(ViewType::All, "", 10, &["tags.team"], None));
    assert_eq!(what, "order_by clause");
    assert!(message.contains("can only be ordered by"), "{message}");

    // Paging, with experiments created between pages.
    let whole = store
        .search_experiments(ViewType::All, "", 1000, &[], None)
        .unwrap();
    assert_eq!(whole.experiments.len(), ids.len());
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut n = 0;
    loop {
        let page = store
            .search_experiments(ViewType::All, "", 2, &[], token.as_deref())
            .unwrap();
        seen.extend(page.experiments.into_iter().map(|e| e.experiment_id));
        store
            .create_experiment(&format!("late-{n}"), None, &[])
            .unwrap();
        n += 1;
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let want: Vec<String> = whole
        .experiments
        .into_iter()
        .map(|e| e.experiment_id)
        .collect();
    assert_eq!(seen, want);
}
