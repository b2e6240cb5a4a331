"""A little realistic dirt, so the contract's quarantine has work to do.

Dirty rows are *added* after the clean rows of a chunk (never replacing them), so the
world's truth stays exact and every clean row still passes. Each sort of dirt is one the
contract quarantines: exact duplicates (a repeated key), unparseable or future
timestamps, unknown customers, negative prices and amounts, values outside an enum or a
range, and answers timed before their question. The manifest records how many rows of
each sort were injected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIRT_RATE = 0.0005  # share of a table's rows per sort of dirt (at least one row per chunk)
BAD_TIMESTAMPS = ("2024-02-30T25:61:00Z", "not a date", "31/31/2023", "2023-13-01", "??")
FUTURE_TS = "2099-01-01T00:00:00Z"

Mutation = Callable[[pa.Table, np.random.Generator, str], pa.Table]


def _set(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


def _fill(table: pa.Table, column: str, value: object) -> pa.Table:
    field = table.schema.field(column)
    return _set(table, column, pa.array([value] * table.num_rows, type=field.type))


def _fresh_ids(table: pa.Table, column: str, tag: str) -> pa.Table:
    """Give the rows new ids so they do not collide with (and shadow) clean rows."""
    numbers = pa.array([f"X{tag}{j:06d}" for j in range(table.num_rows)])
    return _set(table, column, numbers)


def _duplicate(table: pa.Table, rng: np.random.Generator, tag: str) -> pa.Table:
    return table


def _bad_timestamp(column: str, new_id: str | None = None) -> Mutation:
    def mutate(table: pa.Table, rng: np.random.Generator, tag: str) -> pa.Table:
        values = rng.choice(np.array(BAD_TIMESTAMPS), size=table.num_rows)
        table = _set(table, column, pa.array(values))
        return _fresh_ids(table, new_id, tag) if new_id else table

    return mutate


def _constant(column: str, value: object, new_id: str | None = None) -> Mutation:
    def mutate(table: pa.Table, rng: np.random.Generator, tag: str) -> pa.Table:
        table = _fill(table, column, value)
        return _fresh_ids(table, new_id, tag) if new_id else table

    return mutate


def _negative(column: str, new_id: str | None = None) -> Mutation:
    def mutate(table: pa.Table, rng: np.random.Generator, tag: str) -> pa.Table:
        table = _set(table, column, pc.negate(pc.abs(table[column])))
        if "is_return" in table.column_names:
            table = _fill(table, "is_return", False)
        return _fresh_ids(table, new_id, tag) if new_id else table

    return mutate


def _answer_before_question(late: str) -> Mutation:
    def mutate(table: pa.Table, rng: np.random.Generator, tag: str) -> pa.Table:
        # a row whose answer predates its question (the key repeats an earlier row)
        return _fill(table, late, "2000-01-01T00:00:00Z")

    return mutate


# table -> sort -> how to make one dirty row from a sampled clean row
DIRT: dict[str, dict[str, Mutation]] = {
    "customers": {"duplicate_row": _duplicate},
    "orders": {
        "duplicate_row": _duplicate,
        "unparseable_ts": _bad_timestamp("ts", new_id="order_id"),
        "future_ts": _constant("ts", FUTURE_TS, new_id="order_id"),
        "unknown_customer": _constant("customer_id", "C_UNKNOWN", new_id="order_id"),
        "negative_amount": _negative("amount", new_id="order_id"),
    },
    "events": {
        "unparseable_ts": _bad_timestamp("ts"),
        "unknown_event_type": _constant("event_type", "scroll"),
        "unknown_customer": _constant("customer_id", "C_UNKNOWN"),
    },
    "tickets": {
        "duplicate_row": _duplicate,
        "unknown_kind": _constant("kind", "billing", new_id="ticket_id"),
        "response_before_opened": _answer_before_question("first_response_ts"),
    },
    "contacts": {
        "duplicate_row": _duplicate,
        "responded_before_sent": _answer_before_question("responded_ts"),
    },
    "surveys": {"nps_out_of_range": _constant("nps", 11)},
}


def dirty_rows(
    name: str, table: pa.Table, rng: np.random.Generator, tag: str
) -> tuple[pa.Table | None, dict[str, int]]:
    """Dirty rows to append after `table`'s clean rows, and their count per sort."""
    sorts = DIRT.get(name)
    if not sorts or table.num_rows == 0:
        return None, {}
    parts, counts = [], {}
    for sort, mutate in sorts.items():
        n = max(1, round(DIRT_RATE * table.num_rows))
        rows = table.take(pa.array(rng.integers(0, table.num_rows, size=n)))
        parts.append(mutate(rows, rng, f"{tag}_{len(parts)}_").cast(table.schema))
        counts[sort] = n
    return pa.concat_tables(parts), counts


def negative_price_products(products: pa.Table, n: int = 2) -> pa.Table:
    """Catalogue rows with a negative price (new product ids nothing refers to)."""
    rows = products.slice(0, n)
    rows = _set(rows, "product_id", pa.array([f"PX{j:04d}" for j in range(n)]))
    return _set(rows, "price", pc.negate(rows["price"]))
