"""CSV files for people to open: text cells never run as spreadsheet formulas.

A category, offer or reason code comes from the customer's data, and a cell such as
`=HYPERLINK(...)`, `+SUM(1,2)` or `@SUM(1+1)` in a CSV is executed by Excel, LibreOffice
or Google Sheets when someone opens the file ("CSV Injection", OWASP:
https://owasp.org/www-community/attacks/CSV_Injection). This module imports nothing from
crm_ml, so every layer that writes a CSV can use it.

OWASP also warns of a value that starts a new cell in its middle: the csv writer quotes
commas, double quotes and line feeds, but with pandas' LF line end it leaves a bare
carriage return (CR) unquoted, so `x<CR>=1+1` would be read as a new row starting with
`=1+1`. `to_spreadsheet_csv` therefore ends lines with CRLF (RFC 4180), which makes the
writer quote every cell holding a CR or LF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

# OWASP "CSV Injection": cells must not begin with these (tab and carriage return included).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
LINE_END = "\r\n"  # RFC 4180; a cell holding a CR or LF is then always quoted


def neutralise_cell(value: Any) -> Any:
    """`'` + the text when it starts like a formula (the spreadsheet then shows it as text);
    anything else, numbers and missing values included, unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def _is_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for a CSV export, following OWASP's recommendation against "CSV
    Injection": every text cell (and text index label) starting with `=`, `+`, `-`, `@`, a
    tab or a carriage return gets a leading `'`. Only text cells change: numbers, negative
    ones included, stay numbers, and the frame passed in is untouched (Parquet files keep
    the raw values)."""
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if _is_text(column):
            out.isetitem(position, column.astype(object).map(neutralise_cell))
    if _is_text(out.index):
        out.index = out.index.astype(object).map(neutralise_cell)
    return out


def to_spreadsheet_csv(frame: pd.DataFrame, path: Path | None = None, **options: Any) -> str | None:
    """`frame.to_csv(path, **options)` for a CSV people open in a spreadsheet: formulas
    neutralised and CRLF line ends, so no value can start a cell or a row of its own.
    Returns the CSV text when `path` is None, as `DataFrame.to_csv` does."""
    if "lineterminator" in options:
        raise TypeError("to_spreadsheet_csv sets lineterminator itself (CRLF)")
    return neutralise_formulas(frame).to_csv(path, lineterminator=LINE_END, **options)
