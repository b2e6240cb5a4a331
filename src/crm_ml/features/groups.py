"""The feature groups: which SQL file computes each and which input columns it needs.

A group runs only when every table and column it needs was present in the input; the
others are reported as skipped with the reason. Staging steps (`population`,
`order_headers`, `last_order`, `event_activity`, `service_tier`) are materialised first
because several groups read them (`event_activity` is the single scan of the large events
table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from crm_ml.features.sources import RegisteredSources


@dataclass(frozen=True)
class SqlStep:
    """One SQL file and the input columns it needs, as {table: (column, ...)}."""

    name: str
    needs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def sql(self) -> str:
        return read_sql(self.name)

    def missing_inputs(self, sources: RegisteredSources) -> list[str]:
        """`table` or `table.column` entries this step needs that the input lacks."""
        missing = []
        for table, columns in self.needs:
            if not sources.has(table):
                missing.append(table)
                continue
            missing.extend(f"{table}.{c}" for c in columns if not sources.has(table, c))
        return missing


# Steps the groups read from; each becomes a temporary table named after the step.
STAGING: tuple[SqlStep, ...] = (
    SqlStep("population", (("customers", ("signup_ts",)),)),
    SqlStep("order_headers", (("orders", ()),)),
    SqlStep("last_order", (("orders", ()),)),
    SqlStep("event_activity", (("events", ()), ("orders", ()))),
    SqlStep("service_tier", (("orders", ()),)),
)

# Output groups in the column order of the feature table.
GROUPS: tuple[SqlStep, ...] = (
    SqlStep("customer", (("customers", ("signup_ts",)),)),
    SqlStep("demographics", (("customers", ("birth_year",)),)),
    SqlStep("consent", (("customers", ()),)),
    SqlStep("rfm", (("orders", ()),)),
    SqlStep("purchase_rhythm", (("orders", ()),)),
    SqlStep("purchase_rate", (("orders", ()), ("customers", ("signup_ts",)))),
    SqlStep("basket", (("orders", ("quantity",)),)),
    SqlStep("returns", (("orders", ()),)),
    SqlStep("category_mix", (("orders", ()), ("products", ("category",)))),
    SqlStep("channel_mix", (("orders", ("channel",)),)),
    SqlStep("engagement", (("events", ()),)),
    SqlStep("engagement_since_order", (("events", ()), ("orders", ()))),
    SqlStep("service_tier", (("orders", ()),)),
    SqlStep("service", (("tickets", ()),)),
    SqlStep("service_resolution", (("tickets", ("resolved_ts",)),)),
    SqlStep("service_response", (("tickets", ("first_response_ts",)),)),
    SqlStep("service_csat", (("tickets", ("csat", "resolved_ts")),)),
    SqlStep(
        "service_at_last_order",
        (("tickets", ("first_response_ts", "resolved_ts")), ("orders", ())),
    ),
    SqlStep("campaigns", (("contacts", ()),)),
    SqlStep("campaign_responses", (("contacts", ("responded_ts",)),)),
    SqlStep("campaigns_since_order", (("contacts", ("responded_ts",)), ("orders", ()))),
    SqlStep("nps", (("surveys", ()),)),
    SqlStep("exclusions", (("exclusions", ()),)),
)
GROUP_NAMES = tuple(g.name for g in GROUPS)

_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


@cache
def read_sql(name: str) -> str:
    """The text of `sql/<name>.sql` shipped with the package."""
    return resources.files("crm_ml.features").joinpath("sql", f"{name}.sql").read_text()


def parameters_used(sql: str) -> set[str]:
    """Named parameters ($name) a SQL text uses, outside `--` comments.

    DuckDB refuses parameters a statement does not use, so each statement gets only its own.
    """
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return set(_PARAMETER.findall(code))
