"""World time: integer seconds since the start of the history, and purchase "opening hours".

Purchases happen between 08:00 and 22:00 UTC. They are drawn as a Poisson process on an
*active-time* axis measured in days of opening hours, then mapped to wall-clock seconds.
Because a midnight cutoff falls outside opening hours, the expected number of purchases
between two midnights is exactly lambda x days, and the exposure after the last purchase is
computable from its timestamp: this is what keeps the oracle exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = 86_400
HOUR = 3_600
OPEN_SECONDS = 8 * HOUR
ACTIVE_SECONDS = 14 * HOUR  # 08:00-22:00


def history_bounds(months: int, start: str = "2023-01-01") -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and end instant (the export's as-of) of a history of `months` calendar months."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    first = pd.Timestamp(start, tz="UTC")
    return first, first + pd.DateOffset(months=months)


def active_to_seconds(active_days: np.ndarray) -> np.ndarray:
    """Wall-clock seconds of points on the active-time axis."""
    day = np.floor(active_days)
    return (day * DAY + OPEN_SECONDS + (active_days - day) * ACTIVE_SECONDS).astype(np.int64)


def seconds_to_active(seconds: np.ndarray) -> np.ndarray:
    """Active-time position of wall-clock seconds (nights collapse onto opening/closing)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    day = seconds // DAY
    into_day = seconds - day * DAY
    return day + np.clip((into_day - OPEN_SECONDS) / ACTIVE_SECONDS, 0.0, 1.0)


def to_timestamp_ns(seconds: np.ndarray, origin: pd.Timestamp) -> np.ndarray:
    """Epoch nanoseconds of world seconds, for Arrow timestamp columns."""
    return (np.asarray(seconds, dtype=np.int64) + origin.value // 1_000_000_000) * 1_000_000_000


def to_world_seconds(stamp: pd.Timestamp, origin: pd.Timestamp) -> int:
    """World seconds of a timestamp (naive stamps are taken as UTC)."""
    stamp = pd.Timestamp(stamp)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int((stamp - origin) // pd.Timedelta(seconds=1))
