"""Publishing is all-or-nothing: scores, reports and champions switch together or not at all.

Each case fails one step of publishing (a copy that cannot be written, a folder where a
file should be, an exception between the two link swaps, the registry refusing a
promotion) and checks that readers still see the previous run everywhere: the scores,
the report and the champion. The registry is a stand-in here (its own tests cover the
real one); what is tested is that the runner applies and takes back promotions with the
links.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crm_ml.pipeline import publish as publication
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.runner import PipelineError, mark_interrupted, publish_or_fail

MODEL = "churn.folder_x-0123456789ab"


class FakeRegistry:
    """`champion` alias per model name, as apply_promotion / restore_champion move it."""

    def __init__(self) -> None:
        self.champion: dict[str, str | None] = {}
        self.fail_on: str | None = None

    def apply(self, name: str, version: str) -> str | None:
        if self.fail_on == version:
            raise RuntimeError("registry unavailable")
        previous = self.champion.get(name)
        self.champion[name] = version
        return previous

    def restore(self, name: str, version: str | None) -> None:
        self.champion[name] = version


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    import crm_ml.tracking
    import crm_ml.tracking.registry as real

    fake = FakeRegistry()
    monkeypatch.setattr(real, "apply_promotion", fake.apply)
    monkeypatch.setattr(real, "restore_champion", fake.restore)
    monkeypatch.setattr(crm_ml.tracking, "configure_tracking", lambda *a, **k: None)
    return fake


def finished_run(root: Path, run_id: str, value: str) -> tuple[RunPaths, dict]:
    """A run folder whose notebooks all succeeded: scores, a report, a staged promotion."""
    paths = RunPaths.for_run(run_id, root / "experiments").ensure()
    (paths.scores / "customer_scores.csv").write_text(f"score\n{value}\n")
    paths.report.mkdir()
    (paths.report / "report.html").write_text(f"<html>{value}</html>")
    (paths.root / "promotions.json").write_text(json.dumps({MODEL: value}))
    manifest = {"run_id": run_id, "status": "running", "notebooks": []}
    paths.manifest.write_text(json.dumps(manifest))
    return paths, manifest


def seen(root: Path, registry: FakeRegistry) -> tuple[str, str, str | None]:
    """What a reader sees: the latest scores, the latest report, the champion."""
    scores = (root / "data" / "scores" / "latest" / "customer_scores.csv").read_text()
    report = (root / "reports" / "latest" / "report.html").read_text()
    return (
        scores.split()[-1],
        report.removeprefix("<html>").removesuffix("</html>"),
        (registry.champion.get(MODEL)),
    )


def nth_call_fails(monkeypatch, module, name: str, n: int, error: Exception) -> None:
    """`module.name` raises `error` on its n-th call, and works on every other call."""
    original = getattr(module, name)
    calls = {"count": 0}

    def wrapped(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == n:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_a_good_run_switches_scores_reports_and_champion_together(tmp_path, registry):
    for run_id in ("r1", "r2"):
        paths, manifest = finished_run(tmp_path, run_id, run_id)
        publish_or_fail(paths, tmp_path, manifest)
        assert seen(tmp_path, registry) == (run_id, run_id, run_id)
        assert manifest["status"] == "succeeded" and manifest["promoted"] == {MODEL: run_id}


FAULTS = {
    # (module, function, n-th call, error): the publication of the second run fails there
    "scores cannot be copied (disk full)": (shutil, "copytree", 1, OSError(28, "disk full")),
    "the report folder is read-only": (shutil, "copytree", 2, PermissionError(13, "read-only")),
    "the scores link cannot be swapped": (publication, "point", 1, OSError("rename refused")),
    "an exception between the two swaps": (publication, "point", 2, RuntimeError("killed")),
}


@pytest.mark.parametrize(
    "fault", [*FAULTS, "the registry refuses the promotion", "a missing folder"]
)
def test_a_failure_anywhere_in_publishing_leaves_the_previous_run_everywhere(
    tmp_path, registry, monkeypatch, fault
):
    paths, manifest = finished_run(tmp_path, "good", "good")
    publish_or_fail(paths, tmp_path, manifest)
    paths, manifest = finished_run(tmp_path, "bad", "bad")
    if fault in FAULTS:
        nth_call_fails(monkeypatch, *FAULTS[fault])
    elif fault == "a missing folder":
        shutil.rmtree(paths.report)  # deleted under the run's feet
        (paths.report).write_text("not a folder")
    else:
        registry.fail_on = "bad"
    with pytest.raises(PipelineError, match="publishing failed"):
        publish_or_fail(paths, tmp_path, manifest)
    assert seen(tmp_path, registry) == ("good", "good", "good")
    written = json.loads(paths.manifest.read_text())
    assert written["status"] == "failed" and written["reason"].startswith("publishing failed")
    # and the next good run publishes as usual (each fault strikes once)
    paths, manifest = finished_run(tmp_path, "next", "next")
    registry.fail_on = None
    publish_or_fail(paths, tmp_path, manifest)
    assert seen(tmp_path, registry) == ("next", "next", "next")


def test_a_run_killed_while_running_is_marked_interrupted_by_the_next(tmp_path):
    killed, _ = finished_run(tmp_path, "killed", "x")  # manifest says "running" forever
    done, manifest = finished_run(tmp_path, "done", "y")
    manifest["status"] = "succeeded"
    done.manifest.write_text(json.dumps(manifest))
    assert mark_interrupted(tmp_path / "experiments" / "runs", "now") == ["killed"]
    marked = json.loads(killed.manifest.read_text())
    assert marked["status"] == "interrupted" and "run now" in marked["reason"]
    assert json.loads(done.manifest.read_text())["status"] == "succeeded"
    assert mark_interrupted(tmp_path / "experiments" / "runs", "later") == []
