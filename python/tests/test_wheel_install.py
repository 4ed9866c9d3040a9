"""The built wheel, installed as a user would: into a fresh virtual
environment with no Rust toolchain on PATH.

scripts/python-env.sh builds the wheel into target/wheels
(TRACKLITE_WHEEL_DIR) and installs that same file into .venv; here it goes
into a new venv whose processes cannot find cargo or rustc. They import
the package, log runs and read them back, run the `tracklite` command and
`python -m tracklite` (when the wheel has them) and execute the example
notebook (when the checkout has it). The source distribution, installed
there too, must stop with one line saying that Rust is needed, not with
maturin's attempt to fetch a toolchain.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHEEL_DIR = Path(os.environ.get("TRACKLITE_WHEEL_DIR", REPO / "target" / "wheels"))
NOTEBOOK = REPO / "python" / "examples" / "notebook.ipynb"

# The line the build backend (python/build_backend/tracklite_build.py)
# prints when cargo is missing; kept here as a user reads it.
MISSING_RUST = "error: tracklite needs the Rust toolchain (cargo) to build from source"

# Deadlines: creating a venv and pip installs from the index (cached after
# the first run) take seconds to tens of seconds; a hung step fails the test.
VENV_SECONDS = 120
PIP_SECONDS = 600
RUN_SECONDS = 120
NOTEBOOK_SECONDS = 300

# Variables of this process that would lead the fresh environment back to
# the checkout, the test venv, a toolchain or a store.
DROPPED_PREFIXES = ("CARGO", "RUSTUP", "RUSTC", "MATURIN", "TRACKLITE", "MLFLOW_")
DROPPED_NAMES = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX")


@dataclass
class FreshVenv:
    """A virtual environment with the wheel installed, and the environment
    variables its processes run with (PATH without Rust)."""

    root: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(
        self,
        *args: str | Path,
        cwd: Path,
        timeout: float = RUN_SECONDS,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Runs a command with the venv's bin first on PATH; fails on a non-zero exit."""
        done = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        said = f"{done.stdout}\n{done.stderr}"
        assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{said}"
        return done

    def pip_install(self, *requirements: str | Path, cwd: Path) -> None:
        self.run(
            self.python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            *requirements,
            cwd=cwd,
            timeout=PIP_SECONDS,
        )


def path_without_rust(path: str) -> str:
    """PATH less every folder that holds cargo or rustc (~/.cargo/bin, ...)."""
    kept = [
        d
        for d in path.split(os.pathsep)
        if d and not any(os.access(os.path.join(d, tool), os.X_OK) for tool in ("cargo", "rustc"))
    ]
    return os.pathsep.join(kept)


def the_wheel() -> Path:
    wheels = sorted(WHEEL_DIR.glob("tracklite-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.fail(
            f"no tracklite wheel in {WHEEL_DIR}: scripts/python-env.sh builds it there",
            pytrace=False,
        )
    return wheels[-1]


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def wheel_commands(wheel: Path) -> list[str]:
    """The commands ([console_scripts] entry points) the wheel installs."""
    parser = configparser.ConfigParser(delimiters=("=",))
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith(".dist-info/entry_points.txt"):
                parser.read_string(zf.read(name).decode())
    if not parser.has_section("console_scripts"):
        return []
    return list(parser["console_scripts"])


@pytest.fixture(scope="module")
def wheel() -> Path:
    return the_wheel()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[FreshVenv]:
    root = tmp_path_factory.mktemp("fresh") / "venv"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(DROPPED_PREFIXES) and k not in DROPPED_NAMES
    }
    env["PATH"] = os.pathsep.join([str(root / "bin"), path_without_rust(env.get("PATH", ""))])
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(
        [base_python, "-m", "venv", str(root)],
        check=True,
        capture_output=True,
        timeout=VENV_SECONDS,
        env=env,
    )
    venv = FreshVenv(root, env)
    # The wheel from its file, numpy (its one dependency) from the index.
    venv.pip_install(wheel, cwd=root.parent)
    yield venv


def test_no_rust_toolchain_is_reachable(fresh: FreshVenv, tmp_path: Path) -> None:
    assert shutil.which("cargo", path=fresh.env["PATH"]) is None
    assert shutil.which("rustc", path=fresh.env["PATH"]) is None
    seen = fresh.run(
        fresh.python,
        "-c",
        "import shutil; print(shutil.which('cargo'), shutil.which('rustc'))",
        cwd=tmp_path,
    )
    assert seen.stdout.split() == ["None", "None"]


LOG_AND_READ_BACK = """
import json, sys
import numpy as np
import tracklite
import tracklite as mlflow

store_dir = sys.argv[1]
mlflow.set_tracking_uri(store_dir)
mlflow.set_experiment("wheel-check")
with mlflow.start_run(run_name="fluent") as active:
    mlflow.log_param("lr", 0.01)
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_dict({"classes": 3}, "meta.json")
    fluent_id = active.info.run_id

store = tracklite.Store(store_dir)
with store.start_run(experiment="wheel-check", run_name="native") as run:
    run.log_metric_array("val_loss", np.linspace(1.0, 0.0, 1000))
steps, _, values = store.metric_history(run.run_id, "val_loss")
fluent = store.get_run(fluent_id)
print(json.dumps({
    "module": tracklite.__file__,
    "native": tracklite._native.__file__,
    "version": tracklite._native.__version__,
    "lr": fluent.data.params["lr"],
    "loss": fluent.data.metrics["loss"],
    "status": fluent.info.status,
    "loss_steps": [int(s) for s in store.metric_history(fluent_id, "loss")[0]],
    "val_points": len(values),
    "val_last": float(values[-1]),
    "runs": sorted(r.info.run_name for r in store.search_runs()),
}))
"""


def test_import_log_and_read_back(fresh: FreshVenv, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    out = fresh.run(fresh.python, "-c", LOG_AND_READ_BACK, store_dir, cwd=tmp_path)
    got = json.loads(out.stdout)
    # The installed package, not the checkout's sources.
    assert Path(got["module"]).is_relative_to(fresh.root)
    assert Path(got["native"]).is_relative_to(fresh.root)
    assert got["lr"] == "0.01"
    assert got["loss"] == pytest.approx(0.2)
    assert got["status"] == "FINISHED"
    assert got["loss_steps"] == [0, 1, 2, 3, 4]
    assert got["val_points"] == 1000
    assert got["val_last"] == 0.0
    assert got["runs"] == ["fluent", "native"]
    # The store is on disk where it was asked for, artifact included.
    assert (store_dir / "index.sqlite").is_file()
    assert list(store_dir.rglob("meta.json"))


def test_cli_from_the_wheel(fresh: FreshVenv, wheel: Path, tmp_path: Path) -> None:
    if "tracklite" not in wheel_commands(wheel):
        pytest.skip("the wheel has no `tracklite` command ([project.scripts]) yet")
    store_dir = tmp_path / "store"
    fresh.run(
        fresh.python,
        "-c",
        "import sys, tracklite as m; m.set_tracking_uri(sys.argv[1]);"
        "m.start_run(run_name='from-cli-test'); m.log_metric('acc', 0.75); m.end_run()",
        store_dir,
        cwd=tmp_path,
    )
    version = fresh.run("tracklite", "--version", cwd=tmp_path)
    assert version.stdout.startswith("tracklite ")
    runs = fresh.run("tracklite", "--store", store_dir, "runs", cwd=tmp_path)
    assert "from-cli-test" in runs.stdout
    assert "0.75" in runs.stdout


def test_python_dash_m_tracklite(fresh: FreshVenv, wheel: Path, tmp_path: Path) -> None:
    if "tracklite/__main__.py" not in wheel_files(wheel):
        pytest.skip("the wheel has no tracklite/__main__.py yet")
    helped = fresh.run(fresh.python, "-m", "tracklite", "--help", cwd=tmp_path)
    assert "usage" in helped.stdout.lower()
    assert "runs" in helped.stdout


NOTEBOOK_RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(
    nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}
)
client.execute()
nbformat.write(nb, sys.argv[3])
"""


def test_example_notebook_runs(fresh: FreshVenv, wheel: Path, tmp_path: Path) -> None:
    if not NOTEBOOK.is_file():
        pytest.skip(f"{NOTEBOOK.relative_to(REPO)} is not in this checkout yet")
    # The notebook extra (pandas, matplotlib) of the same wheel, and a kernel.
    fresh.pip_install(f"{wheel}[notebook]", "nbclient", "nbformat", "ipykernel", cwd=tmp_path)
    store_dir = tmp_path / "store"
    executed = tmp_path / "executed.ipynb"
    fresh.run(
        fresh.python,
        "-c",
        NOTEBOOK_RUNNER,
        NOTEBOOK,
        tmp_path,
        executed,
        cwd=tmp_path,
        timeout=NOTEBOOK_SECONDS,
        extra_env={"TRACKLITE_STORE": str(store_dir)},
    )
    nb = json.loads(executed.read_text())
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in code_cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert all(c.get("execution_count") for c in code_cells if c["source"])
    # Runs and experiments display as HTML tables; the loss curves as a plot.
    assert any("text/html" in o.get("data", {}) for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
    # log_image and log_table wrote their files into the store it was given,
    # found through search_runs in the notebook.
    assert [p.name for p in store_dir.rglob("error.png")] == ["error.png"]
    assert [p.name for p in store_dir.rglob("predictions.json")] == ["predictions.json"]
    assert (store_dir / "index.sqlite").is_file()


def test_sdist_without_rust_fails_in_one_line(fresh: FreshVenv, tmp_path: Path) -> None:
    maturin = Path(sys.executable).parent / "maturin"
    if not maturin.exists() or shutil.which("cargo") is None:
        pytest.skip("building the sdist needs maturin and cargo in the test's environment")
    subprocess.run(
        [maturin, "sdist", "--out", tmp_path],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=RUN_SECONDS,
    )
    (sdist,) = tmp_path.glob("tracklite-*.tar.gz")
    done = subprocess.run(
        [fresh.python, "-m", "pip", "install", "--disable-pip-version-check", sdist],
        cwd=tmp_path,
        env=fresh.env,
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert MISSING_RUST in said
    assert "https://rustup.rs" in said
    assert "Traceback" not in said
    assert "puccinialin" not in said
    assert "Rust not found, installing" not in said
