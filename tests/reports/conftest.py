"""A fabricated run folder: what the notebooks record, scores and accepted tables.

The values are chosen by the tests (KPI values, which notebooks ran), so each test knows
what the report must say; figures are real matplotlib PNGs so embedding is exercised.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from crm_ml.contract import pseudonymise_ids
from crm_ml.pipeline.paths import RunPaths
from crm_ml.pipeline.record import Recorder

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TEST_KEY = "reports-test-key"
AS_OF = pd.Timestamp("2024-06-30 23:59", tz="UTC")
N_CUSTOMERS = 40
SEGMENTS = ["high_value_loyal", "steady", "at_risk", "potential_growth", "sleeping"]
STAGES = ["acquisition", "growth", "mature", "decline", "churned"]
TIERS = ["core", "regular", "potential"]


@dataclass
class RunValues:
    """The numbers a fabricated run records; tests change the ones they check."""

    core_churn_rate: float = 0.043
    nps: float = 38.0
    recommendation_conversion: float = 0.34
    first_response: dict[str, float] = field(
        default_factory=lambda: {"complaint": 25.0, "fault": 150.0, "consult": 45.0}
    )
    holdout_roc_auc: float = 0.81
    baselines_not_beaten: int = 0
    churn_notes: list[str] = field(default_factory=list)
    drift_alert_columns: list[str] = field(default_factory=list)
    skip: set[str] = field(default_factory=set)  # notebooks that did not record anything
    seed: int = 7


def raw_ids(n: int = N_CUSTOMERS) -> list[str]:
    return [f"C{i:05d}" for i in range(1, n + 1)]


def pseudonyms(ids: Iterable[str]) -> list[str]:
    return pseudonymise_ids(pd.Series(list(ids)), key=TEST_KEY.encode()).tolist()


class _PngFigure:
    """Stands in for a matplotlib figure: `Recorder.figure` calls `savefig(path, ...)`."""

    def __init__(self, png: bytes) -> None:
        self.png = png

    def savefig(self, path, **_: object) -> None:
        Path(path).write_bytes(self.png)


@functools.cache
def _png(kind: str) -> bytes:
    """A real chart, drawn once per session (drawing is the slow part of a fabricated run)."""
    rng = np.random.default_rng(len(kind))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if kind == "curve":
        x = np.linspace(0, 1, 50)
        ax.plot(x, x**0.4, label="model")
        ax.plot(x, x, "--", color="grey", label="random")
        ax.legend()
    elif kind == "hist":
        ax.hist(rng.lognormal(6, 0.8, 500), bins=30, color="#8e44ad")
    else:
        ax.barh(SEGMENTS, rng.uniform(0.1, 1, len(SEGMENTS)), color="#8e44ad")
    ax.set_title(kind)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _figure(kind: str, rng: np.random.Generator) -> _PngFigure:
    return _PngFigure(_png(kind))


def _write_accepted(paths: RunPaths, ids: list[str], consent: list[bool], rng) -> None:
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string[pyarrow]"),
            "signup_ts": AS_OF - pd.to_timedelta(rng.integers(100, 1500, len(ids)), unit="D"),
            "region": rng.choice(["North", "South", "East", "West"], len(ids)),
            "marketing_consent": pd.array(consent, dtype="boolean"),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": [f"P{i:03d}" for i in range(12)],
            "category": ["shoes", "socks", "jackets", "bags"] * 3,
            "price": rng.uniform(5, 120, 12).round(2),
        }
    )
    lines = []
    for cid in ids:
        for k in range(int(rng.integers(1, 6))):
            lines.append(
                {
                    "order_id": f"O-{cid}-{k}",
                    "product_id": f"P{int(rng.integers(0, 12)):03d}",
                    "customer_id": cid,
                    "ts": AS_OF - pd.Timedelta(days=int(rng.integers(1, 500))),
                    "amount": float(rng.uniform(10, 200)),
                    "quantity": 1,
                    "is_return": False,
                }
            )
    orders = pd.DataFrame(lines).astype({"customer_id": "string[pyarrow]"})
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3", "T4", "T5"],
            "customer_id": pd.array([ids[0], ids[0], ids[1], ids[2], ids[3]], "string[pyarrow]"),
            "opened_ts": [
                AS_OF - pd.Timedelta(hours=5),  # open, no answer for 5 h: breach
                AS_OF - pd.Timedelta(days=40),  # resolved fault
                AS_OF - pd.Timedelta(minutes=10),  # open, 10 min: within 30 min
                AS_OF - pd.Timedelta(hours=3),  # open, answered after 50 min: breach
                AS_OF - pd.Timedelta(days=2),  # open, answered after 5 min: fine
            ],
            "kind": ["complaint", "fault", "complaint", "complaint", "complaint"],
        }
    )
    opened = tickets["opened_ts"]
    tickets["first_response_ts"] = [
        pd.NaT,
        opened[1] + pd.Timedelta(minutes=90),
        pd.NaT,
        opened[3] + pd.Timedelta(minutes=50),
        opened[4] + pd.Timedelta(minutes=5),
    ]
    tickets["resolved_ts"] = [pd.NaT, opened[1] + pd.Timedelta(days=1), pd.NaT, pd.NaT, pd.NaT]
    paths.accepted.mkdir(parents=True, exist_ok=True)
    for name, frame in [
        ("customers", customers),
        ("products", products),
        ("orders", orders),
        ("tickets", tickets),
    ]:
        frame.to_parquet(paths.accepted / f"{name}.parquet", index=False)
    (paths.accepted / "manifest.json").write_text(
        json.dumps({"as_of": AS_OF.isoformat(), "tables": ["customers", "orders", "tickets"]})
    )


def _scores(ids: list[str], consent: list[bool], rng) -> pd.DataFrame:
    n = len(ids)
    reasons = [
        "3 complaints in the last year",
        "no order for 74 days, usually every 21",
        "returned 40% of what they bought in the last year",
        "contacted 9 times in 90 days",
        "spent 1,200 in the last year",
    ]
    scores = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="string[pyarrow]"),
            "segment": rng.choice(SEGMENTS, n),
            "lifecycle_stage": rng.choice(STAGES, n),
            "service_tier": [
                "core",
                "regular",
                "potential",
                "core",
                *list(rng.choice(TIERS, n - 4)),
            ],
            "marketing_consent": consent,
            "churn_probability": rng.uniform(0.02, 0.95, n).round(3),
            "reason_1": [reasons[i % 5] for i in range(n)],
            "reason_2": [reasons[(i + 1) % 5] for i in range(n)],
            "reason_3": [reasons[(i + 2) % 5] for i in range(n)],
            "clv_12m": rng.lognormal(6, 0.9, n).round(2),
            "uplift": rng.normal(0.02, 0.04, n).round(4),
            "next_best_offer": rng.choice(["shoes", "socks", "jackets", "bags"], n),
            "offer_reason": "bought running shoes 3 weeks ago; customers like you also buy socks",
            "total_spend_365d": rng.uniform(0, 3000, n).round(2),
            "days_since_last_order": rng.integers(1, 400, n),
        }
    )
    quarter = scores["clv_12m"] / 4  # the spend model's chance of buying and range if they do
    return scores.assign(
        p_spend=np.linspace(0.1, 0.9, n).round(3),
        spend_low=(quarter * 0.3).round(2),
        spend_high=(quarter * 2.5).round(2),
    )


def _recommendations(ids: list[str]) -> pd.DataFrame:
    rows = [
        {
            "customer_id": cid,
            "rank": rank,
            "product_id": f"P{(i + rank) % 12:03d}",
            "category": ["shoes", "socks", "jackets", "bags"][(i + rank) % 4],
            "score": 1.0 / rank,
            "source": "als",
            "reason": f"customers like you also bought item P{(i + rank) % 12:03d}",
        }
        for i, cid in enumerate(ids)
        for rank in range(1, 6)
    ]
    return pd.DataFrame(rows).astype({"customer_id": "string[pyarrow]"})


def fabricate_run(experiments: Path, run_id: str, values: RunValues) -> RunPaths:
    """A run folder as the notebooks would leave it, with the given values."""
    rng = np.random.default_rng(values.seed)
    paths = RunPaths.for_run(run_id, experiments).ensure()
    ids = pseudonyms(raw_ids())
    consent = [i % 3 != 2 for i in range(len(ids))]  # every third customer without consent
    _write_accepted(paths, ids, consent, rng)
    (paths.scores / "customer_scores.parquet").parent.mkdir(parents=True, exist_ok=True)
    _scores(ids, consent, rng).to_parquet(paths.scores / "customer_scores.parquet", index=False)
    _recommendations(ids).to_parquet(paths.scores / "recommendations.parquet", index=False)
    paths.manifest.write_text(
        json.dumps({"run_id": run_id, "started": "2024-07-01T06:00:00+00:00"})
    )

    def recorder(name: str) -> Recorder | None:
        return None if name in values.skip else Recorder(paths, name)

    if r := recorder("01_data_quality"):
        from crm_ml.contract.coverage import table_coverage

        r.table("tables", table_coverage(["customers", "products", "orders", "tickets"]))
        r.table(
            "accounting",
            pd.DataFrame(
                {
                    "table": ["customers", "orders", "tickets"],
                    "read": [20_500, 310_000, 4_100],
                    "accepted": [20_000, 305_500, 4_000],
                    "quarantined": [480, 4_400, 100],
                    "erased": [20, 100, 0],
                }
            ),
        )
        r.table(
            "reasons",
            pd.DataFrame(
                {
                    "table": ["orders", "orders", "customers"],
                    "reason": ["unknown customer", "timestamp after export", "duplicate key"],
                    "count": [4_000, 400, 480],
                }
            ),
        )
        r.figure("accounting", _figure("bars", rng))
    if r := recorder("02_features_segments"):
        r.table(
            "segment_summary",
            pd.DataFrame(
                {
                    "segment": SEGMENTS,
                    "customers": [2_100, 6_400, 1_800, 3_300, 6_400],
                    "revenue_share": [0.41, 0.30, 0.12, 0.1, 0.07],
                    "churn_rate": [0.04, 0.12, 0.38, 0.15, 0.62],
                }
            ),
        )
        r.table(
            "lifecycle_summary",
            pd.DataFrame(
                {
                    "lifecycle_stage": list(reversed(STAGES)),
                    "customers": [5_000, 2_000, 8_000, 3_000, 2_000],
                    "revenue_share": [0.0, 0.1, 0.6, 0.2, 0.1],
                    "churn_rate": [0.9, 0.4, 0.08, 0.12, 0.3],
                }
            ),
        )
        r.table(
            "sla_compliance",
            pd.DataFrame(
                [
                    {
                        "kind": kind,
                        "tier": tier,
                        "tickets": 100,
                        "within_target_share": 0.8,
                        "median_first_response_minutes": minutes,
                        "target_minutes": {"complaint": 30, "fault": 120, "consult": 60}[kind],
                    }
                    for kind, minutes in values.first_response.items()
                    for tier in TIERS
                ]
            ),
        )
        r.metrics({"nps": values.nps, "core_churn_rate": values.core_churn_rate})
        r.figure("segments", _figure("bars", rng))
        r.figure("lifecycle", _figure("bars", rng))
    if r := recorder("03_churn"):
        r.table(
            "model_vs_baselines",
            pd.DataFrame(
                {
                    "model": ["lightgbm", "logistic_regression", "recency_rule"],
                    "roc_auc": [values.holdout_roc_auc, 0.76, 0.70],
                    "pr_auc": [0.62, 0.55, 0.48],
                    "log_loss": [0.41, 0.46, 0.52],
                    "brier": [0.13, 0.15, 0.18],
                    "ece": [0.012, 0.03, 0.08],
                    "top_decile_capture": [0.27, 0.22, 0.18],
                }
            ),
        )
        r.table(
            "drivers",
            pd.DataFrame(
                {
                    "feature": ["days_since_last_order", "orders_365d", "complaints_365d"],
                    "description": [
                        "Days since the last purchase order.",
                        "Purchase orders in the last 365 days.",
                        "Complaints in the last year.",
                    ],
                    "mean_abs_shap": [0.61, 0.33, 0.12],
                }
            ),
        )
        r.metrics(
            {
                "holdout_roc_auc": values.holdout_roc_auc,
                "oracle_gap_closure": 0.7,
                "ece": 0.012,
                "baselines_not_beaten": values.baselines_not_beaten,
            }
        )
        for note in values.churn_notes:
            r.note(note)
        for name in ("roc", "calibration", "gain", "shap_summary"):
            r.figure(name, _figure("curve", rng))
    if r := recorder("04_propensity_uplift"):
        r.table(
            "propensity_vs_baseline",
            pd.DataFrame({"model": ["lightgbm", "recency_rule"], "roc_auc": [0.74, 0.66]}),
        )
        r.table(
            "uplift_by_decile",
            pd.DataFrame(
                {
                    "decile": range(1, 11),
                    "n": [400] * 10,
                    "treated_response_rate": np.linspace(0.2, 0.05, 10),
                    "control_response_rate": np.linspace(0.1, 0.05, 10),
                    "uplift": np.linspace(0.1, 0.0, 10),
                }
            ),
        )
        r.metrics({"qini_coefficient": 0.081, "random_qini": 0.0})
        r.figure("qini", _figure("curve", rng))
    if r := recorder("05_clv"):
        r.table(
            "clv_vs_baselines",
            pd.DataFrame(
                {
                    "model": ["lightgbm", "bg_nbd", "last_year_spend"],
                    "mae": [310.5, 355.1, 420.0],
                    "rmse": [812.3, 901.2, 1_050.9],
                    "spearman": [0.71, 0.66, 0.6],
                    "total_spend_error": [0.03, 0.08, 0.12],
                }
            ),
        )
        r.table(
            "clv_deciles",
            pd.DataFrame(
                {
                    "decile": range(1, 11),
                    "customers": [2_000] * 10,
                    "mean_predicted_clv": np.linspace(3_000, 50, 10),
                    "mean_actual_spend": np.linspace(2_800, 60, 10),
                }
            ),
        )
        r.figure("clv_distribution", _figure("hist", rng))
        r.figure("clv_calibration", _figure("curve", rng))
    if r := recorder("06_recommendations"):
        r.table(
            "recsys_comparison",
            pd.DataFrame(
                {
                    "model": ["als", "item_knn", "popularity"],
                    "precision@10": [0.061, 0.055, 0.031],
                    "recall@10": [0.21, 0.19, 0.11],
                    "ndcg@10": [0.15, 0.14, 0.08],
                    "map@10": [0.08, 0.07, 0.04],
                    "hit_rate@10": [values.recommendation_conversion, 0.31, 0.2],
                    "coverage@10": [0.42, 0.5, 0.01],
                    "novelty@10": [5.2, 5.6, 2.1],
                    "diversity@10": [0.71, 0.64, 0.55],
                }
            ),
        )
        r.metrics(
            {
                "best_model": "als",
                "best_recall_at_10": 0.21,
                "popularity_recall_at_10": 0.11,
                "recommendation_conversion": values.recommendation_conversion,
            }
        )
        r.figure("recsys", _figure("bars", rng))
    if r := recorder("07_scoring"):
        r.table(
            "risk_by_segment",
            pd.DataFrame(
                {
                    "segment": SEGMENTS,
                    "customers": [2_100, 6_400, 1_800, 3_300, 6_400],
                    "mean_churn_probability": [0.05, 0.14, 0.41, 0.17, 0.66],
                    "high_risk_share": [0.01, 0.08, 0.35, 0.1, 0.7],
                }
            ),
        )
        columns = ["churn_probability", "clv_12m", "days_since_last_order", "orders_365d"]
        psi = [0.4 if c in values.drift_alert_columns else 0.03 for c in columns]
        r.table(
            "drift",
            pd.DataFrame({"column": columns, "psi": psi, "alert": [p > 0.25 for p in psi]}),
        )
        r.metric("drift_alerts", len(values.drift_alert_columns))
    return paths


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture
def make_run(tmp_path: Path, pseudonym_key: str) -> Callable[..., RunPaths]:
    """make_run(run_id="r1", **RunValues fields) -> RunPaths of a fabricated run."""

    def make(run_id: str = "20240701T060000-retail-test", **overrides) -> RunPaths:
        return fabricate_run(tmp_path / "experiments", run_id, RunValues(**overrides))

    return make


@dataclass(frozen=True)
class FabricatedIds:
    """The ids and export date of every fabricated run (tests import nothing from here)."""

    as_of: pd.Timestamp
    raw: list[str]
    pseudonyms: list[str]


@pytest.fixture
def fabricated(pseudonym_key: str) -> FabricatedIds:
    return FabricatedIds(AS_OF, raw_ids(), pseudonyms(raw_ids()))
