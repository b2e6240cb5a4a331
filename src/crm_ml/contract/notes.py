"""Notes: problems that cost a value, not a row, counted so that nothing is silent.

A bad value in an optional column becomes null rather than quarantining its row (and,
for a customer, every row that points at it); ids that differ only in case are kept
apart. Each such fact is a note with a count. A note never quotes a value: values may be
personal data, and notes go to logs, report.json and notebook 01.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

NOTE_COLUMNS = ["table", "column", "issue", "count", "unit"]


@dataclass(frozen=True)
class Note:
    """`count` values (or ids, or rows: `unit`) of `table`.`column` had `issue`."""

    table: str
    column: str
    issue: str
    count: int
    unit: str = "values"


def notes_frame(notes: Iterable[Note]) -> pd.DataFrame:
    """One row per note: table, column, issue, count, unit."""
    rows = [(n.table, n.column, n.issue, n.count, n.unit) for n in notes]
    return pd.DataFrame(rows, columns=NOTE_COLUMNS).astype({"count": "int64"})


def warn(path: Path, notes: Iterable[Note]) -> None:
    """One warning per note, naming the file and the column and giving the count only."""
    for note in notes:
        unit = note.unit.removesuffix("s") if note.count == 1 else note.unit
        log.warning("%s: %s: %d %s: %s", path, note.column, note.count, unit, note.issue)
