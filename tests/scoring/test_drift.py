"""PSI: zero for the same distribution, large for a shifted one, robust to empty bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.scoring.drift import drift_table, psi


def test_psi_of_identical_samples_is_zero() -> None:
    x = pd.Series(np.random.default_rng(0).normal(size=5_000))
    assert psi(x, x) == pytest.approx(0.0, abs=1e-12)


def test_psi_grows_with_the_shift() -> None:
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.normal(size=20_000))
    small = psi(ref, pd.Series(rng.normal(0.1, 1, 20_000)))
    large = psi(ref, pd.Series(rng.normal(1.0, 1, 20_000)))
    assert small < 0.1 < 0.25 < large


def test_psi_matches_the_formula_on_a_hand_example() -> None:
    ref = pd.Series(["a"] * 50 + ["b"] * 50)
    cur = pd.Series(["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi(ref, cur) == pytest.approx(expected)


def test_missing_values_count_as_their_own_bin() -> None:
    ref = pd.Series(np.arange(1000, dtype=float))
    cur = ref.copy()
    cur[:500] = np.nan
    assert psi(ref, cur) > 0.25


def test_drift_table_flags_only_shifted_columns() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame(
        {
            "customer_id": range(5000),
            "stable": rng.normal(size=5000),
            "moved": rng.normal(size=5000),
        }
    )
    cur = pd.DataFrame(
        {
            "customer_id": range(5000),
            "stable": rng.normal(size=5000),
            "moved": rng.normal(2, 1, 5000),
        }
    )
    table = drift_table(ref, cur, threshold=0.25)
    assert table.set_index("column")["alert"].to_dict() == {"moved": True, "stable": False}
