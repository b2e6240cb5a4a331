"""The realism figures respond to the priors they are meant to calibrate."""

from __future__ import annotations

from pathlib import Path

from bench_world_realism import parse_overrides, realism_figures

from crm_ml.datasets.synthetic import generate_world
from crm_ml.datasets.synthetic.profiles import get_profile


def test_core_churn_follows_the_dropout_prior_and_the_default_is_believable(
    tmp_path: Path,
) -> None:
    """Issue 21: the default retail world's core tier churns 5-25% per 90 days; the priors
    it had before (Beta(1, 6) per purchase) made it about 45%."""
    figures = {}
    leaky = parse_overrides(["dropout_a=1", "dropout_b=6"])
    for name, overrides in {"default": {}, "leaky": leaky}.items():
        profile = get_profile("retail").with_overrides(**overrides)
        generate_world(tmp_path / name, 4_000, industry=profile, seed=3, show_progress=False)
        figures[name] = realism_figures(tmp_path / name)
    default, leaky = figures["default"], figures["leaky"]
    assert 0.05 < default["core_churn_90d"] < 0.25
    assert default["core_churn_90d"] <= default["active_churn_90d"]
    assert leaky["core_churn_90d"] > default["core_churn_90d"] + 0.15
    assert 0.5 < default["repeat_rate_1y"] <= 1.0
    assert 20.0 <= default["nps"] <= 45.0
