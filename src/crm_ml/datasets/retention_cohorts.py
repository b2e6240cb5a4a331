"""Published contract-retention cohorts, for replicating the shifted-beta-geometric model.

The two cohorts of Fader & Hardie (2007): percent of each cohort still a customer at the
start of years 0..7 and the maximum-likelihood estimates the paper reports for them.
`crm_ml.models.survival.ShiftedBetaGeometric.fit` must reproduce the estimates (tested, and
in `make bench`).
"""

from __future__ import annotations

from dataclasses import dataclass

FADER_HARDIE_2007 = (
    "Fader, P. S. & Hardie, B. G. S. (2007). How to Project Customer Retention. Journal of "
    "Interactive Marketing 21(1), 76-90."
)


@dataclass(frozen=True)
class RetentionCohort:
    name: str
    active_percent: tuple[float, ...]  # at the start of year 0 (100), 1, 2, ...
    published_alpha: float
    published_beta: float
    citation: str = FADER_HARDIE_2007


COHORTS = (
    RetentionCohort("high end", (100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1), 0.668, 3.806),
    RetentionCohort("regular", (100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1), 0.704, 1.182),
)
