"""CDNOW: a real public purchase history in the contract, read offline from `lifetimes`.

Source
    CDNOW was an online music retailer. The data follow the cohort of 23,570 people who
    made their first-ever purchase at CDNOW in the first quarter of 1997, with every
    purchase up to 1998-06-30 (Hardie, "Notes on the CDNOW Master Data Set",
    brucehardie.com/notes/026/). The 1/10 sample (2,357 customers, 6,919 purchase records)
    is the one the BG/NBD paper fits: Fader, Hardie & Lee (2005), "'Counting Your
    Customers' the Easy Way", Marketing Science 24(2).

Licence note
    Both files are read from the copies shipped inside the `lifetimes` package
    (``lifetimes/datasets/CDNOW_master.txt`` and ``CDNOW_sample.txt``), which is MIT
    licensed ((c) 2015 Cameron Davidson-Pilon). That licence covers lifetimes; neither
    lifetimes nor the original distribution states a separate licence for the data, which
    Fader and Hardie published for research and teaching. Cite the paper when you use it.
    Nothing is downloaded: the files are on disk once `lifetimes` is installed.

File layout (whitespace separated, checked by `read_cdnow_records`)
    master: a header line, then ``customer_id date(YYYYMMDD) cds dollars``;
    sample: no header, ``customer_id sample_id date cds dollars`` where ``customer_id`` is
    the master id and ``sample_id`` (0001-2357) the id used by the BG/NBD literature.

Mapping into the contract
    customers  customer_id = the 5-digit CDNOW id as a string ("00004"); signup_ts = the
               first purchase (the cohort is defined by it). No personal data and no
               consent information exist: `marketing_consent` is left absent, so the loader
               treats every customer as not consenting and action lists stay empty.
    products   one product "cdnow-cd", category "music", price = total dollars / total
               CDs of the file (average price per CD: $14.81 sample, $14.89 master).
    orders     one row per purchase record; order_id = "cdnow-<record number in file>"
               (positional, so it carries no customer number); ts = the purchase day at
               00:00 UTC; amount = dollar value; quantity = CDs. 80 master records (8 in
               the sample) have $0 and stay valid; 255 master records repeat another record
               exactly and are kept as separate purchases, as in the literature.
    manifest   as_of = 1998-06-30T23:59:59Z, the end of the last purchase day.

The BG/NBD literature works in weeks from 1997-01-01 with calibration weeks 1-39
(to 1997-09-30) and holdout weeks 40-78 (to 1998-06-30), and counts transactions with
same-day purchases merged: see `cdnow_calibration_holdout`.
"""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path

import pandas as pd

from crm_ml.datasets.registry import get_source, write_source_tables

log = logging.getLogger(__name__)

PRODUCT_ID = "cdnow-cd"
PRODUCT_CATEGORY = "music"
STUDY_START = pd.Timestamp("1997-01-01", tz="UTC")
AS_OF = pd.Timestamp("1998-06-30T23:59:59", tz="UTC")
CALIBRATION_END = "1997-09-30"  # end of week 39
OBSERVATION_END = "1998-06-30"  # end of week 78

_FILES = {True: "CDNOW_sample.txt", False: "CDNOW_master.txt"}
_COLUMNS = {
    True: ["customer_id", "sample_id", "date", "cds", "dollars"],
    False: ["customer_id", "date", "cds", "dollars"],
}
_ID = "string[pyarrow]"


def cdnow_path(sample: bool = True) -> Path:
    """Where the installed `lifetimes` package keeps the CDNOW file."""
    path = Path(str(importlib.resources.files("lifetimes") / "datasets" / _FILES[sample]))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the CDNOW files ship with the 'lifetimes' package "
            "(pip install lifetimes==0.11.3)"
        )
    return path


def read_cdnow_records(sample: bool = True) -> pd.DataFrame:
    """The purchase records of one CDNOW file, in file order.

    Columns: customer_id (str), sample_id (str, sample file only), ts (UTC day),
    cds (int), dollars (float).
    """
    path = cdnow_path(sample)
    columns = _COLUMNS[sample]
    records = pd.read_csv(path, sep=r"\s+", header=None, names=columns, dtype=str)
    if len(records) and not str(records["date"].iloc[0]).isdigit():
        records = records.iloc[1:].reset_index(drop=True)  # the master file's header line
    try:
        records["ts"] = pd.to_datetime(records.pop("date"), format="%Y%m%d", utc=True)
        records["cds"] = records["cds"].astype("int64")
        records["dollars"] = records["dollars"].astype("float64")
    except ValueError as error:
        raise ValueError(f"{path}: unexpected content ({error}); expected {columns}") from error
    return records


def load_cdnow(sample: bool = True) -> dict[str, pd.DataFrame]:
    """CDNOW as raw contract tables (customers, products, orders), before the loader.

    Customer ids are the raw CDNOW numbers; the contract loader pseudonymises them.
    """
    records = read_cdnow_records(sample)
    customer_id = records["customer_id"].astype(_ID)
    customers = (
        pd.DataFrame({"customer_id": customer_id, "signup_ts": records["ts"]})
        .groupby("customer_id", sort=True, observed=True)["signup_ts"]
        .min()
        .reset_index()
    )
    price_per_cd = round(float(records["dollars"].sum() / records["cds"].sum()), 2)
    products = pd.DataFrame(
        {
            "product_id": pd.array([PRODUCT_ID], dtype=_ID),
            "category": pd.array([PRODUCT_CATEGORY], dtype=_ID),
            "price": [price_per_cd],
            "is_sensitive": pd.array([False], dtype="boolean"),
            "is_repeatable": pd.array([True], dtype="boolean"),
        }
    )
    record_number = pd.RangeIndex(1, len(records) + 1)
    orders = pd.DataFrame(
        {
            "order_id": pd.array([f"cdnow-{n:06d}" for n in record_number], dtype=_ID),
            "product_id": pd.array([PRODUCT_ID] * len(records), dtype=_ID),
            "customer_id": customer_id,
            "ts": records["ts"],
            "amount": records["dollars"],
            "quantity": records["cds"].astype("Int64"),
        }
    )
    log.info(
        "CDNOW %s: %d customers, %d orders, price per CD %.2f",
        "sample" if sample else "master",
        len(customers),
        len(orders),
        price_per_cd,
    )
    return {"customers": customers, "products": products, "orders": orders}


def write_cdnow(out_dir: str | Path, sample: bool = True) -> Path:
    """Write CDNOW as a contract source directory (Parquet tables + manifest.json)."""
    source = get_source("cdnow-sample" if sample else "cdnow")
    return write_source_tables(
        out_dir,
        load_cdnow(sample),
        as_of=AS_OF,
        manifest={
            "source": source.name,
            "description": source.description,
            "citation": source.citation,
            "licence": source.licence,
        },
    )


def cdnow_calibration_holdout(
    orders: pd.DataFrame,
    calibration_end: str | pd.Timestamp = CALIBRATION_END,
    observation_end: str | pd.Timestamp = OBSERVATION_END,
) -> pd.DataFrame:
    """Per-customer BG/NBD summary for a calibration period and the holdout after it.

    Takes contract orders (customer_id, ts, amount; raw or accepted) and returns, indexed
    by customer_id and in weeks: frequency_cal (repeat transactions), recency_cal (first
    to last transaction), T_cal (first transaction to calibration_end), monetary_value_cal
    (mean spend of repeat transactions), frequency_holdout (transactions in
    (calibration_end, observation_end]) and duration_holdout. Purchases on the same day
    count as one transaction, as in Fader, Hardie & Lee (2005); both ends are inclusive
    days. Customers whose first order falls after calibration_end are not in the result.
    The defaults are the literature's split of CDNOW: weeks 1-39 and 40-78.
    """
    from lifetimes.utils import calibration_and_holdout_data  # slow import, needed here only

    transactions = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str).to_numpy(),
            # lifetimes works on naive days; UTC days are the contract's days
            "day": pd.to_datetime(orders["ts"], utc=True).dt.tz_localize(None).dt.normalize(),
            "amount": orders["amount"].astype("float64").to_numpy(),
        }
    )
    summary = calibration_and_holdout_data(
        transactions,
        "customer_id",
        "day",
        calibration_period_end=pd.Timestamp(calibration_end),
        observation_period_end=pd.Timestamp(observation_end),
        freq="D",
        freq_multiplier=7,
        monetary_value_col="amount",
    )
    # lifetimes averages holdout spend per record, not per merged day: drop, don't mislead
    summary = summary.drop(columns="monetary_value_holdout")
    summary.index.name = "customer_id"
    return summary
