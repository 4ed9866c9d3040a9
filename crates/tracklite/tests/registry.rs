//! The model registry: numbering, stages, aliases, tags, renaming,
//! deletion, searches, and processes registering at once.

mod common;

use std::collections::BTreeSet;

use common::spawn_child;
use tracklite::{
    EntityKind, Error, ModelVersionStage as Stage, NewLoggedModel, NewModelVersion, NewRun, Store,
    ValidationError,
};

fn version(store: &Store, name: &str, source: &str) -> i64 {
    store
        .create_model_version(NewModelVersion {
            name: name.into(),
            source: source.into(),
            ..NewModelVersion::default()
        })
        .unwrap()
        .version
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

#[test]
fn numbers_are_never_reused_after_a_delete() {
    let (_dir, store) = store();
    store.create_registered_model("m", &[], None).unwrap();
    for expected in 1..=3 {
        assert_eq!(version(&store, "m", "/src"), expected);
    }
    store
        .set_registered_model_alias("m", "champion", 3)
        .unwrap();
    store.delete_model_version("m", 3).unwrap();
    assert!(matches!(
        store.get_model_version("m", 3),
        Err(Error::NotFound {
            kind: EntityKind::ModelVersion,
            ..
        })
    ));
    // The alias went with the version; the number is not given again.
    assert!(store.get_registered_model("m").unwrap().aliases.is_empty());
    assert_eq!(version(&store, "m", "/src"), 4);
    // A deleted and re-registered model starts again at 1, as in MLflow.
    store.delete_registered_model("m").unwrap();
    store.create_registered_model("m", &[], None).unwrap();
    assert_eq!(version(&store, "m", "/src"), 1);
}

#[test]
fn stages_archive_existing_versions_only_when_asked() {
    let (_dir, store) = store();
    store.create_registered_model("m", &[], None).unwrap();
    for _ in 0..3 {
        version(&store, "m", "/src");
    }
    store
        .transition_model_version_stage("m", 1, Stage::Production, false)
        .unwrap();
    store
        .transition_model_version_stage("m", 2, Stage::Production, false)
        .unwrap();
    let stage = |v| store.get_model_version("m", v).unwrap().current_stage;
    assert_eq!((stage(1), stage(2)), (Stage::Production, Stage::Production));
    store
        .transition_model_version_stage("m", 3, Stage::Production, true)
        .unwrap();
    assert_eq!(
        (stage(1), stage(2), stage(3)),
        (Stage::Archived, Stage::Archived, Stage::Production)
    );
    let err = store
        .transition_model_version_stage("m", 1, Stage::Archived, true)
        .unwrap_err();
    assert!(err.to_string().contains("Staging or Production"), "{err}");
    assert_eq!(stage(1), Stage::Archived);
    let latest = store.get_latest_versions("m", &[]).unwrap();
    let got: Vec<_> = latest
        .iter()
        .map(|v| (v.version, v.current_stage))
        .collect();
    assert_eq!(got, [(2, Stage::Archived), (3, Stage::Production)]);
    let prod = store
        .get_latest_versions("m", &[Stage::Production])
        .unwrap();
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0].version, 3);
    assert_eq!("production".parse::<Stage>().unwrap(), Stage::Production);
    assert!("Live".parse::<Stage>().is_err());
}

#[test]
fn aliases_name_one_version_and_reserved_names_are_refused() {
    let (_dir, store) = store();
    store.create_registered_model("m", &[], None).unwrap();
    version(&store, "m", "/a");
    version(&store, "m", "/b");
    store
        .set_registered_model_alias("m", "champion", 1)
        .unwrap();
    store
        .set_registered_model_alias("m", "champion", 2)
        .unwrap();
    let v = store.get_model_version_by_alias("m", "champion").unwrap();
    assert_eq!(
        (v.version, v.aliases.clone()),
        (2, vec!["champion".to_string()])
    );
    assert!(store.get_model_version("m", 1).unwrap().aliases.is_empty());
    assert_eq!(
        store
            .get_model_version_by_alias("m", "LATEST")
            .unwrap()
            .version,
        2
    );
    for reserved in ["latest", "Latest", "v1", "V20"] {
        let err = store
            .set_registered_model_alias("m", reserved, 1)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Validation(ValidationError::InvalidValue { field: "alias", .. })
            ),
            "{reserved}: {err}"
        );
    }
    assert!(store.set_registered_model_alias("m", "a.b", 1).is_err());
    assert!(store.set_registered_model_alias("m", "x", 7).is_err());
    let missing = store.get_model_version_by_alias("m", "nope").unwrap_err();
    assert!(matches!(missing, Error::Validation(_)), "{missing}");
    store
        .delete_registered_model_alias("m", "champion")
        .unwrap();
    store
        .delete_registered_model_alias("m", "champion")
        .unwrap();
    assert!(store.get_model_version_by_alias("m", "champion").is_err());
}

#[test]
fn rename_moves_versions_tags_and_aliases() {
    let (_dir, store) = store();
    store
        .create_registered_model("old", &[("team".into(), "cv".into())], Some("d"))
        .unwrap();
    version(&store, "old", "/a");
    store.set_registered_model_alias("old", "prod", 1).unwrap();
    store.set_model_version_tag("old", 1, "ok", "yes").unwrap();
    store.create_registered_model("taken", &[], None).unwrap();
    assert!(matches!(
        store.rename_registered_model("old", "taken"),
        Err(Error::AlreadyExists { .. })
    ));
    let renamed = store.rename_registered_model("old", "new").unwrap();
    assert_eq!(renamed.name, "new");
    assert_eq!(renamed.tags["team"], "cv");
    assert_eq!(renamed.aliases["prod"], 1);
    assert_eq!(renamed.description.as_deref(), Some("d"));
    let v = store.get_model_version("new", 1).unwrap();
    assert_eq!((v.name.as_str(), v.tags["ok"].as_str()), ("new", "yes"));
    assert!(store.get_registered_model("old").is_err());
}

#[test]
fn models_uris_resolve_to_versions_and_logged_models() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap();
    let logged = store
        .create_logged_model(NewLoggedModel {
            source_run_id: Some(run.run_id.clone()),
            ..NewLoggedModel::default()
        })
        .unwrap();
    store.create_registered_model("m", &[], None).unwrap();
    let v = store
        .create_model_version(NewModelVersion {
            name: "m".into(),
            source: format!("models:/{}", logged.model_id),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(v.run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(v.model_id.as_deref(), Some(logged.model_id.as_str()));
    assert_eq!(v.download_uri(), logged.artifact_location);
    store
        .set_registered_model_alias("m", "champion", 1)
        .unwrap();
    store
        .transition_model_version_stage("m", 1, Stage::Staging, false)
        .unwrap();
    version(&store, "m", "/plain");
    for (uri, expected) in [
        ("models:/m/1", 1),
        ("models:/m@champion", 1),
        ("models:/m/latest", 2),
        ("models:/m/staging", 1),
    ] {
        assert_eq!(
            store.model_version_for_uri(uri).unwrap().version,
            expected,
            "{uri}"
        );
    }
    assert!(store.model_version_for_uri("models:/m/Production").is_err());
    // A version made from another version's URI takes its location.
    let copy = store
        .create_model_version(NewModelVersion {
            name: "m".into(),
            source: "models:/m/1".into(),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(copy.download_uri(), logged.artifact_location);
    assert_eq!(copy.source, "models:/m/1");
}

#[test]
fn searches_filter_order_and_page() {
    let (_dir, store) = store();
    for name in ["alpha", "beta", "Gamma"] {
        store
            .create_registered_model(name, &[("team".into(), name.to_uppercase())], None)
            .unwrap();
        for _ in 0..3 {
            version(&store, name, &format!("/src/{name}"));
        }
    }
    store
        .create_registered_model(
            "prompt",
            &[("mlflow.prompt.is_prompt".into(), "true".into())],
            None,
        )
        .unwrap();
    let names = |filter: &str| -> Vec<String> {
        store
            .search_registered_models(filter, 100, &[], None)
            .unwrap()
            .models
            .into_iter()
            .map(|m| m.name)
            .collect()
    };
    assert_eq!(names(""), ["Gamma", "alpha", "beta"]);
    assert_eq!(names("name ILIKE 'g%'"), ["Gamma"]);
    assert_eq!(names("name LIKE 'g%'"), Vec::<String>::new());
    assert_eq!(names("tags.team = 'BETA'"), ["beta"]);
    assert_eq!(
        names("name IN ('alpha', 'beta') AND tags.team != 'BETA'"),
        ["alpha"]
    );
    assert_eq!(names("tags.`mlflow.prompt.is_prompt` = 'true'"), ["prompt"]);
    assert!(store
        .search_registered_models("run_id = 'x'", 10, &[], None)
        .is_err());

    let versions = |filter: &str, order: &[&str]| -> Vec<(String, i64)> {
        let order: Vec<String> = order.iter().map(|s| s.to_string()).collect();
        store
            .search_model_versions(filter, 1000, &order, None)
            .unwrap()
            .versions
            .into_iter()
            .map(|v| (v.name, v.version))
            .collect()
    };
    assert_eq!(
        versions(
            "name = 'beta' AND version_number >= 2",
            &["version_number ASC"]
        ),
        [("beta".to_string(), 2), ("beta".to_string(), 3)]
    );
    assert_eq!(
        versions("source_path LIKE '/src/al%' AND version_number = '1'", &[]),
        [("alpha".to_string(), 1)]
    );
    // Paging: every version once, in the order asked for.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = store
            .search_model_versions("", 4, &["name DESC".into()], token.as_deref())
            .unwrap();
        seen.extend(page.versions.into_iter().map(|v| (v.name, v.version)));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 9);
    assert_eq!(seen[0], ("beta".to_string(), 3));
    assert!(store
        .search_model_versions("version_number = 1.5", 10, &[], None)
        .is_err());
    assert!(store.search_model_versions("", 0, &[], None).is_err());
}

#[test]
fn gc_sees_the_versions_a_run_backs() {
    let (_dir, store) = store();
    let run = store.create_run(NewRun::default()).unwrap();
    let other = store.create_run(NewRun::default()).unwrap();
    store.create_registered_model("m", &[], None).unwrap();
    version(&store, "m", &format!("runs:/{}/model", run.run_id));
    version(&store, "m", &format!("{}/model", run.artifact_uri));
    version(&store, "m", &format!("{}x/model", run.artifact_uri));
    assert_eq!(
        store.model_versions_of_run(&run.run_id).unwrap(),
        [("m".to_string(), 1), ("m".to_string(), 2)]
    );
    assert!(store
        .model_versions_of_run(&other.run_id)
        .unwrap()
        .is_empty());
}

const STORE_VAR: &str = "TRACKLITE_TEST_REGISTRY_STORE";
const ROLE_VAR: &str = "TRACKLITE_TEST_REGISTRY_ROLE";
const VERSIONS_PER_PROCESS: usize = 25;

/// The child: registers versions of model `m`, or moves alias `a` back and
/// forth, as its role says.
#[test]
fn registry_child_entry() {
    let (Ok(path), Ok(role)) = (std::env::var(STORE_VAR), std::env::var(ROLE_VAR)) else {
        return;
    };
    let store = Store::open(path).unwrap();
    if let Some(target) = role.strip_prefix("alias:") {
        let target: i64 = target.parse().unwrap();
        for _ in 0..50 {
            store.set_registered_model_alias("m", "a", target).unwrap();
        }
        return;
    }
    let mut mine = Vec::new();
    for i in 0..VERSIONS_PER_PROCESS {
        let v = store
            .create_model_version(NewModelVersion {
                name: "m".into(),
                source: format!("/{role}/{i}"),
                ..NewModelVersion::default()
            })
            .unwrap();
        mine.push(v.version);
    }
    println!("versions {mine:?}");
}

#[test]
fn eight_processes_get_distinct_gap_free_numbers() {
    let _one = common::serial();
    let (dir, store) = store();
    let path = dir.path().join("store");
    store.create_registered_model("m", &[], None).unwrap();
    let children: Vec<_> = (0..8)
        .map(|p| {
            spawn_child(
                "registry_child_entry",
                &[
                    (STORE_VAR, path.to_string_lossy().into_owned()),
                    (ROLE_VAR, format!("p{p}")),
                ],
            )
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let page = store
        .search_model_versions("name = 'm'", 1000, &[], None)
        .unwrap();
    let numbers: BTreeSet<i64> = page.versions.iter().map(|v| v.version).collect();
    let total = 8 * VERSIONS_PER_PROCESS as i64;
    assert_eq!(numbers, (1..=total).collect::<BTreeSet<_>>());
    // Each process's sources are all there, once.
    let sources: BTreeSet<&str> = page.versions.iter().map(|v| v.source.as_str()).collect();
    assert_eq!(sources.len(), total as usize);

    // Two processes move one alias at once: it names one of their two
    // versions at the end, and never anything else.
    let movers: Vec<_> = [1, 2]
        .iter()
        .map(|target| {
            spawn_child(
                "registry_child_entry",
                &[
                    (STORE_VAR, path.to_string_lossy().into_owned()),
                    (ROLE_VAR, format!("alias:{target}")),
                ],
            )
        })
        .collect();
    let mut movers = movers;
    while movers.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        if let Ok(v) = store.get_model_version_by_alias("m", "a") {
            assert!([1, 2].contains(&v.version), "alias names {}", v.version);
            assert_eq!(v.aliases, ["a"]);
        }
    }
    for mut c in movers {
        assert!(c.wait().unwrap().success());
    }
    let model = store.get_registered_model("m").unwrap();
    assert_eq!(model.aliases.len(), 1);
    assert!([1, 2].contains(&model.aliases["a"]));
}
