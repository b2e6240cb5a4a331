"""Content fingerprints of training data, so a run says exactly which data it saw.

``fingerprint_frame`` hashes values, not bytes on disk: the same frame read back from
Parquet written twice (whose files differ in metadata) gets the same fingerprint.
``fingerprint_files`` hashes raw file bytes, for inputs that are files (exports, manifests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

_CHUNK = 1 << 20


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """SHA-256 over every column's name, dtype and values, in row order.

    Row order counts (a shuffled frame is a different training input for time-ordered
    splits); column order and the index do not (they are layout, not data). Values are
    hashed with pandas' vectorised ``hash_pandas_object``, so a million rows take well
    under a second.
    """
    digest = hashlib.sha256()
    digest.update(f"rows={len(frame)}".encode())
    for column in sorted(frame.columns, key=str):
        series = frame[column]
        digest.update(f"|{column}:{series.dtype}|".encode())
        digest.update(_hash_values(series))
    return digest.hexdigest()


def _hash_values(series: pd.Series) -> bytes:
    """Per-row 64-bit hashes of a column as bytes; unhashable objects hashed via ``str``."""
    try:
        hashed = pd.util.hash_pandas_object(series, index=False)
    except TypeError:
        hashed = pd.util.hash_pandas_object(series.map(str), index=False)
    return hashed.to_numpy().tobytes()


def fingerprint_files(paths: Iterable[Path | str]) -> str:
    """SHA-256 over the names and bytes of files (folders are walked recursively).

    A file is named by its base name, a file inside a folder by its path within the folder;
    files are hashed in order of those names, so neither the argument order nor where the
    folder lives changes the result.
    """
    entries: list[tuple[str, Path]] = []
    for path in map(Path, paths):
        if path.is_dir():
            entries += [
                (file.relative_to(path).as_posix(), file)
                for file in path.rglob("*")
                if file.is_file()
            ]
        elif path.is_file():
            entries.append((path.name, path))
        else:
            raise FileNotFoundError(f"cannot fingerprint {path}: no such file or folder")
    digest = hashlib.sha256()
    for label, file in sorted(entries):
        digest.update(f"|{label}:{file.stat().st_size}|".encode())
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
