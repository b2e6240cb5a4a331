"""Typed settings of the recommender: interaction weights, model, search and business rules.

Everything the recsys package needs comes in through `RecsysConfig`; YAML is read by the caller
(`RecsysConfig.model_validate(yaml_dict["recsys"])`), never deep inside.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Days = Annotated[float, Field(gt=0)]

ModelName = Literal["als", "bpr", "item_knn", "ease"]
MODEL_NAMES: tuple[ModelName, ...] = ("als", "bpr", "item_knn", "ease")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InteractionConfig(_Frozen):
    """How raw orders and events become one confidence value per customer x product.

    A purchase says far more about taste than a view, so each kind has its own weight. Old
    interactions may fade with an exponential half-life: `None` (no decay, the default), a
    number of days, or "auto": `auto_half_life` x the median age of the interactions before
    the cutoff, so the decay follows the history's own time scale (weekly baskets over two
    months or yearly purchases over five years) instead of a fixed number of days. The
    search tries the decays of `SearchConfig.half_life` per model: on a battery of worlds
    (benchmarks/bench_recsys_worlds.py) decay helped ALS and item-kNN only where tastes
    drift, and a fixed 180 days cut item-kNN to a sixth on five-year histories.
    """

    purchase_weight: float = Field(4.0, ge=0)
    cart_add_weight: float = Field(2.0, ge=0)
    view_weight: float = Field(0.5, ge=0)
    half_life_days: Days | Literal["auto"] | None = None
    auto_half_life: float = Field(1.0, gt=0)
    lookback_days: int | None = Field(None, gt=0)
    log_scale: bool = True  # log1p of summed weights: ten views of one item are not ten signals
    weighting: Literal["none", "bm25", "tfidf"] = "none"
    bm25_k1: float = Field(100.0, gt=0)
    bm25_b: float = Field(0.8, ge=0, le=1)

    def describe_decay(self) -> str:
        """The decay in words for tables and logs: "none", "auto x0.25", "180 days"."""
        if self.half_life_days is None:
            return "none"
        if self.half_life_days == "auto":
            return f"auto x{self.auto_half_life:g}"
        return f"{self.half_life_days:g} days"


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
    # Steck's value on MovieLens-20M; 300-1000 led on every world of bench_recsys_worlds.py
    ease_lambda: float = Field(500.0, gt=0)
    # EASE holds items x items dense (8 bytes a cell while fitting): 10,000 items = 0.8 GB
    ease_max_items: int = Field(10_000, gt=0)
    num_threads: int = Field(0, ge=0)  # 0 = all cores, as in implicit (BPR: always one)
    random_state: int = 42


class SearchConfig(_Frozen):
    """A small, time-bounded hyper-parameter search on a time-later validation window.

    The window starts at `validation_days` and doubles until it holds
    `min_validation_customers` customers who buy in it and had bought before it (at most
    `max_validation_share` of the history before the cutoff), so a five-year history of
    yearly buyers is not judged on the three customers of its last 30 days.
    `half_life` are the interaction decays tried: None (none) or multiples of the median
    interaction age (see `InteractionConfig`).
    """

    enabled: bool = True
    time_budget_seconds: float = Field(60.0, gt=0)
    max_trials: int = Field(8, gt=0)
    validation_days: int = Field(30, gt=0)
    min_validation_customers: int = Field(200, gt=0)
    max_validation_share: float = Field(0.5, gt=0, lt=1)
    metric_k: int = Field(10, gt=0)
    half_life: tuple[float | None, ...] = (None, 1.0, 0.25)
    factors: tuple[int, ...] = (16, 32, 64)
    regularization: tuple[float, ...] = (0.01, 0.1, 1.0)
    alpha: tuple[float, ...] = (2.0, 10.0, 40.0)
    neighbours: tuple[int, ...] = (20, 50, 100)
    similarity: tuple[str, ...] = ("cosine", "bm25")
    learning_rate: tuple[float, ...] = (0.005, 0.01, 0.05)
    ease_lambda: tuple[float, ...] = (100.0, 500.0, 2000.0)


class RulesConfig(_Frozen):
    """Business rules applied after scoring (see `crm_ml.recsys.rules`).

    A rule needs its columns only when it runs: the category cap needs products.category
    (the default cap is skipped without it; a cap set here explicitly is an error).

    Popularity follows the data's time scale by default ("auto"): it counts the purchases of
    the last `popularity_window_days` = the median time since a customer last bought a
    product, i.e. the most recent half of the history's purchases. A fixed 90-day window
    scored a quarter of all-history popularity on a five-year per-customer split
    (bench_recsys_worlds.py). Buy-again ranks a customer's own products only, so a fixed
    half-life shrinks no one against anyone else; 180 days did as well as or better than
    "auto" (the same median) on three of the four worlds with repeat buying, so it stays.
    """

    buy_again_slots: int = Field(2, ge=0)
    buy_again_half_life_days: Days | Literal["auto"] | None = 180.0
    category_cap: int | None = Field(3, gt=0)
    overfetch_factor: float = Field(3.0, ge=1)
    overfetch_extra: int = Field(20, ge=0)
    popularity_window_days: Annotated[int, Field(gt=0)] | Literal["auto"] | None = "auto"
    min_segment_buyers: int = Field(20, ge=1)


class OfferConfig(_Frozen):
    """Next-best-offer: how margin is derived when products carry no margin column."""

    default_margin_rate: float = Field(0.3, gt=0, le=1)


class RecsysConfig(_Frozen):
    """All settings of the recommender in one typed object.

    `eval_horizon_days`: the pipeline tests the models on purchases in this many days after
    its holdout cutoff.
    """

    k: int = Field(10, gt=0)
    eval_horizon_days: int = Field(30, gt=0)
    interactions: InteractionConfig = InteractionConfig()
    model: ModelConfig = ModelConfig()
    search: SearchConfig = SearchConfig()
    rules: RulesConfig = RulesConfig()
    offer: OfferConfig = OfferConfig()

    def for_model(
        self,
        name: ModelName,
        settings: ModelConfig | None = None,
        interactions: InteractionConfig | None = None,
    ) -> RecsysConfig:
        """This config serving model `name`: with `settings` (e.g. searched ones) when given,
        else the configured model settings under that name; `interactions` (e.g. the
        searched decay) replace the configured interaction settings when given."""
        model = settings or self.model.model_copy(update={"name": name})
        update: dict[str, object] = {"model": model}
        if interactions is not None:
            update["interactions"] = interactions
        return self.model_copy(update=update)
