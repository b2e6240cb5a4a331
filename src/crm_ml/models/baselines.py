"""Honest baselines, fitted and scored in the same run as the model, on the same rows.

churn       -> `ColumnRuleBaseline` on days_since_last_order (the recency rule),
               `LogisticRFMBaseline` (logistic regression on RFM columns),
               `BgNbdBaseline(target="churn")`: P(no purchase in the horizon) under BG/NBD.
spend (CLV) -> `BgNbdBaseline(target="spend")`: BG/NBD expected purchases x Gamma-Gamma
               expected order value; target="transactions" for purchase counts.
propensity  -> `ColumnRuleBaseline` on the customer's own category purchase-rate column when
               the frame has one, else `GroupRateBaseline` (training purchase rate per group).

Rules are turned into probabilities with an isotonic fit on the training rows, which keeps
their ranking and makes log loss / Brier comparable with the model's.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") is unsupervised:
for each cutoff it is fitted on that cutoff's rows from their history before the cutoff
(no labels), as in the CDNOW calibration / holdout set-up, via `lifetimes`. Its inputs per
customer are read from feature columns named by `BtydColumns` (defaults match
`crm_ml.features`: orders_lifetime, days_since_first_order, days_since_last_order,
net_spend_lifetime) or, with `columns=None`, from lifetimes-style columns `frequency`,
`recency`, `T`, `monetary_value` (in time units) such as `btyd_summary_from_orders` builds.
Note lifetimes counts repeat purchase *periods*; the feature mapping uses repeat orders.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from crm_ml.models.evaluation import HIGHER_IS_BETTER, binary_metrics, spend_metrics

log = logging.getLogger(__name__)

Task = Literal["binary", "spend"]


class Baseline(Protocol):
    name: str

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> Baseline: ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


def _column(frame: pd.DataFrame, name: str, who: str) -> np.ndarray:
    if name not in frame.columns:
        raise KeyError(f"baseline {who!r} needs column {name!r}, absent from the frame")
    return frame[name].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass
class ColumnRuleBaseline:
    """Score = one column (e.g. days since last order), made a probability by an isotonic
    fit on the training rows. Missing values get `fill_value` (for recency: never ordered
    = very long ago)."""

    name: str
    column: str
    increasing: bool = True
    fill_value: float = 10_000.0
    _isotonic: IsotonicRegression | None = field(default=None, repr=False)

    def _values(self, frame: pd.DataFrame) -> np.ndarray:
        values = _column(frame, self.column, self.name)
        return np.where(np.isnan(values), self.fill_value, values)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> ColumnRuleBaseline:
        self._isotonic = IsotonicRegression(
            increasing=self.increasing, out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6
        ).fit(self._values(frame), y)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self._isotonic is None:
            raise RuntimeError(f"baseline {self.name!r} is not fitted")
        return self._isotonic.predict(self._values(frame))


def recency_rule(column: str = "days_since_last_order") -> ColumnRuleBaseline:
    """The longer since the last order, the likelier the churn."""
    return ColumnRuleBaseline("recency_rule", column, increasing=True)


@dataclass
class GroupRateBaseline:
    """Training positive rate per group (overall rate when no group column is present)."""

    name: str = "purchase_rate"
    group_columns: tuple[str, ...] = ()
    _rates: pd.Series | None = field(default=None, repr=False)
    _overall: float = 0.0

    def _groups(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in self.group_columns if c in frame.columns]

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> GroupRateBaseline:
        self._overall = float(np.mean(y))
        groups = self._groups(frame)
        if groups:
            keyed = frame[groups].astype(str).assign(_y=y)
            self._rates = keyed.groupby(groups)["_y"].mean()
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        groups = self._groups(frame)
        if self._rates is None or not groups:
            return np.full(len(frame), self._overall)
        keys = (
            pd.MultiIndex.from_frame(frame[groups].astype(str))
            if len(groups) > 1
            else (frame[groups[0]].astype(str))
        )
        return self._rates.reindex(keys).fillna(self._overall).to_numpy(dtype=np.float64)


RFM_COLUMNS = (
    "days_since_last_order",
    "orders_90d",
    "orders_365d",
    "net_spend_365d",
    "tenure_days",
)


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class LogisticRFMBaseline:
    """Logistic regression on recency / frequency / monetary columns (log-scaled,
    median-imputed, standardised). Uses the listed columns the frame has."""

    name: str = "logistic_rfm"
    columns: tuple[str, ...] = RFM_COLUMNS
    _pipeline: object | None = field(default=None, repr=False)
    _used: list[str] = field(default_factory=list, repr=False)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> LogisticRFMBaseline:
        self._used = [c for c in self.columns if c in frame.columns]
        if not self._used:
            raise KeyError(
                f"baseline {self.name!r}: none of the RFM columns {self.columns} present"
            )
        self._pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            FunctionTransformer(_signed_log1p),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        ).fit(self._matrix(frame), y)
        return self

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([_column(frame, c, self.name) for c in self._used])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self._pipeline is None:
            raise RuntimeError(f"baseline {self.name!r} is not fitted")
        return self._pipeline.predict_proba(self._matrix(frame))[:, 1]


@dataclass(frozen=True)
class BtydColumns:
    """Feature columns that give BG/NBD's frequency / recency / T and Gamma-Gamma's value."""

    orders: str = "orders_lifetime"
    days_since_first_order: str = "days_since_first_order"
    days_since_last_order: str = "days_since_last_order"
    spend: str = "net_spend_lifetime"


def btyd_inputs(
    frame: pd.DataFrame, columns: BtydColumns | None, time_unit_days: float = 7.0
) -> pd.DataFrame:
    """frequency (repeat purchases), recency (first to last purchase), T (first purchase to
    cutoff), both in time units, and monetary_value (mean value per purchase); rows aligned
    with `frame`. Customers without orders get frequency 0, recency 0 and a T of one day."""
    if columns is None:
        needed = ["frequency", "recency", "T"]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise KeyError(f"BG/NBD inputs: frame lacks lifetimes columns {missing}")
        out = frame[needed].astype("float64").copy()
        out["monetary_value"] = (
            frame["monetary_value"].astype("float64") if "monetary_value" in frame else 0.0
        )
        return out.reset_index(drop=True)
    who = "bg_nbd"
    orders = np.nan_to_num(_column(frame, columns.orders, who))
    first = _column(frame, columns.days_since_first_order, who)
    last = _column(frame, columns.days_since_last_order, who)
    spend = (
        np.nan_to_num(_column(frame, columns.spend, who))
        if columns.spend in frame.columns
        else np.zeros(len(frame))
    )
    frequency = np.maximum(orders - 1, 0)
    age = np.maximum(np.nan_to_num(first, nan=0.0), 1.0) / time_unit_days
    recency = np.clip(np.nan_to_num(first - last, nan=0.0) / time_unit_days, 0, age)
    recency = np.where(frequency > 0, recency, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(orders > 0, spend / orders, 0.0)
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": age,
            "monetary_value": np.maximum(monetary, 0.0),
        }
    )


def btyd_summary_from_orders(
    orders: pd.DataFrame,
    cutoff: pd.Timestamp,
    customer_column: str = "customer_id",
    time_column: str = "ts",
    amount_column: str = "amount",
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """lifetimes' summary (frequency, recency, T, monetary_value per customer, in units of
    `time_unit_days`) from order lines strictly before `cutoff`; order lines of one day are
    one purchase, as in lifetimes."""
    before = orders.loc[orders[time_column] < cutoff, [customer_column, time_column, amount_column]]
    daily = before.assign(**{time_column: before[time_column].dt.tz_localize(None).dt.floor("D")})
    summary = summary_data_from_transaction_data(
        daily,
        customer_column,
        time_column,
        monetary_value_col=amount_column,
        observation_period_end=pd.Timestamp(cutoff).tz_localize(None),
        freq="D",
    )
    summary[["recency", "T"]] = summary[["recency", "T"]] / time_unit_days
    return summary


@dataclass
class BgNbdBaseline:
    """BG/NBD per cutoff (+ Gamma-Gamma for spend). `target`:
    "churn": P(no purchase in the horizon) = 1 - P(alive) * (1 - ((a+T)/(a+T+t))^(r+x)),
    the posterior purchase rate of a live customer being Gamma(r + x, a + T);
    "transactions": expected purchases in the horizon; "spend": that x expected value."""

    fitter: ClassVar[type] = BetaGeoFitter
    name: str = "bg_nbd"
    target: Literal["churn", "transactions", "spend"] = "churn"
    horizon_days: float = 90.0
    columns: BtydColumns | None = field(default_factory=BtydColumns)
    cutoff_column: str = "cutoff"
    time_unit_days: float = 7.0
    penalizer: float = 0.001
    max_fit_rows: int = 100_000
    seed: int = 42
    fitted: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> BgNbdBaseline:
        """Nothing to learn from labels: BG/NBD is fitted on each scored cutoff's history."""
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        inputs = btyd_inputs(frame, self.columns, self.time_unit_days)
        if self.cutoff_column in frame.columns:
            groups = frame[self.cutoff_column].astype(str).to_numpy()
        else:
            groups = np.zeros(len(frame), dtype=int).astype(str)
        out = np.empty(len(frame))
        for key in np.unique(groups):
            rows = groups == key
            out[rows] = self._predict_group(inputs[rows].reset_index(drop=True), key)
        return out

    def forecast_by_period(self, frame: pd.DataFrame, n_periods: int) -> pd.Series:
        """Expected repeat purchases of all rows in each of the `n_periods` time units after
        the cutoff (one cutoff only), e.g. CDNOW's weekly forecast for weeks 40-78 against
        the actual, as in Fader, Hardie & Lee (2005), figure 2."""
        if self.cutoff_column in frame.columns and frame[self.cutoff_column].nunique() > 1:
            raise ValueError("forecast_by_period works on the rows of a single cutoff")
        inputs = btyd_inputs(frame, self.columns, self.time_unit_days)
        bgf = self._fit(
            self.fitter,
            (*(self._sample(inputs)[c] for c in ("frequency", "recency", "T")),),
            "forecast",
        )
        x, t_x, age = (inputs[c].to_numpy() for c in ("frequency", "recency", "T"))
        cumulative = [
            float(
                np.nansum(bgf.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age))
            )
            for t in range(1, n_periods + 1)
        ]
        weekly = np.diff(np.r_[0.0, cumulative])
        return pd.Series(weekly, index=pd.RangeIndex(1, n_periods + 1, name="period"))

    @staticmethod
    def _expected_purchases(
        bgf: Any, t: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, key: str
    ) -> np.ndarray:
        purchases = np.asarray(
            bgf.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age)
        )
        undefined = ~np.isfinite(purchases)
        if undefined.any():
            # Degenerate fits (no dropout seen: a -> 0) make lifetimes' hypergeometric form
            # 0/0; use P(alive) x posterior rate x t, exact when nobody drops out.
            log.warning(
                "%s (cutoff %s): %d undefined expectations approximated",
                type(bgf).__name__,
                key,
                int(undefined.sum()),
            )
            rate = (bgf.params_["r"] + x) / (bgf.params_["alpha"] + age)
            alive = bgf.conditional_probability_alive(x, t_x, age)
            purchases = np.where(undefined, alive * rate * t, purchases)
        return purchases

    def _sample(self, inputs: pd.DataFrame) -> pd.DataFrame:
        if len(inputs) <= self.max_fit_rows:
            return inputs
        return inputs.sample(self.max_fit_rows, random_state=self.seed)

    def _predict_group(self, inputs: pd.DataFrame, key: str) -> np.ndarray:
        sample = self._sample(inputs)
        bgf = self._fit(self.fitter, (sample["frequency"], sample["recency"], sample["T"]), key)
        self.fitted[key] = {k: float(v) for k, v in bgf.params_.items()}
        x, t_x, age = (inputs[c].to_numpy() for c in ("frequency", "recency", "T"))
        horizon = self.horizon_days / self.time_unit_days
        if self.target == "churn":
            alive = bgf.conditional_probability_alive(x, t_x, age)
            r, alpha = bgf.params_["r"], bgf.params_["alpha"]
            no_purchase_if_alive = ((alpha + age) / (alpha + age + horizon)) ** (r + x)
            return 1.0 - alive * (1.0 - no_purchase_if_alive)
        purchases = self._expected_purchases(bgf, horizon, x, t_x, age, key)
        if self.target == "transactions":
            return purchases
        return purchases * self._expected_value(sample, inputs, key)

    def _fit(self, fitter: type, columns: tuple[pd.Series, ...], key: str) -> object:
        """Fit a lifetimes model, raising the penalty tenfold (twice at most) when the
        optimiser fails, as it does when the data show almost no dropout."""
        for attempt in range(3):
            penalizer = self.penalizer * 10**attempt
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return fitter(penalizer_coef=penalizer).fit(*columns)
            except ConvergenceError:
                log.warning(
                    "%s (cutoff %s) did not converge with penalizer %g",
                    fitter.__name__,
                    key,
                    penalizer,
                )
        raise ValueError(f"{fitter.__name__} (cutoff {key}) did not converge")

    def _expected_value(self, sample: pd.DataFrame, inputs: pd.DataFrame, key: str) -> np.ndarray:
        repeat = sample[(sample["frequency"] > 0) & (sample["monetary_value"] > 0)]
        if len(repeat) < 10:
            raise ValueError("Gamma-Gamma needs repeat customers with positive order value")
        ggf = self._fit(GammaGammaFitter, (repeat["frequency"], repeat["monetary_value"]), key)
        self.fitted[key].update({f"gg_{k}": float(v) for k, v in ggf.params_.items()})
        frequency = inputs["frequency"].to_numpy()
        monetary = np.where(frequency > 0, inputs["monetary_value"].to_numpy(), 0.0)
        values = np.asarray(ggf.conditional_expected_average_profit(frequency, monetary))
        if ggf.params_["q"] <= 1:
            # q <= 1: the fitted population has no finite mean value; customers without a
            # repeat purchase get the observed mean instead of a meaningless number.
            log.warning(
                "Gamma-Gamma (cutoff %s): q <= 1, observed mean used for one-time buyers", key
            )
            values = np.where(frequency > 0, values, float(repeat["monetary_value"].mean()))
        return values


@dataclass
class ParetoNbdBaseline(BgNbdBaseline):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987) with the targets of `BgNbdBaseline`.

    Customers drop out at any time (exponential lifetimes, gamma-distributed rates) rather
    than only just after a purchase as in BG/NBD; on CDNOW the two forecast alike (Fader,
    Hardie & Lee 2005), elsewhere they can part. A live customer's purchase rate has the
    same Gamma(r + x, alpha + T) posterior, so "churn" uses the same formula.
    """

    fitter: ClassVar[type] = ParetoNBDFitter
    name: str = "pareto_nbd"


def default_baselines(
    task: Literal["churn", "propensity", "spend"],
    horizon_days: float = 90.0,
    category_rate_column: str | None = None,
    group_columns: Sequence[str] = ("segment",),
) -> list[Baseline]:
    """The baselines issue 5 asks for, per task."""
    if task == "churn":
        return [
            recency_rule(),
            LogisticRFMBaseline(),
            BgNbdBaseline(target="churn", horizon_days=horizon_days),
        ]
    if task == "spend":
        return [
            BgNbdBaseline(name="bg_nbd_gamma_gamma", target="spend", horizon_days=horizon_days),
            ParetoNbdBaseline(
                name="pareto_nbd_gamma_gamma", target="spend", horizon_days=horizon_days
            ),
        ]
    if task == "propensity":
        if category_rate_column:
            return [ColumnRuleBaseline("category_purchase_rate", category_rate_column)]
        return [GroupRateBaseline("category_purchase_rate", tuple(group_columns))]
    raise ValueError(f"unknown task {task!r}; use churn, propensity or spend")


@dataclass
class BaselineComparison:
    """One table (rows: model + each baseline; columns: metrics, beaten_by_model, note) and
    the baselines the model did not beat on `metrics_to_beat`."""

    table: pd.DataFrame
    not_beaten: list[str]
    metrics_to_beat: tuple[str, ...]


def _beats(model: dict[str, float], other: dict[str, float], metrics: Sequence[str]) -> bool:
    for metric in metrics:
        higher = HIGHER_IS_BETTER[metric]
        better = model[metric] > other[metric] if higher else model[metric] < other[metric]
        if not better:
            return False
    return True


def compare_to_baselines(
    model: object,
    frame: pd.DataFrame,
    label: str,
    baselines: Sequence[Baseline],
    *,
    task: Task = "binary",
    split_column: str = "split",
    train_rows: np.ndarray | None = None,
    holdout_rows: np.ndarray | None = None,
    metrics_to_beat: Sequence[str] | None = None,
) -> BaselineComparison:
    """Fit every baseline on the training rows, score model and baselines on the same
    holdout rows with the same metrics, and log a warning naming every baseline the model
    does not beat (binary default: ROC-AUC and log loss; spend: MAE).

    Rows come from `split_column` (train / holdout) unless masks are given. A plain table
    (no split column) is better compared by cross-validation:
    `crm_ml.models.cross_validate_models` or `fit_table`. A baseline that cannot run (a
    missing column, a failed fit) gets a row with the reason in `note` and a warning.

    Parameters
    ----------
    model : object
        Anything with ``predict(frame) -> ndarray`` (a `TrainingResult.model`).
    frame : pandas.DataFrame
        Feature columns, the label and, without masks, `split_column`.
    label : str
        The label column (0/1 for "binary", numbers for "spend").
    baselines : sequence of Baseline
        Objects with ``fit(frame, y)`` and ``predict(frame)`` and a `name`, e.g.
        ``default_baselines("churn")``.
    task : {"binary", "spend"}, default "binary"
        Which metrics to compute.
    split_column : str, default "split"
        The column whose "train" and "holdout" rows are used when no masks are given.
    train_rows, holdout_rows : numpy.ndarray of bool, optional
        Row masks (both, or neither) instead of `split_column`.
    metrics_to_beat : sequence of str, optional
        The metrics the model must win on all of; ("roc_auc", "log_loss") for "binary",
        ("mae",) for "spend" by default.

    Returns
    -------
    BaselineComparison
        `table` (one row per model: the model first, then each baseline; metric columns,
        `beaten_by_model`, `note`), `not_beaten` (names) and `metrics_to_beat`.

    Raises
    ------
    KeyError
        When no masks are given and the frame has no `split_column`.
    ValueError
        When there are no holdout rows.

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> from crm_ml.models import ColumnRuleBaseline, train_binary_model
    >>> table = subscriber_table(400, seed=1)
    >>> frame = table[["tenure", "MonthlyCharges"]].assign(
    ...     churn=table["Churn"].eq("Yes").astype(int),
    ...     split=["train"] * 300 + ["holdout"] * 100,
    ... )
    >>> train = frame[frame["split"] == "train"].drop(columns="split")
    >>> model = train_binary_model(train, "churn", id_column=None).model
    >>> tenure_rule = ColumnRuleBaseline("tenure_rule", "tenure", increasing=False)
    >>> comparison = compare_to_baselines(model, frame, "churn", [tenure_rule])
    >>> comparison.table["model"].tolist(), comparison.metrics_to_beat
    (['model', 'tenure_rule'], ('roc_auc', 'log_loss'))
    >>> comparison.not_beaten == [] or comparison.not_beaten == ["tenure_rule"]
    True
    """
    if train_rows is None or holdout_rows is None:
        if split_column not in frame.columns:
            raise KeyError(f"no {split_column!r} column: pass train_rows and holdout_rows")
        split = frame[split_column].astype(str).to_numpy()
        train_rows, holdout_rows = split == "train", split == "holdout"
    if not np.any(holdout_rows):
        raise ValueError("no holdout rows to compare model and baselines on")
    if metrics_to_beat is None:
        metrics_to_beat = ("roc_auc", "log_loss") if task == "binary" else ("mae",)
    metric_set = binary_metrics if task == "binary" else spend_metrics
    train, holdout = frame.loc[train_rows], frame.loc[holdout_rows]
    y_train = train[label].to_numpy(dtype=np.float64)
    y_holdout = holdout[label].to_numpy(dtype=np.float64)
    rows = {"model": {**metric_set(y_holdout, model.predict(holdout)), "note": ""}}
    not_beaten = []
    for baseline in baselines:
        try:
            predicted = baseline.fit(train, y_train).predict(holdout)
            scores = metric_set(y_holdout, predicted)
        except (KeyError, ValueError, RuntimeError, np.linalg.LinAlgError) as error:
            log.warning("baseline %r could not run: %s", baseline.name, error)
            rows[baseline.name] = {"note": f"failed: {error}"}
            continue
        beaten = _beats(rows["model"], scores, metrics_to_beat)
        rows[baseline.name] = {**scores, "beaten_by_model": beaten, "note": ""}
        if not beaten:
            not_beaten.append(baseline.name)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    if not_beaten:
        log.warning(
            "MODEL DOES NOT BEAT BASELINE(S) %s on the holdout (%s). Do not promote it "
            "without understanding why.\n%s",
            ", ".join(not_beaten),
            ", ".join(metrics_to_beat),
            table[[*metrics_to_beat]].to_string(),
        )
    return BaselineComparison(table.reset_index(), not_beaten, tuple(metrics_to_beat))
