"""Reading back what a validation wrote: the accounting and the quarantine reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from crm_ml.contract.loader import count_reasons


def read_accounting(quarantine_dir: Path) -> pd.DataFrame:
    """Per table: read, accepted, quarantined, erased (from report.json)."""
    report = json.loads((quarantine_dir / "report.json").read_text())
    frame = pd.DataFrame(report["tables"])
    return frame[["table", "read", "accepted", "quarantined", "erased"]]


def read_reasons(quarantine_dir: Path) -> pd.DataFrame:
    """How many quarantined rows each reason accounts for, per table."""
    quarantine = {
        path.stem: pd.read_parquet(path, columns=["reason"])
        for path in sorted(quarantine_dir.glob("*.parquet"))
    }
    return count_reasons(quarantine)
