"""The model registry without MLflow (``import tracklite as mlflow``):
``register_model`` and ``MlflowClient``'s registry methods, as MLflow's
Model Registry guide uses them, with values read back and tracklite's
error classes. No test here imports mlflow."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracklite
from tracklite import MlflowClient
from tracklite.entities import (
    ModelVersion,
    PagedList,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from tracklite.errors import (
    AlreadyExistsError,
    InvalidFilterError,
    InvalidValueError,
    NotFoundError,
    TrackliteError,
)


@pytest.fixture
def client() -> MlflowClient:
    return MlflowClient()


@pytest.fixture
def model_run(client: MlflowClient) -> str:
    """A run whose artifacts hold an MLflow model folder ``model``."""
    with tracklite.start_run() as run:
        tracklite.log_text("flavors: {}\n", "model/MLmodel")
        tracklite.log_text("weights", "model/weights.bin")
    return run.info.run_id


def test_registered_models_are_created_read_updated_renamed_and_deleted(
    client: MlflowClient,
) -> None:
    before = int(time.time() * 1000)
    made = client.create_registered_model("iris", tags={"team": "cv", "n": 1}, description="d")
    assert isinstance(made, RegisteredModel)
    assert (made.name, made.description, made.tags) == ("iris", "d", {"team": "cv", "n": "1"})
    assert made.creation_timestamp >= before
    assert (made.latest_versions, made.aliases) == ([], {})
    assert made == client.get_registered_model("iris")

    assert client.update_registered_model("iris", "flowers").description == "flowers"
    client.set_registered_model_tag("iris", "team", "vision")
    client.delete_registered_model_tag("iris", "n")
    client.delete_registered_model_tag("iris", "absent")
    assert client.get_registered_model("iris").tags == {"team": "vision"}

    with pytest.raises(AlreadyExistsError, match="already exists") as info:
        client.create_registered_model("iris")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"

    renamed = client.rename_registered_model("iris", "flowers")
    assert (renamed.name, renamed.description) == ("flowers", "flowers")
    with pytest.raises(NotFoundError, match="'iris'|\"iris\"") as missing:
        client.get_registered_model("iris")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert isinstance(missing.value, LookupError)

    client.delete_registered_model("flowers")
    with pytest.raises(NotFoundError):
        client.delete_registered_model("flowers")
    assert client.search_registered_models() == []


@pytest.mark.parametrize("name", ["", "a/b", "a:b"])
def test_bad_names_are_invalid_values(client: MlflowClient, name: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        client.create_registered_model(name)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(info.value, ValueError)


def test_versions_stages_tags_and_download_uris(client: MlflowClient, model_run: str) -> None:
    client.create_registered_model("m")
    source = client.get_run(model_run).info.artifact_uri + "/model"
    v1 = client.create_model_version(
        "m", source, run_id=model_run, tags={"data": "v1"}, description="first"
    )
    assert isinstance(v1, ModelVersion)
    assert (v1.name, v1.version, v1.current_stage, v1.status) == ("m", 1, "None", "READY")
    assert (v1.source, v1.run_id, v1.description, v1.tags) == (
        source,
        model_run,
        "first",
        {"data": "v1"},
    )
    assert (v1.aliases, v1.model_id, v1.run_link, v1.user_id) == ([], None, None, None)
    assert client.get_model_version_download_uri("m", 1) == source

    assert client.create_model_version("m", source).version == 2
    assert client.create_model_version("m", source).version == 3
    client.delete_model_version("m", "3")
    with pytest.raises(NotFoundError) as info:
        client.get_model_version("m", 3)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.create_model_version("m", source).version == 4  # never reused

    assert client.get_model_version("m", "1") == client.get_model_version("m", 1)
    assert client.update_model_version("m", 1, "better").description == "better"
    with pytest.raises(InvalidValueError, match="no new field values"):
        client.update_model_version("m", 1, None)

    client.set_model_version_tag("m", "1", "data", "v2")
    client.set_model_version_tag("m", 1, "ok", True)
    client.delete_model_version_tag("m", 1, "ok")
    assert client.get_model_version("m", 1).tags == {"data": "v2"}

    prod = client.transition_model_version_stage("m", 1, "production")
    assert prod.current_stage == "Production"
    client.transition_model_version_stage("m", 2, "Staging")
    client.transition_model_version_stage("m", 4, "Production", archive_existing_versions=True)
    stages = [client.get_model_version("m", n).current_stage for n in (1, 2, 4)]
    assert stages == ["Archived", "Staging", "Production"]
    latest = client.get_latest_versions("m", stages=["Production"])
    assert [v.version for v in latest] == [4]
    assert [(v.version, v.current_stage) for v in client.get_latest_versions("m")] == [
        (1, "Archived"),
        (2, "Staging"),
        (4, "Production"),
    ]
    assert [v.version for v in client.get_registered_model("m").latest_versions] == [1, 2, 4]

    # With a stage instead of a version, the tag goes to its newest version.
    client.set_model_version_tag("m", key="live", value="yes", stage="Production")
    assert client.get_model_version("m", 4).tags == {"live": "yes"}
    client.delete_model_version_tag("m", key="live", stage="Production")
    assert client.get_model_version("m", 4).tags == {}
    with pytest.raises(InvalidValueError, match="cannot be set together"):
        client.set_model_version_tag("m", 1, "k", "v", stage="Production")

    with pytest.raises(InvalidValueError, match="Staging or Production"):
        client.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)
    with pytest.raises(InvalidValueError, match="stage"):
        client.transition_model_version_stage("m", 1, "Live")
    with pytest.raises(InvalidValueError, match="integer"):
        client.get_model_version("m", "one")
    with pytest.raises(NotFoundError):
        client.create_model_version("missing", source)


def test_aliases(client: MlflowClient) -> None:
    client.create_registered_model("m")
    for _ in range(2):
        client.create_model_version("m", "/models/m")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "champion", "2")  # moves it
    client.set_registered_model_alias("m", "challenger", 1)
    assert client.get_registered_model("m").aliases == {"champion": 2, "challenger": 1}
    champion = client.get_model_version_by_alias("m", "champion")
    assert (champion.version, champion.aliases) == (2, ["champion"])
    assert client.get_model_version_by_alias("m", "latest").version == 2

    with pytest.raises(InvalidValueError, match="no such alias") as info:
        client.get_model_version_by_alias("m", "nope")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    for reserved in ("latest", "v1", "V7"):
        with pytest.raises(InvalidValueError, match="reserved"):
            client.set_registered_model_alias("m", reserved, 1)
    with pytest.raises(InvalidValueError, match="not allowed"):
        client.set_registered_model_alias("m", "a.b", 1)
    with pytest.raises(NotFoundError):
        client.set_registered_model_alias("m", "x", 9)

    client.delete_model_version("m", 2)  # takes its alias along
    assert client.get_registered_model("m").aliases == {"challenger": 1}
    client.delete_registered_model_alias("m", "challenger")
    client.delete_registered_model_alias("m", "challenger")
    assert client.get_model_version("m", 1).aliases == []


def test_searches_filter_order_and_page(client: MlflowClient) -> None:
    for name in ("alpha", "beta", "Gamma"):
        client.create_registered_model(name, tags={"team": name[0].lower()})
        for i in range(3):
            client.create_model_version(name, f"/models/{name}/{i}", tags={"i": str(i)})

    models = client.search_registered_models()
    assert isinstance(models, PagedList) and models.token is None
    assert [m.name for m in models] == ["Gamma", "alpha", "beta"]
    assert [m.name for m in client.search_registered_models("name LIKE '%et%'")] == ["beta"]
    assert [m.name for m in client.search_registered_models("tags.team = 'g'")] == ["Gamma"]
    names = [m.name for m in client.search_registered_models(order_by=["name DESC"])]
    assert names == ["beta", "alpha", "Gamma"]
    first = client.search_registered_models(max_results=2)
    rest = client.search_registered_models(max_results=2, page_token=first.token)
    assert [m.name for m in first + rest] == ["Gamma", "alpha", "beta"] and rest.token is None

    found = client.search_model_versions(
        "name = 'beta' AND version_number >= 2", order_by=["version_number"]
    )
    assert [(v.name, v.version) for v in found] == [("beta", 2), ("beta", 3)]
    by_tag = client.search_model_versions("tags.i = '0'", order_by=["name"])
    assert [v.name for v in by_tag] == ["Gamma", "alpha", "beta"]
    pages = [client.search_model_versions(max_results=4)]
    while pages[-1].token:
        pages.append(client.search_model_versions(max_results=4, page_token=pages[-1].token))
    assert [len(p) for p in pages] == [4, 4, 1]
    assert len({(v.name, v.version) for p in pages for v in p}) == 9
    by_source = client.search_model_versions("source_path = '/models/alpha/1'")
    assert [(v.name, v.version) for v in by_source] == [("alpha", 2)]

    with pytest.raises(InvalidFilterError) as info:
        client.search_registered_models("run_id = 'x'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(InvalidValueError, match="max_results"):
        client.search_registered_models(max_results=1001)
    with pytest.raises(InvalidValueError, match="max_results"):
        client.search_model_versions(max_results=0)


def test_register_model_from_a_runs_uri(client: MlflowClient, model_run: str) -> None:
    mv = tracklite.register_model(f"runs:/{model_run}/model", "iris", tags={"stage": 1})
    assert (mv.name, mv.version, mv.run_id, mv.tags) == ("iris", 1, model_run, {"stage": "1"})
    artifact_uri = client.get_run(model_run).info.artifact_uri
    assert mv.source == artifact_uri + "/model"
    downloaded = Path(client.get_model_version_download_uri("iris", 1))
    assert (downloaded / "MLmodel").read_text() == "flavors: {}\n"
    # The model exists now: the next registration adds a version.
    assert tracklite.register_model(f"runs:/{model_run}/model", "iris").version == 2

    with pytest.raises(NotFoundError, match="Unable to find a logged_model"):
        tracklite.register_model(f"runs:/{model_run}/nothing-here", "iris")


def test_register_model_from_logged_models(client: MlflowClient) -> None:
    with tracklite.start_run() as run:
        pass
    native = client.store._native
    logged = native.create_logged_model("0", name="clf", source_run_id=run.info.run_id)
    model_id = logged["model_id"]

    # runs:/<run>/<name> with no such artifact folder: the run's logged model of that name.
    by_run = tracklite.register_model(f"runs:/{run.info.run_id}/clf", "clf")
    assert (by_run.source, by_run.model_id, by_run.run_id) == (
        f"models:/{model_id}",
        model_id,
        run.info.run_id,
    )
    assert client.get_model_version_download_uri("clf", 1) == logged["artifact_location"]

    by_id = tracklite.register_model(f"models:/{model_id}", "other")
    assert (by_id.version, by_id.model_id, by_id.run_id) == (1, model_id, run.info.run_id)
    by_version = tracklite.register_model("models:/clf/1", "other")
    assert (by_version.version, by_version.source, by_version.model_id) == (
        2,
        "models:/clf/1",
        model_id,
    )
    assert client.get_model_version_download_uri("other", 2) == logged["artifact_location"]

    # The logged model lists the versions made from it, as with MLflow.
    listed = json.loads(native.get_logged_model(model_id)["tags"]["mlflow.modelVersions"])
    assert listed == [
        {"name": "clf", "version": 1},
        {"name": "other", "version": 1},
        {"name": "other", "version": 2},
    ]


def test_a_plain_path_registers_as_given(client: MlflowClient, tmp_path: Path) -> None:
    mv = tracklite.register_model(str(tmp_path), "local")
    assert (mv.source, mv.run_id, mv.model_id) == (str(tmp_path), None, None)
    assert client.get_model_version_download_uri("local", 1) == str(tmp_path)


def test_prompts_are_not_models(client: MlflowClient) -> None:
    with pytest.raises(InvalidValueError, match="Prompts cannot be registered as models"):
        client.create_registered_model("p", tags={"mlflow.prompt.is_prompt": "true"})
    # A prompt made by MLflow in the same store: reported missing, as MLflow's client does.
    client.store._native.create_registered_model("p", {"mlflow.prompt.is_prompt": "true"})
    with pytest.raises(NotFoundError):
        client.get_registered_model("p")
    with pytest.raises(NotFoundError):
        client.delete_registered_model("p")
    assert client.search_registered_models() == []


def test_entities_look_like_mlflows() -> None:
    mv = ModelVersion("m", 3, 10, tags=[RegisteredModelTag("k", "v")], aliases=["a"])
    assert (mv.current_stage, mv.status, mv.tags, mv.aliases) == (None, "READY", {"k": "v"}, ["a"])
    assert dict(mv)["version"] == 3
    rm = RegisteredModel(
        "m",
        1,
        2,
        tags={"mlflow.prompt.is_prompt": "false", "k": "v"},
        aliases=[RegisteredModelAlias("champion", 3)],
        latest_versions=[mv],
    )
    assert rm.tags == {"k": "v"} and rm.aliases == {"champion": 3}
    assert rm.latest_versions == [mv]
    assert issubclass(NotFoundError, TrackliteError) and tracklite.MlflowException is TrackliteError


def test_the_guide_runs_without_mlflow(tmp_path: Path) -> None:
    """MLflow's Model Registry guide, as ``import tracklite as mlflow`` runs it,
    in a process where MLflow is never imported."""
    script = f"""
import sys
import tracklite as mlflow
from tracklite import MlflowClient

mlflow.set_tracking_uri({str(tmp_path / "store")!r})
with mlflow.start_run() as run:
    mlflow.log_text("flavors: {{}}\\n", "sklearn-model/MLmodel")
model_uri = f"runs:/{{run.info.run_id}}/sklearn-model"
mv = mlflow.register_model(model_uri, "RandomForestRegressionModel")
print(f"Name: {{mv.name}}")
print(f"Version: {{mv.version}}")
client = MlflowClient()
client.update_registered_model(name=mv.name, description="A random forest")
client.set_registered_model_alias(mv.name, "champion", mv.version)
print("Alias:", client.get_model_version_by_alias(mv.name, "champion").version)
client.transition_model_version_stage(name=mv.name, version=mv.version, stage="Production")
print("Stage:", client.get_latest_versions(mv.name, stages=["Production"])[0].current_stage)
print("mlflow imported:", "mlflow" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        "Name: RandomForestRegressionModel",
        "Version: 1",
        "Alias: 1",
        "Stage: Production",
        "mlflow imported: False",
    ]


def test_the_store_has_the_registry_methods(tmp_path) -> None:
    store = tracklite.Store(tmp_path / "store")
    store.create_registered_model("clf", tags={"team": "cv"})
    first = store.create_model_version("clf", "/models/clf/1")
    store.set_registered_model_alias("clf", "champion", first.version)
    found = store.get_model_version_by_alias("clf", "champion")
    assert (found.version, found.aliases, found.source) == (1, ["champion"], "/models/clf/1")
    # The store and a client of it see one registry.
    client = tracklite.MlflowClient(str(tmp_path / "store"))
    assert client.get_registered_model("clf").aliases == {"champion": 1}
    assert [v.version for v in store.search_model_versions("name = 'clf'")] == [1]
