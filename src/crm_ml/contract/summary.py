"""Reading back what a validation wrote: the accounting, the quarantine reasons, the notes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from crm_ml.contract.loader import count_reasons
from crm_ml.contract.notes import Note, notes_frame


def read_accounting(quarantine_dir: Path) -> pd.DataFrame:
    """Per table: read, accepted, quarantined, erased (from report.json).

    Parameters
    ----------
    quarantine_dir : pathlib.Path
        The folder `load_tables` wrote its quarantine and ``report.json`` to.

    Returns
    -------
    pandas.DataFrame
        One row per table read, in load order: table, read, accepted, quarantined,
        erased.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.contract import load_tables
    >>> from crm_ml.project import project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> quarantine = Path(folder.name)
    >>> _ = load_tables(project_root() / "data" / "sample", quarantine_dir=quarantine,
    ...                 progress=False)
    >>> read_accounting(quarantine).set_index("table").loc["orders"].tolist()
    [19, 11, 7, 1]
    >>> folder.cleanup()
    """
    frame = pd.DataFrame(_report(quarantine_dir)["tables"])
    return frame[["table", "read", "accepted", "quarantined", "erased"]]


def read_reasons(quarantine_dir: Path) -> pd.DataFrame:
    """How many quarantined rows each reason accounts for, per table.

    A row quarantined for two reasons counts once for each.

    Parameters
    ----------
    quarantine_dir : pathlib.Path
        The folder `load_tables` wrote its quarantine and ``report.json`` to.

    Returns
    -------
    pandas.DataFrame
        Columns table, reason, count (most frequent first within a table); no rows
        when nothing was quarantined.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.contract import load_tables
    >>> from crm_ml.project import project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> quarantine = Path(folder.name)
    >>> _ = load_tables(project_root() / "data" / "sample", quarantine_dir=quarantine,
    ...                 progress=False)
    >>> reasons = read_reasons(quarantine)
    >>> reasons.loc[reasons["table"] == "products", ["reason", "count"]].values.tolist()
    [['price: negative value', 1]]
    >>> folder.cleanup()
    """
    quarantine = {
        path.stem: pd.read_parquet(path, columns=["reason"])
        for path in sorted(quarantine_dir.glob("*.parquet"))
    }
    return count_reasons(quarantine)


def read_notes(quarantine_dir: Path) -> pd.DataFrame:
    """What was kept with a change, per table and column: issue and count (report.json).

    A bad value in an optional column was set to null; ids differing only in case were
    kept apart. Counts only: report.json never holds a value.

    Parameters
    ----------
    quarantine_dir : pathlib.Path
        The folder `load_tables` wrote its quarantine and ``report.json`` to.

    Returns
    -------
    pandas.DataFrame
        Columns table, column, issue, count, unit; one row per note.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from crm_ml.contract import load_tables
    >>> from crm_ml.project import project_root
    >>> folder = tempfile.TemporaryDirectory()
    >>> quarantine = Path(folder.name)
    >>> _ = load_tables(project_root() / "data" / "sample", quarantine_dir=quarantine,
    ...                 progress=False)
    >>> read_notes(quarantine)[["table", "column", "issue"]].values.tolist()
    [['contacts', 'is_control', 'cannot parse as bool; set to null']]
    >>> folder.cleanup()
    """
    tables = _report(quarantine_dir)["tables"]
    return notes_frame(Note(**note) for table in tables for note in table.get("notes", []))


def _report(quarantine_dir: Path) -> dict:
    return json.loads((quarantine_dir / "report.json").read_text())
