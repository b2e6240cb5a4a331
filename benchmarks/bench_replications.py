"""Benchmark: published models replicated on their published data.

- sBG (shifted-beta-geometric, crm_ml.models.survival) on the two cohorts of Fader & Hardie
  (2007), fitted on years 1-7 as in the paper: alpha and beta against the published
  estimates (target: within 1%).
- Pareto/NBD (crm_ml.models.ParetoNbdBaseline, lifetimes' fitter) on CDNOW calibration
  weeks 1-39 of the 1/10 sample, unpenalised: r, alpha, s, beta against Fader & Hardie
  (2005) (target: within 1%).

The CDNOW BG/NBD replication runs with the pipeline's quality figures (bench_quality.py).

    .venv/bin/python benchmarks/bench_replications.py --json replications.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_json

from crm_ml.datasets.cdnow import cdnow_calibration_holdout, load_cdnow
from crm_ml.datasets.retention_cohorts import COHORTS
from crm_ml.models import ParetoNbdBaseline
from crm_ml.models.survival import ShiftedBetaGeometric

PARETO_NBD_CITATION = (
    "Fader & Hardie (2005), A Note on Deriving the Pareto/NBD Model and Related Expressions"
)
PUBLISHED_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


def pareto_nbd_cdnow() -> dict:
    """The unpenalised Pareto/NBD fit on CDNOW's calibration weeks, beside the published."""
    summary = cdnow_calibration_holdout(load_cdnow(sample=True)["orders"])
    inputs = summary.rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"}
    )[["frequency", "recency", "T"]].reset_index(drop=True)
    baseline = ParetoNbdBaseline(target="transactions", columns=None, penalizer=0.0)
    baseline.predict(inputs)
    (fitted,) = baseline.fitted.values()
    return {
        "customers": len(inputs),
        "citation": PARETO_NBD_CITATION,
        "parameters": {name: fitted[name] for name in PUBLISHED_PARETO_NBD},
        "published": PUBLISHED_PARETO_NBD,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    fits = []
    for cohort in COHORTS:
        model = ShiftedBetaGeometric.fit(cohort.active_percent)
        fits.append(
            {
                "cohort": cohort.name,
                "years": len(cohort.active_percent) - 1,
                "citation": cohort.citation,
                "parameters": {"alpha": model.alpha, "beta": model.beta},
                "published": {"alpha": cohort.published_alpha, "beta": cohort.published_beta},
            }
        )
        print(
            f"sBG {cohort.name}: alpha {model.alpha:.3f} (published {cohort.published_alpha}), "
            f"beta {model.beta:.3f} (published {cohort.published_beta})"
        )
    pareto = pareto_nbd_cdnow()
    print(
        "Pareto/NBD CDNOW: "
        + ", ".join(
            f"{name} {value:.3f} (published {pareto['published'][name]})"
            for name, value in pareto["parameters"].items()
        )
    )
    write_json(args.json, "replications", {}, sbg=fits, pareto_nbd=pareto)


if __name__ == "__main__":
    main()
