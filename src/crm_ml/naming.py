"""Names built from data values: file names, folder names, registry names.

A customer's export decides what its categories, campaigns and products are called, and any
of them can be `Food/Drink`, `..`, a tab, 500 characters or an emoji. Used as a path such a
value escapes its folder or crashes the write; slugged naively, `Food/Drink` and
`Food Drink` become one name and silently share a file or a registry entry. `safe_name`
gives a name that is readable (an ASCII slug of the value) and collision-free (a short hash
of the exact value), so no data value ever becomes a path or a registered-model name as-is.

This module imports nothing from crm_ml, so every layer can use it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_LENGTH = 80  # far below the 255 bytes of common file systems and MLflow's name limits
HASH_LENGTH = 12  # hex characters (48 bits): a collision is ~1e-8 likely among 2,000 values
EMPTY_STEM = "value"  # the stem when neither prefix nor slug has a character left

_PREFIX = re.compile(r"[A-Za-z0-9_]*")  # no '-': it marks the hash (see `safe_name`)
_PLAIN = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(value: str) -> str:
    """Lowercase ASCII letters and digits of `value`, every other run as one `_` (accents
    dropped, so `Café` reads `cafe`; a name in another script may leave nothing)."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("_", ascii_text.lower()).strip("_")


def value_hash(value: str) -> str:
    """A short stable hash of the exact value (case, spaces, unicode): it is what keeps two
    values with the same slug apart."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:HASH_LENGTH]


def is_plain(value: str) -> bool:
    """True for a value that is its own slug (`books`, `home_garden`): safe as it is."""
    return _PLAIN.fullmatch(value) is not None


def safe_name(value: str, prefix: str = "", *, keep_plain: bool = False) -> str:
    """A file, folder or registry name for the data value `value`:
    `<prefix><slug>-<hash>`, e.g. `category:Food/Drink` -> `category_food_drink-<12 hex>`.

    Readable, because the slug shows which value it is; collision-free, because the hash
    is of the exact value, so `Food/Drink`, `Food Drink` and `food drink` get three names
    while the same value always gets the same one. At most MAX_LENGTH characters of
    `[A-Za-z0-9_-]`: never a `/`, `\\`, dot, space or control character, and never a
    leading `-` or `.`. With `keep_plain`, a value that is already a plain slug (see
    `is_plain`) keeps its old hash-free name `<prefix><value>` when it fits; still
    collision-free, since a hashed name always holds the `-` that a plain one never does.
    """
    if not isinstance(value, str):
        raise TypeError(f"safe_name needs a str value, got {type(value).__name__} {value!r}")
    room = MAX_LENGTH - len(prefix) - 1 - HASH_LENGTH
    if not _PREFIX.fullmatch(prefix) or room < 0:
        raise ValueError(
            f"safe_name prefix {prefix!r} must be at most {MAX_LENGTH - 1 - HASH_LENGTH} "
            "characters of letters, digits and '_'"
        )
    if keep_plain and is_plain(value) and len(prefix) + len(value) <= MAX_LENGTH:
        return prefix + value
    stem = (prefix + slug(value)[:room].rstrip("_")).rstrip("_") or EMPTY_STEM
    return f"{stem}-{value_hash(value)}"
