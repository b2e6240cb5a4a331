"""Arrow columns from the generator's integer arrays, built in C++ (no Python loops).

A million customers mean tens of millions of id strings; formatting them with pyarrow
compute keeps that to seconds. Timestamps are written as Arrow timestamp[ns, UTC], or as
ISO-8601 text ("2024-03-01T10:15:00Z") when the world is dirty or written as CSV, since
a text column is what lets an export carry an unparseable date.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_ml.datasets.synthetic.population import NEVER

TS_TYPE = pa.timestamp("ns", tz="UTC")
TS_TEXT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """'C0000001'-style ids: prefix + zero-padded number."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def pick(labels: np.ndarray | list[str] | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """labels[index] as an Arrow string column; negative index -> null."""
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0
    return pc.take(
        pa.array(list(labels), type=pa.string()),
        pa.array(np.where(mask, 0, index), mask=mask if mask.any() else None),
    )


class TimestampWriter:
    """World seconds -> Arrow timestamp column (or ISO text), NEVER -> null."""

    def __init__(self, origin_epoch_s: int, as_text: bool) -> None:
        self.origin_epoch_s = origin_epoch_s
        self.as_text = as_text

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.string() if self.as_text else TS_TYPE

    def __call__(self, seconds: np.ndarray) -> pa.Array:
        seconds = np.asarray(seconds, dtype=np.int64)
        missing = seconds == NEVER
        nanos = (np.where(missing, 0, seconds) + self.origin_epoch_s) * 1_000_000_000
        stamps = pa.array(nanos, type=TS_TYPE, mask=missing if missing.any() else None)
        if not self.as_text:
            return stamps
        return pc.strftime(stamps.cast(pa.timestamp("s", tz="UTC")), format=TS_TEXT_FORMAT)


def nullable_int(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), mask=missing if missing.any() else None)
