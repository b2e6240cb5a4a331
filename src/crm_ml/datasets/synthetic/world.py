"""`generate_world`: write a whole synthetic CRM world, its manifest and its truth."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from crm_ml.contract.tables import TABLES
from crm_ml.datasets.synthetic.arrow import TimestampWriter, pick
from crm_ml.datasets.synthetic.campaigns import TREATMENTS, build_campaigns
from crm_ml.datasets.synthetic.catalog import build_catalog
from crm_ml.datasets.synthetic.chunk import (
    WorldContext,
    contract_layer_tables,
    contract_tables,
    products_table,
    simulate_chunk,
    truth_tables,
)
from crm_ml.datasets.synthetic.clock import history_bounds, to_world_seconds
from crm_ml.datasets.synthetic.contracts import MonthGrid
from crm_ml.datasets.synthetic.dirt import dirty_rows, negative_price_products
from crm_ml.datasets.synthetic.profiles import IndustryProfile, get_profile
from crm_ml.datasets.synthetic.writer import FORMATS, TableSink

log = logging.getLogger(__name__)

HISTORY_START = "2023-01-01"
DEFAULT_HORIZON_DAYS = 90
DEFAULT_CUTOFF_COUNT = 6
TRUTH_DIR = "truth"
# raise whenever the simulation code changes what the same parameters give, so cached
# worlds of the old code are regenerated (2: three treatments, price sensitivity)
GENERATOR_VERSION = 3


@dataclass(frozen=True)
class WorldSummary:
    """What `generate_world` wrote. Usable as a path (`Path(summary)` is the world dir)."""

    out_dir: Path
    industry: str
    customers: int
    months: int
    seed: int
    as_of: pd.Timestamp
    row_counts: dict[str, int]
    truth_row_counts: dict[str, int]
    dirt: dict[str, dict[str, int]]
    default_cutoffs: tuple[pd.Timestamp, ...]
    seconds: float

    def __fspath__(self) -> str:
        return str(self.out_dir)

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


def default_cutoffs(
    start: pd.Timestamp, as_of: pd.Timestamp, horizon_days: int, count: int = DEFAULT_CUTOFF_COUNT
) -> list[pd.Timestamp]:
    """The last `count` month starts whose horizon ends by `as_of` (and after the start)."""
    months = pd.date_range(start + pd.DateOffset(months=1), as_of, freq="MS", tz="UTC")
    usable = [m for m in months if m + pd.Timedelta(days=horizon_days) <= as_of]
    return usable[-count:]


def generate_world(
    out_dir: Path,
    customers: int = 20_000,
    months: int = 24,
    industry: str | IndustryProfile = "retail",
    seed: int = 42,
    dirt: bool = False,
    file_format: str = "parquet",
    chunk_customers: int = 50_000,
    show_progress: bool = True,
) -> WorldSummary:
    """Simulate a company's CRM history and write it as a contract source directory.

    Writes `<out_dir>/<table>.<file_format>` for every contract table, `manifest.json`
    (as_of, seed, parameters, row counts, injected dirt) and the ground truth under
    `<out_dir>/truth/` (Parquet). Same arguments, same bytes. Customers are simulated and
    streamed in chunks of `chunk_customers`, so memory does not grow with `customers`.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if chunk_customers < 1:
        raise ValueError(f"chunk_customers must be at least 1, got {chunk_customers}")
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {FORMATS}, got {file_format!r}")
    started = time.perf_counter()
    profile = get_profile(industry)
    out = Path(out_dir)
    _clear_previous_world(out)
    origin, as_of = history_bounds(months, HISTORY_START)
    history_days = (as_of - origin).days
    cutoffs = default_cutoffs(origin, as_of, DEFAULT_HORIZON_DAYS)
    world_rng = np.random.default_rng([seed, 0])
    catalog = build_catalog(profile, world_rng, history_days)
    ctx = WorldContext(
        profile=profile,
        seed=seed,
        catalog=catalog,
        campaigns=build_campaigns(profile, catalog, world_rng, history_days),
        history_days=history_days,
        origin_epoch_s=origin.value // 1_000_000_000,
        end_year=as_of.year,
        customer_id_width=max(7, len(str(customers))),
        cutoffs_s=tuple(to_world_seconds(c, origin) for c in cutoffs),
        horizon_days=DEFAULT_HORIZON_DAYS,
        timestamps=TimestampWriter(origin.value // 1_000_000_000, dirt or file_format == "csv"),
        months=MonthGrid.build(origin, history_days) if profile.contracts else None,
    )
    injected: dict[str, dict[str, int]] = {}
    with TableSink(out, file_format) as tables, TableSink(out / TRUTH_DIR) as truth:
        products = products_table(ctx)
        tables.write("products", products)
        if dirt:
            tables.write("products", negative_price_products(products))
            injected["products"] = {"negative_price": 2}
        starts = range(0, customers, chunk_customers)
        bar = tqdm(starts, desc=f"world ({profile.name})", unit="chunk", disable=not show_progress)
        for chunk_index, first in enumerate(bar):
            n = min(chunk_customers, customers - first)
            chunk = simulate_chunk(ctx, chunk_index, first, n)
            dirt_rng = np.random.default_rng([seed, 2, chunk_index])
            for name, table in contract_tables(ctx, chunk).items():
                tables.write(name, table)
                if dirt:
                    rows, counts = dirty_rows(name, table, dirt_rng, f"{chunk_index:05d}")
                    if rows is not None:
                        tables.write(name, rows)
                        for sort, count in counts.items():
                            injected.setdefault(name, {}).setdefault(sort, 0)
                            injected[name][sort] += count
            # after the dirt: the contract layer adds rows and moves no draw of the rest
            for name, table in contract_layer_tables(ctx, chunk).items():
                tables.write(name, table)
            for name, table in truth_tables(ctx, chunk).items():
                if table.num_columns:
                    truth.write(name, table)
            del chunk
        _write_world_truth(ctx, truth)
    summary = WorldSummary(
        out_dir=out,
        industry=profile.name,
        customers=customers,
        months=months,
        seed=seed,
        as_of=as_of,
        # the tables this world wrote: a retail world has no subscriptions, accounts, balances
        row_counts={name: tables.rows[name] for name in TABLES if name in tables.rows},
        truth_row_counts=dict(truth.rows),
        dirt=injected,
        default_cutoffs=tuple(cutoffs),
        seconds=time.perf_counter() - started,
    )
    _write_manifest(summary, profile, origin, dirt, file_format, chunk_customers)
    log.info(
        "synthetic %s world: %d customers, %d rows in %.1fs",
        profile.name,
        customers,
        summary.total_rows,
        summary.seconds,
    )
    return summary


def _clear_previous_world(out: Path) -> None:
    """Remove table files and truth of an earlier world, so no stale file is picked up."""
    for name in (*TABLES, "subscriptions", "accounts", "balances"):
        for suffix in (".parquet", ".csv", ".csv.gz"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(out / TRUTH_DIR, ignore_errors=True)


def _write_world_truth(ctx: WorldContext, truth: TableSink) -> None:
    """World-level truth: the campaign calendar and the category factors."""
    camp, catalog = ctx.campaigns, ctx.catalog
    stamps = TimestampWriter(ctx.origin_epoch_s, as_text=False)
    truth.write(
        "campaigns",
        pa.table(
            {
                "campaign_id": pa.array(camp.ids),
                "sent_ts": stamps(camp.sent_s),
                "target_share": pa.array(camp.target_share),
                "control_share": pa.array(camp.control_share),
                "offer_category": pick(catalog.category_names, camp.offer_category),
                "channel": pa.array(camp.channel),
                "treatment": pick(TREATMENTS, camp.treatment),
                "cost": pa.array(np.array(ctx.profile.treatment_costs)[camp.treatment]),
            }
        ),
    )
    truth.write(
        "category_factors",
        pa.table(
            {
                "category": pa.array(list(catalog.category_names)),
                "log_popularity": pa.array(catalog.category_log_popularity),
                "is_sensitive": pa.array(catalog.category_sensitive),
                **{
                    f"factor_{j + 1}": pa.array(catalog.category_factors[:, j])
                    for j in range(catalog.category_factors.shape[1])
                },
            }
        ),
    )


def _profile_parameters(profile: IndustryProfile) -> dict:
    """The profile as the manifest records it; a profile without contracts (retail) keeps
    the manifest it had before the contract layer existed."""
    parameters = asdict(profile)
    if parameters["contracts"] is None:
        del parameters["contracts"]
    return parameters


def is_current_world(folder: Path, industry: str | IndustryProfile) -> bool:
    """Whether the world cached in `folder` was written with today's profile of `industry`.

    A world cached by an earlier version of the generator (say, a b2b world from before it
    had contracts) is not what the same arguments give now; comparing the profile the
    manifest records catches every change of the profile's parameters, and the recorded
    `GENERATOR_VERSION` every change of the simulation code marked by raising it.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = generate_world(folder, customers=50, months=13, industry="b2b", show_progress=False)
    >>> is_current_world(folder, "b2b"), is_current_world(folder, "retail")
    (True, False)
    """
    try:
        recorded = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
        stored = recorded["parameters"]["profile"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if recorded.get("generator_version") != GENERATOR_VERSION:
        return False
    return stored == json.loads(json.dumps(_profile_parameters(get_profile(industry))))


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_manifest(
    summary: WorldSummary,
    profile: IndustryProfile,
    origin: pd.Timestamp,
    dirt: bool,
    file_format: str,
    chunk_customers: int,
) -> None:
    manifest = {
        "as_of": _iso(summary.as_of),
        "source": "synthetic",
        "generator": "crm_ml.datasets.synthetic",
        "generator_version": GENERATOR_VERSION,
        "industry": summary.industry,
        "seed": summary.seed,
        "history_start": _iso(origin),
        "file_format": file_format,
        "parameters": {
            "customers": summary.customers,
            "months": summary.months,
            "industry": summary.industry,
            "seed": summary.seed,
            "dirt": dirt,
            "file_format": file_format,
            "chunk_customers": chunk_customers,
            "profile": _profile_parameters(profile),
        },
        "rows": summary.row_counts,
        "truth_rows": summary.truth_row_counts,
        "dirt": summary.dirt,
        "default_cutoffs": [_iso(c) for c in summary.default_cutoffs],
        "horizon_days": DEFAULT_HORIZON_DAYS,
        "truth_dir": TRUTH_DIR,
    }
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    (summary.out_dir / "manifest.json").write_text(text, encoding="utf-8")
