"""safe_name: a data value (category, campaign, product...) never becomes a path as-is."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from crm_ml.naming import HASH_LENGTH, MAX_LENGTH, is_plain, safe_name

HOSTILE = [
    "Food/Drink",
    "Food Drink",
    "food drink",
    "Food_Drink",
    "FOOD DRINK",
    "Food\\Drink",
    "/",
    "\\",
    ".",
    "..",
    "../../etc",
    "../../etc/passwd",
    "..\\..\\windows",
    ".hidden",
    "-rf",
    "with space",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "nul\x00byte",
    "Café",
    "Cafe\u0301",  # the same word, decomposed: another value, so another name
    "Cafe",
    "食品",
    "飲料",
    "🍕",
    "🍔",
    "x" * 500,
    "x" * 499 + "y",
    "",
    " ",
    "CON",
    "books",
    "home_garden",
    "category:Food/Drink",
    "category:Food Drink",
    "=1+1",
    "\ud800",  # a lone surrogate still hashes
]
SAFE_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize("keep_plain", [False, True])
@pytest.mark.parametrize("prefix", ["", "training_", "propensity_"])
def test_names_are_safe_bounded_and_stable(prefix: str, keep_plain: bool) -> None:
    for value in HOSTILE:
        name = safe_name(value, prefix, keep_plain=keep_plain)
        assert SAFE_CHARACTERS.fullmatch(name), (value, name)
        assert 0 < len(name) <= MAX_LENGTH, (value, name)
        assert not name.startswith((".", "-")), (value, name)
        assert ".." not in name and "/" not in name and "\\" not in name
        assert name.startswith(prefix.rstrip("_"))  # "propensity-<hash>" for "食品"
        assert name == safe_name(value, prefix, keep_plain=keep_plain)  # stable


@pytest.mark.parametrize("keep_plain", [False, True])
def test_distinct_values_never_share_a_name(keep_plain: bool) -> None:
    values = [*HOSTILE, "food_drink", "food_drink-0123456789ab", "value", "cafe"]
    names = {safe_name(v, "propensity_", keep_plain=keep_plain) for v in values}
    assert len(names) == len(set(values))


def test_names_stay_readable() -> None:
    name = safe_name("Food/Drink", "propensity_")
    assert re.fullmatch(rf"propensity_food_drink-[0-9a-f]{{{HASH_LENGTH}}}", name), name
    assert safe_name("Café").startswith("cafe-")
    assert safe_name("食品", "training_").startswith("training-")  # only the hash is left
    assert safe_name("").startswith("value-")


def test_keep_plain_keeps_names_that_are_already_safe() -> None:
    assert safe_name("books", "propensity_", keep_plain=True) == "propensity_books"
    assert safe_name("home_garden", "propensity_", keep_plain=True) == "propensity_home_garden"
    assert is_plain("books") and not is_plain("Books") and not is_plain("a b")
    assert safe_name("Books", "propensity_", keep_plain=True) != "propensity_books"
    assert safe_name("books", "propensity_") != "propensity_books"  # hashed without the flag
    long_plain = "x" * 500
    assert len(safe_name(long_plain, "propensity_", keep_plain=True)) <= MAX_LENGTH


def test_writing_a_file_with_every_name_stays_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for value in HOSTILE:
        path = folder / f"{safe_name(value, 'training_')}.parquet"
        path.write_text(value, encoding="utf-8", errors="surrogatepass")
        assert path.resolve().parent == folder.resolve()
    assert len(list(folder.iterdir())) == len(HOSTILE)  # one file each, none overwritten
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing escaped the folder


def test_case_differences_survive_a_case_insensitive_file_system() -> None:
    """The slug is lowercase, so names that differ only by case still differ by hash."""
    names = [safe_name(v) for v in ("Food", "food", "FOOD")]
    assert len({n.lower() for n in names}) == 3


def test_unicode_normalisation_forms_are_distinct_values() -> None:
    composed, decomposed = "Café", unicodedata.normalize("NFD", "Café")
    assert composed != decomposed
    assert safe_name(composed) != safe_name(decomposed)


def test_bad_input_is_named() -> None:
    with pytest.raises(TypeError, match="safe_name needs a str value, got float"):
        safe_name(float("nan"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix 'a/b'"):
        safe_name("x", "a/b")
    with pytest.raises(ValueError, match="prefix 'a-b'"):
        safe_name("x", "a-b")
    with pytest.raises(ValueError, match="at most"):
        safe_name("x", "p" * MAX_LENGTH)
