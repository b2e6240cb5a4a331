"""The building blocks of a report section, each rendered by one macro of `_blocks.html.j2`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from crm_ml.reports.formatting import TableView


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Stats:
    items: list[Stat]
    kind: ClassVar[str] = "stats"


@dataclass(frozen=True)
class Table:
    view: TableView
    caption: str = ""
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Figure:
    uri: str  # a data: URI, so the report stays one file
    caption: str
    kind: ClassVar[str] = "figure"


@dataclass(frozen=True)
class Figures:
    figures: list[Figure]
    kind: ClassVar[str] = "figures"


@dataclass(frozen=True)
class Bar:
    label: str
    sub: str
    value: str
    width: float  # percent of the widest bar


@dataclass(frozen=True)
class Bars:
    title: str
    bars: list[Bar]
    kind: ClassVar[str] = "bars"


@dataclass(frozen=True)
class Unavailable:
    what: str
    why: str = "not available in this run"
    kind: ClassVar[str] = "unavailable"


@dataclass(frozen=True)
class Text:
    text: str
    kind: ClassVar[str] = "text"


Block = Stats | Table | Figure | Figures | Bars | Unavailable | Text


@dataclass
class Section:
    anchor: str
    title: str
    intro: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return any(not isinstance(b, Unavailable) for b in self.blocks)


@dataclass(frozen=True)
class Alert:
    level: Literal["danger", "warning", "ok"]
    title: str
    lines: list[str] = field(default_factory=list)
