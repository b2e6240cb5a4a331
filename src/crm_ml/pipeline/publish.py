"""Publishing a run's outputs without ever exposing a half-written state.

Scores and reports are first written inside the run folder. Publishing copies them to a
versioned folder next to the destination and then swaps the destination, a symlink, with
one atomic rename: a reader sees the previous good version or the new one, never a mix,
and a failed run publishes nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

KEEP_VERSIONS = 3


def publish(source: Path, destination: Path, version: str) -> Path:
    """Make `destination` point at a copy of `source` named after `version`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    versioned = destination.parent / f".{destination.name}.{version}"
    staging = versioned.with_name(versioned.name + f".staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    shutil.rmtree(versioned, ignore_errors=True)
    staging.rename(versioned)
    point(destination, versioned)
    _prune(destination)
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


def _prune(destination: Path) -> None:
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
