//! Searches ordered first by a metric, over enough runs that the metric
//! index is read in windows (the first holds four pages' worth of runs):
//! every page must be the one a plain sort of all the runs gives, whatever
//! the filter's selectivity, with ties on the metric across the window's
//! edge, NaN and missing values, both directions and later pages. The same
//! for filtered searches in the default order, read in windows of the
//! start-time index.

use std::cmp::Ordering;

use tracklite::{NewRun, Store, ViewType};

const RUNS: usize = 1_300;

/// One run as the test made it.
struct Made {
    id: String,
    start: i64,
    /// `params.p`: one of four values.
    p: &'static str,
    /// `params.rare = 'x'` on one run in forty.
    rare: bool,
    /// `metrics.m`: None when never logged; NaN on some runs.
    m: Option<f64>,
}

fn build(store: &Store) -> Vec<Made> {
    let mut made = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        // Pairs of runs share a start time, so that run ids break ties.
        let start = 1_700_000_000_000 + (i as i64 / 2) * 1_000;
        let run = store
            .create_run(NewRun {
                start_time: Some(start),
                ..NewRun::default()
            })
            .unwrap();
        let p = ["a", "b", "c", "d"][i % 4];
        let rare = i % 40 == 7;
        let mut params = vec![("p".to_string(), p.to_string())];
        if rare {
            params.push(("rare".into(), "x".into()));
        }
        store
            .log_params_and_tags(&run.run_id, &params, &[])
            .unwrap();
        // 37 distinct values: many runs tie at every value.
        let m = match i % 29 {
            3 => None,
            5 => Some(f64::NAN),
            _ => Some(((i * 7_919) % 37) as f64 / 4.0),
        };
        if let Some(v) = m {
            store.log_metric(&run.run_id, "m", v, start, 0).unwrap();
        }
        made.push(Made {
            id: run.run_id,
            start,
            p,
            rare,
            m,
        });
    }
    made
}

/// Numbers first (in the direction asked), then NaN, then no value; ties by
/// start time, newest first, then run id.
fn order(a: &Made, b: &Made, ascending: bool) -> Ordering {
    let class = |m: Option<f64>| match m {
        Some(v) if !v.is_nan() => 0,
        Some(_) => 1,
        None => 2,
    };
    class(a.m)
        .cmp(&class(b.m))
        .then_with(|| match (a.m, b.m) {
            (Some(x), Some(y)) if !x.is_nan() && !y.is_nan() => {
                let o = x.partial_cmp(&y).unwrap();
                if ascending {
                    o
                } else {
                    o.reverse()
                }
            }
            _ => Ordering::Equal,
        })
        .then_with(|| b.start.cmp(&a.start))
        .then_with(|| a.id.cmp(&b.id))
}

/// Every page of the search, concatenated.
fn all_pages(store: &Store, filter: &str, order_by: &str, page: usize) -> Vec<String> {
    pages_of(store, &["0"], filter, &[order_by], page)
}

fn pages_of(
    store: &Store,
    experiments: &[&str],
    filter: &str,
    order_by: &[&str],
    page: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let got = store
            .search_runs(
                experiments,
                filter,
                ViewType::ActiveOnly,
                page,
                order_by,
                token.as_deref(),
            )
            .unwrap();
        ids.extend(got.runs.into_iter().map(|r| r.info.run_id));
        match got.next_page_token {
            Some(t) => token = Some(t),
            None => return ids,
        }
    }
}

#[test]
fn pages_ordered_by_a_metric_match_a_full_sort() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let made = build(&store);
    type Keep = fn(&Made) -> bool;
    let filters: [(&str, Keep); 7] = [
        ("", |_| true),
        ("params.p = 'a'", |r| r.p == "a"),
        ("params.p != 'd' AND metrics.m >= 2", |r| {
            r.p != "d" && r.m.is_some_and(|v| v >= 2.0)
        }),
        ("params.rare = 'x'", |r| r.rare),
        ("params.p = 'b' AND params.rare = 'x'", |r| {
            r.p == "b" && r.rare
        }),
        ("attributes.status = 'RUNNING'", |_| true),
        // NaN differs from every number: it passes `!=`.
        ("metrics.m != 3 AND params.p != 'c'", |r| {
            r.m.is_some_and(|v| v != 3.0) && r.p != "c"
        }),
    ];
    for (filter, keep) in filters {
        for ascending in [false, true] {
            let mut expected: Vec<&Made> = made.iter().filter(|r| keep(r)).collect();
            expected.sort_by(|a, b| order(a, b, ascending));
            let expected: Vec<&str> = expected.iter().map(|r| r.id.as_str()).collect();
            let order_by = if ascending {
                "metrics.m"
            } else {
                "metrics.m DESC"
            };
            for page in [100, 7] {
                let got = all_pages(&store, filter, order_by, page);
                assert_eq!(
                    got, expected,
                    "filter {filter:?}, {order_by}, pages of {page}"
                );
            }
        }
    }
}

/// Filtered searches in the default order (newest first, then run id) are
/// read in windows of the start-time index: pairs of runs share a start
/// time, so ties fall across windows' edges; a second, empty experiment
/// takes part in the merge.
#[test]
fn filtered_pages_in_the_default_order_match_a_full_sort() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let made = build(&store);
    let empty = store.create_experiment("empty", None, &[]).unwrap();
    type Keep = fn(&Made) -> bool;
    let filters: [(&str, Keep); 5] = [
        ("params.p = 'a'", |r| r.p == "a"),
        ("params.rare = 'x'", |r| r.rare),
        ("params.p != 'd' AND metrics.m >= 2", |r| {
            r.p != "d" && r.m.is_some_and(|v| v >= 2.0)
        }),
        ("metrics.m != 3 AND params.p LIKE 'b%'", |r| {
            r.m.is_some_and(|v| v != 3.0) && r.p == "b"
        }),
        ("params.p = 'zzz'", |_| false),
    ];
    for (filter, keep) in filters {
        let mut expected: Vec<&Made> = made.iter().filter(|r| keep(r)).collect();
        expected.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        let expected: Vec<&str> = expected.iter().map(|r| r.id.as_str()).collect();
        for experiments in [&["0"][..], &["0", empty.as_str()][..]] {
            for page in [100, 7] {
                let got = pages_of(&store, experiments, filter, &[], page);
                assert_eq!(
                    got, expected,
                    "filter {filter:?}, experiments {experiments:?}, pages of {page}"
                );
            }
        }
    }
}

/// Runs with a param `q` and a tag `t` of few values (many ties, across the
/// windows' edges), some runs without them, and the values of the
/// metric-order runs otherwise.
fn build_values(store: &Store) -> Vec<(Made, Option<String>, Option<String>)> {
    let made = build(store);
    made.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let q = (i % 31 != 4).then(|| format!("q{:02}", (i * 7_919) % 43));
            let t = (i % 17 != 2).then(|| format!("t{}", (i * 104_729) % 11));
            let params: Vec<(String, String)> =
                q.iter().map(|v| ("q".to_string(), v.clone())).collect();
            let tags: Vec<(String, String)> =
                t.iter().map(|v| ("t".to_string(), v.clone())).collect();
            store.log_params_and_tags(&m.id, &params, &tags).unwrap();
            (m, q, t)
        })
        .collect()
}

/// Searches ordered first by a param or a tag are read in windows of that
/// table's (key, value) index: every page must be the one a plain sort of
/// all the runs gives (values as text in the direction asked, runs without
/// the key last, ties by start time, newest first, then run id).
#[test]
fn pages_ordered_by_a_param_or_tag_match_a_full_sort() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let made = build_values(&store);
    type Keep = fn(&Made) -> bool;
    let filters: [(&str, Keep); 4] = [
        ("", |_| true),
        ("params.p = 'a'", |r| r.p == "a"),
        ("params.rare = 'x'", |r| r.rare),
        ("params.p != 'd' AND metrics.m >= 2", |r| {
            r.p != "d" && r.m.is_some_and(|v| v >= 2.0)
        }),
    ];
    for (name, which) in [("params.q", 0), ("tags.t", 1)] {
        for (filter, keep) in filters {
            for ascending in [false, true] {
                let value = |r: &(Made, Option<String>, Option<String>)| {
                    if which == 0 {
                        r.1.clone()
                    } else {
                        r.2.clone()
                    }
                };
                let mut expected: Vec<&(Made, Option<String>, Option<String>)> =
                    made.iter().filter(|r| keep(&r.0)).collect();
                expected.sort_by(|a, b| {
                    let by_value = match (value(a), value(b)) {
                        (Some(x), Some(y)) if ascending => x.cmp(&y),
                        (Some(x), Some(y)) => y.cmp(&x),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    };
                    by_value
                        .then_with(|| b.0.start.cmp(&a.0.start))
                        .then_with(|| a.0.id.cmp(&b.0.id))
                });
                let expected: Vec<&str> = expected.iter().map(|r| r.0.id.as_str()).collect();
                let order_by = format!("{name} {}", if ascending { "ASC" } else { "DESC" });
                for page in [100, 7] {
                    let got = all_pages(&store, filter, &order_by, page);
                    assert_eq!(
                        got, expected,
                        "filter {filter:?}, {order_by}, pages of {page}"
                    );
                }
            }
        }
    }
}
