"""An exclusive lock on the experiments folder, so two runs never write it at once.

Runs are serialised rather than failed: a scheduler's refresh that starts while a data
scientist's run is still going waits for it (and says so) instead of corrupting the
MLflow store or racing on `reports/latest`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def exclusive(lock_file: Path, timeout_s: float = 6 * 3600) -> Iterator[None]:
    """Hold an exclusive advisory lock on `lock_file`, waiting up to `timeout_s`."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as fh:
        start = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.warning("another crm-ml run holds %s; waiting for it to finish", lock_file)
                    announced = True
                if time.monotonic() - start > timeout_s:
                    raise TimeoutError(f"{lock_file} stayed locked for {timeout_s:.0f} s") from None
                time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
