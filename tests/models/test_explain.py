from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from crm_ml.models import BinaryModelConfig, LeakageConfig, reason_codes, train_binary_model
from crm_ml.models.contributions import ModelContributions
from crm_ml.models.explain import (
    _sentences,
    global_drivers,
    plot_dependence,
    plot_shap_summary,
)

from .conftest import FAST_LGB

CATALOG = {
    "recency": SimpleNamespace(
        description="days since the last order",
        reason="no order for {value:.0f} days, usually every {usual_gap:.0f}",
    ),
    "tier": SimpleNamespace(description="service tier", reason="{value} service tier"),
    "complaints": SimpleNamespace(description="complaints", reason="{value:.0f} open complaints"),
}


@pytest.fixture(scope="module")
def explained():
    """Churn driven by recency (strong), complaints (medium) and the 'basic' tier (small);
    `noise` does nothing. usual_gap is not a feature, only used by the recency sentence."""
    rng = np.random.default_rng(3)
    n = 6000
    frame = pd.DataFrame(
        {
            "recency": rng.uniform(0, 200, n).round(),
            "complaints": rng.poisson(0.5, n).astype(float),
            "tier": pd.Categorical(rng.choice(["basic", "gold"], n)),
            "noise": rng.normal(size=n),
            "usual_gap": rng.uniform(10, 40, n),
        }
    )
    logit = (
        -3 + 0.03 * frame["recency"] + 0.8 * frame["complaints"] + 0.4 * (frame["tier"] == "basic")
    )
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    config = BinaryModelConfig(lightgbm=FAST_LGB, leakage=LeakageConfig(action="warn"))
    result = train_binary_model(
        frame,
        "label",
        config,
        split_column=None,
        id_column=None,
        feature_columns=["recency", "complaints", "tier", "noise"],
    )
    return result.model, frame.drop(columns="label")


def test_scores_match_model_predict(explained):
    model, X = explained
    reasons = reason_codes(model, X, CATALOG, batch_size=1000, progress=False)
    np.testing.assert_allclose(reasons["score"], model.predict(X), atol=1e-9)
    assert reasons.index.equals(X.index)


def test_top_reason_is_the_dominant_driver_with_its_sentence(explained):
    model, X = explained
    stale = X[(X["recency"] > 170) & (X["complaints"] == 0)]
    for method in ("path", "shap"):
        reasons = reason_codes(model, stale, CATALOG, method=method, progress=False, workers=1)
        assert (reasons["reason_feature_1"] == "recency").mean() > 0.95
    row = stale.iloc[0]
    expected = f"no order for {row['recency']:.0f} days, usually every {row['usual_gap']:.0f}"
    assert reasons.loc[stale.index[0], "reason_1"] == expected


def test_categorical_and_fallback_sentences(explained):
    model, X = explained
    reasons = reason_codes(model, X, CATALOG, progress=False)
    long = reasons.melt(value_vars=["reason_1", "reason_2", "reason_3"], value_name="text")
    features = reasons.melt(
        value_vars=["reason_feature_1", "reason_feature_2", "reason_feature_3"],
        value_name="feature",
    )
    tier_texts = set(long["text"][features["feature"].to_numpy() == "tier"])
    assert tier_texts <= {"basic service tier", "gold service tier"} and tier_texts
    noise_rows = features["feature"].to_numpy() == "noise"
    assert long["text"][noise_rows].str.match(r"^noise is -?[0-9.e+-]+$").all()


def test_only_features_pushing_the_score_up_are_reasons(explained):
    model, X = explained
    reasons = reason_codes(model, X, CATALOG, progress=False)
    contributions, _ = ModelContributions(model).transform(model.to_matrix(X))
    third_largest = np.sort(contributions, axis=1)[:, -3]
    empty = reasons["reason_3"].to_numpy() == ""
    np.testing.assert_array_equal(empty, third_largest <= 0)
    assert reasons["reason_feature_3"].isna().to_numpy()[empty].all()
    assert empty.any() and not empty.all()


@pytest.mark.parametrize("method", ["path", "shap"])
def test_contributions_of_the_blend_add_up_to_its_margin(explained, method):
    model, X = explained
    assert model.blend.trees > 0 and model.uses_linear  # both parts are explained
    matrix = model.to_matrix(X)
    contributions, margin = ModelContributions(model, method).transform(matrix)
    np.testing.assert_allclose(margin, model.predict_margin(matrix), atol=1e-9)
    assert contributions.shape == matrix.shape and np.abs(contributions).sum(axis=0).all()
    # the linear part alone adds up too, centred on its training mean
    terms, bias = model.linear.contributions(matrix)
    np.testing.assert_allclose(terms.sum(axis=1) + bias, model.linear.margin(matrix), atol=1e-9)


def test_global_drivers_and_plots(explained):
    model, X = explained
    drivers = global_drivers(model, X, catalog=CATALOG)
    assert drivers["feature"].iloc[0] == "recency"
    assert drivers["feature"].iloc[-1] == "noise"
    assert drivers["share"].sum() == pytest.approx(1.0)
    assert drivers["description"].iloc[0] == "days since the last order"
    assert isinstance(plot_shap_summary(model, X, sample_size=500), Figure)
    figure = plot_dependence(model, X, top_n=3, sample_size=500)
    assert len(figure.axes) == 3


def test_missing_feature_value_reads_unknown(explained):
    model, X = explained
    stale = X[(X["recency"] > 170) & (X["complaints"] == 0)].head(50).copy()
    stale["usual_gap"] = np.nan
    reasons = reason_codes(model, stale, CATALOG, progress=False)
    assert reasons["reason_1"].str.endswith("usually every unknown").all()
    batch = pd.DataFrame({"usual_gap": [20.0, 30.0]})
    texts = _sentences(
        "recency", CATALOG["recency"].reason, np.array([np.nan, 12.0]), batch, np.arange(2)
    )
    assert texts.tolist() == ["recency unknown", "no order for 12 days, usually every 30"]
