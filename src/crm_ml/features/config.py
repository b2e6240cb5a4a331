"""Typed settings of the feature builder: service-level targets, tier rule, DuckDB resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

TICKET_KIND_SLA_MINUTES: Mapping[str, float] = {"complaint": 30.0, "fault": 120.0, "consult": 60.0}
SERVICE_TIERS: tuple[str, ...] = ("core", "regular", "potential")


def _default_sla() -> dict[str, dict[str, float]]:
    # Every tier starts from the DESIGN.md defaults; a company with faster promises for its
    # core customers overrides that tier only.
    return {tier: dict(TICKET_KIND_SLA_MINUTES) for tier in SERVICE_TIERS}


@dataclass(frozen=True)
class FeatureConfig:
    """How features are computed; defaults suit the 2-core, 24 GB target machine.

    sla_target_minutes: first-response target per service tier and ticket kind (minutes).
    core_tier_share: the top share of last-year spenders that make the `core` service tier.
    export_as_of: when the export was taken; only used to decide whether a consent flag
        with no `consent_updated_ts` column can be trusted at the cutoff (see consent.sql).
        Taken from `manifest.json` or the contract result when not given.
    engagement_fade_days: time constant (days) of the fading engagement the silence score
        tests against (engagement_since_order.sql); three weeks suits retail browsing.
    duckdb_threads: worker threads (None = all cores).
    duckdb_memory_limit: DuckDB spills to `duckdb_temp_directory` beyond this; 5 GB leaves
        room under the 8 GB target for the pandas result (about 0.5 GB per million customers).
    """

    sla_target_minutes: Mapping[str, Mapping[str, float]] = field(default_factory=_default_sla)
    core_tier_share: float = 0.2
    engagement_fade_days: float = 21.0
    export_as_of: pd.Timestamp | None = None
    duckdb_threads: int | None = None
    duckdb_memory_limit: str = "5GB"
    duckdb_temp_directory: str | None = None

    def __post_init__(self) -> None:
        missing = {
            (tier, kind)
            for tier in SERVICE_TIERS
            for kind in TICKET_KIND_SLA_MINUTES
            if kind not in self.sla_target_minutes.get(tier, {})
        }
        if missing:
            raise ValueError(
                f"FeatureConfig.sla_target_minutes lacks (tier, kind) targets: {sorted(missing)}; "
                f"give a target for every tier in {SERVICE_TIERS} and kind in "
                f"{tuple(TICKET_KIND_SLA_MINUTES)}"
            )
        if self.engagement_fade_days <= 0:
            raise ValueError(
                "FeatureConfig.engagement_fade_days must be positive, "
                f"got {self.engagement_fade_days}"
            )
        if not 0.0 < self.core_tier_share < 1.0:
            raise ValueError(
                f"FeatureConfig.core_tier_share must be in (0, 1), got {self.core_tier_share}"
            )

    def sla_frame(self) -> pd.DataFrame:
        """The targets as a small table (service_tier, kind, target_minutes) for the SQL to join."""
        rows = [
            (tier, kind, float(minutes))
            for tier, kinds in self.sla_target_minutes.items()
            for kind, minutes in kinds.items()
        ]
        return pd.DataFrame(rows, columns=["service_tier", "kind", "target_minutes"])
