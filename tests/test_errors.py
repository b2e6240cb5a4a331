"""Every error raised on purpose shares one base, and the CLI prints each on one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import crm_ml
from crm_ml.cli import main
from crm_ml.errors import CrmMlError


def _error_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(crm_ml.__path__, prefix="crm_ml."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            is_error = issubclass(obj, BaseException) and not issubclass(obj, Warning)
            if is_error and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_error_class_of_the_package_is_a_crm_ml_error():
    classes = _error_classes()
    assert len(classes) >= 10
    outside = [c.__qualname__ for c in classes if not issubclass(c, CrmMlError)]
    assert outside == [], f"errors without the common base: {outside}"


def test_the_cli_prints_an_error_of_any_layer_on_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_ML_ROOT", str(tmp_path))
    code = main(["datasets", "write", "no-such-source", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) >= 1
    assert err[-1].startswith("crm-ml datasets: ") and "no-such-source" in err[-1]
    assert not err[-1].startswith("crm-ml datasets: '")  # KeyError's quotes are gone
