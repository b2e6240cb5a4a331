"""The product catalogue as aligned numpy arrays, so rules and offers look items up by index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


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
    """

    product_ids: pd.Index
    categories: pd.Index
    category_codes: np.ndarray
    is_sensitive: np.ndarray
    is_repeatable: np.ndarray
    price: np.ndarray
    margin: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_products(cls, products: pd.DataFrame, default_margin_rate: float = 0.3) -> Catalogue:
        missing = {"product_id", "category", "price"} - set(products.columns)
        if missing:
            raise ValueError(f"table 'products' lacks required column(s) {sorted(missing)}")
        products = products.sort_values("product_id", kind="stable").reset_index(drop=True)
        if products["product_id"].duplicated().any():
            raise ValueError("table 'products': duplicate product_id; the key must be unique")
        category = products["category"].astype(str)
        categories = pd.Index(sorted(category.unique()), name="category")
        price = products["price"].astype("float64").fillna(0.0).to_numpy()
        if "margin" in products.columns:
            margin = products["margin"].astype("float64").fillna(0.0).to_numpy()
        else:
            margin = price * default_margin_rate
        if "subcategory" in products.columns:
            labels = (
                products["subcategory"].astype("string").fillna(category).to_numpy(dtype=object)
            )
        else:
            labels = category.to_numpy(dtype=object)
        return cls(
            product_ids=pd.Index(products["product_id"].astype(str), name="product_id"),
            categories=categories,
            category_codes=categories.get_indexer(category).astype(np.int32),
            is_sensitive=_bool_column(products, "is_sensitive"),
            is_repeatable=_bool_column(products, "is_repeatable"),
            price=price,
            margin=margin,
            labels=labels,
        )

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
