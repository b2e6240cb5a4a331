"""The sections of the stakeholder report, each built from what one or two notebooks recorded.

Every section starts with a sentence or two in plain English saying what the reader looks
at; a table or figure the run did not record becomes a visible "not available" line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from crm_ml.notebooks import Notebook
from crm_ml.pipeline.config import RunConfig
from crm_ml.reports.actions import (
    EMPTY_FILE,
    HIGH_RISK_PROBABILITY,
    LIST_NAMES,
    PLAN_SUMMARY,
    PLAN_TOTALS,
)
from crm_ml.reports.blocks import (
    Alert,
    Bar,
    Bars,
    Block,
    Figure,
    Figures,
    Section,
    Stat,
    Stats,
    Table,
    Text,
    Unavailable,
)
from crm_ml.reports.formatting import (
    MISSING,
    finite_or_none,
    fmt_count,
    fmt_decimal,
    fmt_money,
    fmt_percent,
    table_view,
)
from crm_ml.reports.run_data import RunData

LIFECYCLE_ORDER = ("acquisition", "growth", "mature", "decline", "churned")


def _table(
    run: RunData,
    notebook: str,
    name: str,
    what: str,
    caption: str = "",
    *,
    sort: str | None = None,
    ascending: bool = False,
    limit: int | None = None,
    highlight_first: bool = False,
    needs: str | None = None,
    why: str | None = None,
) -> Block:
    """A recorded table, or a line saying it is missing and why (`why`, else the optional
    table it `needs` when the export lacks it)."""
    frame = run.table(notebook, name)
    if frame is None or frame.empty:
        reason = why or run.missing(needs)
        return Unavailable(what, reason) if reason else Unavailable(what)
    if sort and sort in frame.columns:
        frame = frame.sort_values(sort, ascending=ascending, kind="stable")
    return Table(table_view(frame, limit=limit, highlight_first=highlight_first), caption)


def _figures(run: RunData, notebook: str, names: Sequence[tuple[str, str]]) -> list[Block]:
    """The figures that exist as one row; a line naming the ones that do not."""
    found = [Figure(uri, caption) for name, caption in names if (uri := run.figure(notebook, name))]
    missing = [caption for name, caption in names if not run.figure(notebook, name)]
    blocks: list[Block] = [Figures(found)] if found else []
    if missing:
        blocks.append(Unavailable("chart: " + "; ".join(m.lower() for m in missing)))
    return blocks


def _stats(items: Sequence[Stat | None]) -> list[Block]:
    present = [s for s in items if s is not None]
    return [Stats(present)] if present else []


def _metric_stat(run: RunData, notebook: str, metric: str, label: str, fmt, note: str = ""):
    value = finite_or_none(run.metric(notebook, metric))
    return None if value is None else Stat(label, fmt(value), note)


def _ordered(frame: pd.DataFrame | None, column: str, order: Sequence[str]) -> pd.DataFrame | None:
    if frame is None or column not in frame.columns:
        return frame
    rank = {name: i for i, name in enumerate(order)}
    return frame.sort_values(column, key=lambda s: s.astype(str).map(rank).fillna(len(rank)))


def segments_section(run: RunData) -> Section:
    nb = Notebook.FEATURES_SEGMENTS
    segments = run.table(nb, "segment_summary")
    stats: list[Stat | None] = []
    if segments is not None and "customers" in segments:
        stats.append(Stat("Customers analysed", fmt_count(segments["customers"].sum())))
    stats.append(_metric_stat(run, nb, "core_churn_rate", "Core-customer churn", fmt_percent))
    stats.append(_metric_stat(run, nb, "nps", "Net Promoter Score", lambda v: f"{v:+.0f}"))
    blocks: list[Block] = [*_stats(stats)]
    blocks.append(
        _table(
            run, nb, "segment_summary", "segment overview", "Customer segments", sort="customers"
        )
    )
    lifecycle = _ordered(run.table(nb, "lifecycle_summary"), "lifecycle_stage", LIFECYCLE_ORDER)
    blocks.append(
        Table(table_view(lifecycle), "Lifecycle stages")
        if lifecycle is not None and not lifecycle.empty
        else Unavailable("lifecycle overview")
    )
    blocks += _figures(run, nb, [("segments", "Segments"), ("lifecycle", "Lifecycle stages")])
    return Section(
        "segments",
        "Customers: segments and lifecycle",
        "Who our customers are. Segments group customers by how recently, how often and how "
        "much they buy; lifecycle stages say where each customer is in their relationship with "
        "us. Revenue share and churn rate show which groups matter most and which are slipping.",
        blocks,
    )


def churn_section(run: RunData, config: RunConfig) -> Section:
    nb = Notebook.CHURN
    scores = run.scores()
    stats: list[Stat | None] = [
        _metric_stat(
            run,
            nb,
            "holdout_roc_auc",
            "Model accuracy (ROC AUC)",
            fmt_decimal,
            "0.5 = guessing, 1 = perfect",
        ),
    ]
    if scores is not None and "lifecycle_stage" in scores:
        # churn is defined for customers active in the last year; the lapsed are already gone
        scores = scores[scores["lifecycle_stage"].astype(str) != "churned"]
    stats += _risk_stats(scores, "customers who bought in the last year")
    blocks: list[Block] = [*_stats(stats)]
    blocks.append(
        _table(
            run,
            Notebook.SCORING,
            "risk_by_segment",
            "churn risk by segment",
            "Churn risk by segment, riskiest first",
            sort="mean_churn_probability",
        )
    )
    blocks.append(_drivers(run, nb))
    return Section(
        "churn",
        "Churn risk",
        f"How likely customers are to stop buying in the next {config.horizon_days} days. "
        "The churn model scores every customer; the table shows the average risk per segment "
        "and the share of customers at high risk, and the bars show which behaviours push "
        "risk up the most across all customers.",
        blocks,
    )


def _drivers(run: RunData, nb: str) -> Block:
    """The churn model's top 10 drivers as bars, strongest first."""
    drivers = run.table(nb, "drivers")
    if drivers is None or drivers.empty or "mean_abs_shap" not in drivers:
        return Unavailable("churn drivers")
    top = drivers.sort_values("mean_abs_shap", ascending=False).head(10)
    widest = float(top["mean_abs_shap"].max()) or 1.0
    bars = [
        Bar(
            label=str(row.get("description") or row.get("feature")),
            sub=str(row.get("feature", "")),
            value=fmt_decimal(row["mean_abs_shap"]),
            width=round(100 * float(row["mean_abs_shap"]) / widest, 1),
        )
        for row in top.to_dict("records")
    ]
    return Bars("What drives churn risk (top 10, strongest first)", bars)


def _risk_stats(scores: pd.DataFrame | None, who: str) -> list[Stat | None]:
    if scores is None or "churn_probability" not in scores:
        return []
    probability = scores["churn_probability"].astype(float)
    return [
        Stat("Average churn risk", fmt_percent(probability.mean()), who),
        Stat(
            "Customers at high risk",
            fmt_count((probability >= HIGH_RISK_PROBABILITY).sum()),
            f"churn probability of {HIGH_RISK_PROBABILITY:.0%} or more",
        ),
    ]


def table_churn_section(run: RunData) -> Section:
    """Churn of a single customer table (`data.source: table`), judged by cross-validation."""
    nb = Notebook.CHURN_TABLE
    stats = [
        _metric_stat(
            run,
            nb,
            "cv_roc_auc",
            "Model accuracy (ROC AUC)",
            fmt_decimal,
            "5-fold cross-validated; 0.5 = guessing, 1 = perfect",
        ),
        _metric_stat(
            run,
            nb,
            "best_reference_roc_auc",
            "Best baseline (ROC AUC)",
            fmt_decimal,
            "LGBMClassifier() or logistic regression, same folds",
        ),
        *_risk_stats(run.scores(), "customers in the table"),
    ]
    return Section(
        "churn",
        "Churn risk",
        "How likely each customer in the table is to leave, as its churn flag records leaving. "
        "The table has no time axis, so the model is judged by cross-validation: every "
        "customer's score comes from a model that did not see their outcome. The table shows "
        "the average risk per segment, the bars the characteristics that push risk up most.",
        [
            *_stats(stats),
            _table(
                run,
                nb,
                "risk_by_segment",
                "churn risk by segment",
                "Churn risk by segment, riskiest first",
                sort="mean_churn_probability",
            ),
            _drivers(run, nb),
        ],
    )


def table_models_section(run: RunData) -> Section:
    """The table's churn model beside the references on the same folds."""
    nb = Notebook.CHURN_TABLE
    return Section(
        "models",
        "Models against their baselines",
        "Our churn model against an untuned LightGBM classifier and a logistic regression, "
        "each fitted and scored on the same five cross-validation folds; the curves are "
        "drawn from the out-of-fold scores. ROC AUC and top-20% capture: higher is better; "
        "calibration error: lower is better.",
        [
            _table(
                run,
                nb,
                "model_vs_baselines",
                "churn model comparison",
                "Churn: our model (first row) against the references, same folds",
                highlight_first=True,
            ),
            *_figures(
                run,
                nb,
                [("roc", "ROC curve"), ("calibration", "Calibration"), ("gain", "Cumulative gain")],
            ),
        ],
    )


def contracts_section(run: RunData, config: RunConfig) -> Section | None:
    """Contract churn, the renewal calendar and the assets at risk (None when the run's
    export had no contracts to model)."""
    nb = Notebook.CHURN_CONTRACTS
    if nb not in run.records:
        return None
    money = fmt_money
    stats = [
        _metric_stat(run, nb, "contracts_active", "Active contracts", fmt_count),
        _metric_stat(
            run, nb, "holdout_roc_auc", "Model accuracy (ROC AUC)", fmt_decimal, "holdout"
        ),
        _metric_stat(
            run,
            nb,
            "best_baseline_roc_auc",
            "Best baseline (ROC AUC)",
            fmt_decimal,
            "renewal rule, sBG or Kaplan-Meier",
        ),
        _metric_stat(
            run,
            nb,
            "expected_contract_churn",
            "Contracts expected to end",
            fmt_count,
            f"in the next {config.horizon_days} days",
        ),
        _metric_stat(
            run,
            nb,
            "account_category_roc_auc_model",
            "Account leaves a category (ROC AUC)",
            fmt_decimal,
            "holdout",
        ),
        _metric_stat(run, nb, "renewals_due", "Renewals due", fmt_count, "within the horizon"),
        _metric_stat(run, nb, "renewal_value_at_risk", "Renewal value at risk", money, "a year"),
        _metric_stat(run, nb, "assets_at_risk", "Assets at risk", money, "balances"),
        _metric_stat(
            run,
            nb,
            "subscription_clv",
            "Subscription value (CLV)",
            money,
            "recurring amounts x expected remaining months (sBG)",
        ),
    ]
    return Section(
        "contracts",
        "Contracts and renewals",
        f"How likely each active contract is to end - cancelled, not renewed or closed - in "
        f"the next {config.horizon_days} days, and what is at stake. The calendar lists the "
        "contracts up for renewal, the most value at risk (chance of losing the contract x "
        "its annual value) first: the account managers' list to secure.",
        [
            *_stats(stats),
            _table(
                run,
                nb,
                "renewal_calendar",
                "renewal calendar",
                "Renewals due within the horizon, most value at risk first (top 15)",
                limit=15,
            ),
            *_figures(
                run,
                nb,
                [("retention_by_plan", "Contracts still active by months since start, by plan")],
            ),
            _table(
                run,
                nb,
                "retention_by_plan",
                "retention by plan",
                "Share of each plan's contracts still active after 12 and 24 months (Kaplan-Meier)",
            ),
            _table(run, nb, "assets_at_risk", "assets at risk", "Balances at risk by product"),
            _table(
                run,
                nb,
                "account_categories_at_risk",
                "accounts leaving a category",
                "Accounts that may leave a product category (every contract there ends), "
                "most value at risk first (top 15)",
                limit=15,
            ),
            _table(
                run,
                nb,
                "model_vs_baselines",
                "contract model comparison",
                "Contract churn: LightGBM (first row) against the survival baselines",
                highlight_first=True,
            ),
            _drivers(run, nb),
        ],
    )


def clv_section(run: RunData) -> Section:
    nb = Notebook.CLV
    scores = run.scores()
    stats: list[Stat | None] = []
    if scores is not None and "clv_12m" in scores and len(scores):
        clv = scores["clv_12m"].astype(float).clip(lower=0)
        top = clv.sort_values(ascending=False).head(max(len(clv) // 10, 1)).sum()
        stats += [
            Stat("Predicted 12-month value, all customers", fmt_money(clv.sum())),
            Stat("Median per customer", fmt_money(clv.median())),
            Stat("Share held by the top 10%", fmt_percent(top / clv.sum() if clv.sum() else None)),
        ]
    coverage = finite_or_none(run.metric(nb, "clv_interval_coverage"))
    if coverage is not None:
        stats.append(Stat("Buyers inside their 80% range (past period)", fmt_percent(coverage)))
    blocks: list[Block] = [*_stats(stats)]
    blocks += _figures(
        run,
        nb,
        [
            ("clv_distribution", "Distribution of predicted value"),
            ("clv_calibration", "Predicted against actual spend"),
            ("clv_uncertainty", "Chance of buying and the range if they buy, checked"),
        ],
    )
    blocks.append(_table(run, nb, "clv_deciles", "CLV by decile", "Predicted value by decile"))
    return Section(
        "clv",
        "Customer value (CLV)",
        "What each customer is expected to spend in the next 12 months. Value is usually "
        "concentrated in a small group of customers; the calibration chart checks the "
        "predictions against what customers actually spent in a past period. Each customer "
        "also has a chance of buying in the next 90 days and, if they buy, a range meant to "
        "hold 8 in 10 buyers; the figures check both against a past period.",
        blocks,
    )


def uplift_section(run: RunData) -> Section:
    nb = Notebook.PROPENSITY_UPLIFT
    qini = finite_or_none(run.metric(nb, "qini_coefficient"))
    random_qini = finite_or_none(run.metric(nb, "random_qini"))
    stats: list[Stat | None] = []
    if qini is not None:
        note = f"random targeting: {fmt_decimal(random_qini)}" if random_qini is not None else ""
        stats.append(Stat("Qini coefficient", fmt_decimal(qini), note))
    blocks: list[Block] = [*_stats(stats)]
    blocks.append(
        _table(
            run,
            nb,
            "uplift_by_decile",
            "campaign uplift by decile",
            "Response of contacted vs. control customers, by predicted-uplift decile "
            "(1 = highest predicted uplift)",
            sort="decile",
            ascending=True,
            needs="contacts",
            why=run.missing("contacts") or run.skip_reason(nb),
        )
    )
    blocks += _figures(run, nb, [("qini", "Qini curve: extra responses from targeting")])
    blocks += _treatment_blocks(run, nb)
    return Section(
        "uplift",
        "Campaign uplift",
        "Whom a campaign actually changes. Uplift is the extra response a contact causes: the "
        "response rate of contacted customers minus that of a comparable control group that "
        "was not contacted. A useful model puts the largest uplift in the first deciles; "
        "a Qini coefficient above random targeting means targeting by the model pays off. "
        "Where campaigns tried several treatments, each customer gets the one expected to earn "
        "the most after its cost, or none, judged beside simpler policies on the latest "
        "campaigns.",
        blocks,
    )


def _treatment_blocks(run: RunData, nb: Notebook) -> list[Block]:
    """The chosen-treatment policy against the best single treatment (and the oracle)."""
    value = finite_or_none(run.metric(nb, "treatment_policy_net_value"))
    if value is None:
        return []
    best = finite_or_none(run.metric(nb, "treatment_best_single_net_value"))
    share = finite_or_none(run.metric(nb, "treatment_share_of_oracle"))
    stats: list[Stat | None] = [
        Stat(
            "Net value per contact, treatment chosen per customer",
            fmt_decimal(value),
            f"best single treatment: {fmt_decimal(best)}" if best is not None else "",
        ),
        Stat("Share of the oracle policy's value", fmt_percent(share), "true effects")
        if share is not None
        else None,
    ]
    return [
        *_stats(stats),
        _table(
            run,
            nb,
            "treatment_policies",
            "treatment policies",
            "Net value per contact of each policy on the latest campaigns",
        ),
        *_figures(run, nb, [("treatment_policy", "Net value against the share contacted")]),
    ]


def recommendations_section(run: RunData) -> Section:
    nb = Notebook.RECOMMENDATIONS
    best = run.metric(nb, "best_model")
    stats: list[Stat | None] = [
        Stat("Best recommender", str(best)) if best else None,
        _metric_stat(run, nb, "best_recall_at_10", "Recall @ 10 (best)", fmt_percent),
        _metric_stat(
            run,
            nb,
            "popularity_recall_at_10",
            "Recall @ 10 (bestsellers)",
            fmt_percent,
            "the simple baseline",
        ),
        _metric_stat(
            run,
            nb,
            "recommendation_conversion",
            "Recommendation conversion",
            fmt_percent,
            "customers who bought a top-10 item",
        ),
    ]
    blocks: list[Block] = [*_stats(stats)]
    blocks.append(
        _table(
            run,
            nb,
            "recsys_comparison",
            "recommender comparison",
            "Recommenders on the holdout period (@ 10 = the top ten items per customer)",
            why=run.skip_reason(nb),
        )
    )
    blocks += _figures(run, nb, [("recsys", "Recommender comparison")])
    return Section(
        "recommendations",
        "Recommendation quality",
        "How well the top ten recommended products per customer predict what they bought next, "
        "measured on a later period the models never saw and compared with simply "
        "recommending bestsellers. Coverage is the share of the catalogue that gets "
        "recommended, novelty how rarely the recommended items were bought before (in bits: "
        "higher is less obvious), diversity the share of pairs in a list from different "
        "categories.",
        blocks,
    )


def _sla_class(column: str, value, row: dict) -> str:
    if column != "median_first_response_minutes":
        return ""
    median, target = finite_or_none(value), finite_or_none(row.get("target_minutes"))
    if median is None or target is None:
        return ""
    return "good" if median <= target else "bad"


def _alert_class(column: str, value, row: dict) -> str:
    return "bad" if column == "alert" and bool(value) else ""


def sla_section(run: RunData) -> Section:
    sla = run.table(Notebook.FEATURES_SEGMENTS, "sla_compliance")
    blocks: list[Block] = []
    if sla is None or sla.empty:
        why = run.missing("tickets")
        blocks.append(
            Unavailable("service-level compliance", why)
            if why
            else Unavailable("service-level compliance")
        )
    else:
        ordered = _ordered(sla, "kind", ("complaint", "fault", "consult"))
        blocks.append(
            Table(
                table_view(ordered, cell_class=_sla_class),
                "First response by ticket kind and service tier (red: median over target)",
            )
        )
    return Section(
        "service",
        "Service levels",
        "How fast customers get a first answer, against the service plan's targets per ticket "
        "kind (complaint, fault, question) and customer service tier. 'Within target' is the "
        "share of tickets answered in time.",
        blocks,
    )


def data_quality_section(run: RunData) -> Section:
    nb = Notebook.DATA_QUALITY
    accounting = run.table(nb, "accounting")
    stats: list[Stat | None] = []
    if accounting is not None and {"read", "accepted", "quarantined"} <= set(accounting.columns):
        read = float(accounting["read"].sum())
        stats += [
            Stat("Rows read", fmt_count(read)),
            Stat(
                "Accepted",
                fmt_count(accounting["accepted"].sum()),
                fmt_percent(accounting["accepted"].sum() / read if read else None),
            ),
            Stat(
                "Quarantined",
                fmt_count(accounting["quarantined"].sum()),
                fmt_percent(accounting["quarantined"].sum() / read if read else None),
            ),
        ]
        if "erased" in accounting:
            stats.append(Stat("Erased on request", fmt_count(accounting["erased"].sum())))
    blocks: list[Block] = [*_stats(stats)]
    blocks.append(_tables_block(run))
    blocks.append(_table(run, nb, "accounting", "data accounting", "Rows per table"))
    nothing_quarantined = accounting is not None and accounting.get("quarantined", 1).sum() == 0
    blocks.append(
        Text("No row was quarantined.")
        if nothing_quarantined
        else _table(
            run,
            nb,
            "reasons",
            "quarantine reasons",
            "Why rows were quarantined (top 10)",
            sort="count",
            limit=10,
        )
    )
    blocks += _figures(run, nb, [("accounting", "Accepted and quarantined rows per table")])
    return Section(
        "data-quality",
        "Data quality",
        "Every row of the CRM exports is either accepted or set aside (quarantined) with a "
        "reason, such as an unreadable date or an unknown customer; customers who asked to be "
        "forgotten are erased. Nothing is dropped silently: read = accepted + quarantined + erased.",
        blocks,
    )


def _tables_block(run: RunData) -> Block:
    """Which contract tables the export holds, and what each missing one switches off."""
    tables = run.table(Notebook.DATA_QUALITY, "tables")
    if tables is None or not {"table", "present", "without_it"} <= set(tables.columns):
        return Unavailable("tables present and missing")
    missing = tables[~tables["present"].astype(bool)]
    shown = pd.DataFrame(
        {
            "table": tables["table"],
            "in the export": tables["present"].map({True: "yes", False: "missing"}),
            "without it": tables["without_it"],
        }
    )
    caption = (
        f"Missing tables: {', '.join(missing['table'])}"
        if len(missing)
        else "Missing tables: none (the export holds every table of the contract)"
    )
    return Table(table_view(shown), caption)


def actions_section(run: RunData) -> Section:
    """How many rows each action list holds, and why an empty one is empty."""
    folder = run.paths.report / "actions"
    why = run.json(folder / EMPTY_FILE)
    rows = []
    renewals = "renewals_to_secure"
    names = [
        *LIST_NAMES,
        *([renewals] if (folder / f"{renewals}.parquet").exists() else []),
        "action_plan",
    ]
    for name in names:
        frame = run.parquet(folder / f"{name}.parquet")
        count = None if frame is None else len(frame)
        rows.append(
            {
                "list": name,
                "rows": count,
                "note": why.get(name, "")
                if count == 0
                else ("" if count is not None else "not written in this run"),
            }
        )
    return Section(
        "actions",
        "Action lists for the CRM",
        "The files a CRM system imports, in actions/ beside this report (CSV and Parquet): "
        "customers worth a save contact, the cross-sell audience with each customer's next "
        "best offer, and complaints past their first-response target. Marketing lists hold "
        "only customers with marketing consent; service follow-ups hold every customer owed "
        "an answer. An empty list says why. The action plan is the one list to work from: "
        "every possible contact ranked by expected value net of its cost, within the budget, "
        "the contact cap and every customer's consent; each row says whether a measured "
        "uplift or a playbook rule chose it.",
        [Table(table_view(pd.DataFrame(rows)), "Rows per list"), *_plan_blocks(run, folder)],
    )


def _plan_blocks(run: RunData, folder: Path) -> list[Block]:
    """The action plan's totals and its contacts per action (with what was left and why)."""
    totals = run.json(folder / PLAN_TOTALS)
    summary = run.parquet(folder / PLAN_SUMMARY)
    if not totals or summary is None:
        return [Unavailable("action plan: not built in this run")]
    budget = totals.get("budget")
    stats = [
        Stat("Planned contacts", fmt_count(totals["contacts"])),
        Stat("Cost", fmt_money(totals["cost"])),
        Stat("Budget", "no limit" if budget is None else fmt_money(budget)),
        Stat("Expected value, net of cost", fmt_money(totals["expected_net_value"])),
        Stat(
            "Expected return per unit spent",
            MISSING if totals.get("expected_roi") is None else f"{totals['expected_roi']:.2f}",
        ),
    ]
    return [
        Stats(stats),
        Table(
            table_view(summary), "Action plan by action: planned contacts and why others were left"
        ),
    ]


def models_section(run: RunData) -> Section:
    blocks: list[Block] = [
        _table(
            run,
            Notebook.CHURN,
            "model_vs_baselines",
            "churn model comparison",
            "Churn: LightGBM model (first row) against baselines",
            highlight_first=True,
        ),
        *_figures(
            run,
            Notebook.CHURN,
            [("roc", "ROC curve"), ("calibration", "Calibration"), ("gain", "Cumulative gain")],
        ),
        _table(
            run,
            Notebook.PROPENSITY_UPLIFT,
            "propensity_vs_baseline",
            "propensity model comparison",
            "Campaign response propensity against baseline",
            highlight_first=True,
        ),
        _table(
            run,
            Notebook.CLV,
            "clv_vs_baselines",
            "CLV model comparison",
            "CLV: LightGBM against BG/NBD and simple baselines",
            highlight_first=True,
        ),
        *_figures(run, Notebook.CHURN, [("shap_summary", "Churn drivers: SHAP summary")]),
    ]
    return Section(
        "models",
        "Models against their baselines",
        "Every model is compared, on the same later period, with simple rules a team could use "
        "without machine learning. A model earns its place only if it beats them; when it does "
        "not, this report says so at the top. ROC AUC and PR AUC: higher is better; log loss, "
        "Brier score and calibration error: lower is better.",
        blocks,
    )


def drift_section(run: RunData, threshold: float) -> Section:
    drift = run.table(Notebook.SCORING, "drift")
    blocks: list[Block]
    if drift is None or drift.empty:
        blocks = [
            Unavailable(
                "score drift check",
                "not available in this run (it needs a previous scoring run to compare with)",
            )
        ]
    else:
        worst = drift.sort_values("psi", ascending=False) if "psi" in drift else drift
        blocks = [
            Table(
                table_view(worst, limit=15, cell_class=_alert_class),
                "Largest shifts first (top 15 columns)",
            )
        ]
    return Section(
        "drift",
        "Score drift",
        "Whether today's customers and scores look like those of the previous scoring run. "
        f"The population stability index (PSI) measures the shift per column; above "
        f"{threshold:g} the scores deserve a look before anyone acts on them.",
        blocks,
    )


def alerts(run: RunData, threshold: float) -> list[Alert]:
    """The loud part at the top: models that lost to a baseline, drift, notebook notes."""
    found: list[Alert] = []
    not_beaten = finite_or_none(run.metric(Notebook.CHURN, "baselines_not_beaten"))
    churn_notes = run.notes(Notebook.CHURN)
    if (not_beaten or 0) > 0 or churn_notes:
        count = f"{int(not_beaten)} baseline(s)" if not_beaten else "a baseline"
        found.append(Alert("danger", f"The churn model did not beat {count}", churn_notes))
    drift = run.table(Notebook.SCORING, "drift")
    drift_alerts = finite_or_none(run.metric(Notebook.SCORING, "drift_alerts"))
    if drift is not None and {"alert", "column"} <= set(drift.columns):
        columns = drift.loc[drift["alert"].astype(bool), "column"].astype(str).tolist()
        if columns:
            found.append(
                Alert(
                    "danger",
                    f"Score drift above PSI {threshold:g} in {len(columns)} column(s)",
                    [", ".join(columns)],
                )
            )
    elif (drift_alerts or 0) > 0:
        found.append(
            Alert("danger", f"Score drift above PSI {threshold:g} in {int(drift_alerts)} column(s)")
        )
    for notebook in run.records:
        if notebook == Notebook.CHURN:
            continue
        notes = run.notes(notebook)
        if notes:
            label = Notebook(notebook).label if notebook in set(Notebook) else notebook
            found.append(Alert("warning", f"{label}: notes from this run", notes))
    if not found:
        found.append(Alert("ok", "No warnings were recorded in this run"))
    return found


def changes_intro(previous_run_id: str | None) -> Text:
    if previous_run_id is None:
        return Text("There is no previous run to compare with.")
    return Text(f"Compared with run {previous_run_id}.")
