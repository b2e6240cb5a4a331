"""Promises of the project layout: environment files agree, notebooks carry no outputs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str]:
    req = Requirement(spec)
    return req.name.lower().replace("_", "-"), str(req.specifier)


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        _normalise(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {
        _normalise(d)
        for d in env["dependencies"]
        if isinstance(d, str) and not d.startswith(("python", "pip"))
    }
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == f"python{project['requires-python']}", "the two declare other Pythons"
    assert conda == wanted, (
        f"only in environment.yml: {sorted(conda - wanted)}; only in pyproject: {sorted(wanted - conda)}"
    )
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(".[dev]" in line for line in pip_section), (
        "environment.yml must pip-install the package"
    )


def test_notebooks_are_committed_without_outputs() -> None:
    dirty = []
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(path.name)
                break
    assert not dirty, f"notebooks with outputs: {dirty} (clear them before committing)"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make run" in readme
    assert "make test" in ci


def test_every_notebook_is_registered_and_opens_its_own_context() -> None:
    from crm_ml.notebooks import Notebook

    files = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert files == sorted(Notebook), "notebooks/ and crm_ml.notebooks.Notebook disagree"
    for notebook in Notebook:
        source = "".join(
            "".join(cell["source"])
            for cell in json.loads((ROOT / "notebooks" / notebook.file_name).read_text())["cells"]
        )
        assert f'"{notebook.value}"' in source, f"{notebook.file_name} records under another name"
    assert Notebook.named("03_churn") is Notebook.CHURN
    with pytest.raises(ValueError, match="the notebooks are: 01_data_quality"):
        Notebook.named("03_chrun")


def test_report_code_names_notebooks_only_through_the_registry() -> None:
    import re

    literal = re.compile(r"[\"']0\d_[a-z_]+[\"']")
    for path in sorted((ROOT / "src" / "crm_ml").rglob("*.py")):
        if path.name == "notebooks.py":
            continue
        found = literal.findall(path.read_text())
        assert not found, f"{path.relative_to(ROOT)} spells notebook names: {found}"
