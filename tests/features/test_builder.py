"""The feature table: population, dtypes, inputs, skipped groups, consent, SLA config, output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crm_ml.features import FeatureConfig, FeatureEngine, build_features, write_features


def test_population_is_customers_signed_up_before_cutoff(world, cutoff):
    features = build_features(world, cutoff)
    customers = world["customers"]
    expected = set(customers.loc[customers["signup_ts"] < cutoff, "customer_id"])
    assert set(features["customer_id"]) == expected
    assert features["customer_id"].is_unique
    assert (features["cutoff"] == cutoff).all()


def test_features_are_float_except_service_tier(world, cutoff):
    features = build_features(world, cutoff)
    feature_columns = features.columns.drop(["customer_id", "cutoff", "service_tier"])
    assert all(features[c].dtype == np.float64 for c in feature_columns)
    assert isinstance(features["service_tier"].dtype, pd.CategoricalDtype)
    assert features.attrs["skipped_groups"] == {}


def test_features_do_not_depend_on_row_order_or_threads(world_factory, cutoff):
    """Same inputs, same features to the last bit: sums are exact, so neither the order of
    the rows nor how the threads split them changes a value (a model could split on it)."""
    tables = world_factory(seed=3, customers=300, orders=6_000, events=12_000)
    shuffled = {
        name: frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
        for name, frame in tables.items()
    }
    one_thread = build_features(tables, cutoff, FeatureConfig(duckdb_threads=1))
    two_threads = build_features(shuffled, cutoff, FeatureConfig(duckdb_threads=2))
    pd.testing.assert_frame_equal(one_thread, two_threads, check_exact=True)


def test_directory_input_matches_dict_input(world, cutoff, tmp_path):
    for name, frame in world.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    from_dir = build_features(tmp_path, cutoff)
    from_dict = build_features(world, cutoff)
    pd.testing.assert_frame_equal(from_dir, from_dict, rtol=1e-9)


def test_missing_optional_tables_skip_their_groups(world, cutoff):
    core = {k: world[k] for k in ("customers", "products", "orders")}
    features = build_features(core, cutoff)
    skipped = features.attrs["skipped_groups"]
    expected_skipped = {
        "engagement",
        "engagement_since_order",
        "service",
        "service_resolution",
        "service_response",
        "service_csat",
        "service_at_last_order",
        "campaigns",
        "campaign_responses",
        "campaigns_since_order",
        "nps",
        "exclusions",
    }
    assert set(skipped) == expected_skipped
    assert "input lacks events" in skipped["engagement"]
    assert "days_since_last_event" not in features
    assert "net_spend_365d" in features


def test_missing_optional_columns_skip_only_groups_needing_them(world, cutoff):
    tables = dict(world)
    tables["tickets"] = world["tickets"].drop(columns=["first_response_ts", "csat"])
    tables["orders"] = world["orders"].drop(columns=["quantity", "channel", "is_return"])
    tables["customers"] = world["customers"].drop(columns=["birth_year"])
    features = build_features(tables, cutoff)
    skipped = features.attrs["skipped_groups"]
    assert set(skipped) == {
        "service_response",
        "service_csat",
        "service_at_last_order",
        "basket",
        "channel_mix",
        "demographics",
    }
    assert skipped["service_response"] == "input lacks tickets.first_response_ts"
    assert "complaints_unresolved" in features
    # is_return is recovered from negative amounts, so returns still count.
    full = build_features(world, cutoff).set_index("customer_id")
    partial = features.set_index("customer_id")
    pd.testing.assert_series_equal(partial["return_rate_365d"], full["return_rate_365d"])


def test_missing_required_table_is_a_clear_error(world, cutoff):
    with pytest.raises(ValueError, match="no `orders` table"):
        build_features({"customers": world["customers"], "products": world["products"]}, cutoff)


def test_missing_required_column_names_table_and_column(world, cutoff):
    tables = dict(world)
    tables["events"] = world["events"].drop(columns=["event_type"])
    with pytest.raises(ValueError, match=r"`events` lacks required column\(s\) \['event_type'\]"):
        build_features(tables, cutoff)


def _consent_world(world, updated):
    customers = world["customers"].iloc[:3].copy()
    customers["signup_ts"] = pd.Timestamp("2020-01-01", tz="UTC")
    customers["marketing_consent"] = pd.array([True, True, False], dtype="boolean")
    customers["consent_updated_ts"] = pd.Series(updated, dtype="datetime64[ns, UTC]")
    return {**world, "customers": customers}


def test_consent_is_placed_in_time(world, cutoff):
    before, after = cutoff - pd.Timedelta(days=1), cutoff + pd.Timedelta(days=1)
    tables = _consent_world(world, [before, after, pd.NaT])
    consent = build_features(tables, cutoff).set_index("customer_id")["marketing_consent"]
    ids = tables["customers"]["customer_id"]
    assert consent[ids[0]] == 1.0  # updated before the cutoff: known then
    assert np.isnan(consent[ids[1]])  # updated after: the earlier value is unknown
    assert consent[ids[2]] == 0.0  # never updated: held since signup


def test_consent_without_update_column_is_trusted_only_from_the_export(world, cutoff):
    tables = _consent_world(world, [pd.NaT] * 3)
    tables["customers"] = tables["customers"].drop(columns=["consent_updated_ts"])
    historical = build_features(tables, cutoff)
    assert historical["marketing_consent"].isna().all()
    export = FeatureConfig(export_as_of=cutoff)
    at_export = build_features(tables, cutoff, export)
    assert at_export["marketing_consent"].tolist() == [1.0, 1.0, 0.0]


def test_export_date_is_read_from_manifest(world, cutoff, tmp_path):
    tables = _consent_world(world, [pd.NaT] * 3)
    tables["customers"] = tables["customers"].drop(columns=["consent_updated_ts"])
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"as_of": cutoff.isoformat()}))
    assert build_features(tmp_path, cutoff)["marketing_consent"].notna().all()


def test_sla_targets_per_tier_change_breaches(world, cutoff):
    default = build_features(world, cutoff).set_index("customer_id")
    strict_core = {
        "core": {"complaint": 1.0, "fault": 1.0, "consult": 1.0},
        "regular": {"complaint": 30.0, "fault": 120.0, "consult": 60.0},
        "potential": {"complaint": 30.0, "fault": 120.0, "consult": 60.0},
    }
    strict = build_features(world, cutoff, FeatureConfig(sla_target_minutes=strict_core))
    strict = strict.set_index("customer_id")
    core = default["service_tier"] == "core"
    assert (strict.loc[core, "sla_breaches_365d"] >= default.loc[core, "sla_breaches_365d"]).all()
    assert (
        strict.loc[core, "sla_breaches_365d"].sum() > default.loc[core, "sla_breaches_365d"].sum()
    )
    pd.testing.assert_series_equal(
        strict.loc[~core, "sla_breaches_365d"], default.loc[~core, "sla_breaches_365d"]
    )


def test_incomplete_sla_config_is_rejected():
    with pytest.raises(ValueError, match="lacks"):
        FeatureConfig(sla_target_minutes={"core": {"complaint": 10.0}})


def test_engine_reuses_tables_across_cutoffs(world, cutoff):
    with FeatureEngine(world) as engine:
        first = engine.features(cutoff - pd.Timedelta(days=30))
        second = engine.features(cutoff)
    assert len(first) <= len(second)
    pd.testing.assert_frame_equal(second, build_features(world, cutoff), rtol=1e-9)


def test_write_features_writes_parquet(world, cutoff, tmp_path):
    features = build_features(world, cutoff)
    path = write_features(features, tmp_path / "processed")
    assert path.name == "features_20230701.parquet"
    back = pd.read_parquet(path)
    assert back.shape == features.shape
    assert list(back.columns) == list(features.columns)
