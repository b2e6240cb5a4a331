"""The source registry: names, lazy writers, round trips through the contract loader."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crm_ml.contract import load_tables
from crm_ml.datasets import registry
from crm_ml.datasets.registry import (
    DatasetSource,
    UnknownSourceError,
    get_source,
    list_sources,
    register,
    write_source_tables,
)


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test disappear after it."""
    monkeypatch.setattr(registry, "_SOURCES", dict(registry._SOURCES))


def test_builtin_sources_are_listed_with_their_documentation() -> None:
    sources = {s.name: s for s in list_sources()}
    assert {"synthetic", "cdnow", "cdnow-sample"} <= set(sources)
    assert [s.name for s in list_sources()] == sorted(sources)
    for source in sources.values():
        assert source.description and source.citation and source.licence
    assert "Fader" in sources["cdnow"].citation
    assert "MIT" in sources["cdnow"].licence


def test_unknown_name_lists_the_available_sources() -> None:
    with pytest.raises(UnknownSourceError) as raised:
        get_source("movielens")
    message = str(raised.value)
    assert "'movielens'" in message
    for name in ("cdnow", "cdnow-sample", "synthetic"):
        assert name in message
    assert isinstance(raised.value, KeyError)


def test_registering_a_name_twice_needs_replace(isolated_registry: None) -> None:
    original = get_source("cdnow")
    copy = DatasetSource("cdnow", "d", "c", "l", "crm_ml.datasets.cdnow:write_cdnow")
    with pytest.raises(ValueError, match="already registered"):
        register(copy)
    assert get_source("cdnow") is original
    register(copy, replace=True)
    assert get_source("cdnow") is copy


def test_writer_must_be_an_import_path(isolated_registry: None) -> None:
    with pytest.raises(ValueError, match=r"package\.module:function"):
        register(DatasetSource("bad", "d", "c", "l", writer="write_bad"))


@pytest.mark.parametrize(
    ("writer", "problem"),
    [
        ("crm_ml.datasets.no_such_source:write", "cannot import"),
        ("crm_ml.datasets.cdnow:no_such_function", "has no 'no_such_function'"),
    ],
)
def test_a_broken_writer_fails_only_when_used_and_names_the_source(
    isolated_registry: None, writer: str, problem: str
) -> None:
    register(DatasetSource("broken", "d", "c", "l", writer=writer))
    assert "broken" in [s.name for s in list_sources()]
    with pytest.raises(ImportError, match=f"data source 'broken'.*{problem}"):
        get_source("broken").write("unused")


def test_cdnow_sample_round_trips_through_the_contract(tmp_path) -> None:
    out = get_source("cdnow-sample").write(tmp_path / "raw")
    assert out == tmp_path / "raw"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "cdnow-sample"
    assert manifest["citation"] == get_source("cdnow-sample").citation
    result = load_tables(out, quarantine_dir=None, key=b"test-key", progress=False)
    assert len(result.tables["customers"]) == 2357
    assert result.report_frame()["quarantined"].sum() == 0


def test_write_parameters_override_the_registered_defaults(tmp_path) -> None:
    source = get_source("cdnow")
    assert source.defaults == {"sample": False}
    out = source.write(tmp_path / "raw", sample=True)
    assert json.loads((out / "manifest.json").read_text())["rows"]["customers"] == 2357


def test_synthetic_source_resolves_to_the_generator() -> None:
    synthetic = pytest.importorskip("crm_ml.datasets.synthetic")
    if getattr(synthetic, "__file__", None) is None:  # no __init__.py yet: still being written
        pytest.skip("crm_ml.datasets.synthetic has no __init__.py yet")
    assert get_source("synthetic").load_writer() is synthetic.generate_world


def test_write_source_tables_writes_parquet_and_a_utc_manifest(tmp_path) -> None:
    customers = pd.DataFrame(
        {"customer_id": ["c1", "c2"], "signup_ts": pd.to_datetime(["2024-01-01"] * 2, utc=True)}
    )
    out = write_source_tables(
        tmp_path / "src",
        {"customers": customers},
        as_of=pd.Timestamp("2024-06-30 12:00"),  # naive: read as UTC
        manifest={"source": "test"},
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == {"as_of": "2024-06-30T12:00:00Z", "source": "test", "rows": {"customers": 2}}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "customers.parquet"), customers)
    later = write_source_tables(
        tmp_path / "other",
        {"customers": customers},
        as_of=pd.Timestamp("2024-06-30 14:00", tz="Europe/Berlin"),
    )
    assert json.loads((later / "manifest.json").read_text())["as_of"] == "2024-06-30T12:00:00Z"
