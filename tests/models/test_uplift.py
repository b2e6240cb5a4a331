import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from crm_ml.models import UpliftConfig, qini_coefficient, train_uplift_model
from crm_ml.models.uplift import plot_qini, qini_curve, uplift_by_decile

from .conftest import FAST_LGB


def campaign(n: int, seed: int) -> pd.DataFrame:
    """Randomised campaign: baseline response depends on x0, the effect of the contact only
    on x1 (+0.25 when x1 > 0, nothing otherwise)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    is_control = rng.random(n) < 0.5
    true_uplift = np.where(x[:, 1] > 0, 0.25, 0.0)
    p = 0.1 + 0.15 * (x[:, 0] > 0) + true_uplift * ~is_control
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"])
    frame["is_control"] = is_control
    frame["responded"] = (rng.random(n) < p).astype(int)
    frame["true_uplift"] = true_uplift
    return frame


@pytest.fixture(scope="module")
def train_test():
    return campaign(8000, 0), campaign(8000, 1)


@pytest.mark.parametrize("learner", ["t", "x"])
def test_learner_ranks_true_uplift_customers_first(train_test, learner):
    train, test = train_test
    model = train_uplift_model(train, "responded", config=UpliftConfig(learner, FAST_LGB))
    assert "true_uplift" not in model.feature_names and "is_control" not in model.feature_names
    uplift = model.predict(test)
    y, treated = test["responded"], ~test["is_control"]
    rng = np.random.default_rng(2)
    random_qini = [qini_coefficient(y, treated, rng.random(len(test))) for _ in range(20)]
    oracle = qini_coefficient(y, treated, test["true_uplift"] + rng.random(len(test)) * 1e-6)
    model_qini = qini_coefficient(y, treated, uplift)
    assert model_qini > max(random_qini) + 0.01
    assert model_qini > 0.6 * oracle
    # customers with a real effect get higher predicted uplift
    assert uplift[test["true_uplift"] > 0].mean() > uplift[test["true_uplift"] == 0].mean() + 0.1
    table = uplift_by_decile(y, treated, uplift)
    assert len(table) == 10 and table["count"].sum() == len(test)
    assert table["observed_uplift"].iloc[:3].mean() > table["observed_uplift"].iloc[-3:].mean()


def test_qini_curve_by_hand():
    y = [1, 0, 1, 0]
    treated = [True, False, True, False]
    curve = qini_curve(y, treated, [4, 3, 2, 1])
    # prefixes: (1 t-resp, 0 c) -> 1; (+1 control non-resp) -> 1; (+1 t-resp) -> 2; -> 2
    np.testing.assert_allclose(curve["qini"], [0, 1, 1, 2, 2])
    np.testing.assert_allclose(curve["random"], [0, 0.5, 1, 1.5, 2])
    assert qini_coefficient(y, treated, [4, 3, 2, 1]) > 0
    assert isinstance(plot_qini(y, treated, {"model": [4, 3, 2, 1]}), Figure)


def test_uplift_needs_both_arms(train_test):
    train, _ = train_test
    with pytest.raises(ValueError, match="treated and control"):
        train_uplift_model(train.assign(is_control=True), "responded")
