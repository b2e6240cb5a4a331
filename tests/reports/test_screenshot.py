"""The stakeholder report rendered by headless Chromium: a real page, scorecard and charts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crm_ml.pipeline.config import RunConfig
from crm_ml.pipeline.paths import project_root
from crm_ml.reports import build_stakeholder_report, render_report_screenshot
from crm_ml.reports.screenshot import CHROMIUM

INSTALL_SCRIPT = project_root() / "scripts" / "install_chromium.sh"
OK_GREEN = (0x1E, 0x7B, 0x4D)  # border of a met KPI (--ok in the stylesheet)
BAD_RED = (0xB4, 0x23, 0x18)  # border of a missed KPI (--bad)
CHART_PURPLE = (0x8E, 0x44, 0xAD)  # the bars of the fabricated charts, used nowhere else


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True)
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.skip(
            f"Chromium could not be installed by {INSTALL_SCRIPT.name}: {done.stderr[-300:]}"
        )


def has_colour(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    return int((np.abs(pixels[..., :3].astype(int) - rgb) <= tolerance).all(axis=-1).sum())


@pytest.mark.slow
def test_report_renders_in_headless_chromium(make_run, tmp_path: Path):
    ensure_chromium()
    paths = make_run(core_churn_rate=0.043, nps=38)  # one KPI met, one not: both colours
    report = build_stakeholder_report(paths, RunConfig())
    png = render_report_screenshot(report, tmp_path / "report.png")
    assert png.stat().st_size > 50_000
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 4000)
    pixels = np.asarray(image)
    assert pixels.std() > 20  # not a blank page
    assert has_colour(pixels, OK_GREEN) > 500  # the met KPI cards' borders
    assert has_colour(pixels, BAD_RED) > 500  # the missed ones
    assert has_colour(pixels, CHART_PURPLE) > 2_000  # embedded charts were decoded and drawn


def test_missing_report_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"report .*nothing\.html does not exist"):
        render_report_screenshot(tmp_path / "nothing.html", tmp_path / "x.png")
