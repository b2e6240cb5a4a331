"""The catalogue covers every output column, and every reason template formats on real rows."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.features import CATALOG, build_features, describe
from crm_ml.features.catalog import catalog_frame
from crm_ml.features.groups import GROUP_NAMES, read_sql


@pytest.fixture(scope="module")
def features(world, cutoff) -> pd.DataFrame:
    return build_features(world, cutoff)


def test_every_output_column_is_in_the_catalog(features):
    produced = set(features.columns) - {"customer_id", "cutoff"}
    assert produced - set(CATALOG) == set()
    assert set(CATALOG) - produced == set(), "catalog lists features the builder never makes"


def test_every_feature_is_named_in_its_groups_sql(features):
    for name, spec in CATALOG.items():
        assert spec.group in GROUP_NAMES, name
        assert f"AS {name}" in read_sql(spec.group), f"{name} not produced by sql/{spec.group}.sql"


def test_every_reason_template_formats_on_real_rows(features):
    rows = features.drop(columns=["customer_id", "cutoff"]).to_dict("records")
    for name, spec in CATALOG.items():
        for row in rows:
            text = spec.reason.format(value=row[name], **row)
            assert text and "{" not in text, (name, text)


def test_reason_reads_like_the_design_example():
    row = {"days_since_last_order": 74.2, "mean_days_between_orders": 21.4}
    spec = CATALOG["days_since_last_order"]
    assert spec.reason.format(value=74.2, **row) == "no order for 74 days, usually every 21"
    assert CATALOG["complaints_unresolved"].reason.format(value=2.0) == "2 unresolved complaints"


def test_describe_gives_the_description_and_names_unknown_features():
    assert describe("tenure_days") == "Days since the customer signed up."
    with pytest.raises(KeyError, match="not_a_feature"):
        describe("not_a_feature")
    frame = catalog_frame()
    assert list(frame.columns) == ["name", "group", "description", "reason"]
    assert frame["description"].str.len().gt(10).all()
