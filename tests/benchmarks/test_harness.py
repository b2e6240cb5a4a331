"""The report's arithmetic on numbers whose answer is known."""

from __future__ import annotations

import math

import pytest
from harness import growth_exponent, ratio, target_met
from report_rows import growth_rows, row


def test_growth_exponent_linear_quadratic_and_flat() -> None:
    assert growth_exponent(1_000, 2.0, 2_000, 4.0) == pytest.approx(1.0)
    assert growth_exponent(20_000, 1.0, 200_000, 100.0) == pytest.approx(2.0)
    assert growth_exponent(20_000, 3.0, 1_000_000, 3.0) == pytest.approx(0.0)
    assert growth_exponent(10, 8.0, 1_000, 0.8) == pytest.approx(-0.5)


@pytest.mark.parametrize("bad", [(0, 1.0, 10, 2.0), (10, 1.0, 10, 2.0), (10, 0.0, 20, 1.0)])
def test_growth_exponent_rejects_degenerate_sizes(bad: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="growth exponent"):
        growth_exponent(*bad)


def test_ratio_direction_and_target() -> None:
    assert ratio(2.0, 10.0, "peer/ours") == pytest.approx(5.0)
    assert ratio(2.0, 10.0, "ours/peer") == pytest.approx(0.2)
    with pytest.raises(ValueError, match="ratio must be"):
        ratio(1.0, 1.0, "ours-peer")
    assert target_met(1.3, "<=", 1.3) and not target_met(1.31, "<=", 1.3)
    assert target_met(3.0, ">=", 3.0) and not target_met(0.02, "<", 0.02)
    with pytest.raises(ValueError, match="unknown comparison"):
        target_met(1.0, "==", 1.0)


def test_row_ratio_names_its_peer_and_checks_the_target_on_it() -> None:
    speed = row(
        "features",
        "d",
        1000,
        "wall s",
        2.0,
        higher_is_better=False,
        peers={"pandas": 8.0},
        ratio_peer="pandas",
        target={"text": ">= 3x", "op": ">=", "value": 3.0, "on": "ratio"},
    )
    assert speed["ratio"] == {"value": 4.0, "of": "pandas/ours"}
    assert speed["met"] is True
    replication = row(
        "cdnow",
        "d",
        2357,
        "r",
        0.2426,
        higher_is_better=False,
        published={"value": 0.243, "citation": "paper"},
        target={"text": "1%", "op": "<=", "value": 0.01, "on": "relative_error"},
    )
    assert replication["relative_error"] == pytest.approx(abs(0.2426 / 0.243 - 1))
    assert replication["met"] is True
    missed = row("x", "d", 1, "ece", 0.05, higher_is_better=False, target=speed["target"])
    assert missed["ratio"] is None and missed["met"] is None  # no peer, nothing to compare


def test_growth_rows_between_consecutive_sizes() -> None:
    def measured(wall: float, peak: float) -> dict:
        return {"variants": {"ours": {"wall_s": wall, "peak_rss_gb": peak}}}

    results = {
        "validate": {100: measured(1.0, 1.0), 200: measured(2.0, 1.0), 800: measured(16.0, 2.0)}
    }
    rows = growth_rows(results)
    by = {(r["from_size"], r["size"], r["metric"]): r["ours"] for r in rows}
    assert by[(100, 200, "growth exponent of wall time")] == pytest.approx(1.0)
    assert by[(200, 800, "growth exponent of wall time")] == pytest.approx(1.5)
    assert by[(100, 200, "growth exponent of peak memory")] == pytest.approx(0.0)
    assert by[(200, 800, "growth exponent of peak memory")] == pytest.approx(0.5)
    assert len(rows) == 4 and all(math.isfinite(r["ours"]) for r in rows)
