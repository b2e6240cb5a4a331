"""A throw-away project root with tiny notebooks, so runner tests need no real models."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]

OK_SOURCE = """
from crm_ml.pipeline import notebook_context
from crm_ml.pipeline.data import ensure_accepted
ctx = notebook_context(run_dir, config_path, NAME)
ensure_accepted(ctx.paths, ctx.config)
ctx.record.metric("value", VALUE)
(ctx.paths.scores / "scores.csv").write_text("customer,score\\nx,VALUE\\n")
ctx.paths.report.mkdir(exist_ok=True)
(ctx.paths.report / "report.html").write_text("<html>VALUE</html>")
"""


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`crm-ml <args>` in a project root of its own, with a test pseudonym key (`env`
    overrides the environment)."""
    env = {
        **os.environ,
        "CRM_ML_ROOT": str(root),
        "CRM_ML_PSEUDONYM_KEY": "e2e-secret",
        **(env or {}),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "crm_ml.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """`cli(root, "run", ...)`: the command line as a user runs it (see `run_cli`)."""
    return run_cli


def write_notebook(path: Path, body: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = new_code_cell('run_dir = ""\nconfig_path = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A project root with configs/test.yaml reading the bundled sample export."""
    from crm_ml.pipeline import paths

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / "configs" / "test.yaml").write_text(
        f"name: test\ndata:\n  source: folder\n  folder: {REPO / 'data' / 'sample'}\n"
    )
    monkeypatch.setenv(paths.ROOT_ENV, str(root))
    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", "test")
    yield root


@pytest.fixture
def notebooks(project: Path):
    """Write `NN_name.ipynb` notebooks: ok ones record VALUE and publish, fail ones raise.

    Any other string value is the notebook's code, verbatim.
    """

    def make(spec: dict[str, str | float]) -> None:
        for name, value in spec.items():
            if value == "fail":
                body = "raise ValueError('the model did not converge')"
            elif isinstance(value, str):
                body = value
            else:
                body = OK_SOURCE.replace("NAME", repr(name)).replace("VALUE", str(value))
            write_notebook(project / "notebooks" / f"{name}.ipynb", body)

    return make


@pytest.fixture
def python() -> str:
    return sys.executable


# shapes of the generator's personal values: one pass over the text finds every candidate
PERSONAL_SHAPES = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+"  # e-mail
    r"|\+?\d[\d -]{7,}\d"  # phone
    r"|C\d{7}"  # raw customer id
    r"|[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)+"  # capitalised words: "First Last", "Xu Energy AG"
)
NAME_WORDS = (2, 3)  # a name is 2 words (a person) or 3 (a B2B contact's company)
PERSONAL_COLUMNS = ("email", "phone", "name", "customer_id")


def _everything_written(folder: Path) -> str:
    """Every file under `folder` as text: a Parquet file as the distinct values of its
    text columns (numbers cannot hold a name, an e-mail or a phone)."""
    parts = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            text = frame.select_dtypes(exclude=["number", "bool", "datetime", "datetimetz"])
            parts.extend("\n".join(map(str, text[c].unique())) for c in text.columns)
        else:
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def _candidates(text: str) -> set[str]:
    """Every value of a personal shape in `text`; a run of capitalised words gives each of
    its 2- and 3-word spans (a name inside a longer title still counts)."""
    found = set()
    for match in PERSONAL_SHAPES.findall(text):
        words = match.split(" ")
        if len(words) == 1 or not match[0].isalpha():
            found.add(match)
            continue
        found.update(
            " ".join(words[i : i + n]) for n in NAME_WORDS for i in range(len(words) - n + 1)
        )
    return found


def _personal_leaks(project: Path) -> list[str]:
    """Raw personal values of the run's synthetic customers (e-mails, phones, names, raw
    ids) found anywhere under the project's experiments/ and reports/.

    The scan first proves it can see each kind of value where it is: in the raw export.
    """
    world = next((project / "data/raw/synthetic").iterdir())
    customers = pd.read_parquet(world / "customers.parquet")
    raw = _candidates(customers.astype(str).to_csv(index=False))
    for column in PERSONAL_COLUMNS:
        assert customers[column].iloc[0] in raw, f"the scan cannot see {column}"
    secrets = {value for column in PERSONAL_COLUMNS for value in customers[column].dropna()}
    written = _everything_written(project / "experiments") + _everything_written(
        project / "reports"
    )
    return sorted(secrets & _candidates(written))


@pytest.fixture(scope="session")
def personal_leaks() -> Callable[[Path], list[str]]:
    """`personal_leaks(project)`: the raw personal values a run leaked (see `_personal_leaks`)."""
    return _personal_leaks
