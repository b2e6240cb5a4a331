"""Promises of the project layout: environment files agree, notebooks carry no outputs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

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
        if isinstance(d, str) and not d.startswith(("python=", "pip"))
    }
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
