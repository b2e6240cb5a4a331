"""No raw name, email, phone or customer id in anything the contract layer writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crm_ml.cli import main


def _all_text(folder: Path) -> str:
    """Every cell of every Parquet file and the text of every other file under `folder`."""
    parts = []
    for path in folder.rglob("*"):
        if path.suffix == ".parquet":
            parts.append(pd.read_parquet(path).astype(str).to_csv(index=False))
        elif path.is_file():
            parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def test_no_personal_data_in_written_files(
    tmp_path: Path, clean_tables, write_export, monkeypatch, capsys
) -> None:
    tables = clean_tables()
    # quarantined customer rows are the likeliest place for personal data to leak
    tables["customers"].loc[0, "signup_ts"] = "not a date"
    tables["customers"].loc[1, "birth_year"] = "1492"
    tables["orders"].loc[2, "ts"] = "garbage"
    folder = write_export(tmp_path / "export", tables)
    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", "test-secret")
    out = tmp_path / "out"
    code = main(
        [
            "validate",
            str(folder),
            "--as-of",
            "2025-01-01",
            "--quarantine-dir",
            str(out / "quarantine"),
            "--accepted-dir",
            str(out / "accepted"),
            "--quiet",
        ]
    )
    assert code == 0
    written = _all_text(out) + capsys.readouterr().out
    assert (out / "quarantine" / "customers.parquet").exists()
    customers = tables["customers"]
    secrets = [
        *customers["name"],
        *customers["email"],
        *customers["phone"],
        *customers["customer_id"],
    ]
    leaked = [s for s in secrets if s in written]
    assert not leaked, f"personal data in contract outputs: {leaked}"
    # and the check itself can see a leak
    assert customers["email"].iloc[0] in _all_text(folder)
