"""Which registered model scores a family: the champion, or (inside a training run only)
the challenger this run registered when no champion exists yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crm_ml.tracking import ChampionModel, ModelNotFoundError, configure_tracking, load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringModel:
    model: ChampionModel
    note: str | None  # a sentence for the report when this is not a champion


def scoring_model(
    family: str, allow_challenger: bool, required: bool = True
) -> ScoringModel | None:
    """The champion of `family`; the challenger when allowed and there is no champion;
    None when there is nothing to use and the family is not `required` (else raise)."""
    configure_tracking()
    try:
        return ScoringModel(load_model(family, "champion"), None)
    except ModelNotFoundError:
        if not allow_challenger:
            if required:
                raise
            log.warning("no %s champion: its scores are left out of this refresh", family)
            return None
    try:
        challenger = load_model(family, "challenger")
    except ModelNotFoundError:
        log.warning("no %s model is registered; its scores are left out", family)
        return None
    note = (
        f"No {family} model has passed the champion gate yet: scores come from the "
        f"unpromoted challenger (version {challenger.version})."
    )
    log.warning(note)
    return ScoringModel(challenger, note)
