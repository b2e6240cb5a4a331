"""Model registry: every new version is the ``challenger``; only the gate makes a ``champion``.

The gate compares the challenger's holdout metric with the current champion's (both read
from the runs that logged them) and checks the challenger's calibration. Its decision,
with reasons and both metrics, is written to the challenger's run (tags and a JSON
artifact) and to the model version's tags, so the registry explains every promotion and
every refusal. Read-compare-move runs under the store lock: two pipelines finishing at
once cannot both crown themselves.

Like with like: given the run's `ModelScope`, a champion trained under another pseudonym
key (or on another source) is not compared with; the challenger is judged on its own.
Staged promotion: with `apply=False` the gate decides but moves nothing; the caller (the
pipeline, once its whole run has published) applies the decision with `apply_promotion`
and can take it back with `restore_champion`, so a failed run promotes nothing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from crm_ml.tracking.scope import ModelScope
from crm_ml.tracking.store import retry_when_busy, store_lock

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
DECISION_TAG = "crm_ml.gate.decision"
REASONS_TAG = "crm_ml.gate.reasons"
_ALREADY_EXISTS = {"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"}
_TAG_LIMIT = 5000


@dataclass(frozen=True)
class GateDecision:
    """Outcome of the quality gate for one challenger version."""

    name: str
    version: str
    promoted: bool
    reasons: list[str]
    metric: str
    higher_is_better: bool
    tolerance: float
    challenger_value: float | None
    champion_version: str | None
    champion_value: float | None
    calibration_metric: str | None
    calibration_value: float | None
    calibration_bound: float | None
    decided_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    staged: bool = False  # passed, but the alias moves only when the run publishes

    @property
    def summary(self) -> str:
        if self.promoted and self.staged:
            verdict = "passed the gate (champion once the run publishes)"
        else:
            verdict = "promoted to champion" if self.promoted else "refused"
        return f"{self.name} version {self.version} {verdict}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict:
        return asdict(self)


def register_challenger(
    name: str,
    model_uri: str,
    *,
    run_id: str | None = None,
    model_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelVersion:
    """Register ``model_uri`` as a new version of ``name`` and point ``challenger`` at it."""
    client = MlflowClient()
    with store_lock():
        try:
            retry_when_busy(lambda: client.create_registered_model(name))
        except MlflowException as error:
            if error.error_code not in _ALREADY_EXISTS:
                raise
        version = retry_when_busy(
            lambda: client.create_model_version(
                name, model_uri, run_id=run_id, tags=tags, model_id=model_id
            )
        )
        retry_when_busy(
            lambda: client.set_registered_model_alias(name, CHALLENGER, version.version)
        )
    log.info("registered %s version %s as %s", name, version.version, CHALLENGER)
    return version


def version_by_alias(name: str, alias: str) -> ModelVersion | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}:
            return None
        raise


def promote_if_better(
    name: str,
    version: str | int,
    *,
    metric: str,
    higher_is_better: bool,
    tolerance: float,
    calibration_metric: str | None = "ece",
    calibration_bound: float = 0.02,
    scope: ModelScope | None = None,
    apply: bool = True,
) -> GateDecision:
    """Make ``version`` the champion if it passes the quality gate; log and return the decision.

    Passes when the challenger's ``metric`` is not worse than the champion's by more than
    ``tolerance`` (absolute) -- or there is no comparable champion (none yet, or one that
    does not belong to ``scope``) -- and its ``calibration_metric`` is at most
    ``calibration_bound``. ``calibration_metric=None`` skips the calibration check
    (regression models such as CLV). Metrics are read from the versions' runs. With
    ``apply=False`` nothing moves: the decision is staged (see the module docstring).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    client = MlflowClient()
    version = str(version)
    with store_lock():
        challenger = client.get_model_version(name, version)
        challenger_metrics = _run_metrics(client, challenger)
        champion = version_by_alias(name, CHAMPION)
        reasons: list[str] = []
        foreign = None if champion is None or scope is None else scope.mismatch(champion.tags)
        if foreign is not None and str(champion.version) != version:
            reasons.append(f"champion version {champion.version} is not comparable: {foreign}")
            champion = None
        champion_metrics = _run_metrics(client, champion) if champion is not None else {}
        passed = _check_metric(
            metric,
            higher_is_better,
            tolerance,
            challenger_metrics,
            champion,
            champion_metrics,
            version,
            reasons,
        )
        calibration_value = (
            challenger_metrics.get(calibration_metric) if calibration_metric else None
        )
        passed &= _check_calibration(
            calibration_metric, calibration_value, calibration_bound, reasons
        )
        decision = GateDecision(
            name=name,
            version=version,
            promoted=passed,
            reasons=reasons,
            metric=metric,
            higher_is_better=higher_is_better,
            tolerance=tolerance,
            challenger_value=challenger_metrics.get(metric),
            champion_version=None if champion is None else str(champion.version),
            champion_value=champion_metrics.get(metric),
            calibration_metric=calibration_metric,
            calibration_value=calibration_value,
            calibration_bound=calibration_bound if calibration_metric else None,
            staged=passed and not apply,
        )
        if passed and apply:
            _move_champion(client, name, version)
        _record(client, challenger, decision)
    (log.info if passed else log.warning)("%s", decision.summary)
    return decision


def _move_champion(client: MlflowClient, name: str, version: str) -> None:
    champion = version_by_alias(name, CHAMPION)
    if champion is not None and str(champion.version) == version:
        return
    retry_when_busy(lambda: client.set_registered_model_alias(name, CHAMPION, version))
    if champion is not None:
        client.set_model_version_tag(name, champion.version, "crm_ml.superseded_by", version)


def apply_promotion(name: str, version: str) -> str | None:
    """Make a staged version the champion now; returns the version it replaced (None when
    there was no champion), for `restore_champion` should the run fail after all."""
    client = MlflowClient()
    with store_lock():
        previous = version_by_alias(name, CHAMPION)
        _move_champion(client, name, str(version))
        client.set_model_version_tag(name, str(version), DECISION_TAG, "promoted")
    log.info("%s version %s is the champion", name, version)
    return None if previous is None else str(previous.version)


def restore_champion(name: str, version: str | None) -> None:
    """Point `champion` back at `version` (or remove the alias when it is None)."""
    client = MlflowClient()
    with store_lock():
        if version is None:
            retry_when_busy(lambda: client.delete_registered_model_alias(name, CHAMPION))
        else:
            retry_when_busy(lambda: client.set_registered_model_alias(name, CHAMPION, version))
    log.warning("%s champion restored to %s", name, version or "none")


def _run_metrics(client: MlflowClient, version: ModelVersion) -> dict[str, float]:
    """Metrics of the run that logged a version; NaN counts as not logged."""
    if not version.run_id:
        return {}
    metrics = client.get_run(version.run_id).data.metrics
    return {key: value for key, value in metrics.items() if not math.isnan(value)}


def _check_metric(
    metric: str,
    higher_is_better: bool,
    tolerance: float,
    challenger_metrics: dict[str, float],
    champion: ModelVersion | None,
    champion_metrics: dict[str, float],
    version: str,
    reasons: list[str],
) -> bool:
    """Compare with the champion; append the reason; True when the challenger holds up."""
    value = challenger_metrics.get(metric)
    if value is None:
        reasons.append(f"challenger's run has no metric {metric!r}")
        return False
    if champion is None:
        reasons.append(f"no champion yet ({metric} {value:.4f})")
        return True
    if str(champion.version) == version:
        reasons.append(f"version {version} is already the champion")
        return True
    reference = champion_metrics.get(metric)
    if reference is None:
        reasons.append(
            f"champion version {champion.version} has no metric {metric!r}: cannot compare"
        )
        return False
    shortfall = (reference - value) if higher_is_better else (value - reference)
    comparison = (
        f"{metric} {value:.4f} vs champion version {champion.version} {reference:.4f} "
        f"({'higher' if higher_is_better else 'lower'} is better, tolerance {tolerance:g})"
    )
    if shortfall > tolerance:
        reasons.append(f"worse than the champion: {comparison}")
        return False
    reasons.append(f"not worse than the champion: {comparison}")
    return True


def _check_calibration(
    calibration_metric: str | None, value: float | None, bound: float, reasons: list[str]
) -> bool:
    if calibration_metric is None:
        return True
    if value is None:
        reasons.append(f"challenger's run has no calibration metric {calibration_metric!r}")
        return False
    if value > bound:
        reasons.append(f"{calibration_metric} {value:.4f} above bound {bound:g}")
        return False
    reasons.append(f"{calibration_metric} {value:.4f} within bound {bound:g}")
    return True


def _record(client: MlflowClient, challenger: ModelVersion, decision: GateDecision) -> None:
    """Write the decision to the challenger's run and model version."""
    verdict = "staged" if decision.staged else "promoted" if decision.promoted else "refused"
    reasons = "; ".join(decision.reasons)[:_TAG_LIMIT]
    client.set_model_version_tag(decision.name, decision.version, DECISION_TAG, verdict)
    client.set_model_version_tag(decision.name, decision.version, REASONS_TAG, reasons)
    if challenger.run_id:
        client.set_tag(challenger.run_id, DECISION_TAG, verdict)
        client.set_tag(challenger.run_id, REASONS_TAG, reasons)
        client.log_dict(
            challenger.run_id, decision.to_dict(), f"gate/decision_v{decision.version}.json"
        )
