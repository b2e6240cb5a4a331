"""The catalogue covers every output column of every group, in order, and every reason
template formats on real rows."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from crm_ml.features import CATALOG, FeatureEngine, build_features, describe
from crm_ml.features.builder import ID_COLUMNS
from crm_ml.features.catalog import CUSTOMER_COLUMNS, catalog_frame, load_catalog
from crm_ml.features.config import SERVICE_TIERS
from crm_ml.features.groups import GROUPS, STEPS


@pytest.fixture(scope="module")
def features(world, cutoff) -> pd.DataFrame:
    return build_features(world, cutoff)


def test_every_output_column_is_in_the_catalog(features):
    produced = set(features.columns) - {"customer_id", "cutoff"}
    assert produced - set(CUSTOMER_COLUMNS) == set()
    assert set(CUSTOMER_COLUMNS) - produced == set(), (
        "catalog lists features the builder never makes"
    )


def test_each_groups_yaml_catalogues_exactly_the_columns_its_sql_outputs(world, cutoff):
    """Every output column of every group has an entry in the group's YAML, and every entry
    names a column the group outputs, in the order the SQL selects them."""
    with FeatureEngine(world) as engine:
        engine.stage(cutoff, [g.name for g in GROUPS])
        for group in GROUPS:
            described = engine.con.execute(f"DESCRIBE {group.table}").fetchall()
            output = [row[0] for row in described]
            assert output[0] == "customer_id", group.path
            assert output[1:] == list(group.columns), f"sql/groups/{group.name}.yaml"
            assert all(CATALOG[c].group == group.name for c in group.columns)


def test_catalog_lists_the_feature_table_columns_in_order(features):
    assert list(features.columns) == [*ID_COLUMNS, *CUSTOMER_COLUMNS]


def test_categories_are_the_service_tiers_and_make_the_only_categorical_column(features):
    assert {n: s.categories for n, s in CATALOG.items() if s.categories} == {
        "service_tier": SERVICE_TIERS
    }
    assert list(features["service_tier"].cat.categories) == list(SERVICE_TIERS)


def test_every_reason_template_formats_on_real_rows(features):
    rows = features.drop(columns=["customer_id", "cutoff"]).to_dict("records")
    for name in CUSTOMER_COLUMNS:
        spec = CATALOG[name]
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


def test_a_column_catalogued_twice_names_both_files():
    rfm = STEPS["rfm"]
    copy = replace(STEPS["basket"], columns={"orders_30d": rfm.columns["orders_30d"]})
    with pytest.raises(ValueError, match=r"groups/basket.yaml.*'orders_30d'.*groups/rfm.yaml"):
        load_catalog([rfm, copy])


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"description": "Orders."}, "an entry needs a `description` and a `reason`"),
        ({"description": "Orders.", "reason": "", "checks": []}, r"unknown key\(s\) \['checks'\]"),
        ({"description": "Orders.", "reason": " "}, "`reason` must be a non-empty text"),
        (
            {"description": "x", "reason": "{value}", "categories": "a"},
            "`categories` must be a list",
        ),
    ],
)
def test_a_malformed_entry_names_its_file_and_column(entry, problem):
    group = replace(STEPS["rfm"], columns={"orders_30d": entry})
    with pytest.raises(ValueError, match=rf"sql/groups/rfm.yaml, column 'orders_30d': {problem}"):
        load_catalog([group])
