"""Fingerprints: same data same hash, any change in values or row order a different hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_ml.tracking import fingerprint_files, fingerprint_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_key": pd.array(["a1", "b2", None], dtype="string[pyarrow]"),
            "orders_90d": pd.array([3, None, 1], dtype="Int64"),
            "spend": [10.5, np.nan, 0.0],
            "ts": pd.to_datetime(["2024-01-01", "2024-02-01", None], utc=True),
            "segment": pd.Categorical(["gold", "silver", "gold"]),
        }
    )


def test_same_data_same_hash_regardless_of_index_and_column_order(frame):
    relabelled = frame[frame.columns[::-1]].set_axis([10, 20, 30])
    assert fingerprint_frame(frame) == fingerprint_frame(frame.copy())
    assert fingerprint_frame(frame) == fingerprint_frame(relabelled)


def test_parquet_round_trip_keeps_the_hash(frame, tmp_path: Path):
    frame.to_parquet(tmp_path / "f.parquet")
    assert fingerprint_frame(pd.read_parquet(tmp_path / "f.parquet")) == fingerprint_frame(frame)


def test_row_order_values_and_dtypes_change_the_hash(frame):
    base = fingerprint_frame(frame)
    assert fingerprint_frame(frame.iloc[[1, 0, 2]]) != base
    changed = frame.copy()
    changed.loc[0, "spend"] = 10.25
    assert fingerprint_frame(changed) != base
    assert fingerprint_frame(frame.assign(spend=frame["spend"].astype("float32"))) != base
    assert fingerprint_frame(frame.iloc[:2]) != base
    assert fingerprint_frame(frame.rename(columns={"spend": "amount"})) != base


def test_hash_is_a_stable_sha256_hex(frame):
    value = fingerprint_frame(frame)
    assert len(value) == 64 and int(value, 16) >= 0


def test_files_hash_content_not_location_or_argument_order(tmp_path: Path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "orders.csv").write_text("order_id,amount\n1,10\n")
        (tmp_path / folder / "customers.csv").write_text("customer_id\nx\n")
    one, two = tmp_path / "one", tmp_path / "two"
    assert fingerprint_files([one / "orders.csv", one / "customers.csv"]) == fingerprint_files(
        [two / "customers.csv", two / "orders.csv"]
    )
    assert fingerprint_files([one]) == fingerprint_files([two])
    (two / "orders.csv").write_text("order_id,amount\n1,11\n")
    assert fingerprint_files([one]) != fingerprint_files([two])


def test_file_boundaries_matter(tmp_path: Path):
    (tmp_path / "a").write_text("xy")
    (tmp_path / "b").write_text("z")
    first = fingerprint_files([tmp_path / "a", tmp_path / "b"])
    (tmp_path / "a").write_text("x")
    (tmp_path / "b").write_text("yz")
    assert fingerprint_files([tmp_path / "a", tmp_path / "b"]) != first


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        fingerprint_files([tmp_path / "nope.csv"])
