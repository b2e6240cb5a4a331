"""Kernels started one notebook ahead: the imports are done before the first cell runs."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from crm_ml.pipeline.kernels import import_lines
from crm_ml.pipeline.runner import PipelineError, run_pipeline

pytestmark = pytest.mark.notebook


def test_import_lines_takes_top_level_imports_once_and_skips_magics(tmp_path: Path) -> None:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("import nothing_from_markdown"),
        new_code_cell("%matplotlib inline\nimport not_python_cell"),
        new_code_cell("import json\nfrom pathlib import Path as P\n\ndef f():\n    import nested"),
        new_code_cell("import json\nx = 1"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert import_lines(path) == ["import json", "from pathlib import Path as P"]


def _kernel_processes() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if any("ipykernel" in part for part in p.cmdline())
    ]


def test_the_notebook_finds_its_imports_done_and_counts_from_one(project: Path, notebooks) -> None:
    # The assert runs before the cell's own import statement: only a preload satisfies it.
    (project / "warm_probe.py").write_text("LOADED = True\n")
    notebooks(
        {
            "01_probe": "import sys\n"
            "assert 'warm_probe' in sys.modules, 'imports were not preloaded'\n"
            "import warm_probe"
        }
    )
    result = run_pipeline(project / "configs" / "test.yaml", run_id="warm", progress=False)
    executed = nbformat.read(result.paths.notebooks / "01_probe.ipynb", as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # the preload is outside the history
    assert not _kernel_processes()


def test_a_failure_leaves_no_kernel_running(project: Path, notebooks) -> None:
    notebooks({"01_broken": "fail", "02_never": 2.0, "03_never": 3.0})
    with pytest.raises(PipelineError):
        run_pipeline(project / "configs" / "test.yaml", run_id="bad", progress=False)
    # the failing notebook's kernel and the one started ahead for 02 are both stopped
    assert not _kernel_processes()


def test_an_import_that_fails_fails_in_the_notebook_not_at_kernel_start(
    project: Path, notebooks
) -> None:
    notebooks({"01_missing": "import a_module_that_does_not_exist"})
    with pytest.raises(PipelineError, match=r"01_missing.ipynb failed .*ModuleNotFoundError"):
        run_pipeline(project / "configs" / "test.yaml", run_id="missing", progress=False)


def test_notebooks_run_on_the_python_that_runs_the_pipeline(project: Path, notebooks) -> None:
    # The notebooks ask for the "python3" kernel: the one of the environment running the
    # pipeline (its own kernelspec, "python" meaning this interpreter), so a second venv with
    # other library versions tests its own packages, never those of .venv.
    notebooks({"01_python": f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix"})
    run_pipeline(project / "configs" / "test.yaml", run_id="python", progress=False)
