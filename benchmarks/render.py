"""The benchmark report as markdown, from a run's JSON only (same JSON, same bytes).

    .venv/bin/python benchmarks/render.py reports/benchmarks/2026-11-23-quick.json  # -> .md
    .venv/bin/python benchmarks/render.py --update-readme     # README table from the latest run

`--update-readme` writes the short results table (the headline rows) between the markers
`<!-- bench-table:start -->` and `<!-- bench-table:end -->` of README.md, from the latest
JSON of the `full` profile in reports/benchmarks/ if there is one, else the latest `quick`.
Commit that JSON with the README: a test checks the table against the committed JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
REPORTS = PROJECT / "reports" / "benchmarks"
README = PROJECT / "README.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
README_PROFILES = ("full", "quick")
SECTIONS = {
    "quality": "Model quality",
    "speed": "Speed and scale",
    "growth": "Growth with size (exponent k of t ~ n^k; 1 = linear)",
}
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-([a-z]+)\.json$")


def fmt(value: float | None) -> str:
    """A number as the report shows it: thousands separators from 1,000, else 4 significant
    digits. Tests trace every number of the report back to a JSON value through this."""
    if value is None:
        return ""
    if isinstance(value, bool) or not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _peers(row: Mapping[str, Any]) -> str:
    return "; ".join(f"{name} {fmt(value)}" for name, value in row["peers"].items())


def _ratio(row: Mapping[str, Any]) -> str:
    r = row["ratio"]
    return f"{fmt(r['value'])} ({r['of']})" if r else ""


def _met(row: Mapping[str, Any]) -> str:
    return {True: "yes", False: "NO", None: ""}[row["met"]]


def _published(row: Mapping[str, Any], keys: dict[str, int]) -> str:
    published = row["published"]
    if not published:
        return ""
    ref = keys.setdefault(published["citation"], len(keys) + 1)
    return f"{fmt(published['value'])} [ref {chr(ord('a') + ref - 1)}]"


def _target(row: Mapping[str, Any]) -> str:
    return row["target"]["text"] if row["target"] else ""


def _table(header: list[str], lines: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "/") for cell in line) + " |" for line in lines]
    return out


def render_markdown(report: Mapping[str, Any]) -> str:
    """The full report of one run."""
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(m["versions"].items()) if v)
    load_before = " / ".join(fmt(x) for x in m["load_average_before"])
    load_after = " / ".join(fmt(x) for x in m["load_average_after"])
    lines = [
        f"# Benchmarks: {report['profile']} profile, {report['date']}",
        "",
        f"`benchmarks/run_all.py --profile {report['profile']}`, started {report['started']}, "
        f"{fmt(report['wall_s'])} s of benchmarks. Generated from "
        f"`{report['date']}-{report['profile']}.json`; do not edit by hand.",
        "",
        f"- machine: {m['cores']} cores, {fmt(m['ram_gb'])} GB RAM, {m['platform']}",
        f"- load average (1/5/15 min) before {load_before}, after {load_after}",
        f"- Python {m['python']}; {versions}",
        f"- commit {m['git_commit']}{' (with uncommitted changes)' if m['git_dirty'] else ''}",
        "",
        "Size is in customers. Ratios say which way they are taken; `met` compares the figure",
        "named in the target with it, and stays empty where the target is stated at a larger",
        "scale than this run. Peers are measured in the same run.",
    ]
    for name, error in report.get("failures", {}).items():
        lines += ["", f"**{name} failed**: `{error.splitlines()[0][:200]}`"]
    citations: dict[str, int] = {}
    header = ["task", "dataset", "size", "metric", "ours", "peers", "published", "ratio"]
    header += ["target", "met"]
    for section, title in SECTIONS.items():
        rows = [r for r in report["rows"] if r["section"] == section]
        if not rows:
            continue
        lines += ["", f"## {title}", ""]
        lines += _table(
            header,
            (
                [
                    r["task"],
                    r["dataset"],
                    fmt(r["size"]),
                    r["metric"],
                    fmt(r["ours"]),
                    _peers(r),
                    _published(r, citations),
                    _ratio(r),
                    _target(r),
                    _met(r),
                ]
                for r in rows
            ),
        )
    if citations:
        lines += ["", "References", ""]
        lines += [f"- [ref {chr(ord('a') + n - 1)}] {c}" for c, n in citations.items()]
    return "\n".join(lines) + "\n"


def readme_table(report: Mapping[str, Any], source: str) -> str:
    """The headline rows, one line each: task, ours, peer, ratio, target met."""
    rows = [r for r in report["rows"] if r["headline"]]
    lines = [
        f"Generated by `benchmarks/render.py --update-readme` from `{source}` "
        f"({report['profile']} profile, {report['date']}, {report['machine']['cores']} cores); "
        "do not edit by hand.",
        "",
    ]
    lines += _table(
        ["task", "size", "metric", "ours", "peer", "ratio", "target", "met"],
        (
            [
                r["task"],
                fmt(r["size"]),
                r["metric"],
                fmt(r["ours"]),
                _peers(r)
                or (f"published {fmt(r['published']['value'])}" if r["published"] else ""),
                _ratio(r),
                _target(r),
                _met(r),
            ]
            for r in rows
        ),
    )
    return "\n".join(lines) + "\n"


def latest_report(paths: Iterable[Path]) -> Path | None:
    """The newest run of the `full` profile among `paths`, else the newest `quick`."""
    named = [(p, _NAME.match(p.name)) for p in paths]
    for profile in README_PROFILES:
        runs = sorted((m.group(1), p) for p, m in named if m and m.group(2) == profile)
        if runs:
            return runs[-1][1]
    return None


def committed_reports(folder: Path = REPORTS) -> list[Path]:
    """Run JSONs under `folder` that git tracks (empty outside a git checkout)."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--", str(folder)],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return []
    return [PROJECT / line for line in done.stdout.splitlines() if line.endswith(".json")]


def replace_block(text: str, block: str) -> str:
    """`text` with the part between the README markers replaced by `block`."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README.md needs exactly one {START} ... {END} pair")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}{END}{tail}"


def readme_block(text: str) -> str:
    """What is between the README markers now."""
    return text.split(START)[1].split(END)[0].lstrip("\n")


def update_readme(report_path: Path, readme: Path = README) -> None:
    report = json.loads(report_path.read_text())
    inside = report_path.is_relative_to(PROJECT)
    source = report_path.relative_to(PROJECT).as_posix() if inside else report_path.name
    readme.write_text(replace_block(readme.read_text(), readme_table(report, source)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("json", nargs="?", type=Path, help="a run's JSON (writes the .md next)")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.json:
        report = json.loads(args.json.read_text())
        args.json.with_suffix(".md").write_text(render_markdown(report))
        print(f"wrote {args.json.with_suffix('.md')}")
    if args.update_readme:
        latest = args.json or latest_report(REPORTS.glob("*.json"))
        if latest is None:
            print(f"no full or quick run in {REPORTS}", file=sys.stderr)
            return 1
        update_readme(latest.resolve())
        print(f"README table from {latest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
