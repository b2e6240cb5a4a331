"""The realism figures respond to the priors they are meant to calibrate."""

from __future__ import annotations

from pathlib import Path

from bench_world_realism import parse_overrides, realism_figures

from crm_ml.datasets.synthetic import generate_world
from crm_ml.datasets.synthetic.profiles import get_profile


def test_a_lower_dropout_prior_lowers_core_churn(tmp_path: Path) -> None:
    figures = {}
    for name, overrides in {"default": {}, "loyal": parse_overrides(["dropout_b=60"])}.items():
        profile = get_profile("retail").with_overrides(**overrides)
        generate_world(tmp_path / name, 2_000, industry=profile, seed=3, show_progress=False)
        figures[name] = realism_figures(tmp_path / name)
    default, loyal = figures["default"], figures["loyal"]
    assert all(0.0 <= default[k] <= 1.0 for k in ("core_churn_90d", "repeat_rate_1y"))
    assert default["core_churn_90d"] <= default["active_churn_90d"]
    assert loyal["core_churn_90d"] < default["core_churn_90d"] - 0.1
    assert -100.0 <= default["nps"] <= 100.0
