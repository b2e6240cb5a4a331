"""Publishing a run's outputs without ever exposing a half-written state.

Scores and reports are first written inside the run folder. Publishing copies each to a
versioned folder next to its destination (`prepare`: nothing a reader sees changes yet),
then swaps the destinations, symlinks, each with one atomic rename (`point`). A run's
scores, reports and champion promotions switch in one `Publication`: should any step fail,
every switch already made is undone, so readers see the previous good run or the new one,
never a mix, and a failed run publishes nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_VERSIONS = 3


def prepare(source: Path, destination: Path, version: str) -> Path:
    """A complete copy of `source` beside `destination`, named after `version`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    versioned = destination.parent / f".{destination.name}.{version}"
    staging = versioned.with_name(versioned.name + f".staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    shutil.rmtree(versioned, ignore_errors=True)
    staging.rename(versioned)
    return versioned


def point(link: Path, target: Path) -> Path:
    """Make `link` a symlink to `target`, swapped in with an atomic rename."""
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent), target_is_directory=True)
    if link.exists() and not link.is_symlink():
        # a real folder from before publishing existed: keep it aside, never delete data
        link.rename(link.with_name(f".{link.name}.pre-publish"))
    tmp.replace(link)
    return link


def _target(link: Path) -> Path | None:
    return link.resolve() if link.is_symlink() else None


class Publication:
    """Switches that succeed together or are all undone (use as a context manager)."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def point(self, link: Path, target: Path) -> None:
        previous = _target(link)
        point(link, target)
        self._undo.append((f"link {link}", lambda: self._restore(link, previous)))

    def step(self, what: str, do: Callable[[], object], undo: Callable[[object], None]) -> None:
        """Run `do()`; if the publication fails later, `undo(result)` takes it back."""
        result = do()
        self._undo.append((what, lambda: undo(result)))

    @staticmethod
    def _restore(link: Path, previous: Path | None) -> None:
        if previous is None:
            link.unlink(missing_ok=True)
        else:
            point(link, previous)

    def __enter__(self) -> Publication:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            return
        for what, undo in reversed(self._undo):
            try:
                undo()
            except Exception as exc:  # keep undoing the rest; say what could not be undone
                log.error("publishing failed and %s could not be restored: %s", what, exc)
        log.warning("publishing failed (%s): every switch it made was undone", error)


def prune(destination: Path) -> None:
    """Keep the newest few published versions; the current one is never removed."""
    current = destination.resolve()
    versions = sorted(
        (p for p in destination.parent.glob(f".{destination.name}.*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in versions[:-KEEP_VERSIONS]:
        if (
            old.resolve() != current
            and not old.name.endswith((".pre-publish",))
            and ".staging-" not in old.name
        ):
            shutil.rmtree(old, ignore_errors=True)
