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
from importlib import resources
from importlib.resources.abc import Traversable

from crm_ml.features.dag import topological_order
from crm_ml.features.sources import RegisteredSources
from crm_ml.features.steps import GROUP_LAYER, STAGING_LAYER, SqlStep, load_steps, read_yaml

_SQL = resources.files("crm_ml.features").joinpath("sql")
_TABLE_FILE = "sql/feature_table.yaml"

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


def build_order(names: Iterable[str]) -> tuple[SqlStep, ...]:
    """The steps named and every step they read, each after the steps it reads."""
    return tuple(STEPS[name] for name in topological_order(_INPUTS, names))


def missing_inputs(step: SqlStep, sources: RegisteredSources) -> list[str]:
    """`table` or `table.column` entries that `step`, or a step it reads, needs and the
    input lacks: its own first, then those of its inputs in build order."""
    upstream = build_order(step.inputs)
    return list(dict.fromkeys(m for s in (step, *upstream) for m in s.lacks(sources)))
