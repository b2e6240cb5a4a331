"""Benchmark: published models replicated on their published data.

- sBG (shifted-beta-geometric, crm_ml.models.survival) on the two cohorts of Fader & Hardie
  (2007), fitted on years 1-7 as in the paper: alpha and beta against the published
  estimates (target: within 1%).

The CDNOW BG/NBD replication runs with the pipeline's quality figures (bench_quality.py).

    .venv/bin/python benchmarks/bench_replications.py --json replications.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_json

from crm_ml.datasets.retention_cohorts import COHORTS
from crm_ml.models.survival import ShiftedBetaGeometric


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
    write_json(args.json, "replications", {}, sbg=fits)


if __name__ == "__main__":
    main()
