import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from crm_ml.models.plots import (
    plot_cumulative_gain,
    plot_reliability,
    plot_roc,
    plot_survival_curves,
    plot_weekly_forecast,
)
from crm_ml.models.survival import kaplan_meier

rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 500)
P = np.clip(Y * 0.3 + rng.random(500) * 0.7, 0, 1)


def _lines(figure: Figure) -> list[str]:
    return [line.get_label() for line in figure.axes[0].get_lines()]


def test_roc_reliability_and_gain_draw_one_line_per_score_plus_reference():
    scores = {"model": P, "recency_rule": rng.random(500)}
    for plot in (plot_roc, plot_reliability, plot_cumulative_gain):
        figure = plot(Y, scores)
        assert isinstance(figure, Figure)
        labels = _lines(figure)
        assert any(label.startswith("model") for label in labels)
        assert any(label.startswith("recency_rule") for label in labels)
        assert len(labels) == 3


def test_weekly_forecast_plots_actual_and_each_forecast():
    weeks = pd.RangeIndex(40, 79, name="week")
    actual = pd.Series(rng.poisson(50, len(weeks)), index=weeks)
    figure = plot_weekly_forecast(
        actual, {"bg_nbd": actual * 1.1, "lightgbm": actual * 0.95}, cumulative=True
    )
    assert _lines(figure) == ["actual", "bg_nbd", "lightgbm"]
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_ydata(), actual.cumsum())


def test_survival_curves_step_from_one_per_group():
    curves = pd.concat(
        [
            kaplan_meier([1, 2, 3], [True, True, False]).assign(group="basic"),
            kaplan_meier([2, 4], [True, False]).assign(group="pro"),
        ]
    )
    figure = plot_survival_curves(curves)
    assert _lines(figure) == ["basic", "pro"]
    basic = figure.axes[0].get_lines()[0]
    np.testing.assert_allclose(basic.get_ydata(), [1.0, 2 / 3, 1 / 3])  # starts at 1
