//! Experiments: the Default experiment, creation, lookup, listing,
//! renaming, soft deletion and restoration (with their runs), tags, and
//! MLflow's limits on names and tag values.

mod common;

use common::{assert_invalid_state, assert_run_deleted};

use std::collections::BTreeMap;
use std::path::Path;

use tracklite::validate::{MAX_EXPERIMENT_NAME_LENGTH, MAX_EXPERIMENT_TAG_VALUE_LENGTH};
use tracklite::{
    now_ms, EntityKind, Error, Experiment, LifecycleStage, NewRun, Store, ValidationError, ViewType,
};

fn open(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run_in(store: &Store, experiment_id: &str) -> String {
    store
        .create_run(NewRun {
            experiment_id: Some(experiment_id.into()),
            ..NewRun::default()
        })
        .unwrap()
        .run_id
}

fn ids(experiments: &[Experiment]) -> Vec<String> {
    experiments
        .iter()
        .map(|e| e.experiment_id.clone())
        .collect()
}

fn assert_not_found(err: Error, kind: EntityKind, id: &str) {
    match &err {
        Error::NotFound { kind: k, id: i } => {
            assert_eq!((*k, i.as_str()), (kind, id));
            assert_eq!(err.to_string(), format!("{kind} {id:?} does not exist"));
        }
        other => panic!("expected NotFound for {kind} {id:?}, got {other:?}"),
    }
}

fn assert_already_exists(err: Error, name: &str) {
    match &err {
        Error::AlreadyExists { kind, name: n } => {
            assert_eq!((*kind, n.as_str()), (EntityKind::Experiment, name));
            assert_eq!(
                err.to_string(),
                format!("experiment {name:?} already exists")
            );
        }
        other => panic!("expected AlreadyExists for {name:?}, got {other:?}"),
    }
}

#[test]
fn a_new_store_has_only_the_default_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let before = now_ms();
    let store = open(dir.path());
    let after = now_ms();

    let root = store.path().join("artifacts");
    assert_eq!(Path::new(store.artifact_root()), root);

    let all = store.list_experiments(ViewType::All).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    let default = &all[0];
    assert_eq!(default.experiment_id, "0");
    assert_eq!(default.name, "Default");
    assert_eq!(default.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        default.artifact_location,
        format!("{}/0", store.artifact_root())
    );
    assert!(default.tags.is_empty());
    assert!((before..=after).contains(&default.creation_time));

    assert_eq!(&store.get_experiment("0").unwrap(), default);
    assert_eq!(
        store.get_experiment_by_name("Default").unwrap().as_ref(),
        Some(default)
    );
    assert!(store
        .list_experiments(ViewType::DeletedOnly)
        .unwrap()
        .is_empty());
}

#[test]
fn create_reads_back_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let before = now_ms();
    let id = store
        .create_experiment(
            "alpha",
            None,
            &pairs(&[("team", "vision"), ("purpose", "baseline")]),
        )
        .unwrap();
    let after = now_ms();

    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_ne!(id, "0");
    let e = store.get_experiment(&id).unwrap();
    assert_eq!(e.experiment_id, id);
    assert_eq!(e.name, "alpha");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        e.tags,
        BTreeMap::from([
            ("purpose".to_string(), "baseline".to_string()),
            ("team".to_string(), "vision".to_string()),
        ])
    );
    assert!((before..=after).contains(&e.creation_time));
    assert_eq!(e.last_update_time, e.creation_time);
    assert_eq!(store.get_experiment_by_name("alpha").unwrap(), Some(e));

    let second = store.create_experiment("beta", None, &[]).unwrap();
    assert_ne!(second, id);
    assert!(second.bytes().all(|b| b.is_ascii_digit()), "{second}");
}

#[test]
fn artifact_locations_default_under_the_store_or_are_kept_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let default_id = store.create_experiment("local", None, &[]).unwrap();
    let custom_id = store
        .create_experiment("remote", Some("s3://bucket/prefix"), &[])
        .unwrap();

    let local = store.get_experiment(&default_id).unwrap();
    assert_eq!(
        local.artifact_location,
        format!("{}/artifacts/{default_id}", store.path().display())
    );
    let remote = store.get_experiment(&custom_id).unwrap();
    assert_eq!(remote.artifact_location, "s3://bucket/prefix");

    let local_run = run_in(&store, &default_id);
    assert_eq!(
        store.get_run_info(&local_run).unwrap().artifact_uri,
        format!("{}/{local_run}/artifacts", local.artifact_location)
    );
    let remote_run = run_in(&store, &custom_id);
    assert_eq!(
        store.get_run_info(&remote_run).unwrap().artifact_uri,
        format!("s3://bucket/prefix/{remote_run}/artifacts")
    );
}

#[test]
fn names_are_unique_even_against_deleted_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.create_experiment("sweep", None, &[]).unwrap();

    assert_already_exists(
        store.create_experiment("sweep", None, &[]).unwrap_err(),
        "sweep",
    );
    assert_already_exists(
        store.create_experiment("Default", None, &[]).unwrap_err(),
        "Default",
    );

    store.delete_experiment(&id).unwrap();
    assert_already_exists(
        store
            .create_experiment("sweep", Some("/elsewhere"), &[])
            .unwrap_err(),
        "sweep",
    );
    // Nothing was created by the refused calls.
    assert_eq!(store.list_experiments(ViewType::All).unwrap().len(), 2);
}

#[test]
fn lookups_of_unknown_and_invalid_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    assert_not_found(
        store.get_experiment("999").unwrap_err(),
        EntityKind::Experiment,
        "999",
    );
    assert_eq!(store.get_experiment_by_name("nope").unwrap(), None);

    for bad in ["abc", "", "-1", "1.0", " 1", "../1"] {
        match store.get_experiment(bad).unwrap_err() {
            Error::Validation(ValidationError::InvalidValue { field, value, .. }) => {
                assert_eq!((field, value.as_str()), ("experiment id", bad));
            }
            other => panic!("{bad:?}: expected a validation error, got {other:?}"),
        }
    }
    let msg = store.get_experiment("abc").unwrap_err().to_string();
    assert!(
        msg.contains("experiment id \"abc\"") && msg.contains("decimal digits"),
        "{msg}"
    );

    // Every operation on an unknown experiment says so.
    assert_not_found(
        store.rename_experiment("42", "x").unwrap_err(),
        EntityKind::Experiment,
        "42",
    );
    assert_not_found(
        store.delete_experiment("42").unwrap_err(),
        EntityKind::Experiment,
        "42",
    );
    assert_not_found(
        store.restore_experiment("42").unwrap_err(),
        EntityKind::Experiment,
        "42",
    );
    assert_not_found(
        store.set_experiment_tag("42", "k", "v").unwrap_err(),
        EntityKind::Experiment,
        "42",
    );
    assert_not_found(
        store.delete_experiment_tag("42", "k").unwrap_err(),
        EntityKind::Experiment,
        "42",
    );
}

#[test]
fn listing_by_view_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store.create_experiment("a", None, &[]).unwrap();
    let b = store.create_experiment("b", None, &[]).unwrap();
    let c = store.create_experiment("c", None, &[]).unwrap();
    store.delete_experiment(&b).unwrap();

    let active = store.list_experiments(ViewType::ActiveOnly).unwrap();
    assert_eq!(ids(&active), ["0".to_string(), a.clone(), c.clone()]);
    assert!(active
        .iter()
        .all(|e| e.lifecycle_stage == LifecycleStage::Active));

    let deleted = store.list_experiments(ViewType::DeletedOnly).unwrap();
    assert_eq!(ids(&deleted), std::slice::from_ref(&b));
    assert_eq!(deleted[0].name, "b");
    assert_eq!(deleted[0].lifecycle_stage, LifecycleStage::Deleted);

    let all = store.list_experiments(ViewType::All).unwrap();
    assert_eq!(ids(&all), ["0".to_string(), a, b, c]);
    assert_eq!(
        store.list_experiments(ViewType::default()).unwrap(),
        active,
        "the default view is active only"
    );
}

#[test]
fn rename_changes_the_name_and_keeps_names_unique() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.create_experiment("draft", None, &[]).unwrap();
    let other = store.create_experiment("other", None, &[]).unwrap();
    let created = store.get_experiment(&id).unwrap();

    store.rename_experiment(&id, "final").unwrap();
    let renamed = store.get_experiment(&id).unwrap();
    assert_eq!(renamed.name, "final");
    assert!(renamed.last_update_time >= created.last_update_time);
    assert_eq!(store.get_experiment_by_name("draft").unwrap(), None);
    assert_eq!(
        store
            .get_experiment_by_name("final")
            .unwrap()
            .map(|e| e.experiment_id),
        Some(id.clone())
    );

    // Renaming to its own name is a no-op, not a conflict.
    store.rename_experiment(&id, "final").unwrap();

    assert_already_exists(store.rename_experiment(&id, "other").unwrap_err(), "other");
    assert_already_exists(
        store.rename_experiment(&id, "Default").unwrap_err(),
        "Default",
    );
    assert_eq!(store.get_experiment(&id).unwrap().name, "final");

    // The name of a deleted experiment stays taken.
    store.delete_experiment(&other).unwrap();
    assert_already_exists(store.rename_experiment(&id, "other").unwrap_err(), "other");

    // A deleted experiment cannot be renamed.
    assert_invalid_state(
        store.rename_experiment(&other, "revived"),
        &[&format!("experiment {other}"), "deleted"],
    );
    assert_eq!(store.get_experiment(&other).unwrap().name, "other");

    match store.rename_experiment(&id, "  ").unwrap_err() {
        Error::Validation(ValidationError::InvalidValue { field, .. }) => {
            assert_eq!(field, "experiment name")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn delete_and_restore_take_the_runs_along() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.create_experiment("exp", None, &[]).unwrap();
    let runs = [run_in(&store, &id), run_in(&store, &id)];
    let bystander = run_in(&store, "0");

    store.delete_experiment(&id).unwrap();
    let e = store.get_experiment(&id).unwrap();
    assert_eq!(e.lifecycle_stage, LifecycleStage::Deleted);
    assert!(e.last_update_time >= e.creation_time);
    for run in &runs {
        assert_eq!(
            store.get_run_info(run).unwrap().lifecycle_stage,
            LifecycleStage::Deleted
        );
    }
    assert!(store
        .list_runs(&[&id], ViewType::ActiveOnly)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .list_runs(&[&id], ViewType::DeletedOnly)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.get_run_info(&bystander).unwrap().lifecycle_stage,
        LifecycleStage::Active
    );

    assert_invalid_state(
        store.delete_experiment(&id),
        &[&format!("experiment {id}"), "already deleted"],
    );

    store.restore_experiment(&id).unwrap();
    assert_eq!(
        store.get_experiment(&id).unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
    for run in &runs {
        assert_eq!(
            store.get_run_info(run).unwrap().lifecycle_stage,
            LifecycleStage::Active
        );
    }
    assert_eq!(
        store.list_runs(&[&id], ViewType::ActiveOnly).unwrap().len(),
        2
    );
    assert_invalid_state(
        store.restore_experiment(&id),
        &[&format!("experiment {id}"), "already active"],
    );

    // The Default experiment is an experiment like any other here.
    store.delete_experiment("0").unwrap();
    assert_eq!(
        store.get_run_info(&bystander).unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
    store.restore_experiment("0").unwrap();
}

#[test]
fn runs_of_a_deleted_experiment_refuse_logging() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.create_experiment("exp", None, &[]).unwrap();
    let run = run_in(&store, &id);
    // The store now holds a writer for this run and this key.
    store.log_metric(&run, "loss", 1.0, 1, 0).unwrap();

    store.delete_experiment(&id).unwrap();

    assert_run_deleted(store.log_metric(&run, "loss", 2.0, 2, 1), &run);
    assert_run_deleted(store.log_metric(&run, "acc", 2.0, 2, 1), &run);
    assert_run_deleted(store.log_param(&run, "lr", "0.1"), &run);
    assert_run_deleted(store.set_tag(&run, "k", "v"), &run);
    assert_run_deleted(store.metric_writer(&run).map(|_| ()), &run);
    let history = store.metric_history(&run, "loss").unwrap();
    assert_eq!(
        history.len(),
        1,
        "a point was logged to a deleted run: {history:?}"
    );

    store.restore_experiment(&id).unwrap();
    store.log_metric(&run, "loss", 3.0, 3, 2).unwrap();
    store.log_param(&run, "lr", "0.1").unwrap();
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 2);
}

#[test]
fn runs_cannot_be_created_in_deleted_or_unknown_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store.create_experiment("exp", None, &[]).unwrap();
    store.delete_experiment(&id).unwrap();

    let new_run = |experiment_id: &str| {
        store.create_run(NewRun {
            experiment_id: Some(experiment_id.into()),
            ..NewRun::default()
        })
    };
    assert_invalid_state(new_run(&id), &[&format!("experiment {id}"), "deleted"]);
    assert_not_found(new_run("77").unwrap_err(), EntityKind::Experiment, "77");
    match new_run("x").unwrap_err() {
        Error::Validation(ValidationError::InvalidValue { field, value, .. }) => {
            assert_eq!((field, value.as_str()), ("experiment id", "x"))
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(store.list_runs(&[], ViewType::All).unwrap().is_empty());

    store.restore_experiment(&id).unwrap();
    let run = new_run(&id).unwrap();
    assert_eq!(run.experiment_id, id);
}

#[test]
fn tags_are_set_replaced_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = store
        .create_experiment("exp", None, &pairs(&[("owner", "ann")]))
        .unwrap();

    store.set_experiment_tag(&id, "stage", "dev").unwrap();
    store.set_experiment_tag(&id, "owner", "bob").unwrap();
    store.set_experiment_tag(&id, "nested/key:x", "").unwrap();
    assert_eq!(
        store.get_experiment(&id).unwrap().tags,
        BTreeMap::from([
            ("nested/key:x".to_string(), String::new()),
            ("owner".to_string(), "bob".to_string()),
            ("stage".to_string(), "dev".to_string()),
        ])
    );

    store.delete_experiment_tag(&id, "stage").unwrap();
    let tags = store.get_experiment(&id).unwrap().tags;
    assert_eq!(tags.keys().collect::<Vec<_>>(), ["nested/key:x", "owner"]);

    let err = store.delete_experiment_tag(&id, "stage").unwrap_err();
    match &err {
        Error::NotFound { kind, id: what } => {
            assert_eq!(*kind, EntityKind::ExperimentTag);
            assert!(what.contains("stage") && what.contains(&id), "{what:?}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(err.to_string().contains("stage"), "{err}");

    match store.set_experiment_tag(&id, "bad;key", "v").unwrap_err() {
        Error::Validation(ValidationError::InvalidKey { kind, key, .. }) => {
            assert_eq!((kind, key.as_str()), ("experiment tag", "bad;key"))
        }
        other => panic!("expected InvalidKey, got {other:?}"),
    }

    // Tags of the Default experiment work too.
    store.set_experiment_tag("0", "note", "hello").unwrap();
    assert_eq!(store.get_experiment("0").unwrap().tags["note"], "hello");

    store.delete_experiment(&id).unwrap();
    assert_invalid_state(
        store.set_experiment_tag(&id, "late", "x"),
        &[&format!("experiment {id}"), "deleted"],
    );
    assert!(!store.get_experiment(&id).unwrap().tags.contains_key("late"));
}

#[test]
fn experiment_name_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    for blank in ["", "   "] {
        let err = store.create_experiment(blank, None, &[]).unwrap_err();
        match &err {
            Error::Validation(ValidationError::InvalidValue { field, value, .. }) => {
                assert_eq!((*field, value.as_str()), ("experiment name", blank))
            }
            other => panic!("{blank:?}: expected a validation error, got {other:?}"),
        }
        assert!(err.to_string().contains("must not be empty"), "{err}");
    }

    let longest = "n".repeat(MAX_EXPERIMENT_NAME_LENGTH);
    assert_eq!(MAX_EXPERIMENT_NAME_LENGTH, 500);
    let id = store.create_experiment(&longest, None, &[]).unwrap();
    assert_eq!(store.get_experiment(&id).unwrap().name, longest);

    // Characters are counted, not bytes.
    let accented = "é".repeat(500);
    let id2 = store.create_experiment(&accented, None, &[]).unwrap();
    assert_eq!(store.get_experiment(&id2).unwrap().name, accented);

    let too_long = "n".repeat(501);
    let err = store.create_experiment(&too_long, None, &[]).unwrap_err();
    match &err {
        Error::Validation(ValidationError::TooLong {
            field,
            length,
            limit,
            ..
        }) => assert_eq!((*field, *length, *limit), ("experiment name", 501, 500)),
        other => panic!("expected TooLong, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("501 characters long") && msg.contains("the limit is 500"),
        "{msg}"
    );
    assert_eq!(store.get_experiment_by_name(&too_long).unwrap(), None);

    match store.rename_experiment(&id, &too_long).unwrap_err() {
        Error::Validation(ValidationError::TooLong { limit, .. }) => assert_eq!(limit, 500),
        other => panic!("expected TooLong, got {other:?}"),
    }
    assert_eq!(store.get_experiment(&id).unwrap().name, longest);
}

#[test]
fn experiment_tag_value_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(MAX_EXPERIMENT_TAG_VALUE_LENGTH, 20000);
    let longest = "v".repeat(20000);
    let id = store
        .create_experiment("exp", None, &pairs(&[("big", &longest)]))
        .unwrap();
    store.set_experiment_tag(&id, "big2", &longest).unwrap();
    let tags = store.get_experiment(&id).unwrap().tags;
    assert_eq!(tags["big"], longest);
    assert_eq!(tags["big2"], longest);

    let too_long = "v".repeat(20001);
    let check = |err: Error| {
        let msg = err.to_string();
        match err {
            Error::Validation(ValidationError::TooLong {
                field,
                key,
                length,
                limit,
            }) => {
                assert_eq!(
                    (field, key.as_str(), length, limit),
                    ("experiment tag value", "huge", 20001, 20000)
                );
                assert_eq!(
                    msg,
                    "experiment tag value for key \"huge\" is 20001 characters long; the limit is 20000"
                );
            }
            other => panic!("expected TooLong, got {other:?}"),
        }
    };
    check(
        store
            .set_experiment_tag(&id, "huge", &too_long)
            .unwrap_err(),
    );
    check(
        store
            .create_experiment("exp2", None, &pairs(&[("huge", &too_long)]))
            .unwrap_err(),
    );
    assert!(!store.get_experiment(&id).unwrap().tags.contains_key("huge"));
    assert_eq!(
        store.get_experiment_by_name("exp2").unwrap(),
        None,
        "a refused create left an experiment behind"
    );
}

#[test]
fn experiment_id_for_creates_or_gets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    assert_eq!(store.experiment_id_for("Default").unwrap(), "0");

    let id = store.experiment_id_for("sweep-1").unwrap();
    let e = store.get_experiment(&id).unwrap();
    assert_eq!(e.name, "sweep-1");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(store.experiment_id_for("sweep-1").unwrap(), id);
    assert_eq!(store.list_experiments(ViewType::All).unwrap().len(), 2);

    let made = store.create_experiment("made", None, &[]).unwrap();
    assert_eq!(store.experiment_id_for("made").unwrap(), made);

    store.delete_experiment(&made).unwrap();
    assert_invalid_state(
        store.experiment_id_for("made"),
        &["\"made\"", &made, "deleted"],
    );

    assert!(matches!(
        store.experiment_id_for("").unwrap_err(),
        Error::Validation(ValidationError::InvalidValue { .. })
    ));
    assert_eq!(store.list_experiments(ViewType::All).unwrap().len(), 3);
}

#[test]
fn experiments_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (before, id) = {
        let store = open(dir.path());
        let id = store
            .create_experiment("kept", Some("/data/artifacts"), &pairs(&[("k", "v")]))
            .unwrap();
        let gone = store.create_experiment("gone", None, &[]).unwrap();
        store.delete_experiment(&gone).unwrap();
        (store.list_experiments(ViewType::All).unwrap(), id)
    };
    let store = open(dir.path());
    assert_eq!(store.list_experiments(ViewType::All).unwrap(), before);
    assert_eq!(
        store.get_experiment(&id).unwrap().artifact_location,
        "/data/artifacts"
    );
}
