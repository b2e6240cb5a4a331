"""The SQL steps shipped with the package, and the feature table made of them.

`STEPS` holds every step of `sql/staging`, `sql/groups` and `sql/labels` in build order
(see steps.py for the files of a step). `sql/feature_table.yaml` names the spine (the
step whose rows the table has) and the feature groups in column order; `GROUPS` is that
list. Which steps run for a cutoff follows from what the wanted ones read (`build_order`),
and a group runs only when the input has what it and every step it reads need
(`missing_inputs`); the others are reported as skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from crm_ml.features.dag import topological_order
from crm_ml.features.sources import RegisteredSources
from crm_ml.features.steps import (
    CONTRACT_LAYER,
    GROUP_LAYER,
    STAGING_LAYER,
    SqlStep,
    load_steps,
    read_yaml,
)

_SQL = resources.files("crm_ml.features").joinpath("sql")
_TABLE_FILE = "sql/feature_table.yaml"
_CONTRACT_FILE = "sql/contract_table.yaml"

STEPS: dict[str, SqlStep] = load_steps(_SQL)
_INPUTS = {name: step.inputs for name, step in STEPS.items()}


def _feature_table(file: Traversable) -> tuple[SqlStep, tuple[SqlStep, ...]]:
    """(spine, groups in column order) as `sql/feature_table.yaml` declares them, checked
    against the steps: the spine is a staging step and every group is listed exactly once."""
    spec = read_yaml(file, _TABLE_FILE)
    if not isinstance(spec, dict) or set(spec) != {"spine", "groups"}:
        raise ValueError(f"{_TABLE_FILE}: expected exactly the keys `spine` and `groups`")
    spine = STEPS.get(spec["spine"]) if isinstance(spec["spine"], str) else None
    if spine is None or spine.layer != STAGING_LAYER:
        raise ValueError(f"{_TABLE_FILE}: spine {spec['spine']!r} is not a staging step")
    listed = spec["groups"]
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise ValueError(f"{_TABLE_FILE}: `groups` must be a list of group names")
    groups = {n for n, step in STEPS.items() if step.layer == GROUP_LAYER}
    problems = [
        *(f"{n!r} is listed twice" for n in sorted({n for n in listed if listed.count(n) > 1})),
        *(f"{n!r} is not a step of sql/groups/" for n in listed if n not in groups),
        *(f"sql/groups/{n}.sql is not listed" for n in sorted(groups - set(listed))),
    ]
    if problems:
        raise ValueError(f"{_TABLE_FILE}: {'; '.join(problems)}")
    return spine, tuple(STEPS[name] for name in listed)


SPINE, GROUPS = _feature_table(_SQL.joinpath("feature_table.yaml"))


@dataclass(frozen=True)
class ContractTable:
    """The contract table of `sql/contract_table.yaml`: its spine (one row per contract
    active at the cutoff), its feature groups in column order and its labels."""

    spine: SqlStep
    groups: tuple[SqlStep, ...]
    labels: SqlStep


def _contract_table(file: Traversable) -> ContractTable:
    """The contract table as declared, checked against the steps of `sql/contracts/`: spine
    and labels have no catalogued columns, every step that has them is listed once."""
    spec = read_yaml(file, _CONTRACT_FILE)
    if not isinstance(spec, dict) or set(spec) != {"spine", "groups", "labels"}:
        raise ValueError(f"{_CONTRACT_FILE}: expected exactly the keys spine, groups and labels")
    steps = {n: s for n, s in STEPS.items() if s.layer == CONTRACT_LAYER}
    grouped = {n for n, s in steps.items() if s.columns}
    listed = spec["groups"] if isinstance(spec["groups"], list) else []
    problems = [
        *(
            f"{key} {spec[key]!r} is not a step of sql/contracts/ without columns"
            for key in ("spine", "labels")
            if spec[key] not in steps or steps[spec[key]].columns
        ),
        *(f"{n!r} is not a group of sql/contracts/" for n in listed if n not in grouped),
        *(f"sql/contracts/{n}.sql is not listed" for n in sorted(grouped - set(listed))),
        *(f"{n!r} is listed twice" for n in sorted({n for n in listed if listed.count(n) > 1})),
    ]
    if problems:
        raise ValueError(f"{_CONTRACT_FILE}: {'; '.join(problems)}")
    return ContractTable(
        steps[spec["spine"]], tuple(steps[n] for n in listed), steps[spec["labels"]]
    )


CONTRACTS = _contract_table(_SQL.joinpath("contract_table.yaml"))


def build_order(names: Iterable[str]) -> tuple[SqlStep, ...]:
    """The steps named and every step they read, each after the steps it reads."""
    return tuple(STEPS[name] for name in topological_order(_INPUTS, names))


def missing_inputs(step: SqlStep, sources: RegisteredSources) -> list[str]:
    """`table` or `table.column` entries that `step`, or a step it reads, needs and the
    input lacks: its own first, then those of its inputs in build order."""
    upstream = build_order(step.inputs)
    return list(dict.fromkeys(m for s in (step, *upstream) for m in s.lacks(sources)))
