"""Numbers as people read them: percentages, thousands separators, minutes, signed changes.

Report tables hold raw model outputs (0.0432, 12345.678); these helpers turn each into text
by what the column means, so every table of every report formats the same column the same
way. Missing values read "–" rather than "nan".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

MISSING = "–"

Unit = Literal["percent", "pp", "count", "money", "minutes", "score", "decimal", "text", "date"]


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _rounded(value: float, digits: int) -> float:
    """`value` rounded as it will be shown, without a sign on zero: -0.00001 reads "0.0",
    not "-0.0" (a revenue share that is zero up to returns is not negative)."""
    return round(value, digits) + 0.0


def fmt_percent(value: Any, digits: int = 1) -> str:
    """0.0432 -> '4.3%'."""
    return MISSING if is_missing(value) else f"{_rounded(float(value) * 100, digits):,.{digits}f}%"


def fmt_pp(value: Any, digits: int = 1) -> str:
    """A difference of two rates in percentage points: 0.023 -> '+2.3 pp'."""
    return (
        MISSING if is_missing(value) else f"{_rounded(float(value) * 100, digits):+,.{digits}f} pp"
    )


def fmt_count(value: Any) -> str:
    """12345 -> '12,345'."""
    return MISSING if is_missing(value) else f"{round(float(value)):,}"


def fmt_money(value: Any) -> str:
    """Amounts in the data's own currency: 12345.6 -> '12,346'; small ones keep cents."""
    if is_missing(value):
        return MISSING
    amount = float(value)
    if abs(amount) < 10 and not amount.is_integer():
        return f"{_rounded(amount, 2):,.2f}"
    return f"{_rounded(amount, 0):,.0f}"


def fmt_minutes(value: Any) -> str:
    """Durations: 25 -> '25 min', 120 -> '2 h', 150 -> '2.5 h', 4000 -> '2.8 days'."""
    if is_missing(value):
        return MISSING
    minutes = float(value)
    if abs(minutes) < 90:
        return f"{minutes:.0f} min"
    if abs(minutes) < 48 * 60:
        return f"{_trim(minutes / 60)} h"
    return f"{_trim(minutes / 1440)} days"


def fmt_score(value: Any) -> str:
    """Scores such as NPS: one decimal, no trailing '.0'."""
    return MISSING if is_missing(value) else _trim(float(value))


def fmt_decimal(value: Any, digits: int = 3) -> str:
    """Model metrics such as ROC AUC: 0.81234 -> '0.812'."""
    return MISSING if is_missing(value) else f"{_rounded(float(value), digits):,.{digits}f}"


def fmt_date(value: Any) -> str:
    """A timestamp as a date: '2024-03-31'."""
    return MISSING if is_missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def fmt_number(value: Any) -> str:
    """A number whose meaning is unknown: integers with separators, small floats 3 decimals."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer()):
        return fmt_count(value)
    if isinstance(value, float):
        return fmt_money(value) if abs(value) >= 100 else fmt_decimal(value)
    return str(value)


def _trim(value: float) -> str:
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


FORMATTERS = {
    "percent": fmt_percent,
    "pp": fmt_pp,
    "count": fmt_count,
    "money": fmt_money,
    "minutes": fmt_minutes,
    "score": fmt_score,
    "decimal": fmt_decimal,
    "date": fmt_date,
    "text": lambda v: MISSING if is_missing(v) else str(v),
}


def fmt(value: Any, unit: Unit) -> str:
    return FORMATTERS[unit](value)


# The unit of a column, by its name; the first matching pattern wins.
COLUMN_UNITS: tuple[tuple[str, Unit], ...] = (
    (
        r"(^|_)(id|segment|lifecycle_stage|tier|kind|table|reason|model|feature|description)$",
        "text",
    ),
    (r"^(column|category|source|stage|name|next_best_offer|offer_reason)$", "text"),
    (r"(_ts|_date|^opened|^date)$", "date"),
    (r"^uplift$|_uplift$", "pp"),
    (r"minutes", "minutes"),
    (r"(share|rate|probability|capture|precision|recall|hit_rate|coverage|conversion)", "percent"),
    (r"(^|_)(customers|tickets|n|count|read|accepted|quarantined|erased|rank|decile)$", "count"),
    (r"(clv|spend|revenue|value|mae|rmse|amount)", "money"),
    (
        r"(roc_auc|pr_auc|log_loss|brier|ece|ndcg|map|spearman|novelty|psi|shap|qini|score)",
        "decimal",
    ),
)


def column_unit(column: str) -> Unit | None:
    """The unit a column is shown in, or None to format by the value alone."""
    name = column.lower()
    for pattern, unit in COLUMN_UNITS:
        if re.search(pattern, name):
            return unit
    return None


# Category-like columns whose values are codes ("high_value_loyal") shown as words.
HUMANISED_COLUMNS = frozenset(
    {"segment", "lifecycle_stage", "service_tier", "tier", "kind", "next_best_offer", "category"}
)


def humanise(value: Any) -> str:
    """'high_value_loyal' -> 'High value loyal'."""
    if is_missing(value):
        return MISSING
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_cell(column: str, value: Any) -> str:
    if column in HUMANISED_COLUMNS:
        return humanise(value)
    unit = column_unit(column)
    return fmt_number(value) if unit is None else fmt(value, unit)


# Column headers people read; anything else is the column name in words.
COLUMN_LABELS = {
    "customer_id": "Customer (pseudonym)",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "ece": "Calibration error (ECE)",
    "mae": "MAE",
    "rmse": "RMSE",
    "psi": "PSI",
    "nps": "NPS",
    "clv_12m": "CLV (12 months)",
    "mean_abs_shap": "Influence (mean |SHAP|)",
    "top_decile_capture": "Top-decile capture",
    "within_target_share": "Within target",
    "median_first_response_minutes": "Median first response",
    "target_minutes": "Target",
    "n": "Customers",
}


def column_label(column: str) -> str:
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    words = column.replace("_", " ").replace("@", " @ ").strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class TableView:
    """A data frame ready for a template: labelled headers, formatted cells, alignment."""

    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]]
    highlight_first: bool = False
    classes: list[list[str]] | None = None  # a CSS class per cell ("good", "bad"), or None

    def cell_class(self, row: int, column: int) -> str:
        return self.classes[row][column] if self.classes else ""

    @property
    def empty(self) -> bool:
        return not self.rows


def table_view(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    limit: int | None = None,
    highlight_first: bool = False,
    cell_class: Callable[[str, Any, dict[str, Any]], str] | None = None,
) -> TableView:
    """Format `frame` for the report; `columns` picks and orders (missing ones are skipped).

    `cell_class(column, value, row)` may colour a cell ("good" / "bad") by its row's values.
    """
    chosen = [c for c in (columns or frame.columns) if c in frame.columns]
    shown = frame[chosen] if limit is None else frame[chosen].head(limit)
    units = {c: column_unit(c) for c in chosen}
    numeric = [
        units[c] not in ("text", "date") and pd.api.types.is_numeric_dtype(shown[c]) for c in chosen
    ]
    rows = [
        [format_cell(c, v) for c, v in zip(chosen, record, strict=True)]
        for record in shown.itertuples(index=False, name=None)
    ]
    classes = None
    if cell_class is not None:
        classes = [
            [cell_class(c, record[c], record) for c in chosen]
            for record in shown.to_dict("records")
        ]
    return TableView([column_label(c) for c in chosen], numeric, rows, highlight_first, classes)


def finite_or_none(value: Any) -> float | None:
    """A metric as a float, or None when missing or not a finite number."""
    if is_missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
