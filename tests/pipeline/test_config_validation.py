"""The run configuration is checked when it loads (issue #18, item 7): a typo or a wrong type
at any depth is one ConfigError naming the file, the dotted key and the nearest valid key,
before any notebook runs; valid sections reach the steps as the plain mappings they read."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from crm_ml.contract.errors import ContractError
from crm_ml.features import FeatureConfig
from crm_ml.models import BinaryModelConfig, SpendModelConfig
from crm_ml.models.uplift import UpliftConfig
from crm_ml.pipeline.config import ConfigError, load_config, parse_overrides
from crm_ml.pipeline.runner import run_pipeline
from crm_ml.pipeline.steps.churn import model_config
from crm_ml.pipeline.steps.clv import spend_config
from crm_ml.pipeline.steps.frames import feature_config
from crm_ml.pipeline.steps.propensity import propensity_settings
from crm_ml.pipeline.steps.uplift import uplift_settings
from crm_ml.recsys.config import RecsysConfig
from crm_ml.reports.actions import ActionConfig

REPO = Path(__file__).resolve().parents[2]


def load_text(project: Path, text: str, *params: str):
    """load_config on configs/typo.yaml of the test project holding `text`."""
    path = project / "configs" / "typo.yaml"
    path.write_text(text)
    return load_config(path, parse_overrides(params))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kpi_target:\n  nps_min: 40\n",
            "unknown setting kpi_target (did you mean kpi_targets?)",
        ),
        (
            "data:\n  synthetic:\n    customres: 500\n",
            "unknown setting data.synthetic.customres (did you mean customers?)",
        ),
        (
            "models:\n  n_train_cutof: 3\n",
            "unknown setting models.n_train_cutof (did you mean n_train_cutoffs?)",
        ),
        (
            "models:\n  churn:\n    lightgbm:\n      num_leavs: 7\n",
            "unknown setting models.churn.lightgbm.num_leavs (did you mean num_leaves?)",
        ),
        (
            "models:\n  clv:\n    split:\n      n_fold: 3\n",
            "unknown setting models.clv.split.n_fold (did you mean n_folds?)",
        ),
        (
            "models:\n  propensity:\n    categorie: 2\n",
            "unknown setting models.propensity.categorie (did you mean categories?)",
        ),
        (
            "models:\n  uplift:\n    holdout_shares: 0.3\n",
            "unknown setting models.uplift.holdout_shares (did you mean holdout_share?)",
        ),
        (
            "recsys:\n  search:\n    max_trial: 4\n",
            "unknown setting recsys.search.max_trial (did you mean max_trials?)",
        ),
        (
            "features:\n  core_tier_shar: 0.3\n",
            "unknown setting features.core_tier_shar (did you mean core_tier_share?)",
        ),
    ],
)
def test_a_typo_at_any_depth_names_the_key_and_the_nearest_one(
    project: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(project, text)
    assert str(raised.value) == f"configs/typo.yaml: {message}"


def test_a_key_with_no_near_miss_lists_the_valid_ones(project: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(project, "models:\n  xyz: 1\n")
    assert str(raised.value) == (
        "configs/typo.yaml: unknown setting models.xyz (valid: calibration_bound, churn, clv, "
        "contract_churn, n_train_cutoffs, propensity, uplift)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "models:\n  churn:\n    lightgbm: 7\n",
            "models.churn.lightgbm must be a mapping of settings, got 7",
        ),
        (
            "models:\n  n_train_cutoffs: six\n",
            "models.n_train_cutoffs = 'six': Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            "models:\n  churn:\n    imbalance: autoo\n",
            "models.churn.imbalance = 'autoo': Input should be 'auto', 'scale_pos_weight' or 'none'",
        ),
        ("recsys:\n  k: 0\n", "recsys.k = 0: Input should be greater than 0"),
        (
            "models:\n  clv:\n    split:\n      calibration_share: 1e-1\n",
            "models.clv.split.calibration_share = '1e-1' is text, not a number "
            "(YAML reads 1e-1 as text: write 1.0e-1)",
        ),
        (
            "features:\n  duckdb_threads: '2'\n",
            "features.duckdb_threads = '2' is text, not a number (write it without quotes)",
        ),
    ],
)
def test_a_wrong_value_type_is_caught_at_load(project: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(project, text)
    assert str(raised.value) == f"configs/typo.yaml: {message}"


def test_a_param_typo_fails_with_the_suggestion(project: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(project / "configs" / "test.yaml", parse_overrides(["models.n_train_cutof=3"]))
    assert str(raised.value) == (
        "configs/test.yaml with --param: unknown setting models.n_train_cutof "
        "(did you mean n_train_cutoffs?)"
    )


def test_config_errors_are_the_kind_the_cli_prints_on_one_line() -> None:
    assert issubclass(ConfigError, ContractError) and issubclass(ConfigError, ValueError)
    with pytest.raises(ConfigError, match="expects key=value"):
        parse_overrides(["models.n_train_cutoffs"])


def test_correct_overrides_load_as_the_mappings_the_steps_read(project: Path) -> None:
    config = load_config(
        project / "configs" / "test.yaml",
        parse_overrides(
            [
                "models.n_train_cutoffs=4",
                "models.calibration_bound=0.1",
                "models.churn.lightgbm.num_leaves=7",
                "models.churn.calibration_methods=[sigmoid]",
                "models.clv.objective=poisson",
                "models.propensity.categories=2",
                "models.propensity.lightgbm={num_threads: 1}",
                "models.uplift.learner=t",
                "models.uplift.holdout_share=0.3",
                "models.uplift.response_window_days=7",
                "models.uplift.offer_features=true",
                "recsys.search.max_trials=2",
                "recsys.interactions.half_life_days=auto",
                "features.core_tier_share=0.3",
                "features.sla_target_minutes.core={complaint: 15, fault: 60, consult: 30}",
                "features.sla_target_minutes.regular={complaint: 30, fault: 120, consult: 60}",
                "features.sla_target_minutes.potential={complaint: 30, fault: 120, consult: 60}",
            ]
        ),
    )
    assert config.models["churn"] == {
        "lightgbm": {"num_leaves": 7},
        "calibration_methods": ["sigmoid"],
    }
    assert model_config(config).lightgbm.num_leaves == 7
    assert spend_config(config).objective == "poisson"
    assert propensity_settings(config)[0] == 2
    uplift = uplift_settings(config)
    assert (uplift.learner.learner, uplift.holdout_share, uplift.offer_features) == ("t", 0.3, True)
    assert RecsysConfig.model_validate(config.recsys).search.max_trials == 2
    assert feature_config(config).core_tier_share == 0.3
    assert ActionConfig.from_run_config(config).target("core", "fault") == 60


def _as_yaml(values: dict) -> dict:
    """What YAML would give for these values: lists for tuples."""
    return json.loads(json.dumps(values))


def test_every_setting_of_every_layer_class_is_accepted(project: Path) -> None:
    """The valid keys come from the layer classes: their defaults, written out in full, load."""
    full = {
        "features": _as_yaml(asdict(FeatureConfig())),
        "models": {
            "churn": _as_yaml(asdict(BinaryModelConfig())),
            "propensity": {**_as_yaml(asdict(BinaryModelConfig())), "categories": 3},
            "clv": _as_yaml(asdict(SpendModelConfig())),
            "uplift": _as_yaml(asdict(UpliftConfig())),
        },
        "recsys": RecsysConfig().model_dump(mode="json"),
    }
    config = load_text(project, json.dumps(full))
    assert config.models == full["models"] and config.recsys == full["recsys"]


@pytest.mark.parametrize("name", ["retail", "finance", "b2b"])
def test_every_shipped_config_loads(name: str) -> None:
    assert load_config(REPO / "configs" / f"{name}.yaml").name == name


def test_a_typo_stops_the_run_before_any_notebook(project: Path, notebooks, python: str) -> None:
    notebooks({"01_first": 1.0})
    with pytest.raises(ConfigError, match="did you mean num_leaves"):
        run_pipeline(
            project / "configs" / "test.yaml",
            {"models.churn.lightgbm.num_leavs": 7},
            run_id="typo",
            progress=False,
        )
    proc = subprocess.run(
        [
            python,
            "-m",
            "crm_ml.cli",
            "run",
            "--config",
            str(project / "configs" / "test.yaml"),
            "--param",
            "models.n_train_cutof=3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "crm-ml run: configs/test.yaml with --param: unknown setting models.n_train_cutof "
        "(did you mean n_train_cutoffs?)"
    )
    assert not (project / "experiments" / "runs").exists()
