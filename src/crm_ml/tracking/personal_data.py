"""Refuse to write personal data into the tracking store.

MLflow artifacts are copied, shared and kept for years, so anything logged there must be
free of personal data (DESIGN.md, "Data contract"). The policy:

- columns named like direct identifiers (``name``, ``email``, ``phone`` and their usual
  variants) are always refused: they never leave the contract layer;
- ``customer_id`` is refused by default, because a model has no business taking a customer
  identifier as a feature and tables of results should be aggregates. With
  ``allow_pseudonymised_ids=True`` it is accepted only if every value is a pseudonym as
  produced by ``crm_ml.contract.privacy`` (20 lower-case hex characters), so a raw
  customer number cannot slip through under that flag;
- any text value that looks like an e-mail address is refused, whatever its column is called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from crm_ml.contract.privacy import PSEUDONYM_LENGTH
from crm_ml.errors import CrmMlError

DIRECT_IDENTIFIERS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "email_address",
        "phone",
        "phone_number",
        "mobile",
    }
)
PSEUDONYMISABLE_IDS = frozenset({"customer_id"})
_PSEUDONYM = re.compile(rf"[0-9a-f]{{{PSEUDONYM_LENGTH}}}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}")


class PersonalDataError(CrmMlError, ValueError):
    """A frame or name list about to be logged contains personal data."""


def check_no_personal_data(
    frame: pd.DataFrame, what: str, *, allow_pseudonymised_ids: bool = False
) -> None:
    """Raise :class:`PersonalDataError` naming every offending column of ``frame``.

    ``what`` names the artifact in the message ("input example", "baseline table").
    """
    problems = _column_name_problems(map(str, frame.columns), allow_pseudonymised_ids)
    for column in frame.columns:
        series = frame[column]
        if not _is_text(series):
            continue
        values = series.dropna().astype(str)
        key = str(column).lower()
        if key in PSEUDONYMISABLE_IDS and allow_pseudonymised_ids:
            raw = values[~values.map(lambda v: bool(_PSEUDONYM.fullmatch(v)))]
            if len(raw):
                problems.append(
                    f"{column} holds {len(raw)} value(s) that are not pseudonyms "
                    f"({PSEUDONYM_LENGTH} hex characters)"
                )
        if values.map(lambda v: bool(_EMAIL.search(v))).any():
            problems.append(f"{column} holds e-mail addresses")
    _raise_if_any(problems, what)


def check_no_personal_names(
    names: Iterable[str], what: str, *, allow_pseudonymised_ids: bool = False
) -> None:
    """Raise when a list of names (e.g. features) contains a personal-data column."""
    _raise_if_any(_column_name_problems(names, allow_pseudonymised_ids), what)


def _column_name_problems(names: Iterable[str], allow_pseudonymised_ids: bool) -> list[str]:
    problems = []
    for name in names:
        key = name.lower()
        if key in DIRECT_IDENTIFIERS:
            problems.append(f"{name} is a direct identifier")
        elif key in PSEUDONYMISABLE_IDS and not allow_pseudonymised_ids:
            problems.append(
                f"{name} is a customer identifier (pass allow_pseudonymised_ids=True "
                "only if it holds pseudonyms and must be kept)"
            )
    return problems


def _is_text(series: pd.Series) -> bool:
    return (
        pd.api.types.is_string_dtype(series.dtype)
        or pd.api.types.is_object_dtype(series.dtype)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _raise_if_any(problems: list[str], what: str) -> None:
    if problems:
        raise PersonalDataError(
            f"refusing to log the {what}: it contains personal data: "
            + "; ".join(problems)
            + ". Drop these columns before logging."
        )
