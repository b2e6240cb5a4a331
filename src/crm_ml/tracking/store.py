"""Where runs and models are stored, and how writers share that store safely.

The default store is local and needs no server: an SQLite database at
``<project>/experiments/mlflow.db`` with artifacts under ``<project>/experiments/artifacts``.
``MLFLOW_TRACKING_URI`` points everything elsewhere (a tracking server, Postgres ...).

SQLite and concurrency: MLflow opens a session per call with ``busy_timeout = 20 s``, so
single writes from two processes wait for each other instead of failing. What it does not
guard: the tracking store's migrations on a fresh database (two processes both run
``ALTER TABLE`` and one dies), and read-then-write sequences spanning several calls --
creating an experiment another process creates at the same moment, registering a version,
moving the ``champion`` alias after comparing metrics. Those run under :func:`store_lock`
(an ``fcntl`` lock file next to the database) and :func:`retry_when_busy`. The database is
switched to WAL journalling so readers (the UI, scoring) never block a writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from crm_ml.project import project_root

# Opt out of MLflow's usage telemetry before MLflow is imported; an explicit setting wins.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from crm_ml.contract.errors import ContractError

log = logging.getLogger(__name__)

FAMILIES = ("churn", "propensity", "clv", "uplift", "recsys")
EXPERIMENT_PREFIX = "crm-ml/"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
STORE_DIR = "experiments"

# MLflow's migrations (alembic) and SQLAlchemy log every step at INFO on first use.
_CHATTY_LOGGERS = (
    "alembic",
    "alembic.runtime.migration",
    "sqlalchemy.engine",
    "mlflow.store.db.utils",
    "mlflow.store.model_registry.abstract_store",
    "mlflow.tracking._tracking_service.client",
    "mlflow.models.model",
    "mlflow.pyfunc",
)

T = TypeVar("T")

_held = threading.local()  # makes store_lock re-entrant within a thread


class StoreUnreadableError(ContractError):
    """The local MLflow database is not a readable SQLite file (truncated, overwritten).

    A ContractError, because to the user it is the same thing: an input file that stops
    the run, reported as one line naming the file by every ``crm-ml`` command.
    """


@dataclass(frozen=True)
class TrackingConfig:
    """Retry policy for writes that meet a busy SQLite database."""

    busy_retries: int = 6
    busy_first_wait_s: float = 0.2


def local_store_uri(root: Path) -> str:
    """The SQLite tracking URI of the local store under ``<root>/experiments``."""
    return f"sqlite:///{(Path(root).resolve() / STORE_DIR / DB_FILE).as_posix()}"


def quiet_mlflow_logging() -> None:
    """Silence MLflow's migration and SQL chatter; warnings and errors still show."""
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    if _drop_pickle_advice not in pyfunc_logger.filters:
        pyfunc_logger.addFilter(_drop_pickle_advice)


def _drop_pickle_advice(record: logging.LogRecord) -> bool:
    """Drop MLflow's per-run advice against pickled models. crm-ml pickles deliberately:
    its models are its own plain objects, loaded only from the project's own store."""
    return "serialized using CloudPickle" not in record.getMessage()


def configure_tracking(root: Path | None = None) -> str:
    """Point MLflow at the project's store and return the tracking URI in use.

    ``root`` given: the local store under ``<root>/experiments`` (tests, explicit choice).
    ``root`` not given: ``MLFLOW_TRACKING_URI`` when set, else the local store of the
    project containing the working directory. Idempotent; creates the folders.
    """
    quiet_mlflow_logging()
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if root is None and env_uri:
        uri = env_uri
    else:
        store = Path(root or project_root()).resolve() / STORE_DIR
        (store / ARTIFACTS_DIR).mkdir(parents=True, exist_ok=True)
        uri = local_store_uri(store.parent)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if sqlite_path(uri) is not None:
        _create_schema_once(uri)
    return uri


def _create_schema_once(uri: str) -> None:
    """Switch to WAL and create (or migrate) MLflow's tables, one process at a time.

    MLflow's tracking store runs its migrations unguarded on first use, so two processes
    opening a fresh database at once both run ``ALTER TABLE`` and one dies with
    "duplicate column name". Opening the stores here, under the lock, leaves the schema
    complete before any run is logged.
    """
    db = sqlite_path(uri)
    with store_lock():
        try:
            _use_wal_journal(db)
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # opening migrates
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        except Exception as exc:  # sqlite3, SQLAlchemy or MLflow, depending on the damage
            if not _is_corrupt(exc):
                raise
            raise StoreUnreadableError(
                f"{db}: not a readable SQLite database (the MLflow store; "
                f"{' '.join(str(exc).split())[:200]}). Move it aside to start a new store, "
                "or restore it from a backup."
            ) from exc


def _is_corrupt(error: Exception) -> bool:
    """SQLite's words for a file that is not (or no longer) a database; a busy or locked
    database is not corrupt and keeps its own error."""
    text = str(error).lower()
    return "not a database" in text or "disk image is malformed" in text


def _use_wal_journal(db_path: Path) -> None:
    """Switch the SQLite file to write-ahead logging (persistent, so done once)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as connection:
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")


def sqlite_path(uri: str | None = None) -> Path | None:
    """The database file behind an ``sqlite:///`` URI, or None for any other store."""
    uri = uri or mlflow.get_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def artifact_root(uri: str | None = None) -> Path | None:
    """Artifacts folder of a local SQLite store (next to the database), else None."""
    db = sqlite_path(uri)
    return None if db is None else db.parent / ARTIFACTS_DIR


@contextlib.contextmanager
def store_lock() -> Iterator[None]:
    """Exclusive inter-process lock for read-then-write sequences on a local SQLite store.

    A no-op for server or database stores, which serialise writes themselves. Re-entrant
    within a thread (a second ``flock`` on a new descriptor would deadlock on itself).
    """
    db = sqlite_path()
    if db is None or getattr(_held, "depth", 0):
        _held.depth = getattr(_held, "depth", 0) + 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_busy(error: MlflowException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or error.error_code == "TEMPORARILY_UNAVAILABLE"


def retry_when_busy(action: Callable[[], T], config: TrackingConfig | None = None) -> T:
    """Run ``action``, retrying with exponential back-off while SQLite reports it is busy."""
    config = config or TrackingConfig()
    wait = config.busy_first_wait_s
    for attempt in range(1, config.busy_retries + 1):
        try:
            return action()
        except MlflowException as error:
            if not _is_busy(error) or attempt == config.busy_retries:
                raise
            log.warning("tracking store busy (attempt %d), retrying in %.1f s", attempt, wait)
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def experiment_name(family: str) -> str:
    """The experiment of a model family, e.g. ``crm-ml/churn``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}: expected one of {', '.join(FAMILIES)}")
    return EXPERIMENT_PREFIX + family


def ensure_experiment(family: str) -> str:
    """Id of the family's experiment, created on first use (artifacts under the store)."""
    name = experiment_name(family)
    client = MlflowClient()
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    root = artifact_root()
    location = (root / family).as_uri() if root is not None else None
    with store_lock():
        existing = client.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        experiment_id = retry_when_busy(
            lambda: client.create_experiment(name, artifact_location=location)
        )
    log.info("created experiment %s", name)
    return experiment_id
