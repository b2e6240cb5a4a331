"""Each business rule, one by one, through the default rule chains (fails if a rule is removed)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from crm_ml.recsys.rules import (
    ANALYTICS_RULES,
    EXPORT_RULES,
    SOURCE_CODES,
    Candidates,
    RuleContext,
    apply_rules,
    first_proposal,
    position_in_group,
)

# 2 customers, 6 products in 3 categories: cat0 = {0, 1}, cat1 = {2, 3}, cat2 = {4, 5}
CATEGORY = np.array([0, 0, 1, 1, 2, 2], dtype=np.int32)


def context(
    bought: list[tuple[int, int]] = (),
    excluded: list[tuple[int, int]] = (),
    consent: tuple[bool, bool] = (True, True),
    repeatable: tuple[int, ...] = (),
    sensitive: tuple[int, ...] = (),
    cap: int | None = None,
    launched_later: tuple[int, ...] = (),
) -> RuleContext:
    def matrix(pairs, shape):
        rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)

    purchases = matrix(list(bought), (2, 6))
    onehot = sp.csr_matrix((np.ones(6, np.float32), (np.arange(6), CATEGORY)), shape=(6, 3))
    return RuleContext(
        purchase_counts=purchases,
        bought_categories=(purchases @ onehot).tocsr(),
        excluded=matrix(list(excluded), (2, 3)),
        consent=np.array(consent),
        category_codes=CATEGORY,
        is_repeatable=np.isin(np.arange(6), repeatable),
        is_sensitive=np.isin(np.arange(6), sensitive),
        category_cap=cap,
        on_sale=~np.isin(np.arange(6), launched_later),
    )


def every_item_for(user: int) -> Candidates:
    items = np.arange(6, dtype=np.int32)
    return Candidates(
        np.full(6, user, dtype=np.int32),
        items,
        np.linspace(1, 0.5, 6).astype(np.float32),
        np.full(6, SOURCE_CODES["als"], dtype=np.int8),
    )


def kept_items(ctx: RuleContext, user: int = 0, rules=EXPORT_RULES) -> set[int]:
    return set(apply_rules(every_item_for(user), ctx, rules).item.tolist())


def test_no_rule_fires_on_a_plain_customer():
    assert kept_items(context()) == set(range(6))


def test_bought_one_off_product_is_dropped_but_repeatable_may_come_back():
    ctx = context(bought=[(0, 1), (0, 2)], repeatable=(2,))
    assert kept_items(ctx) == {0, 2, 3, 4, 5}
    assert kept_items(ctx, rules=ANALYTICS_RULES) == {0, 2, 3, 4, 5}


def test_a_product_not_on_sale_yet_is_never_recommended():
    ctx = context(launched_later=(3,))
    assert kept_items(ctx) == {0, 1, 2, 4, 5}
    assert kept_items(ctx, rules=ANALYTICS_RULES) == {0, 1, 2, 4, 5}


def test_excluded_category_never_recommended():
    ctx = context(excluded=[(0, 1)])
    assert kept_items(ctx) == {0, 1, 4, 5}
    assert kept_items(ctx, user=1) == set(range(6))  # only the customer who asked


def test_sensitive_products_only_inside_their_purpose():
    ctx = context(bought=[(1, 5)], sensitive=(4,))
    assert 4 not in kept_items(ctx, user=0)  # never bought in cat2
    assert 4 in kept_items(ctx, user=1)  # bought product 5 of cat2 themselves


def test_customer_without_consent_is_not_exported_but_analysed():
    ctx = context(consent=(False, True))
    assert kept_items(ctx, user=0) == set()
    assert kept_items(ctx, user=1) == set(range(6))
    assert kept_items(ctx, user=0, rules=ANALYTICS_RULES) == set(range(6))


def test_category_cap_keeps_the_best_of_each_category():
    ctx = context(cap=1)
    assert kept_items(ctx) == {0, 2, 4}
    assert kept_items(ctx, rules=ANALYTICS_RULES) == {0, 2, 4}


def test_position_in_group_counts_per_key_in_order():
    users = np.array([0, 1, 0, 0, 1])
    cats = np.array([5, 5, 5, 6, 5])
    assert position_in_group(users, cats).tolist() == [0, 0, 1, 0, 1]


def test_first_proposal_keeps_the_first_source():
    c = Candidates(
        np.array([0, 0, 0], np.int32),
        np.array([3, 4, 3], np.int32),
        np.zeros(3, np.float32),
        np.array([SOURCE_CODES["als"], SOURCE_CODES["als"], SOURCE_CODES["popular"]], np.int8),
    )
    assert first_proposal(c).tolist() == [True, True, False]
