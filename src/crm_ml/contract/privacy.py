"""Pseudonymisation: raw customer identifiers never leave the contract layer.

A keyed HMAC (not a plain hash) so that nobody without the key can recompute a pseudonym
from a known customer number. The key comes from ``CRM_ML_PSEUDONYM_KEY``; the development
default is public, so using it is only fit for demo data and says so with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import warnings

import pandas as pd

KEY_ENV = "CRM_ML_PSEUDONYM_KEY"
DEVELOPMENT_KEY = "crm-ml-development-key-not-for-production"
PSEUDONYM_LENGTH = 20  # hex characters: 80 bits, collision-free far beyond 10^9 customers

log = logging.getLogger(__name__)


class DevelopmentKeyWarning(UserWarning):
    """The public development key is in use: pseudonyms are not secret."""


def pseudonym_key() -> bytes:
    """The HMAC key from the environment, or the development default with a warning."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key.encode()
    warnings.warn(
        f"{KEY_ENV} is not set: pseudonymising with the public development key. "
        f"Set {KEY_ENV} to a secret before loading real customer data.",
        DevelopmentKeyWarning,
        stacklevel=2,
    )
    return DEVELOPMENT_KEY.encode()


def key_fingerprint(key: bytes | None = None) -> str:
    """A one-way fingerprint of the pseudonym key (default: the key in use): models record
    it so that scoring can tell the key changed, without the key ever being stored."""
    key = pseudonym_key() if key is None else key
    return hashlib.sha256(b"crm-ml pseudonym key fingerprint\0" + key).hexdigest()[:16]


def pseudonymise_id(value: str, key: bytes) -> str:
    """The pseudonym of one identifier."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]


def pseudonymise_ids(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Replace every identifier by its keyed pseudonym; missing values stay missing.

    Each distinct value is hashed once, so a column of 30 million order lines over a
    million customers costs a million HMACs.
    """
    key = pseudonym_key() if key is None else key
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hashed = pd.array(
        [pseudonymise_id(str(v), key) for v in uniques] + [pd.NA], dtype="string[pyarrow]"
    )
    return pd.Series(hashed[codes], index=values.index, name=values.name)
