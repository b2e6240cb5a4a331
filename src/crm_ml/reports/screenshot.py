"""A PNG of a report rendered by headless Chromium, for the README and the rendering test.

Chromium runs with a fresh profile folder and every background service off, so it neither
reads a user's profile nor calls out to the network; the report itself is self-contained.
Install Debian's Chromium with `scripts/install_chromium.sh`.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from crm_ml.errors import CrmMlError

log = logging.getLogger(__name__)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class ScreenshotError(CrmMlError, RuntimeError):
    """Chromium is missing or did not write the screenshot."""


def find_chromium() -> Path:
    """/usr/bin/chromium, else a chromium on PATH."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ScreenshotError(
            "Chromium not found at /usr/bin/chromium or on PATH: run scripts/install_chromium.sh"
        )
    return Path(found)


def render_report_screenshot(
    html: Path,
    png: Path,
    *,
    width: int = 1280,
    height: int = 4000,
    timeout_s: float = 120,
) -> Path:
    """Render `html` in headless Chromium at `width` x `height` and save it as `png`."""
    html, png = Path(html).resolve(), Path(png).resolve()
    if not html.is_file():
        raise FileNotFoundError(f"report {html} does not exist")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-ml-chromium-") as profile:
        command = [
            str(find_chromium()),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            html.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ScreenshotError(
                f"Chromium took longer than {timeout_s:.0f} s on {html}"
            ) from None
    if done.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ScreenshotError(
            f"Chromium could not screenshot {html} (exit {done.returncode}):\n{tail}"
        )
    log.info("screenshot of %s written to %s", html.name, png)
    return png
