"""Synthetic worlds shared by the tests of crm_ml.datasets.synthetic (generated once)."""

from __future__ import annotations

import pytest

from crm_ml.datasets.synthetic import WorldSummary, generate_world


@pytest.fixture(scope="session")
def synthetic_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """A clean retail world large enough for statistics and oracle calibration (~5 s)."""
    return generate_world(
        tmp_path_factory.mktemp("synthetic_world"),
        customers=10_000,
        months=24,
        seed=11,
        chunk_customers=4_000,
        show_progress=False,
    )


@pytest.fixture(scope="session")
def synthetic_dirty_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """A small retail world with injected dirt, in several chunks."""
    return generate_world(
        tmp_path_factory.mktemp("synthetic_dirty"),
        customers=1_500,
        months=12,
        seed=5,
        dirt=True,
        chunk_customers=600,
        show_progress=False,
    )
