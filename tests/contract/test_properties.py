"""Random corruption of a valid export: no row is ever lost or counted twice."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_ml.contract import load_tables

GARBAGE = st.sampled_from(
    [
        "",
        "   ",
        "x",
        "-1",
        "0",
        "1e309",
        "nan",
        "2099-01-01T00:00:00Z",
        "2024-13-01",
        "true",
        "C001",
        "P1",
        "complaint",
        ";",
        '"',
        "multi\nline",
        "\u00e9t\u00e9",
        "99999999999999999999",
    ]
)
TABLES = [
    "customers",
    "products",
    "orders",
    "events",
    "tickets",
    "contacts",
    "surveys",
    "exclusions",
]


@st.composite
def corruptions(draw):
    """A list of (table, row fraction, column index, new value or None for duplicate-row)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(TABLES),
                st.floats(0, 0.999),
                st.integers(0, 20),
                st.one_of(GARBAGE, st.none()),
            ),
            min_size=1,
            max_size=12,
        )
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=corruptions())
def test_no_row_is_lost_or_duplicated(steps, clean_tables, write_export) -> None:
    tables = clean_tables(9)
    for table, where, column, value in steps:
        frame = tables[table]
        row = int(where * len(frame))
        if value is None:
            tables[table] = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
        else:
            frame.iloc[row, column % frame.shape[1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_export(Path(tmp), tables)
        result = load_tables(
            folder, as_of="2025-01-01T00:00:00Z", key=b"k", quarantine_dir=None, progress=False
        )
    for report in result.reports:
        n_input = len(tables[report.table])
        assert report.read == n_input, (report, n_input)
        assert report.read == report.accepted + report.quarantined + report.erased, report
        records = result.quarantine[report.table]["record"].astype(int)
        assert records.is_unique
        assert records.between(1, n_input).all()
        assert len(result.tables[report.table]) == report.accepted
