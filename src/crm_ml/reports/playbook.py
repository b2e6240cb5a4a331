"""The playbook: which interventions may answer which churn reason, their cost and the
effect assumed where no experiment has measured one.

A churn warning should trigger an intervention chosen by its cause (falling purchase
frequency: an exclusive offer; an unresolved complaint: a service callback). Only some
interventions have randomised data behind them; for the others a marketing lead states an
assumption, and the action plan must say which rows rest on one. The default playbook
(`playbook.yaml` beside this module) carries the service plan's examples; a run config's
``actions.playbook`` points at a copy of one's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PLAYBOOK = Path(__file__).with_name("playbook.yaml")
MEASURED_BY = ("campaign_uplift",)  # the measured effects the pipeline knows


@dataclass(frozen=True)
class Intervention:
    """One kind of contact: its channel, cost per contact and assumed effect (the share of
    what is at stake one contact wins); `measured_by` names the model whose measured
    uplift replaces the assumption, where there is one."""

    name: str
    channel: str
    cost: float
    effect: float
    marketing: bool = True
    measured_by: str | None = None


@dataclass(frozen=True)
class Rule:
    reason: str  # a case-insensitive regular expression on the top reason code
    interventions: tuple[str, ...]


@dataclass(frozen=True)
class Playbook:
    """Interventions by name, the reason rules in order, and the default candidates."""

    interventions: Mapping[str, Intervention]
    rules: tuple[Rule, ...]
    default: tuple[str, ...]
    source: str = "default playbook"

    def candidates(self, reason: object) -> tuple[tuple[Intervention, ...], str]:
        """The interventions for a top reason code, and which rule chose them (in words)."""
        text = (
            ""
            if reason is None or (isinstance(reason, float) and reason != reason)
            else str(reason)
        )
        for number, rule in enumerate(self.rules, start=1):
            if re.search(rule.reason, text, flags=re.IGNORECASE):
                chosen = tuple(self.interventions[name] for name in rule.interventions)
                return chosen, f"playbook rule {number} ({rule.reason.split('|')[0]})"
        return tuple(self.interventions[name] for name in self.default), "playbook default"

    def intervention(self, name: str) -> Intervention | None:
        return self.interventions.get(name)


def _error(source: str, problem: str) -> ValueError:
    return ValueError(f"playbook {source}: {problem}")


def playbook_from_mapping(raw: Mapping[str, Any], source: str = "playbook") -> Playbook:
    """A `Playbook` from its YAML form, with an error naming the entry for every problem."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("interventions"), Mapping):
        raise _error(source, "needs an 'interventions' mapping")
    interventions = {}
    for name, spec in raw["interventions"].items():
        if not isinstance(spec, Mapping):
            raise _error(source, f"intervention {name!r} must be a mapping")
        unknown = set(spec) - {"channel", "cost", "effect", "marketing", "measured_by"}
        if unknown:
            raise _error(source, f"intervention {name!r} has unknown key(s) {sorted(unknown)}")
        try:
            cost, effect = float(spec["cost"]), float(spec["effect"])
            channel = str(spec["channel"])
        except KeyError as missing:
            raise _error(source, f"intervention {name!r} needs {missing}") from None
        if cost < 0 or not 0 <= effect <= 1:
            raise _error(source, f"intervention {name!r}: cost must be >= 0 and effect in [0, 1]")
        measured_by = spec.get("measured_by")
        if measured_by is not None and measured_by not in MEASURED_BY:
            raise _error(
                source, f"intervention {name!r}: measured_by must be one of {list(MEASURED_BY)}"
            )
        interventions[str(name)] = Intervention(
            str(name), channel, cost, effect, bool(spec.get("marketing", True)), measured_by
        )

    def names(value: Any, where: str) -> tuple[str, ...]:
        listed = tuple(str(v) for v in (value or []))
        unknown = [v for v in listed if v not in interventions]
        if unknown:
            raise _error(source, f"{where} names unknown intervention(s) {unknown}")
        return listed

    rules = []
    for number, rule in enumerate(raw.get("rules") or [], start=1):
        if not isinstance(rule, Mapping) or "reason" not in rule:
            raise _error(source, f"rule {number} needs a 'reason' pattern")
        try:
            re.compile(str(rule["reason"]))
        except re.error as error:
            raise _error(source, f"rule {number}: bad pattern ({error})") from None
        interventions_of = names(rule.get("interventions"), f"rule {number}")
        rules.append(Rule(str(rule["reason"]), interventions_of))
    return Playbook(interventions, tuple(rules), names(raw.get("default"), "default"), source)


def load_playbook(path: str | Path | None = None) -> Playbook:
    """The playbook at `path` (YAML), or the default one.

    Examples
    --------
    >>> playbook = load_playbook()
    >>> [i.name for i in playbook.candidates("3 complaints still unresolved")[0]]
    ['service_callback']
    >>> playbook.candidates("no order for 95 days")[1]
    'playbook rule 5 (no order)'
    """
    file = Path(path) if path is not None else DEFAULT_PLAYBOOK
    if not file.exists():
        raise FileNotFoundError(f"playbook {file} does not exist")
    source = "default playbook" if path is None else str(file)
    return playbook_from_mapping(yaml.safe_load(file.read_text()) or {}, source)
