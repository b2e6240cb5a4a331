"""Why the model scores a customer as it does: global drivers and per-customer reason codes.

Global: `global_drivers` (mean |SHAP| per feature), `plot_shap_summary` (shap's beeswarm)
and `plot_dependence` (SHAP value against feature value for the top features), all on a
sample with exact TreeSHAP from LightGBM's `pred_contrib`.

Per customer: `reason_codes` gives the score and the top three features pushing each
customer's score *up*, as sentences from the feature catalogue
(`crm_ml.features.catalog.CATALOG`, or any mapping name -> object with a `reason`
template such as "no order for {value:.0f} days, usually every {mean_days_between_orders:.0f}").
`{value}` is the feature's value, other names are columns of the scored frame. Features
without a usable template read "<feature> is <value>"; a missing feature value reads
"<feature> unknown", other missing fields "unknown".
It is built for volume: contributions come in batches from `contributions.PathContributions`
(Saabas path attributions; `method="shap"` switches to exact, much slower TreeSHAP), the top
features from `np.argpartition`, and each sentence is assembled per feature for all rows at
once with numpy string operations, formatting each distinct value only once.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from crm_ml.models.contributions import ModelContributions, batched

log = logging.getLogger(__name__)

StringArray = np.ndarray  # numpy StringDType arrays
TEXT = np.dtypes.StringDType()
MISSING_TEXT = "unknown"


def default_catalog() -> Mapping[str, Any]:
    """The project's feature catalogue, or an empty one when features are not installed."""
    try:
        from crm_ml.features.catalog import CATALOG
    except ImportError:  # pragma: no cover - features ships with the package
        return {}
    return CATALOG


def _sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    return frame.sample(size, random_state=seed) if len(frame) > size else frame


def shap_values(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Exact TreeSHAP contributions to the raw margin (plus the linear part's, for a
    blend), one column per model feature."""
    contributions, _ = ModelContributions(model, "shap").transform(model.to_matrix(X))
    return pd.DataFrame(contributions, columns=model.feature_names, index=X.index)


def global_drivers(
    model: Any,
    X: pd.DataFrame,
    *,
    sample_size: int = 2_000,
    seed: int = 42,
    catalog: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Features ranked by mean |SHAP| on a sample: what drives the model across customers.

    Parameters
    ----------
    model : BinaryModel or SpendModel
        A trained model (`TrainingResult.model`); a blend's linear part is included.
    X : pandas.DataFrame
        Rows to explain, with at least the model's `feature_names`.
    sample_size : int, default 2000
        At most this many rows (drawn without replacement) are explained.
    seed : int, default 42
        Seed of that sample.
    catalog : mapping, optional
        Feature name -> spec with a `description`; the feature catalogue by default.

    Returns
    -------
    pandas.DataFrame
        One row per model feature, largest first: rank (from 1), feature, mean_abs_shap,
        mean_shap (direction on average), share (of the total mean |SHAP|), description
        (empty for a feature outside the catalogue).

    Examples
    --------
    >>> from crm_ml.datasets import subscriber_table
    >>> from crm_ml.models import train_binary_model
    >>> table = subscriber_table(300, seed=1)
    >>> frame = table[["tenure", "MonthlyCharges"]].assign(churn=table["Churn"].eq("Yes"))
    >>> model = train_binary_model(frame, "churn", id_column=None).model
    >>> drivers = global_drivers(model, frame, sample_size=100)
    >>> drivers.columns.tolist()
    ['rank', 'feature', 'mean_abs_shap', 'mean_shap', 'share', 'description']
    >>> sorted(drivers["feature"]), float(drivers["share"].sum().round(6))
    (['MonthlyCharges', 'tenure'], 1.0)
    """
    catalog = default_catalog() if catalog is None else catalog
    values = shap_values(model, _sample(X, sample_size, seed))
    mean_abs = values.abs().mean()
    table = pd.DataFrame(
        {
            "feature": mean_abs.index,
            "mean_abs_shap": mean_abs.to_numpy(),
            "mean_shap": values.mean().to_numpy(),
        }
    ).sort_values("mean_abs_shap", ascending=False, ignore_index=True)
    table["share"] = table["mean_abs_shap"] / table["mean_abs_shap"].sum()
    table["description"] = [
        getattr(catalog.get(name), "description", "") for name in table["feature"]
    ]
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def _numeric_display(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Feature values for plotting: categoricals as their codes."""
    matrix = model.to_matrix(X)
    return pd.DataFrame(matrix, columns=model.feature_names, index=X.index)


def plot_shap_summary(
    model: Any, X: pd.DataFrame, max_display: int = 15, sample_size: int = 2_000, seed: int = 42
) -> Figure:
    """shap's beeswarm summary: each dot a customer, x = SHAP value, colour = feature value."""
    import shap
    from matplotlib import pyplot as plt

    sample = _sample(X, sample_size, seed)
    values = shap_values(model, sample)
    # shap draws on pyplot's current figure; close it so notebooks do not show it twice.
    plt.figure(figsize=(7, 0.4 * max_display + 1.5))
    shap.summary_plot(
        values.to_numpy(), _numeric_display(model, sample), max_display=max_display, show=False
    )
    figure = plt.gcf()
    plt.close(figure)
    return figure


def plot_dependence(
    model: Any,
    X: pd.DataFrame,
    features: Sequence[str] | None = None,
    top_n: int = 4,
    sample_size: int = 2_000,
    seed: int = 42,
) -> Figure:
    """SHAP value against the feature's value, one panel per feature (default: the top
    `top_n` by mean |SHAP|); the trend shows how the feature moves the score."""
    sample = _sample(X, sample_size, seed)
    values = shap_values(model, sample)
    if features is None:
        features = list(values.abs().mean().sort_values(ascending=False).index[:top_n])
    display = _numeric_display(model, sample)
    columns = min(2, len(features))
    rows = int(np.ceil(len(features) / columns))
    figure = Figure(figsize=(5 * columns, 3.5 * rows), layout="constrained")
    for position, name in enumerate(features, start=1):
        axes = figure.add_subplot(rows, columns, position)
        axes.scatter(display[name], values[name], s=4, alpha=0.4)
        axes.axhline(0, color="grey", linewidth=1)
        axes.set(xlabel=name, ylabel="SHAP value (log-odds)", title=name)
        axes.grid(alpha=0.3)
    return figure


# --- reason codes ---------------------------------------------------------------------------

_SPEC = re.compile(r"^[,+\- ]*\.?(\d+)?([f%])$")


def _round_for_spec(values: np.ndarray, spec: str) -> np.ndarray:
    """Round to what the spec shows so equal-looking values are formatted once."""
    match = _SPEC.match(spec)
    if not match:
        return values
    digits = int(match.group(1) or 6) + (2 if match.group(2) == "%" else 0)
    return np.round(values, digits)


def _format(values: np.ndarray | pd.Categorical, spec: str) -> StringArray:
    """Format every value with `spec`; distinct values are formatted once."""
    if isinstance(values, pd.Categorical):
        categories = np.asarray(
            [format(str(c), spec) for c in values.categories] + [MISSING_TEXT], dtype=TEXT
        )
        codes = np.where(values.codes < 0, len(values.categories), values.codes)
        return categories[codes]
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    keys, inverse = np.unique(
        _round_for_spec(np.where(missing, 0.0, values), spec), return_inverse=True
    )
    texts = np.asarray([format(float(v), spec) for v in keys], dtype=TEXT)[inverse]
    texts[missing] = MISSING_TEXT
    return texts


def _fallback(name: str, values: np.ndarray | pd.Categorical) -> StringArray:
    spec = "" if isinstance(values, pd.Categorical) else ".4g"
    return np.strings.add(f"{name.replace('_', ' ')} is ", _format(values, spec))


def _sentences(
    name: str,
    template: str | None,
    values: np.ndarray | pd.Categorical,
    batch: pd.DataFrame,
    rows: np.ndarray,
) -> StringArray:
    """One sentence per row for feature `name` from its template, or the fallback; a
    missing value of the feature itself reads "<feature> unknown"."""
    texts = _templated(name, template, values, batch, rows) if template else None
    if texts is None:
        texts = _fallback(name, values)
    missing = values.codes < 0 if isinstance(values, pd.Categorical) else np.isnan(values)
    texts[missing] = f"{name.replace('_', ' ')} unknown"
    return texts


def _templated(
    name: str,
    template: str,
    values: np.ndarray | pd.Categorical,
    batch: pd.DataFrame,
    rows: np.ndarray,
) -> StringArray | None:
    """The template filled in for every row, or None when it cannot be used."""
    try:
        out = np.full(len(rows), "", dtype=TEXT)
        for literal, field, spec, conversion in string.Formatter().parse(template):
            out = np.strings.add(out, literal)
            if field is None:
                continue
            if conversion or (field != "value" and field not in batch.columns):
                raise KeyError(field)
            column = values if field == "value" else _column_values(batch[field], rows)
            out = np.strings.add(out, _format(column, spec or ""))
        return out
    except (KeyError, ValueError, TypeError) as error:
        log.debug("reason template of %r unusable (%s); using the fallback", name, error)
        return None


def _column_values(column: pd.Series, rows: np.ndarray) -> np.ndarray | pd.Categorical:
    numeric = pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
        column.dtype
    )
    if isinstance(column.dtype, pd.CategoricalDtype) or not numeric:
        return pd.Categorical(column.iloc[rows].astype(str).where(column.iloc[rows].notna()))
    return column.iloc[rows].to_numpy(dtype=np.float64, na_value=np.nan)


def _top_positive(contributions: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the `top_n` largest contributions per row (descending) and whether each
    is positive (pushes the score up)."""
    k = min(top_n, contributions.shape[1])
    top = np.argpartition(-contributions, k - 1, axis=1)[:, :k]
    top_values = np.take_along_axis(contributions, top, axis=1)
    order = np.argsort(-top_values, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_values, order, axis=1) > 0


def _reason_batch(
    model: Any,
    batch: pd.DataFrame,
    templates: Mapping[str, str | None],
    top_n: int,
    explainer: ModelContributions,
    num_threads: int,
) -> pd.DataFrame:
    matrix = model.to_matrix(batch)
    contributions, margin = explainer.transform(matrix, num_threads)
    top, positive = _top_positive(contributions, top_n)
    names = model.feature_names
    out: dict[str, Any] = {"score": model.score_from_margin(margin)}
    for rank in range(top.shape[1]):
        texts = np.full(len(batch), "", dtype=TEXT)
        features = np.where(positive[:, rank], top[:, rank], -1)
        for j in np.unique(features[features >= 0]):
            rows = np.flatnonzero(features == j)
            name = names[j]
            values = _feature_values(model, batch, name, matrix[rows, j], rows)
            texts[rows] = _sentences(name, templates.get(name), values, batch, rows)
        out[f"reason_{rank + 1}"] = texts.astype(object)
        out[f"reason_feature_{rank + 1}"] = pd.Categorical.from_codes(
            features, categories=list(names)
        )
    return pd.DataFrame(out, index=batch.index)


def _feature_values(
    model: Any, batch: pd.DataFrame, name: str, codes: np.ndarray, rows: np.ndarray
) -> np.ndarray | pd.Categorical:
    categories = model.schema.categories.get(name)
    if categories is None:
        return codes
    safe = np.where(np.isnan(codes), -1, codes).astype(int)
    return pd.Categorical.from_codes(safe, categories=list(categories))


def reason_codes(
    model: Any,
    X: pd.DataFrame,
    catalog: Mapping[str, Any] | None = None,
    top_n: int = 3,
    batch_size: int = 50_000,
    method: Literal["path", "shap"] = "path",
    num_threads: int = 1,
    workers: int = 2,
    progress: bool = True,
) -> pd.DataFrame:
    """Score and top-`top_n` reasons per row of `X` (index kept).

    Columns: score (as `model.predict`), reason_1..n (sentences; "" when fewer than n
    features push the score up), reason_feature_1..n (the feature names, categorical).
    `workers` threads each run LightGBM with `num_threads` on their own batches.
    """
    catalog = default_catalog() if catalog is None else catalog
    templates = {name: getattr(catalog.get(name), "reason", None) for name in model.feature_names}
    explainer = ModelContributions(model, method)
    n_batches = int(np.ceil(len(X) / batch_size))
    bar = tqdm(total=n_batches, desc="reason codes", unit="batch", disable=not progress)

    def run(start: int, stop: int) -> pd.DataFrame:
        result = _reason_batch(model, X.iloc[start:stop], templates, top_n, explainer, num_threads)
        bar.update()
        return result

    try:
        parts = batched(run, len(X), batch_size, workers)
    finally:
        bar.close()
    if not parts:
        return pd.DataFrame(columns=["score"])
    return pd.concat(parts)
