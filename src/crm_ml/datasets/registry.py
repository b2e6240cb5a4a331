"""The adapter layer: named data sources that write a contract source directory.

Every source (the synthetic world, CDNOW, the next public dataset) ends the same way: a
directory with one Parquet file per contract table and a ``manifest.json`` whose ``as_of``
tells the contract loader when the export was taken.

Adding a public source (say MovieLens):

1. ``src/crm_ml/datasets/movielens.py`` with ``load_movielens() -> dict[str, DataFrame]``
   (raw contract tables: ids as strings, timestamps UTC) and ``write_movielens(out_dir,
   **params) -> Path`` that calls `write_source_tables`; its docstring documents the
   source, the licence and how each column is mapped.
2. One ``register(DatasetSource(...))`` entry at the bottom of this module.
3. A test that the written directory passes ``crm_ml.contract.load_tables`` with nothing
   quarantined and that the counts match the published ones.

Writers are named by import path ("package.module:function") and imported only when a
source is written, so listing sources stays cheap and a source whose module (or optional
dependency) is missing breaks only itself.

Example::

    from crm_ml.datasets import get_source, list_sources

    [s.name for s in list_sources()]          # ['cdnow', 'cdnow-sample', 'synthetic']
    get_source("cdnow-sample").write("data/raw/cdnow-sample")
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crm_ml.errors import CrmMlError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"


class UnknownSourceError(CrmMlError, KeyError):
    """A source name that is not registered; the message lists the registered names."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class DatasetSource:
    """One registered data source.

    `writer` is "package.module:function"; the function takes ``out_dir`` and keyword
    parameters and returns the directory it wrote. `defaults` are keyword parameters
    bound at registration, so one writer can back several sources ("cdnow" and
    "cdnow-sample"); parameters given to `write` override them.
    """

    name: str
    description: str
    citation: str
    licence: str
    writer: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def load_writer(self) -> Callable[..., Path]:
        """Import the writer function; the error says which source and path failed."""
        module_name, _, function_name = self.writer.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ImportError(
                f"data source {self.name!r}: cannot import {module_name!r} ({error})"
            ) from error
        try:
            return getattr(module, function_name)
        except AttributeError as error:
            raise ImportError(
                f"data source {self.name!r}: module {module_name!r} has no {function_name!r}"
            ) from error

    def write(self, out_dir: str | Path, **params: Any) -> Path:
        """Write this source's contract tables and manifest into `out_dir`."""
        writer = self.load_writer()
        log.info("writing data source %s to %s", self.name, out_dir)
        return Path(writer(Path(out_dir), **{**self.defaults, **params}))


_SOURCES: dict[str, DatasetSource] = {}


def register(source: DatasetSource, *, replace: bool = False) -> DatasetSource:
    """Add a source to the registry; refuses to silently shadow an existing name."""
    if source.name in _SOURCES and not replace:
        raise ValueError(
            f"data source {source.name!r} is already registered; pass replace=True to override"
        )
    if ":" not in source.writer:
        raise ValueError(
            f"data source {source.name!r}: writer must be 'package.module:function', "
            f"got {source.writer!r}"
        )
    _SOURCES[source.name] = source
    return source


def get_source(name: str) -> DatasetSource:
    """The registered source called `name`."""
    try:
        return _SOURCES[name]
    except KeyError:
        available = ", ".join(sorted(_SOURCES)) or "(none)"
        raise UnknownSourceError(
            f"unknown data source {name!r}; available sources: {available}"
        ) from None


def list_sources() -> list[DatasetSource]:
    """All registered sources, sorted by name."""
    return [_SOURCES[name] for name in sorted(_SOURCES)]


def write_source_tables(
    out_dir: str | Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: pd.Timestamp,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write `<out_dir>/<table>.parquet` for each table and a `manifest.json`.

    The manifest holds `as_of` (ISO-8601 UTC, the export date the contract loader
    quarantines later rows against), the row count of each table, and whatever the
    source adds (source name, citation, licence). No write time goes in, so writing the
    same data twice gives the same bytes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    as_of_utc = pd.Timestamp(as_of)
    as_of_utc = (
        as_of_utc.tz_localize("UTC") if as_of_utc.tzinfo is None else as_of_utc.tz_convert("UTC")
    )
    for table_name, frame in tables.items():
        frame.to_parquet(out / f"{table_name}.parquet", index=False)
    content = {
        "as_of": as_of_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(manifest or {}),
        "rows": {table_name: len(frame) for table_name, frame in tables.items()},
    }
    (out / MANIFEST_NAME).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s to %s", ", ".join(f"{t}={len(f)}" for t, f in tables.items()), out)
    return out


CDNOW_CITATION = (
    "Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). 'Counting Your Customers' the Easy "
    "Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284. Data: "
    "B. G. S. Hardie, 'Notes on the CDNOW Master Data Set', brucehardie.com/notes/026/."
)
CDNOW_LICENCE = (
    "Read from the copies shipped in the lifetimes package (MIT licence, (c) 2015 Cameron "
    "Davidson-Pilon). Neither lifetimes nor the original distribution states a separate "
    "licence for the data; Fader and Hardie published it for research and teaching."
)

register(
    DatasetSource(
        name="synthetic",
        description=(
            "Synthetic CRM world with ground truth (every contract table; retail, finance "
            "or b2b profile; deterministic for a seed)."
        ),
        citation="crm-ml synthetic generator (crm_ml.datasets.synthetic).",
        licence="Generated data; no third-party rights.",
        writer="crm_ml.datasets.synthetic:generate_world",
    )
)
register(
    DatasetSource(
        name="cdnow",
        description=(
            "CDNOW master: every purchase of the 23,570 customers who first bought at CDNOW "
            "in 1997 Q1, up to 1998-06-30 (customers, one product, orders)."
        ),
        citation=CDNOW_CITATION,
        licence=CDNOW_LICENCE,
        writer="crm_ml.datasets.cdnow:write_cdnow",
        defaults={"sample": False},
    )
)
register(
    DatasetSource(
        name="cdnow-sample",
        description=(
            "CDNOW 1/10 sample used in the BG/NBD literature: 2,357 customers, 6,919 "
            "purchase records, 1997-01 to 1998-06."
        ),
        citation=CDNOW_CITATION,
        licence=CDNOW_LICENCE,
        writer="crm_ml.datasets.cdnow:write_cdnow",
        defaults={"sample": True},
    )
)
register(
    DatasetSource(
        name="subscriber-example",
        description=(
            "A single subscriber table in the shape of the public telecom churn tables "
            "(5,000 rows, a Yes/No Churn column, consent and e-mail columns, two bad rows): "
            "the example of `data.source: table` (configs/table.yaml)."
        ),
        citation="crm-ml example generator (crm_ml.datasets.examples.subscriber_table).",
        licence="Generated data; no third-party rights.",
        writer="crm_ml.datasets.examples:write_subscriber_table",
    )
)
