"""Typed settings of the recommender: interaction weights, model, search and business rules.

Everything the recsys package needs comes in through `RecsysConfig`; YAML is read by the caller
(`RecsysConfig.model_validate(yaml_dict["recsys"])`), never deep inside.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ModelName = Literal["als", "bpr", "item_knn"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InteractionConfig(_Frozen):
    """How raw orders and events become one confidence value per customer x product.

    A purchase says far more about taste than a view, so each kind has its own weight; old
    interactions fade with an exponential half-life so last month counts more than last year.
    """

    purchase_weight: float = Field(4.0, ge=0)
    cart_add_weight: float = Field(2.0, ge=0)
    view_weight: float = Field(0.5, ge=0)
    half_life_days: float | None = Field(180.0, gt=0)
    lookback_days: int | None = Field(None, gt=0)
    log_scale: bool = True  # log1p of summed weights: ten views of one item are not ten signals
    weighting: Literal["none", "bm25", "tfidf"] = "none"
    bm25_k1: float = Field(100.0, gt=0)
    bm25_b: float = Field(0.8, ge=0, le=1)


class ModelConfig(_Frozen):
    """Which implicit model and its hyper-parameters; unused ones are ignored by other models."""

    name: ModelName = "als"
    # defaults from the search on the default synthetic world (alpha 2 / 64 factors: -30%)
    factors: int = Field(32, gt=0)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(10.0, gt=0)
    iterations: int = Field(15, gt=0)
    learning_rate: float = Field(0.01, gt=0)
    bpr_iterations: int = Field(100, gt=0)
    neighbours: int = Field(50, gt=0)
    similarity: Literal["cosine", "bm25"] = "bm25"
    knn_bm25_k1: float = Field(1.2, gt=0)
    knn_bm25_b: float = Field(0.75, ge=0, le=1)
    num_threads: int = Field(0, ge=0)  # 0 = all cores, as in implicit
    random_state: int = 42


class SearchConfig(_Frozen):
    """A small, time-bounded hyper-parameter search on a time-later validation window."""

    enabled: bool = True
    time_budget_seconds: float = Field(60.0, gt=0)
    max_trials: int = Field(8, gt=0)
    validation_days: int = Field(30, gt=0)
    metric_k: int = Field(10, gt=0)
    factors: tuple[int, ...] = (16, 32, 64)
    regularization: tuple[float, ...] = (0.01, 0.1, 1.0)
    alpha: tuple[float, ...] = (2.0, 10.0, 40.0)
    neighbours: tuple[int, ...] = (20, 50, 100)
    similarity: tuple[str, ...] = ("cosine", "bm25")
    learning_rate: tuple[float, ...] = (0.005, 0.01, 0.05)


class RulesConfig(_Frozen):
    """Business rules applied after scoring (see `crm_ml.recsys.rules`)."""

    buy_again_slots: int = Field(2, ge=0)
    category_cap: int | None = Field(3, gt=0)
    overfetch_factor: float = Field(3.0, ge=1)
    overfetch_extra: int = Field(20, ge=0)
    popularity_window_days: int | None = Field(90, gt=0)
    min_segment_buyers: int = Field(20, ge=1)


class OfferConfig(_Frozen):
    """Next-best-offer: how margin is derived when products carry no margin column."""

    default_margin_rate: float = Field(0.3, gt=0, le=1)


class RecsysConfig(_Frozen):
    """All settings of the recommender in one typed object."""

    k: int = Field(10, gt=0)
    interactions: InteractionConfig = InteractionConfig()
    model: ModelConfig = ModelConfig()
    search: SearchConfig = SearchConfig()
    rules: RulesConfig = RulesConfig()
    offer: OfferConfig = OfferConfig()

    def for_model(self, name: ModelName, settings: ModelConfig | None = None) -> RecsysConfig:
        """This config serving model `name`: with `settings` (e.g. searched ones) when given,
        else the configured model settings under that name."""
        model = settings or self.model.model_copy(update={"name": name})
        return self.model_copy(update={"model": model})
