"""The public API the notebooks and the README use documents itself in numpydoc sections.

The examples themselves run as doctests (`--doctest-modules` over `src/crm_ml`, in
pyproject.toml); this test fails when one of these names loses its sections instead, which
a doctest run would not notice.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

# every public function and class the notebooks, README.md or docs/ use or name
DOCUMENTED = [
    "crm_ml.contract.load_tables",
    "crm_ml.contract.ContractResult",
    "crm_ml.contract.resolve_as_of",
    "crm_ml.contract.coverage.table_coverage",
    "crm_ml.contract.coverage.missing_table_notes",
    "crm_ml.contract.summary.read_accounting",
    "crm_ml.contract.summary.read_reasons",
    "crm_ml.contract.summary.read_notes",
    "crm_ml.datasets.subscriber_table",
    "crm_ml.datasets.snapshot.load_snapshot",
    "crm_ml.features.build_features",
    "crm_ml.features.catalog.catalog_frame",
    "crm_ml.models.CrmClassifier",
    "crm_ml.models.TableFit",
    "crm_ml.models.fit_table",
    "crm_ml.models.TrainingResult",
    "crm_ml.models.train_binary_model",
    "crm_ml.models.train_spend_model",
    "crm_ml.models.compare_to_baselines",
    "crm_ml.models.global_drivers",
    "crm_ml.recsys.RecommendationEngine",
    "crm_ml.recsys.RecommendationEngine.recommend",
    "crm_ml.recsys.fit_engine",
    "crm_ml.recsys.select_recommender",
    "crm_ml.recsys.explain_recommendations",
    "crm_ml.pipeline.notebook_context",
    "crm_ml.pipeline.NotebookContext",
    "crm_ml.pipeline.data.ensure_accepted",
    "crm_ml.pipeline.data.accepted_tables",
    "crm_ml.pipeline.data.accepted_as_of",
    "crm_ml.pipeline.data.export_coverage",
    "crm_ml.contract.customer_table.load_customer_table",
    "crm_ml.datasets.examples.write_subscriber_table",
    "crm_ml.pipeline.steps.table_churn.customer_table",
    "crm_ml.pipeline.steps.table_churn.fit_churn_table",
    "crm_ml.pipeline.steps.table_churn.table_scores",
    "crm_ml.pipeline.steps.table_churn.write_table_scores",
    "crm_ml.pipeline.steps.table_churn.table_figures",
    "crm_ml.pipeline.steps.table_churn.table_drivers",
    "crm_ml.pipeline.steps.table_churn.comparison_metrics",
    "crm_ml.pipeline.steps.table_churn.track_table_churn",
    "crm_ml.features.contracts.build_contract_frame",
    "crm_ml.models.survival.contract_baselines",
    "crm_ml.models.survival.ShiftedBetaGeometric.fit_horizons",
    "crm_ml.pipeline.steps.contract_churn.has_contracts",
    "crm_ml.pipeline.steps.contract_churn.contract_frame",
    "crm_ml.pipeline.steps.contract_churn.train_contract_model",
    "crm_ml.pipeline.steps.contract_churn.compare_contract_model",
    "crm_ml.pipeline.steps.contract_churn.score_contracts",
    "crm_ml.pipeline.steps.contract_churn.assets_at_risk",
    "crm_ml.pipeline.steps.contract_churn.contract_metrics",
    "crm_ml.pipeline.steps.contract_churn.retention_by_plan",
    "crm_ml.pipeline.steps.contract_churn.contract_comparison",
    "crm_ml.pipeline.steps.contract_churn.history_oracle",
    "crm_ml.models.survival.remaining_tenure",
    "crm_ml.pipeline.steps.contract_churn.track_contract_churn",
    "crm_ml.reports.actions.renewal_calendar",
    "crm_ml.reports.actions.renewals_to_secure",
    "crm_ml.pipeline.steps.frames.feature_columns",
    "crm_ml.pipeline.steps.frames.holdout",
    "crm_ml.pipeline.steps.run_models.keep_in_run",
    "crm_ml.pipeline.steps.churn.model_config",
    "crm_ml.pipeline.steps.churn.churn_frame",
    "crm_ml.pipeline.steps.churn.churn_baselines",
    "crm_ml.pipeline.steps.churn.churn_oracle",
    "crm_ml.pipeline.steps.churn.holdout_features",
    "crm_ml.pipeline.steps.churn.binary_figures",
    "crm_ml.pipeline.steps.churn.track_churn",
    "crm_ml.pipeline.steps.clv.spend_config",
    "crm_ml.pipeline.steps.clv.clv_frame",
    "crm_ml.pipeline.steps.clv.clv_comparison",
    "crm_ml.pipeline.steps.clv.clv_evaluation",
    "crm_ml.pipeline.steps.clv.clv_uncertainty",
    "crm_ml.pipeline.steps.clv.track_clv",
    "crm_ml.pipeline.steps.clv.run_cdnow_clv",
    "crm_ml.pipeline.steps.propensity.propensity_settings",
    "crm_ml.pipeline.steps.propensity.CategoryPropensity",
    "crm_ml.pipeline.steps.propensity.CategoryPropensity.add",
    "crm_ml.pipeline.steps.propensity.propensity_data",
    "crm_ml.pipeline.steps.propensity.propensity_frame",
    "crm_ml.pipeline.steps.propensity.compare_propensity",
    "crm_ml.pipeline.steps.propensity.track_propensity",
    "crm_ml.pipeline.steps.uplift.uplift_settings",
    "crm_ml.pipeline.steps.uplift.uplift_data",
    "crm_ml.pipeline.steps.uplift.fit_uplift",
    "crm_ml.pipeline.steps.uplift.evaluate_uplift",
    "crm_ml.pipeline.steps.uplift.track_uplift",
    "crm_ml.pipeline.steps.recommend.recsys_inputs",
    "crm_ml.pipeline.steps.recommend.choose_recommender",
    "crm_ml.pipeline.steps.recommend.search_table",
    "crm_ml.pipeline.steps.recommend.serve",
    "crm_ml.pipeline.steps.recommend.served_lists",
    "crm_ml.pipeline.steps.recommend.recsys_metrics",
    "crm_ml.pipeline.steps.recommend.comparison_chart",
    "crm_ml.pipeline.steps.recommend.skip",
    "crm_ml.pipeline.steps.recommend.track_recommender",
    "crm_ml.pipeline.steps.scoring.run_scoring",
    "crm_ml.pipeline.steps.segments.run_segments",
    "crm_ml.reports.build_run_reports",
    "crm_ml.reports.find_previous_run",
    "crm_ml.notebooks.Notebook",
    "crm_ml.errors.CrmMlError",
]


def _resolve(dotted: str) -> object:
    module_name, _, attribute = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ModuleNotFoundError:  # a method: module.Class.method
        return getattr(_resolve(module_name), attribute)


def _has(doc: str, section: str) -> bool:
    return f"\n{section}\n{'-' * len(section)}\n" in f"\n{doc}"


def _takes_parameters(obj: object) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a built-in base such as Exception
        return False
    return any(name != "self" for name in signature.parameters)


def _returns_something(obj: object) -> bool:
    annotation = inspect.signature(obj).return_annotation
    return annotation not in (None, "None", inspect.Signature.empty)


@pytest.mark.parametrize("dotted", DOCUMENTED)
def test_public_api_has_numpydoc_sections(dotted: str) -> None:
    obj = _resolve(dotted)
    doc = inspect.getdoc(obj) or ""
    missing = []
    if not _has(doc, "Examples") or ">>> " not in doc:
        missing.append("Examples (with >>>)")
    if inspect.isclass(obj):
        if _takes_parameters(obj) and not (_has(doc, "Parameters") or _has(doc, "Attributes")):
            missing.append("Parameters or Attributes")
    else:
        if _takes_parameters(obj) and not _has(doc, "Parameters"):
            missing.append("Parameters")
        if _returns_something(obj) and not _has(doc, "Returns"):
            missing.append("Returns")
    assert not missing, f"{dotted}: its docstring has no {', '.join(missing)} section"
