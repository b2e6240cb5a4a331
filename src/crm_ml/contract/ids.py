"""Identifiers as the contract compares them.

Every id is stripped of surrounding whitespace and put in Unicode NFC, so that one id
written by two systems (a trailing space, an accent composed or decomposed) is one id.
Case is kept: some CRMs' ids are case-sensitive (Salesforce's 15-character ids), so
"C001" and "c001" may be two customers. Erasure is the exception: a request to be
forgotten matches ids ignoring case as well, because missing one is worse than also
erasing a case-variant id. Ids that differ from another only in case or surrounding
whitespace are counted, never listed: an id is personal data.
"""

from __future__ import annotations

import unicodedata

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pd.StringDtype("pyarrow")


def normalise_ids(text: pd.Series) -> pd.Series:
    """Ids stripped and in NFC; blank ids become missing. `text` is a text series."""
    stripped = text.astype(TEXT).str.strip()
    return _nfc(stripped.mask(stripped == ""))


def match_keys(text: pd.Series) -> pd.Series:
    """The form erasure entries and ids are matched in: normalised, then lower case."""
    return normalise_ids(text).str.lower()


def count_near_duplicates(raw: pd.Series) -> int:
    """How many distinct raw ids share their match key with another distinct raw id.

    Exact repeats are not counted (they are duplicate keys, quarantined with a reason);
    " C001" beside "C001", or "c001" beside "C001", are: two ids, one person, maybe.
    """
    values = pa.array(raw.astype(TEXT).array).drop_null()
    distinct = pc.unique(values)
    if len(distinct) < 2:
        return 0
    keys = match_keys(pd.Series(pd.arrays.ArrowStringArray(distinct)))
    sizes = keys.value_counts(dropna=True)
    return int(sizes[sizes > 1].sum())


def _nfc(text: pd.Series) -> pd.Series:
    """NFC form, computed only for the values that are not ASCII (usually none).

    Python's unicodedata rather than pyarrow's utf8_normalize, which (pyarrow 25) returns
    decomposed text unchanged when asked for NFC.
    """
    ascii_only = pc.fill_null(pc.string_is_ascii(pa.array(text.array)), True)
    other = pd.Series(~ascii_only.to_numpy(zero_copy_only=False), index=text.index)
    if not other.any():
        return text
    composed = text[other].map(lambda value: unicodedata.normalize("NFC", value))
    return text.where(~other, composed.astype(TEXT))
