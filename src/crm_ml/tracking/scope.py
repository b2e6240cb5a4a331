"""What a registered model belongs to: the data source it learned from and the pseudonym key.

A churn model trained on the synthetic world is no champion for a company's own exports,
and a recommender that knows customers by the pseudonyms of one key knows nobody under
another. So:

- every registered model name carries its source (`churn.cdnow-sample`, `recsys.<source>`),
  so the gate only ever compares a challenger with a champion of the same data, and a
  run on one source never replaces (or is scored with) another source's models;
- every version carries the fingerprint of the pseudonym key it was trained under (a
  one-way hash, never the key); scoring refuses a champion of another key, and the gate
  does not let such a champion block a challenger (their pseudonyms are not comparable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm_ml.contract.errors import ContractError
from crm_ml.naming import safe_name

SOURCE_TAG = "crm_ml.source"
KEY_TAG = "crm_ml.key_fingerprint"


class ModelScopeError(ContractError):
    """A registered model belongs to another source or pseudonym key; the message says
    which and what to do (a ContractError, so every command prints it on one line)."""


@dataclass(frozen=True)
class ModelScope:
    """The source (`crm_ml.pipeline.data.data_source`) and the key fingerprint
    (`crm_ml.contract.privacy.key_fingerprint`) of one run's data."""

    source: str
    key_fingerprint: str

    def registry_name(self, name: str) -> str:
        """`name` (a family, or `propensity_<category>`) qualified by the source."""
        return f"{name}.{safe_name(self.source, keep_plain=True)}"

    @property
    def tags(self) -> dict[str, str]:
        return {SOURCE_TAG: self.source, KEY_TAG: self.key_fingerprint}

    def mismatch(self, tags: Mapping[str, str]) -> str | None:
        """Why a version with these tags does not belong to this scope, or None."""
        source, key = tags.get(SOURCE_TAG), tags.get(KEY_TAG)
        if source is not None and source != self.source:
            return f"it was trained on source {source!r}, not {self.source!r}"
        if key is None:
            return "it records no pseudonym key fingerprint (trained before models were scoped)"
        if key != self.key_fingerprint:
            return (
                "it was trained under another pseudonym key (CRM_ML_PSEUDONYM_KEY changed), so "
                "its customer ids are not this data's"
            )
        return None
