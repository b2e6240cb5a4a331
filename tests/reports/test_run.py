"""All reports of a run in one call, and finding the run to compare with."""

from __future__ import annotations

import json
import re

import pandas as pd

from crm_ml.pipeline.config import RunConfig
from crm_ml.reports import build_run_reports, find_previous_run


def mark(paths, status: str, started: str) -> None:
    paths.manifest.write_text(json.dumps({"status": status, "started": started}))


def test_build_run_reports_writes_everything_without_raw_ids(make_run, fabricated):
    paths = make_run()
    out = build_run_reports(paths, RunConfig())
    assert out.report.exists() and out.screenshot is None
    assert {p.name for p in out.action_lists.values()} == {
        "customers_to_save.csv",
        "cross_sell_audience.csv",
        "service_follow_ups.csv",
        "action_plan.csv",
    }
    scores = pd.read_parquet(paths.scores / "customer_scores.parquet")
    shown = out.sample_card.stem
    assert bool(scores.set_index("customer_id").loc[shown, "marketing_consent"])
    raw = re.compile("|".join(fabricated.raw))
    written = [p for p in paths.report.rglob("*") if p.is_file()]
    assert len(written) >= 8
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        assert not raw.search(text), f"a raw customer id in {path.name}"


def test_find_previous_run_takes_the_newest_earlier_success(make_run):
    older = make_run("r1")
    failed = make_run("r2")
    newer = make_run("r3")
    current = make_run("r4")
    mark(older, "succeeded", "2024-05-01T00:00:00+00:00")
    mark(failed, "failed", "2024-06-01T00:00:00+00:00")
    mark(newer, "succeeded", "2024-06-15T00:00:00+00:00")
    mark(current, "running", "2024-07-01T00:00:00+00:00")
    assert find_previous_run(current).root == newer.root
    assert find_previous_run(older) is None
