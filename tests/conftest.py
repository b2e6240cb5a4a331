"""Project-wide test settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI explores the same examples every time (reproducible); a developer's run explores anew.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Files whose tests share a session fixture too costly to build twice (the benchmark smoke run).
SHARED_WORKER = {
    "tests/benchmarks/test_render.py": "benchmark-smoke",
    "tests/benchmarks/test_run_all.py": "benchmark-smoke",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs two workers, `--dist loadgroup`), keep each file's
    tests on one worker, so a module fixture (a whole pipeline run) is built once, and the
    files that share the benchmark smoke run on the same worker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        path = item.path.relative_to(config.rootpath).as_posix()
        item.add_marker(pytest.mark.xdist_group(SHARED_WORKER.get(path, path)))
