"""The `crm-ml` command: one subcommand per step a person or a scheduler runs."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from crm_ml.errors import CrmMlError

log = logging.getLogger("crm_ml")


def _validate(args: argparse.Namespace) -> int:
    from crm_ml.contract import load_tables

    result = load_tables(
        args.source_dir,
        as_of=args.as_of,
        quarantine_dir=args.quarantine_dir,
        accepted_dir=args.accepted_dir,
        progress=not args.quiet,
    )
    report = result.report_frame()
    totals = report[["read", "accepted", "quarantined", "erased"]].sum()
    print(f"as-of {result.as_of.isoformat()} (from {result.as_of_source})")
    print(report.drop(columns="file").to_string(index=False))
    print(
        f"total: read {totals['read']:,} = accepted {totals['accepted']:,} "
        f"+ quarantined {totals['quarantined']:,} + erased {totals['erased']:,}"
    )
    reasons = result.reasons()
    if len(reasons):
        print("\nquarantine reasons:")
        print(reasons.to_string(index=False))
        print(f"quarantined rows written to {args.quarantine_dir}/<table>.parquet")
    print(f"accepted tables written to {args.accepted_dir}/")
    return 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="validate a folder of CRM exports against the data contract",
        description="Read every contract table in SOURCE_DIR, quarantine bad rows with a reason, "
        "pseudonymise customer ids and write the accepted tables as Parquet.",
    )
    p.add_argument("source_dir", type=Path, help="folder with <table>.csv / <table>.parquet")
    p.add_argument("--as-of", help="export date (ISO-8601); default: manifest.json, else now")
    p.add_argument("--quarantine-dir", type=Path, default=Path("data/quarantine"))
    p.add_argument("--accepted-dir", type=Path, default=Path("data/processed/accepted"))
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_validate)


def _generate(args: argparse.Namespace) -> int:
    from crm_ml.datasets.synthetic import generate_world

    summary = generate_world(
        args.out,
        customers=args.customers,
        months=args.months,
        industry=args.industry,
        seed=args.seed,
        dirt=args.dirt,
        file_format=args.format,
        chunk_customers=args.chunk_customers,
        show_progress=not args.quiet,
    )
    print(
        f"{summary.industry} world, seed {summary.seed}, as of {summary.as_of:%Y-%m-%d}, "
        f"written to {summary.out_dir} in {summary.seconds:.1f} s"
    )
    for table, rows in summary.row_counts.items():
        print(f"  {table:<11} {rows:>12,}")
    injected = sum(sum(kinds.values()) for kinds in summary.dirt.values())
    if injected:
        print(f"  dirt: {injected:,} bad rows injected (see manifest.json)")
    print(f"  ground truth: {summary.out_dir}/truth/ (evaluation only)")
    return 0


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate a synthetic CRM world (contract tables + ground truth)",
        description="Write every contract table of a synthetic company to OUT, with the hidden "
        "ground truth (latent parameters, oracle churn probabilities, affinities, treatment "
        "effects) under OUT/truth/. Same seed, same bytes.",
    )
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--industry", choices=["retail", "finance", "b2b"], default="retail")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, default=Path("data/raw/synthetic"))
    p.add_argument("--dirt", action="store_true", help="inject a little realistic dirt")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--chunk-customers", type=int, default=50_000, help="memory bound")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_generate)


def _datasets(args: argparse.Namespace) -> int:
    from crm_ml.datasets import get_source, list_sources

    if args.action == "list":
        for source in list_sources():
            print(f"{source.name:<14} {source.description}")
        return 0
    if not args.name or not args.out:
        raise SystemExit("crm-ml datasets write: give a source NAME and --out DIR")
    from crm_ml.pipeline.config import parse_overrides

    path = get_source(args.name).write(args.out, **parse_overrides(args.param))
    print(f"wrote {args.name} to {path}")
    return 0


def _add_datasets(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list the registered data sources or write one as contract tables",
        description="`crm-ml datasets list`; `crm-ml datasets write cdnow-sample --out DIR`.",
    )
    p.add_argument("action", choices=["list", "write"])
    p.add_argument("name", nargs="?", help="source name (see `crm-ml datasets list`)")
    p.add_argument("--out", type=Path, help="folder to write the contract tables to")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(handler=_datasets)


def _run(args: argparse.Namespace) -> int:
    from crm_ml.pipeline.config import parse_overrides
    from crm_ml.pipeline.runner import run_pipeline

    result = run_pipeline(
        args.config,
        parse_overrides(args.param),
        run_id=args.run_id,
        force=args.force,
        progress=not args.quiet,
    )
    if result.skipped:
        print(f"run {result.run_id} already succeeded with this configuration (use --force)")
    print(f"run {result.run_id}: {result.manifest['status']}")
    print(f"  notebooks and manifest: {result.paths.root}")
    for kind, where in result.manifest.get("published", {}).items():
        print(f"  {kind}: {where}")
    for name, version in result.manifest.get("promoted", {}).items():
        print(f"  champion: {name} version {version}")
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the whole notebook pipeline and publish scores and reports",
        description="Execute the numbered notebooks with Papermill into "
        "experiments/runs/<run_id>/, then publish scores (data/scores) and reports "
        "(reports/<run_id>, reports/latest). A failing notebook stops the run and "
        "publishes nothing.",
    )
    p.add_argument("--config", type=Path, default=Path("configs/retail.yaml"))
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration key, e.g. data.synthetic.customers=5000",
    )
    p.add_argument("--run-id", help="default: <UTC time>-<config name>-<config hash>")
    p.add_argument("--force", action="store_true", help="re-run a run id that succeeded")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run)


def _score(args: argparse.Namespace) -> int:
    from crm_ml.pipeline.config import parse_overrides
    from crm_ml.pipeline.refresh import score_refresh

    result = score_refresh(args.config, parse_overrides(args.param), run_id=args.run_id)
    print(
        f"score run {result.run_id}: {result.manifest['status']} (models {result.manifest['models']})"
    )
    for kind, where in result.manifest.get("published", {}).items():
        print(f"  {kind}: {where}")
    return 0


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="scheduled refresh: score the latest exports with the champion models",
        description="Validate the latest exports, rebuild features, score every customer with "
        "the registered champions (no training), check drift against the previous run (PSI) "
        "and publish scores and report. Cron: "
        "30 2 * * * cd /path/to/crm-ml && .venv/bin/crm-ml score --quiet",
    )
    p.add_argument("--config", type=Path, default=Path("configs/retail.yaml"))
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--run-id", help="default: score-<UTC time>-<config name>-<config hash>")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_score)


def _customer_report(args: argparse.Namespace) -> int:
    import shutil

    from crm_ml.pipeline.paths import RunPaths, project_root
    from crm_ml.reports import write_customer_card

    latest = project_root() / "reports" / "latest"
    run_id = args.run or (latest.resolve().name if latest.exists() else None)
    if run_id is None:
        print("crm-ml customer-report: no published run yet: run `make run` first", file=sys.stderr)
        return 1
    paths = RunPaths.for_run(run_id)
    card = write_customer_card(args.customer_id, paths)
    published = project_root() / "reports" / run_id / "customers" / card.name
    published.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(card, published)
    print(published)
    return 0


def _add_customer_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "customer-report",
        help="write the one-page 360 card of one customer (HTML)",
        description="CUSTOMER_ID is the pseudonym shown in reports, or the raw id of your "
        "CRM (pseudonymised with CRM_ML_PSEUDONYM_KEY before the lookup; never shown).",
    )
    p.add_argument("customer_id")
    p.add_argument("--run", help="run id (default: the run reports/latest points at)")
    p.set_defaults(handler=_customer_report)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_validate,
    _add_generate,
    _add_datasets,
    _add_run,
    _add_score,
    _add_customer_report,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-ml", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    # a warning is a sentence for the user here, not a source line of ours
    warnings.formatwarning = lambda message, category, *_args, **_kw: (
        f"{category.__name__}: {message}"
    )
    try:
        return args.handler(args)
    except CrmMlError as exc:  # every error raised on purpose, one line each
        print(exc.one_line(args.command), file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
