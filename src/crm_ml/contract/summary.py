"""Reading back what a validation wrote: the accounting, the quarantine reasons, the notes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from crm_ml.contract.loader import count_reasons
from crm_ml.contract.notes import Note, notes_frame


def read_accounting(quarantine_dir: Path) -> pd.DataFrame:
    """Per table: read, accepted, quarantined, erased (from report.json)."""
    frame = pd.DataFrame(_report(quarantine_dir)["tables"])
    return frame[["table", "read", "accepted", "quarantined", "erased"]]


def read_reasons(quarantine_dir: Path) -> pd.DataFrame:
    """How many quarantined rows each reason accounts for, per table."""
    quarantine = {
        path.stem: pd.read_parquet(path, columns=["reason"])
        for path in sorted(quarantine_dir.glob("*.parquet"))
    }
    return count_reasons(quarantine)


def read_notes(quarantine_dir: Path) -> pd.DataFrame:
    """What was kept with a change, per table and column: issue and count (report.json).

    A bad value in an optional column was set to null; ids differing only in case were
    kept apart. Counts only: report.json never holds a value.
    """
    tables = _report(quarantine_dir)["tables"]
    return notes_frame(Note(**note) for table in tables for note in table.get("notes", []))


def _report(quarantine_dir: Path) -> dict:
    return json.loads((quarantine_dir / "report.json").read_text())
