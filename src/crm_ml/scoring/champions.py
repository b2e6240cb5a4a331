"""Which registered model scores a family for this data.

In order: the version this run has staged for promotion (inside `crm-ml run`, what the
champion will be once the run publishes); the model this run trained without registering
it (a notebook opened by hand with `track=False`); the champion, when it belongs to the data's
scope (same source, same pseudonym key); and, inside a training run only, the challenger
this run registered when no usable champion exists, marked as such. A champion of another
key or source is never used: the scheduled refresh stops with a clear message for a
required family and leaves an optional one out with a note.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_ml.tracking import ChampionModel, ModelNotFoundError, configure_tracking, load_model
from crm_ml.tracking.scope import ModelScope, ModelScopeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunModel:
    """A model this run trained but did not register, with a champion's scoring interface."""

    python_model: Any
    version: str = "of this run"

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[list(self.python_model.feature_names)]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.python_model.predict(self.prepare(frame)))


@dataclass(frozen=True)
class ScoringModel:
    model: ChampionModel | RunModel
    note: str | None  # a sentence for the report when this is not a champion
    status: str = "champion"  # champion | challenger (not promoted)

    @property
    def label(self) -> str:
        if isinstance(self.model, RunModel):
            return self.status
        return f"{self.status} v{self.model.version}"


def scoring_model(
    family: str,
    allow_challenger: bool,
    scope: ModelScope,
    required: bool = True,
    staged: Mapping[str, str] | None = None,
    unregistered: Any = None,
) -> ScoringModel | None:
    """The model that scores `family` for data of `scope` (see the module docstring);
    None when there is nothing to use and the family is not `required` (else raise).
    `unregistered` is this run's own model of the family, if it kept one."""
    name = scope.registry_name(family)
    if unregistered is not None:
        note = f"The {family} scores come from this run's own model, which is not registered."
        return ScoringModel(RunModel(unregistered), note, "this run's unregistered model")
    configure_tracking()
    if staged and name in staged:
        return ScoringModel(load_model(name, staged[name]), None)
    refused = None
    try:
        champion = load_model(name, "champion")
        refused = scope.mismatch(champion.tags)
        if refused is None:
            return ScoringModel(champion, None)
        refused = (
            f"The {family} champion ({name} version {champion.version}) was not used: "
            f"{refused}. Train on this data with `crm-ml run`."
        )
        log.warning(refused)
    except ModelNotFoundError:
        pass
    if not allow_challenger:
        if required:
            raise (
                ModelScopeError(refused)
                if refused
                else ModelNotFoundError(
                    f"no {family} champion for source {scope.source!r}: train one with `crm-ml run`"
                )
            )
        log.warning("no usable %s champion: its scores are left out of this refresh", family)
        return None
    try:
        challenger = load_model(name, "challenger")
    except ModelNotFoundError:
        log.warning("no %s model is registered for this data; its scores are left out", family)
        return None
    if scope.mismatch(challenger.tags) is not None:
        log.warning("the %s challenger belongs to other data; its scores are left out", family)
        return None
    note = (
        f"No {family} model has passed the champion gate yet: scores come from the "
        f"unpromoted challenger (version {challenger.version})."
    )
    log.warning(note)
    return ScoringModel(challenger, note, "challenger (not promoted)")
