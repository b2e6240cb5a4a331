"""Benchmark: ALS fit + filtered top-k through crm_ml.recsys vs implicit's bare fit/recommend.

Both variants run on the same random power-law customer x product matrix with the same
factors / iterations / threads, each in its own subprocess so peak memory (max RSS) is
measured separately. "ours" = build_model + RecommendationEngine.recommend(export=True): the
business rules (consent, bought one-off, exclusions, sensitive purpose, category cap),
buy-again slots, cold-start popularity and a tidy output frame. "bare" = implicit's
AlternatingLeastSquares.fit + recommend(filter_already_liked_items=True).

Usage (full scale, run by the lead; needs roughly 10 GB and a while on 2 cores):

    python benchmarks/bench_recsys.py --customers 1_000_000 --products 50_000 \
        --interactions 30_000_000

Small check: python benchmarks/bench_recsys.py --customers 50_000 --products 5_000 \
    --interactions 1_000_000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import cpu_seconds, phase, write_json

TARGET_OVERHEAD = 1.3


def power_law_matrix(customers: int, products: int, interactions: int, seed: int) -> sp.csr_matrix:
    """Zipf-like item popularity and heavy-tailed customer activity, counts summed per cell."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, products + 1) ** 0.9
    item_p /= item_p.sum()
    user_p = rng.pareto(1.5, customers) + 1.0
    user_p /= user_p.sum()
    rows = rng.choice(customers, size=interactions, p=user_p).astype(np.int32)
    cols = rng.permutation(products)[rng.choice(products, size=interactions, p=item_p)]
    values = rng.integers(1, 6, interactions).astype(np.float32)
    matrix = sp.csr_matrix((values, (rows, cols.astype(np.int32))), shape=(customers, products))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _rule_inputs(matrix: sp.csr_matrix, seed: int):
    """Catalogue, purchases and customer state for the rules, all random but plausible."""
    from crm_ml.recsys.catalogue import Catalogue
    from crm_ml.recsys.interactions import InteractionData
    from crm_ml.recsys.rules import RuleContext

    rng = np.random.default_rng(seed + 1)
    n_users, n_items = matrix.shape
    n_cats = max(20, n_items // 500)  # enough categories for a full list under the cap of 3
    codes = rng.integers(0, n_cats, n_items).astype(np.int32)
    price = rng.gamma(2.0, 20.0, n_items)
    catalogue = Catalogue(
        product_ids=pd.Index([f"p{i}" for i in range(n_items)], name="product_id"),
        categories=pd.Index([f"cat{c}" for c in range(n_cats)], name="category"),
        category_codes=codes,
        is_sensitive=codes == 0,
        is_repeatable=rng.random(n_items) < 0.3,
        price=price,
        margin=price * 0.3,
        labels=np.array([f"cat{c}" for c in codes], dtype=object),
    )
    # cells with a high count are purchases; the rest are views / cart adds
    purchases = matrix.copy()
    purchases.data = np.where(purchases.data >= 4, 1.0, 0.0).astype(np.float32)
    purchases.eliminate_zeros()
    days = purchases.copy()
    days.data = rng.uniform(1, 365, days.nnz).astype(np.float32)
    data = InteractionData(
        user_items=matrix,
        purchase_counts=purchases,
        days_since_purchase=days,
        customer_ids=pd.Index(np.char.add("c", np.arange(n_users).astype(str)), name="customer_id"),
        catalogue=catalogue,
        cutoff=pd.Timestamp("2025-01-01", tz="UTC"),
    )
    excl_users = rng.choice(n_users, n_users // 100, replace=False)
    excluded = sp.csr_matrix(
        (
            np.ones(len(excl_users), np.float32),
            (excl_users, rng.integers(0, n_cats, len(excl_users))),
        ),
        shape=(n_users, n_cats),
    )
    context = RuleContext(
        purchase_counts=purchases,
        bought_categories=(purchases @ catalogue.category_onehot()).tocsr(),
        excluded=excluded,
        consent=rng.random(n_users) < 0.8,
        category_codes=codes,
        is_repeatable=catalogue.is_repeatable,
        is_sensitive=catalogue.is_sensitive,
        category_cap=3,
    )
    return data, context


def run_bare(matrix: sp.csr_matrix, args: argparse.Namespace) -> dict[str, float]:
    import implicit
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = implicit.als.AlternatingLeastSquares(
            factors=args.factors,
            iterations=args.iterations,
            regularization=0.05,
            alpha=2.0,
            num_threads=args.threads,
            random_state=args.seed,
            use_gpu=False,
        )
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        fitted = time.perf_counter()
        ids, _ = model.recommend(
            np.arange(matrix.shape[0]), matrix, N=args.k, filter_already_liked_items=True
        )
        done = time.perf_counter()
    return {"fit_s": fitted - start, "recommend_s": done - fitted, "rows": int(ids.size)}


def run_ours(matrix: sp.csr_matrix, args: argparse.Namespace) -> dict[str, float]:
    from crm_ml.recsys.config import ModelConfig, RecsysConfig
    from crm_ml.recsys.models import build_model
    from crm_ml.recsys.recommend import assemble_engine

    data, context = _rule_inputs(matrix, args.seed)
    config = RecsysConfig(
        k=args.k,
        model=ModelConfig(
            name="als",
            factors=args.factors,
            iterations=args.iterations,
            regularization=0.05,
            alpha=2.0,
            num_threads=args.threads,
            random_state=args.seed,
        ),
    )
    start = time.perf_counter()
    model = build_model(config.model).fit(data.user_items)
    fitted = time.perf_counter()
    engine = assemble_engine(data, context, model, config)
    recs = engine.recommend(k=args.k, export=True, show_progress=args.progress)
    done = time.perf_counter()
    return {"fit_s": fitted - start, "recommend_s": done - fitted, "rows": len(recs)}


def _child(args: argparse.Namespace) -> None:
    matrix = sp.load_npz(args.matrix).tocsr()
    run = run_bare if args.variant == "bare" else run_ours
    result = run(matrix, args)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["cpu_s"] = cpu_seconds()  # the whole child, loading the matrix included
    print(json.dumps(result))


def _spawn(variant: str, matrix_path: Path, args: argparse.Namespace) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--variant",
        variant,
        "--matrix",
        str(matrix_path),
        *(f"--{k}={getattr(args, k)}" for k in ("factors", "iterations", "threads", "k", "seed")),
    ]
    if args.progress:
        cmd.append("--progress")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=30_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=1, help="runs per variant; best is kept")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--variant", choices=["bare", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--matrix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        _child(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        matrix = power_law_matrix(args.customers, args.products, args.interactions, args.seed)
        path = Path(tmp) / "matrix.npz"
        sp.save_npz(path, matrix, compressed=False)
        print(
            f"matrix {matrix.shape[0]:,} x {matrix.shape[1]:,}, {matrix.nnz:,} non-zeros "
            f"({args.interactions:,} draws) built in {time.perf_counter() - start:.1f}s; "
            f"factors={args.factors} iterations={args.iterations} threads={args.threads} k={args.k}"
        )
        nnz = matrix.nnz
        del matrix
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "ours": []}
        for _ in range(args.repeats):  # alternate, so load from other processes hits both
            for variant in runs:
                runs[variant].append(_spawn(variant, path, args))
        # fastest run per variant: the least disturbed by other work on a shared machine
        results = {v: min(r, key=lambda x: x["fit_s"] + x["recommend_s"]) for v, r in runs.items()}

    print(f"{'variant':<8}{'fit s':>10}{'top-k s':>10}{'total s':>10}{'peak MB':>10}{'rows':>12}")
    for variant, r in results.items():
        total = r["fit_s"] + r["recommend_s"]
        print(
            f"{variant:<8}{r['fit_s']:>10.2f}{r['recommend_s']:>10.2f}{total:>10.2f}"
            f"{r['peak_mb']:>10.0f}{r['rows']:>12,}"
        )
    bare, ours = results["bare"], results["ours"]
    ratio = (ours["fit_s"] + ours["recommend_s"]) / (bare["fit_s"] + bare["recommend_s"])
    print(
        f"overhead: time {ratio:.2f}x, peak memory {ours['peak_mb'] / bare['peak_mb']:.2f}x "
        f"(target <= {TARGET_OVERHEAD}x)"
    )
    write_json(
        args.json,
        "recsys",
        {
            "customers": args.customers,
            "products": args.products,
            "interactions": args.interactions,
            "non_zeros": nnz,
            **{k: getattr(args, k) for k in ("factors", "iterations", "threads", "k", "repeats")},
        },
        variants={
            variant: phase(
                r["fit_s"] + r["recommend_s"],
                r["cpu_s"],
                args.customers,  # customers served a top-k list
                r["peak_mb"] / 1024,
                fit_s=r["fit_s"],
                recommend_s=r["recommend_s"],
                recommendation_rows=r["rows"],
            )
            for variant, r in results.items()
        },
    )


if __name__ == "__main__":
    main()
