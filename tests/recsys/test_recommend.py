"""Served lists: slots, cold-start paths, top-up, sources, consent, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_ml.recsys.config import ModelConfig, RecsysConfig, RulesConfig
from crm_ml.recsys.recommend import RecommendationEngine, fit_engine

from .conftest import CUTOFF, make_world

CONFIG = RecsysConfig(model=ModelConfig(factors=16, iterations=5))


@pytest.fixture(scope="module")
def tables_with_newcomers(world):
    tables, _ = world
    tables = dict(tables)
    newcomers = pd.DataFrame(
        {
            "customer_id": pd.Series([f"new{i}" for i in range(4)], dtype="string[pyarrow]"),
            "signup_ts": [CUTOFF - pd.Timedelta(days=3)] * 4,
            "marketing_consent": pd.array([True] * 4, dtype="boolean"),
        }
    )
    tables["customers"] = pd.concat([tables["customers"], newcomers], ignore_index=True)
    return tables


@pytest.fixture(scope="module")
def engine(tables_with_newcomers) -> RecommendationEngine:
    customers = tables_with_newcomers["customers"]["customer_id"].astype(str)
    # segment "s0" is big enough to have its own list; newcomers 0-1 are in it
    segments = pd.Series(np.where(np.arange(len(customers)) % 2 == 0, "s0", "s1"), customers)
    return fit_engine(tables_with_newcomers, CUTOFF, CONFIG, segments=segments)


def test_every_row_says_its_source_and_lists_are_full(engine):
    recs = engine.recommend(export=False)
    assert set(recs["source"].astype(str)) <= {"als", "buy_again", "popular", "popular_segment"}
    sizes = recs.groupby("customer_id", observed=True).size()
    assert len(sizes) == engine.data.n_users
    assert (sizes == CONFIG.k).all()
    assert (
        recs.groupby("customer_id", observed=True)["rank"]
        .apply(lambda r: sorted(r) == list(range(1, CONFIG.k + 1)))
        .all()
    )


def test_buy_again_slots_hold_repeatable_items_the_customer_bought(engine):
    recs = engine.recommend(export=False)
    again = recs[recs["source"] == "buy_again"]
    assert len(again) > 0
    users = engine.data.customer_index(again["customer_id"].astype(str))
    items = engine.data.catalogue.product_ids.get_indexer(again["product_id"].astype(str))
    assert engine.data.catalogue.is_repeatable[items].all()
    assert (np.asarray(engine.data.purchase_counts[users, items]).ravel() > 0).all()
    per_customer = again.groupby("customer_id", observed=True).size()
    assert per_customer.max() <= CONFIG.rules.buy_again_slots
    main_ranks = recs[recs["source"] != "buy_again"].groupby("customer_id", observed=True)["rank"]
    last_main = main_ranks.max().reindex(per_customer.index)
    first_again = again.groupby("customer_id", observed=True)["rank"].min()
    assert (first_again > last_main).all()  # buy-again sits at the end of the list


def test_cold_start_customers_get_segment_or_global_popularity(engine):
    recs = engine.recommend(["new0", "new1", "new2", "new3"], export=False)
    sources = recs.groupby("customer_id", observed=True)["source"].agg(lambda s: set(s.astype(str)))
    assert sources["new0"] == {"popular_segment"}
    assert sources["new1"] == {"popular_segment"} or sources["new1"] == {"popular"}
    # newcomers never bought anything sensitive, so no sensitive product is shown to them
    items = engine.data.catalogue.product_ids.get_indexer(recs["product_id"].astype(str))
    assert not engine.data.catalogue.is_sensitive[items].any()


def test_segment_lists_differ_from_global(engine):
    recs = engine.recommend(["new0", "new1"], export=False)
    by = recs.groupby("customer_id", observed=True)["product_id"].agg(lambda s: list(s))
    assert by["new0"] != by["new1"]


def test_short_lists_are_topped_up_from_popularity():
    tables, _ = make_world(n_customers=200, n_products=120, seed=3)
    rules = RulesConfig(category_cap=2, overfetch_factor=1.0, overfetch_extra=0)
    engine = fit_engine(tables, CUTOFF, CONFIG.model_copy(update={"rules": rules}))
    recs = engine.recommend(export=False)
    assert (recs.groupby("customer_id", observed=True).size() == CONFIG.k).all()
    assert recs["source"].astype(str).str.startswith("popular").any()
    assert not recs.duplicated(["customer_id", "product_id"]).any()


def test_export_drops_customers_without_consent(engine, tables_with_newcomers):
    customers = tables_with_newcomers["customers"]
    refused = customers.loc[~customers["marketing_consent"].astype(bool), "customer_id"]
    exported = engine.recommend(export=True)
    assert len(refused) > 0
    assert not exported["customer_id"].astype(str).isin(refused.astype(str)).any()


def test_unknown_customers_get_no_rows(engine):
    recs = engine.recommend(["c00001", "not-a-customer"], export=False)
    assert set(recs["customer_id"].astype(str)) == {"c00001"}


def test_save_and_load_give_the_same_lists(engine, tmp_path):
    path = engine.save(tmp_path / "engine.pkl")
    again = RecommendationEngine.load(path)
    pd.testing.assert_frame_equal(
        engine.recommend(["c00001", "c00002"]), again.recommend(["c00001", "c00002"])
    )


def test_lists_do_not_depend_on_the_batch_size(engine):
    """Batches only bound memory: each customer's list is computed on its own."""
    whole = engine.recommend(export=False, batch_size=100_000)
    batched = engine.recommend(export=False, batch_size=7)
    pd.testing.assert_frame_equal(whole, batched)


# ---- minimal input: what each rule needs, and an export that drops everything says why ----

MINIMAL_CONFIG = RecsysConfig(model=ModelConfig(name="item_knn"))


@pytest.fixture(scope="module")
def orders_only(world) -> dict[str, pd.DataFrame]:
    tables, _ = world
    return {"orders": tables["orders"][["customer_id", "product_id", "ts"]]}


def test_orders_alone_give_full_lists_and_an_export_that_says_why_it_is_empty(orders_only, caplog):
    engine = fit_engine(orders_only, CUTOFF, MINIMAL_CONFIG)
    recs = engine.recommend(export=False)
    assert (recs.groupby("customer_id", observed=True).size() == MINIMAL_CONFIG.k).all()
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        exported = engine.recommend(export=True)
    assert len(exported) == 0
    assert "export is empty" in caplog.text
    assert "no 'marketing_consent' column" in caplog.text


def test_an_export_without_a_consenting_customer_says_so(world, caplog):
    tables, _ = world
    tables = dict(tables)
    tables["customers"] = tables["customers"].assign(marketing_consent=False)
    engine = fit_engine(tables, CUTOFF, MINIMAL_CONFIG)
    with caplog.at_level("WARNING", logger="crm_ml.recsys"):
        assert len(engine.recommend(["c00001", "c00002"], export=True)) == 0
    assert "none of the 2 customers has marketing_consent = true" in caplog.text


def test_default_category_cap_is_skipped_without_categories_with_a_note(orders_only, caplog):
    with caplog.at_level("INFO", logger="crm_ml.recsys"):
        engine = fit_engine(orders_only, CUTOFF, MINIMAL_CONFIG)
    assert engine.context.category_cap is None
    assert "no 'category' column: the per-category cap is skipped" in caplog.text


def test_rules_configured_explicitly_name_the_columns_they_lack(orders_only, world):
    explicit = RecsysConfig.model_validate({"rules": {"category_cap": 3}})
    with pytest.raises(ValueError, match=r"category_cap = 3 needs column 'category'"):
        fit_engine(orders_only, CUTOFF, explicit)
    tables, _ = world
    with_exclusions = {**orders_only, "exclusions": tables["exclusions"]}
    with pytest.raises(ValueError, match=r"'exclusions'.*lacks column 'category'"):
        fit_engine(with_exclusions, CUTOFF, MINIMAL_CONFIG)


def test_a_registered_engine_serves_newcomers_the_cold_start_path(engine, tables_with_newcomers):
    tables = tables_with_newcomers
    later = dict(tables)
    joined = pd.DataFrame(
        {
            "customer_id": pd.Series(["joined0", "joined1", "joined2"], dtype="string[pyarrow]"),
            "signup_ts": [CUTOFF + pd.Timedelta(days=5)] * 3,
            "marketing_consent": pd.array([True, True, False], dtype="boolean"),
        }
    )
    later["customers"] = pd.concat([tables["customers"], joined], ignore_index=True)
    category = str(tables["products"]["category"].iloc[0])
    new_product = tables["products"].head(1).assign(product_id="brand-new")
    later["products"] = pd.concat([tables["products"], new_product], ignore_index=True)
    later["exclusions"] = pd.DataFrame(
        {
            "customer_id": ["joined0"],
            "category": [category],
            "ts": [CUTOFF + pd.Timedelta(days=6)],
        }
    )
    served, new, unseen = engine.for_export_date(later, CUTOFF + pd.Timedelta(days=7))
    assert set(new) == {"joined0", "joined1", "joined2"} and list(unseen) == ["brand-new"]
    recs = served.recommend(export=True)
    newcomers = recs[recs["customer_id"].astype(str).str.startswith("joined")]
    # consenting newcomers get a full popularity list; the one without consent gets none
    assert set(newcomers["customer_id"].astype(str)) == {"joined0", "joined1"}
    assert set(newcomers["source"].astype(str)) == {"popular"}
    assert (newcomers.groupby("customer_id", observed=True).size() == CONFIG.k).all()
    # what joined0 dismissed after the engine was trained is respected
    assert category not in set(newcomers.loc[newcomers["customer_id"] == "joined0", "category"])
    assert "brand-new" not in set(recs["product_id"].astype(str))
    # customers the engine knew keep their lists
    before = engine.recommend(export=True)
    known = recs[~recs["customer_id"].astype(str).str.startswith("joined")]
    assert known["customer_id"].nunique() == before["customer_id"].nunique()
    # and one who is gone from the latest export (erased, say) has no consent on record
    gone = str(before["customer_id"].iloc[0])
    later["customers"] = later["customers"][later["customers"]["customer_id"] != gone]
    served, _, _ = engine.for_export_date(later, CUTOFF + pd.Timedelta(days=7))
    assert gone not in set(served.recommend(export=True)["customer_id"].astype(str))
