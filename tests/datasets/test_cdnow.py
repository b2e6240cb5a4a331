"""CDNOW adapter: published counts, contract validity, and the BG/NBD literature figures."""

from __future__ import annotations

import importlib.resources
import json

import numpy as np
import pandas as pd
import pytest

from crm_ml.contract import load_tables
from crm_ml.datasets.cdnow import (
    AS_OF,
    PRODUCT_ID,
    cdnow_calibration_holdout,
    load_cdnow,
    read_cdnow_records,
    write_cdnow,
)

# Fader, Hardie & Lee (2005), BG/NBD fitted on the 2,357-customer sample, weeks 1-39.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions",
# on the same calibration weeks (lifetimes' own tests check the same four figures).
PUBLISHED_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def master() -> dict[str, pd.DataFrame]:
    return load_cdnow(sample=False)


@pytest.fixture(scope="module")
def calibration(sample: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return cdnow_calibration_holdout(sample["orders"])


def test_sample_has_the_published_counts(sample: dict[str, pd.DataFrame]) -> None:
    assert len(sample["customers"]) == 2357
    assert len(sample["orders"]) == 6919
    assert sample["orders"]["customer_id"].nunique() == 2357
    assert sample["orders"]["order_id"].is_unique


def test_master_has_the_published_counts(master: dict[str, pd.DataFrame]) -> None:
    assert len(master["customers"]) == 23570
    assert len(master["orders"]) == 69659
    assert master["orders"]["order_id"].is_unique


@pytest.mark.parametrize("which", ["sample", "master"])
def test_purchases_span_1997_01_to_1998_06_and_the_cohort_joined_in_q1(
    which: str, request: pytest.FixtureRequest
) -> None:
    tables = request.getfixturevalue(which)
    ts = tables["orders"]["ts"]
    assert str(ts.dt.tz) == "UTC"
    assert ts.min() == pd.Timestamp("1997-01-01", tz="UTC")
    assert ts.max() == pd.Timestamp("1998-06-30", tz="UTC")
    assert tables["customers"]["signup_ts"].max() < pd.Timestamp("1997-04-01", tz="UTC")
    first_order = tables["orders"].groupby("customer_id")["ts"].min()
    signup = tables["customers"].set_index("customer_id")["signup_ts"]
    pd.testing.assert_series_equal(first_order.sort_index(), signup.sort_index(), check_names=False)


def test_orders_keep_zero_dollar_records_and_count_cds(sample: dict[str, pd.DataFrame]) -> None:
    orders = sample["orders"]
    assert (orders["amount"] == 0).sum() == 8
    assert (orders["amount"] >= 0).all()
    assert (orders["quantity"] >= 1).all()
    assert (orders["product_id"] == PRODUCT_ID).all()
    records = read_cdnow_records(sample=True)
    assert orders["quantity"].sum() == records["cds"].sum()
    assert orders["amount"].sum() == pytest.approx(records["dollars"].sum())


def test_product_price_is_the_average_price_per_cd(sample: dict[str, pd.DataFrame]) -> None:
    orders = sample["orders"]
    expected = orders["amount"].sum() / orders["quantity"].sum()
    assert sample["products"]["price"].iloc[0] == pytest.approx(expected, abs=0.005)
    assert sample["products"]["category"].iloc[0] == "music"


def test_sample_records_are_the_master_records_of_the_same_customers(
    sample: dict[str, pd.DataFrame], master: dict[str, pd.DataFrame]
) -> None:
    columns = ["customer_id", "ts", "amount", "quantity"]
    in_sample = master["orders"]["customer_id"].isin(sample["customers"]["customer_id"])
    from_master = master["orders"].loc[in_sample, columns].sort_values(columns)
    from_sample = sample["orders"][columns].sort_values(columns)
    pd.testing.assert_frame_equal(
        from_master.reset_index(drop=True), from_sample.reset_index(drop=True)
    )


@pytest.mark.parametrize("use_sample", [True, False])
def test_written_tables_pass_the_contract_with_nothing_quarantined(
    tmp_path, use_sample: bool
) -> None:
    out = write_cdnow(tmp_path / "cdnow", sample=use_sample)
    manifest = json.loads((out / "manifest.json").read_text())
    assert pd.Timestamp(manifest["as_of"]) == AS_OF
    result = load_tables(out, quarantine_dir=None, key=b"test-key", progress=False)
    report = result.report_frame().set_index("table")
    assert report["quarantined"].sum() == 0
    assert report["erased"].sum() == 0
    customers = 2357 if use_sample else 23570
    orders = 6919 if use_sample else 69659
    assert report.loc["customers", "accepted"] == customers
    assert report.loc["orders", "accepted"] == orders
    assert manifest["rows"] == {"customers": customers, "products": 1, "orders": orders}
    accepted_ids = result.tables["customers"]["customer_id"]
    assert accepted_ids.str.fullmatch(r"[0-9a-f]{20}").all()  # pseudonymised by the loader


def test_writing_twice_gives_the_same_bytes(tmp_path) -> None:
    first = write_cdnow(tmp_path / "a", sample=True)
    second = write_cdnow(tmp_path / "b", sample=True)
    names = sorted(p.name for p in first.iterdir())
    assert names == ["customers.parquet", "manifest.json", "orders.parquet", "products.parquet"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_calibration_summary_matches_the_published_cdnow_summary(
    calibration: pd.DataFrame,
) -> None:
    """lifetimes ships Hardie's own weeks 1-39 summary, keyed by the sample's 1-2357 id."""
    published = pd.read_csv(
        importlib.resources.files("lifetimes") / "datasets" / "cdnow_customers_summary.csv"
    )
    ids = read_cdnow_records(sample=True).drop_duplicates("customer_id")
    literature_id = ids.set_index("customer_id")["sample_id"].astype(int)
    ours = calibration.join(literature_id).set_index("sample_id").sort_index()
    published = published.set_index("ID").sort_index()
    assert ours.index.equals(published.index)
    np.testing.assert_array_equal(ours["frequency_cal"], published["frequency"])
    np.testing.assert_allclose(ours["recency_cal"], published["recency"], atol=0.006)
    np.testing.assert_allclose(ours["T_cal"], published["T"], atol=0.006)
    assert ours["frequency_cal"].sum() == 2457  # repeat transactions, same-day merged


def test_holdout_counts_distinct_purchase_days_in_weeks_40_to_78(
    sample: dict[str, pd.DataFrame], calibration: pd.DataFrame
) -> None:
    orders = sample["orders"]
    in_holdout = orders["ts"].between(
        pd.Timestamp("1997-10-01", tz="UTC"), pd.Timestamp("1998-06-30", tz="UTC")
    )
    days = orders[in_holdout].drop_duplicates(["customer_id", "ts"])
    expected = days.groupby("customer_id").size().reindex(calibration.index, fill_value=0)
    np.testing.assert_array_equal(calibration["frequency_holdout"], expected)
    assert (calibration["duration_holdout"] == 39).all()
    assert calibration["frequency_holdout"].sum() < in_holdout.sum()  # same-day merges happen


def test_bgnbd_fit_replicates_fader_hardie_lee_2005(calibration: pd.DataFrame) -> None:
    from lifetimes import BetaGeoFitter

    fitter = BetaGeoFitter().fit(
        calibration["frequency_cal"], calibration["recency_cal"], calibration["T_cal"]
    )
    for name, published in PUBLISHED_BGNBD.items():
        assert fitter.params_[name] == pytest.approx(published, rel=0.01), name


def test_pareto_nbd_baseline_replicates_fader_hardie_2005(calibration: pd.DataFrame) -> None:
    from crm_ml.models import ParetoNbdBaseline

    inputs = calibration.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )[["frequency", "recency", "T"]].reset_index(drop=True)
    baseline = ParetoNbdBaseline(
        target="transactions", columns=None, horizon_days=39 * 7.0, penalizer=0.0
    )
    expected = baseline.predict(inputs)
    (fitted,) = baseline.fitted.values()
    for name, published in PUBLISHED_PARETO_NBD.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name
    # the holdout weeks 40-78 in aggregate: 1,666 forecast against 1,882 repeat purchases
    assert expected.sum() == pytest.approx(calibration["frequency_holdout"].sum(), rel=0.15)


def test_calibration_works_on_accepted_pseudonymised_orders(
    tmp_path, calibration: pd.DataFrame
) -> None:
    out = write_cdnow(tmp_path / "cdnow", sample=True)
    accepted = load_tables(out, quarantine_dir=None, key=b"test-key", progress=False)
    summary = cdnow_calibration_holdout(accepted.tables["orders"])
    columns = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout"]
    pd.testing.assert_frame_equal(
        summary[columns].sort_values(columns).reset_index(drop=True),
        calibration[columns].sort_values(columns).reset_index(drop=True),
    )
