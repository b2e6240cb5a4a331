"""Store set-up, the inter-process lock, retries, and two writers on one SQLite store."""

from __future__ import annotations

import fcntl
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from crm_ml.contract.errors import ContractError
from crm_ml.tracking import configure_tracking
from crm_ml.tracking.store import (
    TrackingConfig,
    artifact_root,
    ensure_experiment,
    local_store_uri,
    project_root,
    retry_when_busy,
    store_lock,
)


def test_local_store_layout_and_idempotence(store_root: Path):
    uri = configure_tracking(store_root)
    assert uri == f"sqlite:///{store_root.resolve()}/experiments/mlflow.db"
    assert configure_tracking(store_root) == uri
    assert (store_root / "experiments" / "artifacts").is_dir()
    with sqlite3.connect(store_root / "experiments" / "mlflow.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _garbage(db: Path) -> None:
    db.write_bytes(bytes(range(256)) * 20)


def _truncated(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x TEXT)")
        connection.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    db.write_bytes(db.read_bytes()[:3000])


# a ContractError, so every crm-ml command prints it as one line without a traceback
@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_a_corrupt_store_is_one_clear_error_naming_the_file(tmp_path: Path, damage, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    db = tmp_path / "experiments" / "mlflow.db"
    db.parent.mkdir()
    damage(db)
    with pytest.raises(ContractError) as info:
        configure_tracking(tmp_path)
    message = str(info.value)
    assert str(db) in message and "not a readable SQLite database" in message, message
    assert "\n" not in message


def test_environment_overrides_unless_a_root_is_given(store_root: Path, monkeypatch):
    server = "http://127.0.0.1:5999"  # never contacted by configure_tracking
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    assert configure_tracking() == server
    assert configure_tracking(store_root) == local_store_uri(store_root)


def test_default_root_is_the_project_containing_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert project_root() == tmp_path.resolve()


def test_experiment_artifacts_live_in_the_store(store_root: Path):
    experiment = MlflowClient().get_experiment(ensure_experiment("clv"))
    assert experiment.name == "crm-ml/clv"
    assert experiment.artifact_location == (artifact_root() / "clv").as_uri()
    assert ensure_experiment("clv") == experiment.experiment_id


def test_store_lock_excludes_other_holders_and_is_reentrant(store_root: Path):
    lock_file = store_root / "experiments" / "mlflow.db.lock"
    # nested use must not deadlock; another descriptor cannot take the lock meanwhile
    with (
        store_lock(),
        store_lock(),
        open(lock_file, "a") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock_file, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards


def test_retry_only_when_the_database_is_busy():
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise MlflowException("(sqlite3.OperationalError) database is locked")
        return "done"

    assert retry_when_busy(flaky, TrackingConfig(busy_first_wait_s=0.0)) == "done"
    assert len(attempts) == 3

    def broken() -> None:
        attempts.append(1)
        raise MlflowException("no such experiment")

    attempts.clear()
    with pytest.raises(MlflowException, match="no such experiment"):
        retry_when_busy(broken, TrackingConfig(busy_first_wait_s=0.0))
    assert len(attempts) == 1


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from crm_ml.tracking import configure_tracking, log_model_run, promote_if_better


    class Constant:
        feature_names = ["x"]

        def predict(self, X):
            return np.full(len(X), 0.5)


    root, worker = Path(sys.argv[1]), int(sys.argv[2])
    configure_tracking(root)
    for step in range(2):
        run = log_model_run(
            "churn", Constant(), params={"worker": worker, "step": step},
            metrics={"roc_auc": 0.70 + 0.01 * (worker + 2 * step), "ece": 0.01},
            input_example=pd.DataFrame({"x": [1.0, 2.0]}), feature_names=["x"],
            data_fingerprint="f", register_as="shared",
        )
        promote_if_better(
            "shared", run.registered_version, metric="roc_auc", higher_is_better=True,
            tolerance=0.0,
        )
    """
)


@pytest.mark.slow
def test_two_processes_logging_at_once_keep_the_store_consistent(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), str(worker)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in (0, 1)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=150)
        assert worker.returncode == 0, stderr[-3000:]

    client = MlflowClient(tracking_uri=configure_tracking(tmp_path))
    versions = client.search_model_versions("name = 'shared'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3, 4]
    runs = client.search_runs([client.get_experiment_by_name("crm-ml/churn").experiment_id])
    assert len(runs) == 4 and {run.info.status for run in runs} == {"FINISHED"}
    best = max(runs, key=lambda run: run.data.metrics["roc_auc"])
    champion = client.get_model_version_by_alias("shared", "champion")
    assert champion.run_id == best.info.run_id  # gates ran one at a time
    with sqlite3.connect(tmp_path / "experiments" / "mlflow.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
