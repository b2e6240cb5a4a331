"""Every docstring example of the package runs: the modules whose docstrings hold `>>>`
examples are run through doctest, so an example that no longer works fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import crm_ml

PACKAGE = Path(crm_ml.__file__).parent


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="crm_ml."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and ">>> " in Path(origin).read_text():
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_public_api_has_runnable_examples() -> None:
    # the plain-table API documents itself by examples; losing them would go unnoticed
    assert {"crm_ml.models.estimator", "crm_ml.datasets.snapshot"} <= set(MODULES)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
