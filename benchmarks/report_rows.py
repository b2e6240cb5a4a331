"""Rows of the benchmark report, built only from the JSON the benchmarks wrote in one run.

A row: task, dataset, size (customers), metric, higher_is_better, ours, peers {name: value},
published {value, citation} or None, ratio {value, of} or None (`of` says which way:
"ours/peer" or "peer/ours", with the peer named), target {text, op, value, on} or None and
met. Targets and published figures are constants with a citation; every other number is
copied from a benchmark's JSON or computed from it here (ratios, growth exponents).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from harness import growth_exponent, ratio, target_met

Results = Mapping[str, Mapping[int, Mapping[str, Any]]]  # benchmark -> size -> JSON

SYNTHETIC = "synthetic retail world (configs/retail.yaml)"
CDNOW = "CDNOW 1/10 sample, weeks 1-39 / 40-78"
BGNBD_PARAMETERS = ("r", "alpha", "a", "b")
CORE_CHURN_RANGE = (0.05, 0.25)  # a believable default world (issue 21)


def row(
    task: str,
    dataset: str,
    size: float,
    metric: str,
    ours: float,
    *,
    higher_is_better: bool,
    peers: Mapping[str, float] | None = None,
    published: Mapping[str, Any] | None = None,
    ratio_peer: str | None = None,
    ratio_of: str = "peer/ours",
    target: Mapping[str, Any] | None = None,
    headline: bool = False,
    section: str = "speed",
) -> dict[str, Any]:
    """One report row; `ratio_peer` names the peer the ratio is taken against, `target.on`
    says whether the target applies to `ours`, the `ratio` or the `relative_error`."""
    peers = {k: float(v) for k, v in (peers or {}).items()}
    out: dict[str, Any] = {
        "section": section,
        "task": task,
        "dataset": dataset,
        "size": size,
        "metric": metric,
        "higher_is_better": higher_is_better,
        "ours": float(ours),
        "peers": peers,
        "published": dict(published) if published else None,
        "ratio": None,
        "target": dict(target) if target else None,
        "met": None,
        "headline": headline,
    }
    if ratio_peer is not None and ratio_peer in peers and peers[ratio_peer] != 0 and ours != 0:
        out["ratio"] = {
            "value": ratio(float(ours), peers[ratio_peer], ratio_of),
            "of": ratio_of.replace("peer", ratio_peer),
        }
    if published:
        out["relative_error"] = abs(float(ours) / float(published["value"]) - 1.0)
    if target and size < target.get("min_size", 0):
        out["met"] = None  # the target is defined at scale; small runs only report
    elif target:
        value = {
            "ours": out["ours"],
            "ratio": out["ratio"]["value"] if out["ratio"] else None,
            "relative_error": out.get("relative_error"),
        }[target.get("on", "ours")]
        out["met"] = None if value is None else target_met(value, target["op"], target["value"])
    return out


def target(
    text: str, op: str, value: float | tuple[float, float], on: str = "ours", min_size: int = 0
) -> dict[str, Any]:
    """A target on `ours`, the `ratio` or the `relative_error` (`op` "between" takes a
    (low, high) pair); judged only from `min_size` customers on (fixed costs dominate small
    runs of targets stated at scale)."""
    if min_size:
        text = f"{text} (judged from {min_size:,} customers)"
    bound = [float(v) for v in value] if isinstance(value, tuple) else float(value)
    return {"text": text, "op": op, "value": bound, "on": on, "min_size": min_size}


# ---------------------------------------------------------------- model quality


def _treatment_rows(
    treatments: Mapping[str, Any] | None, customers: int, kw: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The chosen-treatment policy against the best single treatment and the oracle."""
    if not treatments:
        return []
    m, task = treatments["metrics"], "treatment per customer (latest campaigns)"
    best = treatments["best_single"]
    rows = [
        row(
            task,
            SYNTHETIC,
            customers,
            "true net value per contact",
            m["policy_net_value"],
            higher_is_better=True,
            peers={best: m["best_single_net_value"]},
            ratio_peer=best,
            ratio_of="ours/peer",
            target=target(">= 1.2x the best single treatment", ">=", 1.2, on="ratio"),
            **kw,
        )
    ]
    if "oracle_net_value" in m:
        rows.append(
            row(
                task,
                SYNTHETIC,
                customers,
                "share of the oracle policy's net value",
                m["share_of_oracle"],
                higher_is_better=True,
                peers={
                    "oracle": m["oracle_net_value"],
                    "true effects learned from the features": m["feature_ceiling_net_value"],
                },
                target=target(">= 0.9", ">=", 0.9),
                **kw,
            )
        )
    return rows


def quality_rows(quality: Mapping[str, Any], customers: int) -> list[dict[str, Any]]:
    q = quality["quality"]
    rows: list[dict[str, Any]] = []
    kw = {"section": "quality", "headline": True}
    cdnow, published = q["cdnow"], q["published"]["cdnow_bgnbd"]
    for name in BGNBD_PARAMETERS:
        value = cdnow["bgnbd_parameters"][name]
        rows.append(
            row(
                "CDNOW BG/NBD replication",
                CDNOW,
                cdnow["customers"],
                f"BG/NBD {name}",
                value,
                higher_is_better=False,
                published={
                    "value": published["parameters"][name],
                    "citation": published["citation"],
                },
                target=target("within 1% of published", "<=", 0.01, on="relative_error"),
                **kw,
            )
        )
    holdout = cdnow["holdout"]
    rows.append(
        row(
            "CDNOW holdout transactions per customer",
            CDNOW,
            cdnow["customers"],
            "MAE (LightGBM)",
            holdout["lightgbm"]["mae"],
            higher_is_better=False,
            peers={
                "bg_nbd": holdout["bg_nbd"]["mae"],
                "no_purchase": holdout["no_purchase"]["mae"],
            },
            ratio_peer="bg_nbd",
            target=target("not worse than BG/NBD", ">=", 1.0, on="ratio"),
            **kw,
        )
    )
    churn = q["churn"]
    comparison, oracle = churn["comparison"], churn.get("oracle", {})
    baselines = {k: v["roc_auc"] for k, v in comparison.items() if k != "model"}
    ceilings = {k: oracle[f"{k}_auc"] for k in ("history_oracle", "oracle") if f"{k}_auc" in oracle}
    best_baseline = max(baselines, key=baselines.get)
    baselines.update(ceilings)
    rows.append(
        row(
            "churn (90 days)",
            SYNTHETIC,
            customers,
            "holdout ROC-AUC",
            comparison["model"]["roc_auc"],
            higher_is_better=True,
            peers=baselines,
            ratio_peer=best_baseline,
            ratio_of="ours/peer",
            target=target("above every baseline", ">", 1.0, on="ratio"),
            **kw,
        )
    )
    closures = (
        ("history_oracle", "gap closure to the history oracle", target(">= 0.85", ">=", 0.85)),
        ("oracle", "gap closure to the latent-trait oracle (no model can reach it)", None),
    )
    for name, metric, goal in closures:
        if f"{name}_gap_closure" in oracle:
            rows.append(
                row(
                    "churn (90 days)",
                    SYNTHETIC,
                    customers,
                    f"{metric}: (model - recency) / (oracle - recency)",
                    oracle[f"{name}_gap_closure"],
                    higher_is_better=True,
                    peers={"recency_rule": oracle["recency_auc"], name: oracle[f"{name}_auc"]},
                    target=goal,
                    **kw,
                )
            )
    rows.append(
        row(
            "churn (90 days)",
            SYNTHETIC,
            customers,
            "holdout ECE",
            churn["holdout_ece"],
            higher_is_better=False,
            target=target("< 0.02", "<", 0.02),
            **kw,
        )
    )
    rows += _recommendation_rows(q["recommendations"], customers, kw)
    segments = q.get("segments")  # absent from reports written before it existed
    if segments and segments.get("core_churn_rate") is not None:
        rows.append(
            row(
                "core-tier churn per 90 days (the KPI scorecard's figure)",
                SYNTHETIC,
                customers,
                "share of the top 20% of spenders without an order in 90 days",
                segments["core_churn_rate"],
                higher_is_better=False,
                target=target("between 5% and 25% (issue 21)", "between", CORE_CHURN_RANGE),
                **kw,
            )
        )
    if q.get("uplift"):
        m = q["uplift"]["metrics"]
        peers = {"random (mean)": m["random_qini"], "random (max)": m["random_qini_max"]}
        peers.update({k: m[k] for k in ("response_model_qini", "oracle_qini") if k in m})
        rows.append(
            row(
                "campaign uplift (latest campaigns)",
                SYNTHETIC,
                customers,
                "Qini coefficient",
                m["qini_coefficient"],
                higher_is_better=True,
                peers=peers,
                target=target("above the best of the random rankings", ">", m["random_qini_max"]),
                **kw,
            )
        )
        rows += _treatment_rows(q["uplift"].get("treatments"), customers, kw)
    clv = q["clv"]["comparison"]
    best_btyd = min((k for k in clv if k != "model"), key=lambda k: clv[k]["mae"])
    rows.append(
        row(
            "CLV (spend in the horizon)",
            SYNTHETIC,
            customers,
            "holdout MAE",
            clv["model"]["mae"],
            higher_is_better=False,
            peers={k: v["mae"] for k, v in clv.items() if k != "model"},
            ratio_peer=best_btyd,
            target=target(
                "below the better of BG/NBD and Pareto/NBD (+ Gamma-Gamma)", ">", 1.0, on="ratio"
            ),
            **kw,
        )
    )
    coverage = q["clv"].get("holdout", {}).get("interval_coverage")
    if coverage is not None:
        rows.append(
            row(
                "CLV (spend in the horizon)",
                SYNTHETIC,
                customers,
                "holdout buyers inside their 80% range",
                coverage,
                higher_is_better=True,
                target=target("75-85%", "between", (0.75, 0.85)),
                **kw,
            )
        )
    return rows


def _recommendation_rows(
    recs: Mapping[str, Any], customers: int, kw: Mapping[str, Any]
) -> list[dict[str, Any]]:
    table, best = recs["comparison"], recs["best_model"]
    recall = {k: v["recall@10"] for k, v in table.items() if "recall@10" in v}
    peers = {k: recall[k] for k in ("popular", "buy_again", "oracle") if k in recall}
    rows = [
        row(
            "recommendations",
            SYNTHETIC,
            customers,
            f"recall@10 of the best model ({best})",
            recall[best],
            higher_is_better=True,
            peers=peers,
            ratio_peer="popular",
            ratio_of="ours/peer",
            target=target("above popularity", ">", 1.0, on="ratio"),
            **kw,
        )
    ]
    served = f"served:{best}"
    if served in recall:
        rows.append(
            row(
                "recommendations",
                SYNTHETIC,
                customers,
                "recall@10 of the served lists (rules, buy-again slots)",
                recall[served],
                higher_is_better=True,
                peers=peers,
                ratio_peer="popular",
                ratio_of="ours/peer",
                target=target("above popularity", ">", 1.0, on="ratio"),
                **{**kw, "headline": False},
            )
        )
    return rows


# ---------------------------------------------------------------- data we were not tuned on

TABLE_AUC_TOLERANCE, TABLE_AUC_MEAN_GAIN = 0.002, 0.005  # issue 17
TABLE_FIT_SECONDS = 3.0  # issue 17: a fit on 5,000 rows, 2 cores
WORLDS_VS_POPULAR = 1.5  # issue 17: served recall@10 >= 1.5x popularity on every world
TABLES = "plain customer table"


def table_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per table of bench_tables.py: CV ROC-AUC and ECE against the references (and the true
    probabilities where known), the mean AUC gain, and the fit time on 5,000 rows."""
    rows: list[dict[str, Any]] = []
    kw = {"section": "quality", "headline": False}
    gains = []
    for t in data["tables"]:
        models = t["models"]
        references = {k: v for k, v in models.items() if k in ("lightgbm_default", "logistic")}
        best = max(references, key=lambda k: references[k]["roc_auc"])
        gains.append(t["auc_gain_over_best_reference"])
        dataset = (
            f"{TABLES}: {t['table']} ({t['columns']} columns, {t['positive_rate']:.1%} positive)"
        )
        others = {k: v for k, v in models.items() if k != "crm_ml"}
        rows.append(
            row(
                "binary classifier, 5-fold CV",
                dataset,
                t["rows"],
                "ROC-AUC",
                models["crm_ml"]["roc_auc"],
                higher_is_better=True,
                peers={k: v["roc_auc"] for k, v in others.items()},
                ratio_peer=best,
                ratio_of="ours/peer",
                target=target(
                    f"best reference - {TABLE_AUC_TOLERANCE}",
                    ">=",
                    references[best]["roc_auc"] - TABLE_AUC_TOLERANCE,
                ),
                **kw,
            )
        )
        rows.append(
            row(
                "binary classifier, 5-fold CV",
                dataset,
                t["rows"],
                "ECE (mean over folds)",
                models["crm_ml"]["ece"],
                higher_is_better=False,
                peers={k: v["ece"] for k, v in others.items()},
                ratio_peer="logistic",
                target=target("<= logistic regression", "<=", models["logistic"]["ece"]),
                **kw,
            )
        )
        if "fit_5000" in t:
            wall = t["fit_5000"]["crm_ml"][0]
            rows.append(
                row(
                    "binary classifier fit, 5,000 rows",
                    dataset,
                    5_000,
                    "wall s",
                    wall,
                    higher_is_better=False,
                    peers={"lightgbm_default": t["fit_5000"]["lightgbm_default"][0]},
                    target=target(f"<= {TABLE_FIT_SECONDS:g} s", "<=", TABLE_FIT_SECONDS),
                    section="speed",
                )
            )
    rows.append(
        row(
            "binary classifier, 5-fold CV",
            f"{TABLES}s: {len(gains)} of bench_tables.py",
            len(gains),
            "mean ROC-AUC gain over the best reference",
            sum(gains) / len(gains),
            higher_is_better=True,
            peers={"worst table": min(gains)},
            target=target(f">= +{TABLE_AUC_MEAN_GAIN}", ">=", TABLE_AUC_MEAN_GAIN),
            section="quality",
            headline=True,
        )
    )
    return rows


def world_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per world of bench_recsys_worlds.py: recall@10 of the served lists against popularity."""
    rows = []
    for name, w in data["worlds"].items():
        recall = w["recall@10"]
        peers = {k: recall[k] for k in ("popular", "buy_again", w["best_model"]) if k in recall}
        rows.append(
            row(
                "recommendations with the defaults",
                f"interaction world {name}",
                w.get("customers", 0),
                f"recall@10 of the served lists ({w['best_model']})",
                recall["served"],
                higher_is_better=True,
                peers=peers,
                ratio_peer="popular",
                ratio_of="ours/peer",
                target=target(
                    f">= {WORLDS_VS_POPULAR}x popularity", ">=", WORLDS_VS_POPULAR, on="ratio"
                ),
                section="quality",
                headline=False,
            )
        )
    return rows


COLD_START_MODEL = "attributes (category, subcategory, price band)"
COLD_START_BASELINES = ("category popularity", "days on sale")


def cold_start_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per world of bench_cold_start.py: recall@10 on the products launched after the cutoff,
    the attribute model against the lists without a model (the better one is the ratio's)."""
    rows = []
    for w in data["worlds"].values():
        recall = w["recall@10"]
        peers = {k: v for k, v in recall.items() if k != COLD_START_MODEL}
        best = max(COLD_START_BASELINES, key=lambda k: recall[k])
        rows.append(
            row(
                "cold-start products (launched after the cutoff)",
                f"synthetic retail world, seed {w['seed']}, {w['new_products']} launches "
                f"in the {data['params']['horizon_days']} days after {w['cutoff']}",
                w["customers"],
                f"recall@10 of the attribute model, {w['judged_customers']:,} buyers",
                recall[COLD_START_MODEL],
                higher_is_better=True,
                peers=peers,
                ratio_peer=best,
                ratio_of="ours/peer",
                target=target("above the lists without a model", ">", 1.0, on="ratio"),
                section="quality",
                headline=w["default"],
            )
        )
    return rows


REALISM_FIGURES = {  # figure -> (metric, target or None)
    "core_churn_90d": ("core-tier churn per 90 days", CORE_CHURN_RANGE),
    "repeat_rate_1y": ("one-year repeat rate", None),
    "orders_per_active_year": ("orders per active customer-year", None),
    "nps": ("NPS", None),
}


def realism_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per world of bench_world_realism.py: what a retailer would check against their own
    data; the core-tier churn range is judged on the retail worlds."""
    rows = []
    for w in data["worlds"].values():
        for figure, (metric, bounds) in REALISM_FIGURES.items():
            judged = bounds is not None and w["industry"] == "retail"
            rows.append(
                row(
                    "believable synthetic world",
                    f"synthetic {w['industry']} world, seed {w['seed']}",
                    w["customers"],
                    metric,
                    w[figure],
                    higher_is_better=False,
                    target=target("between 5% and 25% (issue 21)", "between", bounds)
                    if judged
                    else None,
                    section="quality",
                    headline=judged and w["default"],
                )
            )
    return rows


def _replication_rows(
    task: str, dataset: str, size: int, model: str, fit: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One row per parameter of `fit` (parameters, published, citation), judged within 1%."""
    return [
        row(
            task,
            dataset,
            size,
            f"{model} {name}",
            value,
            higher_is_better=False,
            published={"value": fit["published"][name], "citation": fit["citation"]},
            target=target("within 1% of published", "<=", 0.01, on="relative_error"),
            section="quality",
        )
        for name, value in fit["parameters"].items()
    ]


def replication_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """bench_replications.py: each published parameter against our estimate."""
    rows = []
    for fit in data["sbg"]:
        cohort = f"Fader & Hardie (2007) {fit['cohort']} cohort, years 1-{fit['years']}"
        rows += _replication_rows(
            "sBG contract-retention replication", cohort, fit["years"], "sBG", fit
        )
    pareto = data.get("pareto_nbd")  # absent from reports written before it existed
    if pareto:
        rows += _replication_rows(
            "CDNOW Pareto/NBD replication", CDNOW, pareto["customers"], "Pareto/NBD", pareto
        )
    return rows


CONTRACT_CLOSURE, CONTRACT_ECE = 0.85, 0.02  # issue 20, on the default b2b and finance worlds
CONTRACT_DEFAULT_CUSTOMERS = 20_000  # the configured worlds' size: smaller runs only report
CONTRACT_WORLDS = {
    "b2b": "synthetic b2b world (configs/b2b.yaml)",
    "finance": "synthetic finance world (configs/finance.yaml)",
    "subscription": "synthetic subscription world (configs/retail.yaml, industry subscription)",
}


def contract_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per world of bench_contracts.py: holdout ROC AUC against the survival baselines and
    the history oracle, the gap closure to the oracle and ECE; targets on judged worlds."""
    rows = []
    for name, w in data["worlds"].items():
        judged = name in data["judged"]
        auc, ece = w["roc_auc"], w["ece"]
        baselines = {k: v for k, v in auc.items() if k not in ("model", "history_oracle")}
        best = max(baselines, key=baselines.get)
        kw = {"section": "quality", "headline": judged}
        common = ("contract churn in the horizon, holdout", CONTRACT_WORLDS[name], w["customers"])
        rows.append(
            row(
                *common,
                "ROC-AUC",
                auc["model"],
                higher_is_better=True,
                peers={k: v for k, v in auc.items() if k != "model"},
                ratio_peer=best,
                ratio_of="ours/peer",
                target=target(
                    "> every survival baseline", ">", 1.0, "ratio", CONTRACT_DEFAULT_CUSTOMERS
                )
                if judged
                else None,
                **kw,
            )
        )
        if w["closure"] is not None:
            rows.append(
                row(
                    *common,
                    "ROC-AUC gap closure from the days-to-renewal rule to the history oracle",
                    w["closure"],
                    higher_is_better=True,
                    target=target(
                        f">= {CONTRACT_CLOSURE}",
                        ">=",
                        CONTRACT_CLOSURE,
                        min_size=CONTRACT_DEFAULT_CUSTOMERS,
                    )
                    if judged
                    else None,
                    **kw,
                )
            )
        rows.append(
            row(
                *common,
                "ECE",
                ece["model"],
                higher_is_better=False,
                peers={k: v for k, v in ece.items() if k != "model"},
                target=target(
                    f"< {CONTRACT_ECE}", "<", CONTRACT_ECE, min_size=CONTRACT_DEFAULT_CUSTOMERS
                )
                if judged
                else None,
                section="quality",
            )
        )
    return rows


# ---------------------------------------------------------------- speed and scale

VALIDATE_TARGET_GB, VALIDATE_TARGET_LINES = 3.0, 1_000_000  # issue 2: 1M order lines < 3 GB
GENERATE_TARGET_GB = 8.0  # issue 3: 1M customers x 24 months under 8 GB
FEATURES_TARGET_S, FEATURES_TARGET_GB = 90.0, 8.0  # issue 4, whole table at 1M customers
FEATURES_SPEED_UP = 3.0  # issue 4: DuckDB at least 3x faster than pandas, lower memory
AT_SCALE = 1_000_000  # issues 4-6 state their relative targets at 1M customers
DEMO = 20_000  # issue 7 states the pipeline targets on the default world
SCORE_TARGET_ROWS_PER_S = 50_000.0  # issue 5: scoring with reason codes on 2 cores
RECSYS_OVERHEAD = 1.3  # issue 6: our layer at most 1.3x bare implicit (time and memory)
PIPELINE_OVERHEAD, PIPELINE_TARGET_S = 1.3, 300.0  # issue 7: make run < 5 min, <= 1.3x direct
ALL_NOTEBOOKS = 8


def _largest(sizes: Mapping[int, Any]) -> int:
    return max(sizes)


def speed_rows(results: Results) -> list[dict[str, Any]]:
    """Rows per benchmark and size; headline rows at the largest size run."""
    rows: list[dict[str, Any]] = []
    for bench, builder in _SPEED.items():  # the order of the flow, whatever the JSON's order
        by_size = results.get(bench)
        if not by_size:
            continue
        top = _largest(by_size)
        for size in sorted(by_size):
            rows += builder(by_size[size], size, size == top)
    return rows


def _validate(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    v, p = data["variants"]["ours"], data["params"]
    dataset = f"random CSV export, {p['orders']:,} order lines"
    # the target is stated for an export of 1M order lines; bigger ones only report
    memory = (
        target(f"< {VALIDATE_TARGET_GB:g} GB up to 1M order lines", "<", VALIDATE_TARGET_GB)
        if p["orders"] <= VALIDATE_TARGET_LINES
        else None
    )
    return [
        row("data validation", dataset, size, "rows/s", v["rows_per_s"], higher_is_better=True),
        row(
            "data validation",
            dataset,
            size,
            "peak RSS GB",
            v["peak_rss_gb"],
            higher_is_better=False,
            target=memory,
            headline=headline,
        ),
        row("data validation", dataset, size, "wall s", v["wall_s"], higher_is_better=False),
    ]


def _generate(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    v = data["variants"]["ours"]
    dataset = f"synthetic world, {data['params']['months']} months"
    return [
        row("world generation", dataset, size, "rows/s", v["rows_per_s"], higher_is_better=True),
        row(
            "world generation",
            dataset,
            size,
            "peak RSS GB",
            v["peak_rss_gb"],
            higher_is_better=False,
            target=target(f"< {GENERATE_TARGET_GB:g} GB", "<", GENERATE_TARGET_GB),
            headline=headline,
        ),
        row("world generation", dataset, size, "wall s", v["wall_s"], higher_is_better=False),
    ]


def _features(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    duck, pandas = data["variants"]["duckdb"], data["variants"].get("pandas")
    p = data["params"]
    dataset = f"random tables, {p['orders']:,} order lines, {p['events']:,} events"
    task = "feature table (DuckDB, all features; pandas: RFM + engagement)"
    peer = lambda key: {"pandas": pandas[key]} if pandas else {}  # noqa: E731
    return [
        row(
            task,
            dataset,
            size,
            "wall s",
            duck["wall_s"],
            higher_is_better=False,
            peers=peer("wall_s"),
            ratio_peer="pandas",
            target=target(
                f"pandas/DuckDB >= {FEATURES_SPEED_UP:g}x",
                ">=",
                FEATURES_SPEED_UP,
                "ratio",
                min_size=AT_SCALE,
            ),
            headline=headline,
        ),
        row(
            "feature table (DuckDB, whole table)",
            dataset,
            size,
            "wall s",
            duck["wall_s"],
            higher_is_better=False,
            target=target(f"< {FEATURES_TARGET_S:g} s", "<", FEATURES_TARGET_S),
        ),
        row(
            "feature table (DuckDB, whole table)",
            dataset,
            size,
            "peak RSS GB",
            duck["peak_rss_gb"],
            higher_is_better=False,
            target=target(f"< {FEATURES_TARGET_GB:g} GB", "<", FEATURES_TARGET_GB),
        ),
        row(
            task,
            dataset,
            size,
            "peak RSS GB",
            duck["peak_rss_gb"],
            higher_is_better=False,
            peers=peer("peak_rss_gb"),
            ratio_peer="pandas",
            target=target("below pandas", ">", 1.0, "ratio", min_size=AT_SCALE),
        ),
        row(
            task,
            dataset,
            size,
            "cpu s",
            duck["cpu_s"],
            higher_is_better=False,
            peers=peer("cpu_s"),
            ratio_peer="pandas",
        ),
        row(
            task,
            dataset,
            size,
            "input rows/s",
            duck["rows_per_s"],
            higher_is_better=True,
            peers=peer("rows_per_s"),
        ),
    ]


def _models(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    train, score = data["phases"]["train"], data["phases"]["score_with_reasons"]
    dataset = "synthetic churn snapshots"
    return [
        row("churn training", dataset, size, "wall s", train["wall_s"], higher_is_better=False),
        row(
            "churn training",
            dataset,
            size,
            "peak RSS GB",
            train["peak_rss_gb"],
            higher_is_better=False,
        ),
        row(
            "scoring with reason codes",
            dataset,
            size,
            "customers/s",
            score["rows_per_s"],
            higher_is_better=True,
            target=target(
                f">= {SCORE_TARGET_ROWS_PER_S:,.0f}/s",
                ">=",
                SCORE_TARGET_ROWS_PER_S,
                min_size=AT_SCALE,
            ),
            headline=headline,
        ),
        row(
            "scoring with reason codes",
            dataset,
            size,
            "peak RSS GB",
            score["peak_rss_gb"],
            higher_is_better=False,
        ),
    ]


def _recsys(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    ours, bare = data["variants"]["ours"], data["variants"]["bare"]
    p = data["params"]
    dataset = f"power-law matrix, {p['products']:,} products, {p['non_zeros']:,} non-zeros"
    task = "recommender (ALS fit + top-k with rules) vs bare implicit"
    overhead = target(
        f"ours/bare <= {RECSYS_OVERHEAD:g}x", "<=", RECSYS_OVERHEAD, "ratio", min_size=AT_SCALE
    )
    common = {"ratio_peer": "bare implicit", "ratio_of": "ours/peer"}
    return [
        row(
            task,
            dataset,
            size,
            "wall s",
            ours["wall_s"],
            higher_is_better=False,
            peers={"bare implicit": bare["wall_s"]},
            target=overhead,
            headline=headline,
            **common,
        ),
        row(
            task,
            dataset,
            size,
            "peak RSS GB",
            ours["peak_rss_gb"],
            higher_is_better=False,
            peers={"bare implicit": bare["peak_rss_gb"]},
            target=overhead,
            **common,
        ),
        row(
            task,
            dataset,
            size,
            "fit s",
            ours["fit_s"],
            higher_is_better=False,
            peers={"bare implicit": bare["fit_s"]},
            **common,
        ),
        row(
            task,
            dataset,
            size,
            "recommend s",
            ours["recommend_s"],
            higher_is_better=False,
            peers={"bare implicit": bare["recommend_s"]},
            **common,
        ),
    ]


def _pipeline(data: Mapping[str, Any], size: int, headline: bool) -> list[dict[str, Any]]:
    nb, direct = data["variants"]["pipeline"], data["variants"]["direct"]
    notebooks = data["params"]["notebooks"]
    task = "pipeline (crm-ml run, Papermill) vs direct calls"
    if len(notebooks) < ALL_NOTEBOOKS:  # a smoke run of the first notebooks only
        task += f", notebooks {notebooks[0][:2]}-{notebooks[-1][:2]} only"
    rows = [
        row(
            task,
            SYNTHETIC,
            size,
            "wall s",
            nb["wall_s"],
            higher_is_better=False,
            peers={"direct": direct["wall_s"]},
            ratio_peer="direct",
            ratio_of="ours/peer",
            target=target(
                f"pipeline/direct <= {PIPELINE_OVERHEAD:g}x",
                "<=",
                PIPELINE_OVERHEAD,
                "ratio",
                min_size=DEMO,
            ),
            headline=headline,
        ),
    ]
    if len(notebooks) < ALL_NOTEBOOKS:
        return rows
    return [
        *rows,
        row(
            "make run (the whole pipeline)",
            SYNTHETIC,
            size,
            "wall s",
            nb["wall_s"],
            higher_is_better=False,
            target=target(f"< {PIPELINE_TARGET_S:g} s", "<", PIPELINE_TARGET_S, min_size=DEMO),
            headline=headline,
        ),
    ]


_SPEED = {
    "validate": _validate,
    "generate": _generate,
    "features": _features,
    "models": _models,
    "recsys": _recsys,
    "pipeline": _pipeline,
}

# (benchmark, where the measured variant / phase lives, its key, the task name)
_GROWTH = [
    ("validate", "variants", "ours", "data validation"),
    ("generate", "variants", "ours", "world generation"),
    ("features", "variants", "duckdb", "feature table (DuckDB)"),
    ("features", "variants", "pandas", "feature table (pandas peer)"),
    ("models", "phases", "train", "churn training"),
    ("models", "phases", "score_with_reasons", "scoring with reason codes"),
    ("recsys", "variants", "ours", "recommender (ours)"),
    ("recsys", "variants", "bare", "recommender (bare implicit)"),
]


def growth_rows(results: Results) -> list[dict[str, Any]]:
    """Exponent k of t ~ n^k between consecutive sizes, for wall time and peak memory."""
    rows: list[dict[str, Any]] = []
    for bench, group, key, task in _GROWTH:
        by_size = results.get(bench, {})
        sizes = sorted(n for n in by_size if key in by_size[n].get(group, {}))
        for n1, n2 in itertools.pairwise(sizes):
            a, b = by_size[n1][group][key], by_size[n2][group][key]
            for measure, metric in (("wall_s", "wall time"), ("peak_rss_gb", "peak memory")):
                out = row(
                    task,
                    f"{n1:,} -> {n2:,} customers",
                    n2,
                    f"growth exponent of {metric}",
                    growth_exponent(n1, a[measure], n2, b[measure]),
                    higher_is_better=False,
                    section="growth",
                )
                out["from_size"] = n1
                rows.append(out)
    return rows
