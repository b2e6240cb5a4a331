"""Random contract-shaped Parquet tables for the feature benchmark, made fast with numpy/pyarrow.

The data only has to look like accepted contract tables (types, keys, value ranges,
skewed activity per customer); it is not a realistic world (see
crm_ml.datasets.synthetic for that). Tables are written in row groups so that memory stays
flat however many rows are asked for, and cached under a directory named by the sizes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = np.datetime64("2022-01-01T00:00:00", "s")
AS_OF = np.datetime64("2024-01-01T00:00:00", "s")
SPAN_S = int((AS_OF - START) / np.timedelta64(1, "s"))
TS = pa.timestamp("ns", tz="UTC")
CHUNK = 5_000_000
N_PRODUCTS = 5_000
CATEGORIES = [f"category_{i:02d}" for i in range(20)]
EVENT_TYPES = ["session", "app_open", "view", "search", "cart_add"]
EVENT_P = [0.30, 0.15, 0.40, 0.05, 0.10]
COMPLETE = "_complete.json"


def fixed_width_ids(numbers: np.ndarray, prefix: str, width: int) -> pa.Array:
    """Strings `prefix + zero-padded number` built from a byte buffer, no Python loop."""
    out = np.empty((len(numbers), width), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for pos in range(width - 1, len(prefix) - 1, -1):
        out[:, pos] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, width * (len(numbers) + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(numbers), pa.py_buffer(offsets), pa.py_buffer(out.tobytes())
    )


def hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """n distinct 20-hex-character ids, like pseudonymised customer ids."""
    values = rng.choice(2**62, size=n, replace=False).astype(np.uint64)
    hexes = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((n, 20), dtype=np.uint8)
    out[:, :4] = hexes[0]
    rest = values.copy()
    for pos in range(19, 3, -1):
        out[:, pos] = hexes[(rest & 15).astype(np.int64)]
        rest >>= np.uint64(4)
    offsets = np.arange(0, 20 * (n + 1), 20, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def timestamps(seconds: np.ndarray) -> pa.Array:
    ns = (START + seconds.astype("timedelta64[s]")).astype("datetime64[ns]").astype(np.int64)
    return pa.array(ns, type=pa.int64()).view(TS)


def _masked(seconds: np.ndarray, missing: np.ndarray) -> pa.Array:
    array = timestamps(seconds)
    return pa.array(array.to_numpy(zero_copy_only=False), type=TS, mask=missing)


class _Writer:
    """Append record batches to `<dir>/<table>.parquet`."""

    def __init__(self, directory: Path, table: str) -> None:
        self.path = directory / f"{table}.parquet"
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, batch: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, batch.schema, compression="snappy")
        self.writer.write_table(batch, row_group_size=1_000_000)
        self.rows += batch.num_rows

    def close(self) -> int:
        if self.writer is not None:
            self.writer.close()
        return self.rows


def _chunks(total: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, CHUNK):
        yield first, min(CHUNK, total - first)


def _customer_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """Skewed activity: a few customers do much of the buying and browsing."""
    weights = rng.lognormal(0.0, 1.2, n)
    return weights / weights.sum()


def generate(
    directory: Path, customers: int, orders: int, events: int, seed: int = 0
) -> dict[str, int]:
    """Write every contract table for the benchmark; returns rows per table."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = hex_ids(rng, customers)
    weights = _customer_weights(rng, customers)
    rows: dict[str, int] = {}

    signup = rng.integers(-2 * 365 * 86400, SPAN_S - 30 * 86400, customers)
    consent_changed = rng.random(customers) < 0.3
    customers_table = pa.table(
        {
            "customer_id": ids,
            "signup_ts": timestamps(signup),
            "birth_year": pa.array(rng.integers(1940, 2006, customers)),
            "marketing_consent": pa.array(rng.random(customers) < 0.7),
            "consent_updated_ts": _masked(rng.integers(0, SPAN_S, customers), ~consent_changed),
        }
    )
    pq.write_table(customers_table, directory / "customers.parquet")
    rows["customers"] = customers

    prices = np.round(rng.lognormal(3.0, 0.8, N_PRODUCTS), 2)
    product_ids = fixed_width_ids(np.arange(N_PRODUCTS), "p", 8)
    pq.write_table(
        pa.table(
            {
                "product_id": product_ids,
                "category": pa.array(rng.choice(CATEGORIES, N_PRODUCTS)),
                "price": pa.array(prices),
            }
        ),
        directory / "products.parquet",
    )
    rows["products"] = N_PRODUCTS

    writer = _Writer(directory, "orders")
    next_order = 0
    for _, n_lines in _chunks(orders):
        n_orders = max(int(n_lines / 1.5), 1)
        lines_per_order = 1 + rng.binomial(2, 0.25, n_orders)
        order_of_line = np.repeat(np.arange(n_orders), lines_per_order)[:n_lines]
        n_lines = len(order_of_line)
        order_customer = rng.choice(customers, n_orders, p=weights)
        order_ts = rng.integers(0, SPAN_S, n_orders)
        product = rng.integers(0, N_PRODUCTS, n_lines)
        quantity = 1 + rng.binomial(3, 0.2, n_lines)
        amount = prices[product] * quantity
        is_return = rng.random(n_lines) < 0.05
        line_ts = order_ts[order_of_line] + np.where(
            is_return, rng.integers(86400, 30 * 86400, n_lines), 0
        )
        order_number = next_order + order_of_line
        writer.write(
            pa.table(
                {
                    "order_id": fixed_width_ids(
                        np.where(is_return, order_number + 10**11, order_number), "o", 13
                    ),
                    "product_id": product_ids.take(pa.array(product)),
                    "customer_id": ids.take(pa.array(order_customer[order_of_line])),
                    "ts": timestamps(np.minimum(line_ts, SPAN_S - 1)),
                    "amount": pa.array(np.where(is_return, -amount, amount)),
                    "quantity": pa.array(quantity),
                    "channel": pa.array(
                        np.array(["web", "store", "app"])[rng.integers(0, 3, n_orders)][
                            order_of_line
                        ]
                    ),
                    "is_return": pa.array(is_return),
                }
            )
        )
        next_order += n_orders
    rows["orders"] = writer.close()

    writer = _Writer(directory, "events")
    for _, n in _chunks(events):
        writer.write(
            pa.table(
                {
                    "customer_id": ids.take(pa.array(rng.choice(customers, n, p=weights))),
                    "ts": timestamps(rng.integers(0, SPAN_S, n)),
                    "event_type": pa.array(np.array(EVENT_TYPES)[rng.choice(5, n, p=EVENT_P)]),
                    "product_id": product_ids.take(pa.array(rng.integers(0, N_PRODUCTS, n))),
                }
            )
        )
    rows["events"] = writer.close()

    n = int(customers * 0.4)
    opened = rng.integers(0, SPAN_S, n)
    pq.write_table(
        pa.table(
            {
                "ticket_id": fixed_width_ids(np.arange(n), "t", 12),
                "customer_id": ids.take(pa.array(rng.choice(customers, n, p=weights))),
                "opened_ts": timestamps(opened),
                "kind": pa.array(rng.choice(["consult", "fault", "complaint"], n)),
                "first_response_ts": timestamps(opened + rng.exponential(3600, n).astype(np.int64)),
                "resolved_ts": _masked(
                    opened + rng.exponential(2 * 86400, n).astype(np.int64), rng.random(n) < 0.1
                ),
                "csat": pa.array(rng.integers(1, 6, n)),
            }
        ),
        directory / "tickets.parquet",
    )
    rows["tickets"] = n

    n = customers * 3
    sent = rng.integers(0, SPAN_S, n)
    pq.write_table(
        pa.table(
            {
                "contact_id": fixed_width_ids(np.arange(n), "c", 12),
                "customer_id": ids.take(pa.array(rng.integers(0, customers, n))),
                "campaign_id": pa.array(rng.choice([f"campaign_{i}" for i in range(30)], n)),
                "sent_ts": timestamps(sent),
                "is_control": pa.array(rng.random(n) < 0.1),
                "responded_ts": _masked(
                    sent + rng.integers(3600, 14 * 86400, n), rng.random(n) > 0.1
                ),
            }
        ),
        directory / "contacts.parquet",
    )
    rows["contacts"] = n

    for table, per_customer, extra in (
        ("surveys", 0.5, lambda k: {"nps": pa.array(rng.integers(0, 11, k))}),
        ("exclusions", 0.2, lambda k: {"category": pa.array(rng.choice(CATEGORIES, k))}),
    ):
        k = int(customers * per_customer)
        pq.write_table(
            pa.table(
                {
                    "customer_id": ids.take(pa.array(rng.integers(0, customers, k))),
                    "ts": timestamps(rng.integers(0, SPAN_S, k)),
                    **extra(k),
                }
            ),
            directory / f"{table}.parquet",
        )
        rows[table] = k

    as_of = str(AS_OF) + "+00:00"
    (directory / "manifest.json").write_text(json.dumps({"as_of": as_of, "rows": rows}))
    return rows


def cached_dataset(
    cache_root: Path, customers: int, orders: int, events: int, seed: int
) -> tuple[Path, dict[str, int]]:
    """The benchmark data for these sizes, generated once and reused."""
    directory = cache_root / f"c{customers}_o{orders}_e{events}_s{seed}"
    marker = directory / COMPLETE
    if marker.exists():
        return directory, json.loads(marker.read_text())["rows"]
    started = time.perf_counter()
    rows = generate(directory, customers, orders, events, seed)
    marker.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    return directory, rows
