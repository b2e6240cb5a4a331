"""The Jinja2 environment of the reports: package templates, autoescaping, number filters."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from crm_ml.reports import formatting


@cache
def environment() -> jinja2.Environment:
    """Templates from `crm_ml/reports/templates`; every value is HTML-escaped by default."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("crm_ml.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        percent=formatting.fmt_percent,
        pp=formatting.fmt_pp,
        count=formatting.fmt_count,
        money=formatting.fmt_money,
        minutes=formatting.fmt_minutes,
        score=formatting.fmt_score,
        decimal=formatting.fmt_decimal,
        date=formatting.fmt_date,
        cell=lambda value, column: formatting.format_cell(column, value),
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
