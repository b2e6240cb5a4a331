"""neutralise_formulas: text cells of a CSV export never run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from crm_ml.csv_safety import neutralise_formulas, to_spreadsheet_csv

FORMULAS = ["=1+1", "+1", "-1", "@1", "\t1", "\r1", "-2+3", "+SUM(1,2)", "@SUM(1+1)"]


@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]", "category"])
def test_every_text_dtype_is_neutralised(dtype) -> None:
    frame = pd.DataFrame({"text": pd.Series([*FORMULAS, "plain", None], dtype=dtype)})
    out = neutralise_formulas(frame)
    assert out["text"].tolist()[:-1] == ["'" + f for f in FORMULAS] + ["plain"]
    assert pd.isna(out["text"].iloc[-1])  # missing stays missing


def test_numbers_stay_numbers_and_the_input_is_untouched() -> None:
    frame = pd.DataFrame(
        {
            "delta": [-1, -2, 3],
            "share": [-0.5, np.nan, 0.25],
            "mixed": ["-1", -1, "=A1"],  # an object column: only its text cells change
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None], utc=True),
        }
    )
    before = frame.copy()
    out = neutralise_formulas(frame)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_series_equal(out["delta"], frame["delta"])
    pd.testing.assert_series_equal(out["share"], frame["share"])
    pd.testing.assert_series_equal(out["when"], frame["when"])
    assert out["mixed"].tolist() == ["'-1", -1, "'=A1"]


def test_text_index_labels_and_repeated_column_names_are_neutralised() -> None:
    frame = pd.DataFrame([["=1", "+2"], ["ok", "@3"]], columns=["a", "a"])
    frame.index = pd.Index(["-model", "baseline"], name="model")
    out = neutralise_formulas(frame)
    assert out.index.tolist() == ["'-model", "baseline"] and out.index.name == "model"
    assert out.to_numpy().tolist() == [["'=1", "'+2"], ["ok", "'@3"]]


def test_spreadsheet_csv_quotes_line_breaks_so_no_row_starts_mid_value() -> None:
    frame = pd.DataFrame({"a": ["x\r=1+1", "y\n@1", "=2"], "n": [-1, 2, 3]})
    text = to_spreadsheet_csv(frame, index=False)
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == ["a", "n"]
    assert rows == [["x\r=1+1", "-1"], ["y\n@1", "2"], ["'=2", "3"]]
    with pytest.raises(TypeError, match="lineterminator"):
        to_spreadsheet_csv(frame, lineterminator="\n")
