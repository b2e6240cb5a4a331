"""Numbers formatted for people, by what the column means."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.reports.formatting import (
    MISSING,
    fmt_count,
    fmt_minutes,
    fmt_money,
    fmt_percent,
    fmt_pp,
    format_cell,
    table_view,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0432, "4.3%"), (1, "100.0%"), (None, MISSING), (float("nan"), MISSING)],
)
def test_percent(value, expected):
    assert fmt_percent(value) == expected


def test_counts_and_money_have_thousands_separators():
    assert fmt_count(1234567) == "1,234,567"
    assert fmt_money(12345.6) == "12,346"
    assert fmt_money(2.5) == "2.50"


@pytest.mark.parametrize(
    ("minutes", "expected"), [(25, "25 min"), (120, "2 h"), (150, "2.5 h"), (4320, "3 days")]
)
def test_minutes_read_as_durations(minutes, expected):
    assert fmt_minutes(minutes) == expected


def test_rate_differences_are_percentage_points():
    assert fmt_pp(0.023) == "+2.3 pp"
    assert fmt_pp(-0.005) == "-0.5 pp"


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("revenue_share", 0.41, "41.0%"),
        ("churn_rate", 0.125, "12.5%"),
        ("customers", 6400, "6,400"),
        ("median_first_response_minutes", 150.0, "2.5 h"),
        ("roc_auc", 0.81234, "0.812"),
        ("recall@10", 0.21, "21.0%"),
        ("uplift", 0.1, "+10.0 pp"),
        ("segment", "high_value_loyal", "High value loyal"),
        ("customer_id", "ab12", "ab12"),
    ],
)
def test_cells_are_formatted_by_column_meaning(column, value, expected):
    assert format_cell(column, value) == expected


def test_table_view_labels_aligns_and_colours():
    frame = pd.DataFrame({"segment": ["a", "b"], "customers": [1000, 20], "roc_auc": [0.7, 0.6]})
    view = table_view(frame, cell_class=lambda c, v, row: "bad" if row["customers"] < 100 else "")
    assert view.headers == ["Segment", "Customers", "ROC AUC"]
    assert view.numeric == [False, True, True]
    assert view.rows[0] == ["A", "1,000", "0.700"]
    assert view.cell_class(1, 1) == "bad"
    assert view.cell_class(0, 1) == ""
