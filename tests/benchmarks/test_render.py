"""The markdown report is a pure function of the JSON, and every number in it comes from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from render import (
    PROJECT,
    README,
    committed_reports,
    fmt,
    latest_report,
    readme_block,
    readme_table,
    render_markdown,
    replace_block,
)

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?")


def json_numbers(value: Any) -> set[str]:
    """Every number of a JSON document, formatted as the report formats numbers."""
    if isinstance(value, dict):
        return set().union(*(json_numbers(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(json_numbers(v) for v in value)) if value else set()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return set()
    return {fmt(value)}


def table_numbers(markdown: str, numeric_columns: set[str]) -> list[str]:
    """Numbers in the given columns of every markdown table."""
    found: list[str] = []
    header: list[str] = []
    for line in markdown.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            header = [] if not line.startswith("|") else header
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
            continue
        for name, cell in zip(header, cells, strict=True):
            if name in numeric_columns:
                # peer names and references carry no digits; strip the reference keys anyway
                found += NUMBER.findall(re.sub(r"\[ref [a-z]\]", "", cell))
    return found


def test_fmt() -> None:
    assert fmt(1234567.8) == "1,234,568" and fmt(0.24259) == "0.2426" and fmt(12.345) == "12.35"
    assert fmt(None) == "" and fmt(2000) == "2,000"


@pytest.mark.slow
def test_render_is_deterministic_and_every_number_traces_to_the_json(
    smoke_report: dict[str, Any],
) -> None:
    report = {k: v for k, v in smoke_report.items() if k != "_paths"}
    markdown = Path(smoke_report["_paths"]["md"]).read_text()
    assert render_markdown(report) == markdown == render_markdown(json.loads(json.dumps(report)))
    numeric = {"size", "ours", "peers", "published", "ratio", "peer"}
    allowed = json_numbers(report)
    for text in (markdown, readme_table(report, "x.json")):
        numbers = table_numbers(text, numeric)
        assert len(numbers) > 50
        untraced = [n for n in numbers if n not in allowed]
        assert not untraced, f"numbers not in the run's JSON: {untraced[:10]}"


@pytest.mark.slow
def test_a_hand_edited_number_is_caught(smoke_report: dict[str, Any]) -> None:
    report = {k: v for k, v in smoke_report.items() if k != "_paths"}
    markdown = render_markdown(report)
    row = next(r for r in report["rows"] if r["metric"] == "holdout ECE")
    edited = markdown.replace(f"| {fmt(row['ours'])} |", "| 0.001234 |", 1)
    assert edited != markdown
    untraced = [n for n in table_numbers(edited, {"ours"}) if n not in json_numbers(report)]
    assert untraced == ["0.001234"]


def test_latest_report_prefers_full_then_newest(tmp_path: Path) -> None:
    names = ["2026-01-05-quick.json", "2026-01-01-full.json", "2026-01-03-full.json", "x.json"]
    assert latest_report(tmp_path / n for n in names) == tmp_path / "2026-01-03-full.json"
    assert latest_report([tmp_path / "2026-01-05-quick.json"]).name == "2026-01-05-quick.json"
    assert latest_report([tmp_path / "2026-01-05-smoke.json"]) is None


def test_replace_block_keeps_the_rest_of_the_readme() -> None:
    text = "intro\n<!-- bench-table:start -->\nold\n<!-- bench-table:end -->\noutro\n"
    new = replace_block(text, "| a |\n")
    assert new == "intro\n<!-- bench-table:start -->\n| a |\n<!-- bench-table:end -->\noutro\n"
    assert readme_block(new) == "| a |\n"
    with pytest.raises(ValueError, match="exactly one"):
        replace_block("no markers", "x")


def test_readme_table_is_rendered_from_the_latest_committed_run() -> None:
    latest = latest_report(committed_reports())
    if latest is None:
        pytest.skip("no full or quick benchmark JSON committed under reports/benchmarks/ yet")
    report = json.loads(latest.read_text())
    expected = readme_table(report, latest.relative_to(PROJECT).as_posix())
    assert readme_block(README.read_text()) == expected, (
        "README benchmark table differs from the committed run: "
        "run benchmarks/render.py --update-readme"
    )
