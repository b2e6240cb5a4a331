"""The `crm-ml` command: one subcommand per step a person or a scheduler runs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crm_ml.contract.errors import ContractError

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


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_validate]


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
    try:
        return args.handler(args)
    except ContractError as exc:
        print(f"crm-ml {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
