"""The product catalogue as aligned numpy arrays, so rules and offers look items up by index.

Only `product_id` is needed to recommend: `category` serves the category rules (cap,
exclusions, sensitive purpose) and `price` (or `margin`) the next-best-offer margin. Without a
products table the catalogue is every product seen in orders and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

NO_CATEGORY = "(no category)"


def _bool_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Optional boolean column of the contract; absent or missing means False (the safe side)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


@dataclass(frozen=True)
class Catalogue:
    """Products in a fixed order; item index `i` of every matrix is `product_ids[i]`.

    `labels` name a product in plain language for reasons (subcategory when present, else
    category); `margin` comes from an optional `margin` column or `price * default_margin_rate`.
    Without a `category` column every product is in one category, `NO_CATEGORY`, and
    `has_category` is False; without price and margin, `margin` is NaN and `has_margin` False.
    """

    product_ids: pd.Index
    categories: pd.Index
    category_codes: np.ndarray
    is_sensitive: np.ndarray
    is_repeatable: np.ndarray
    price: np.ndarray
    margin: np.ndarray
    labels: np.ndarray
    has_category: bool = True
    has_margin: bool = True

    def item_category(self) -> pd.Series:
        """Product id -> category name (the diversity metric's grouping)."""
        return pd.Series(self.categories[self.category_codes], index=self.product_ids)

    @classmethod
    def from_products(cls, products: pd.DataFrame, default_margin_rate: float = 0.3) -> Catalogue:
        """Catalogue of a products table; only `product_id` is required.

        Raises
        ------
        ValueError
            If `product_id` is missing or not unique.
        """
        if "product_id" not in products.columns:
            raise ValueError("table 'products' lacks required column(s) ['product_id']")
        products = products.assign(product_id=products["product_id"].astype(str))
        products = products.sort_values("product_id", kind="stable").reset_index(drop=True)
        if products["product_id"].duplicated().any():
            raise ValueError("table 'products': duplicate product_id; the key must be unique")
        has_category = "category" in products.columns
        category = (
            products["category"].astype(str)
            if has_category
            else pd.Series(NO_CATEGORY, index=products.index)
        )
        categories = pd.Index(sorted(category.unique()), name="category")
        has_price = "price" in products.columns
        price = (
            products["price"].astype("float64").fillna(0.0).to_numpy()
            if has_price
            else np.full(len(products), np.nan)
        )
        if "margin" in products.columns:
            margin = products["margin"].astype("float64").fillna(0.0).to_numpy()
        else:
            margin = price * default_margin_rate
        if "subcategory" in products.columns:
            labels = (
                products["subcategory"].astype("string").fillna(category).to_numpy(dtype=object)
            )
        elif has_category:
            labels = category.to_numpy(dtype=object)
        else:
            labels = products["product_id"].to_numpy(dtype=object)
        return cls(
            product_ids=pd.Index(products["product_id"].astype(str), name="product_id"),
            categories=categories,
            category_codes=categories.get_indexer(category).astype(np.int32),
            is_sensitive=_bool_column(products, "is_sensitive"),
            is_repeatable=_bool_column(products, "is_repeatable"),
            price=price,
            margin=margin,
            labels=labels,
            has_category=has_category,
            has_margin=has_price or "margin" in products.columns,
        )

    @classmethod
    def from_tables(
        cls, tables: Mapping[str, pd.DataFrame], default_margin_rate: float = 0.3
    ) -> Catalogue:
        """From `tables["products"]`, else from the product ids of orders (and events)."""
        if "products" in tables:
            return cls.from_products(tables["products"], default_margin_rate)
        ids = [tables["orders"]["product_id"]]
        events = tables.get("events")
        if events is not None and "product_id" in events.columns:
            ids.append(events["product_id"])
        seen = pd.concat(ids, ignore_index=True).dropna().astype(str).unique()
        return cls.from_products(pd.DataFrame({"product_id": seen}), default_margin_rate)

    @property
    def n_items(self) -> int:
        return len(self.product_ids)

    def category_onehot(self) -> sp.csr_matrix:
        """products x categories indicator, to roll item matrices up to categories."""
        n = self.n_items
        ones = np.ones(n, dtype=np.float32)
        return sp.csr_matrix(
            (ones, (np.arange(n), self.category_codes)), shape=(n, len(self.categories))
        )
