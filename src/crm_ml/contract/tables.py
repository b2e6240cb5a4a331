"""The data contract of DESIGN.md as data: which tables exist, their keys and column kinds.

Everything else in the contract layer (parsing, pandera schemas, the loader, the docs) is
derived from these specs, so a column is declared in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """How a column is parsed from text and stored once accepted."""

    ID = "id"  # non-empty string
    TS = "ts"  # timezone-aware UTC timestamp
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"  # true/false, 1/0 (1.0/0.0), yes/no, t/f, y/n (case-insensitive)
    STR = "str"  # free text, may be empty


TICKET_KINDS = ("consult", "fault", "complaint")
# `usage`: a product-usage event of a subscription (SaaS), with the product used
EVENT_TYPES = ("session", "app_open", "view", "search", "cart_add", "usage")
SUBSCRIPTION_STATUSES = ("active", "cancelled", "ended")
PERSONAL_COLUMNS = ("name", "email", "phone")


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract.

    `key` columns must be unique together; `required` columns must be present in the file
    and non-empty in every row; `optional` columns may be absent from the file or empty.
    `enums` restricts a column to a set of values; `references` maps a column to the table
    whose key it must exist in. A reference in `soft_references` (an optional column) that
    points nowhere costs the link, not the row: it becomes null with a counted note.
    `future_allowed` timestamps may pass the export's as-of date (a next renewal date).
    """

    name: str
    key: tuple[str, ...]
    required: dict[str, Kind]
    optional: dict[str, Kind] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    non_negative: tuple[str, ...] = ()
    soft_references: tuple[str, ...] = ()
    future_allowed: tuple[str, ...] = ()
    required_table: bool = False

    @property
    def columns(self) -> dict[str, Kind]:
        return {**self.required, **self.optional}

    @property
    def timestamp_columns(self) -> list[str]:
        return [c for c, k in self.columns.items() if k is Kind.TS]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "customers",
            key=("customer_id",),
            required={"customer_id": Kind.ID, "signup_ts": Kind.TS},
            optional={
                "region": Kind.STR,
                "acquisition_channel": Kind.STR,
                "birth_year": Kind.INT,
                "gender": Kind.STR,
                "marketing_consent": Kind.BOOL,
                "consent_updated_ts": Kind.TS,
                "preferred_channels": Kind.STR,  # comma-separated; the action plan keeps to it
                "name": Kind.STR,
                "email": Kind.STR,
                "phone": Kind.STR,
                "account_id": Kind.ID,
            },
            references={"account_id": "accounts"},
            # quarantining a contact for a stale account link would drop all their orders
            soft_references=("account_id",),
            required_table=True,
        ),
        TableSpec(
            "products",
            key=("product_id",),
            required={"product_id": Kind.ID, "category": Kind.ID, "price": Kind.FLOAT},
            optional={
                "subcategory": Kind.STR,
                "is_sensitive": Kind.BOOL,
                "is_repeatable": Kind.BOOL,
                "launch_ts": Kind.TS,  # when it went on sale; empty: always on sale
            },
            non_negative=("price",),
            required_table=True,
        ),
        TableSpec(
            "orders",
            key=("order_id", "product_id"),
            required={
                "order_id": Kind.ID,
                "product_id": Kind.ID,
                "customer_id": Kind.ID,
                "ts": Kind.TS,
                "amount": Kind.FLOAT,
            },
            optional={"quantity": Kind.INT, "channel": Kind.STR, "is_return": Kind.BOOL},
            references={"customer_id": "customers", "product_id": "products"},
            required_table=True,
        ),
        TableSpec(
            "events",
            key=(),
            required={"customer_id": Kind.ID, "ts": Kind.TS, "event_type": Kind.ID},
            optional={"product_id": Kind.ID, "channel": Kind.STR},
            enums={"event_type": EVENT_TYPES},
            references={"customer_id": "customers", "product_id": "products"},
        ),
        TableSpec(
            "tickets",
            key=("ticket_id",),
            required={
                "ticket_id": Kind.ID,
                "customer_id": Kind.ID,
                "opened_ts": Kind.TS,
                "kind": Kind.ID,
            },
            optional={
                "first_response_ts": Kind.TS,
                "resolved_ts": Kind.TS,
                "channel": Kind.STR,
                "csat": Kind.INT,
            },
            enums={"kind": TICKET_KINDS},
            references={"customer_id": "customers"},
        ),
        TableSpec(
            "contacts",
            key=("contact_id",),
            required={
                "contact_id": Kind.ID,
                "customer_id": Kind.ID,
                "campaign_id": Kind.ID,
                "sent_ts": Kind.TS,
            },
            optional={
                "channel": Kind.STR,
                "is_control": Kind.BOOL,
                "offer_category": Kind.STR,
                "treatment": Kind.STR,
                "cost": Kind.FLOAT,
                "responded_ts": Kind.TS,
            },
            references={"customer_id": "customers"},
            non_negative=("cost",),
        ),
        TableSpec(
            "surveys",
            key=(),
            required={"customer_id": Kind.ID, "ts": Kind.TS, "nps": Kind.INT},
            references={"customer_id": "customers"},
        ),
        TableSpec(
            "exclusions",
            key=(),
            required={"customer_id": Kind.ID, "category": Kind.ID, "ts": Kind.TS},
            optional={"source": Kind.STR},
            references={"customer_id": "customers"},
        ),
        TableSpec(
            "erasure",
            key=("customer_id",),
            required={"customer_id": Kind.ID, "ts": Kind.TS},
        ),
        TableSpec(
            "subscriptions",
            key=("subscription_id",),
            required={
                "subscription_id": Kind.ID,
                "customer_id": Kind.ID,
                "product_id": Kind.ID,
                "start_ts": Kind.TS,
                "status": Kind.ID,
            },
            optional={
                "end_ts": Kind.TS,
                "term_months": Kind.INT,  # empty: month to month
                "renewal_ts": Kind.TS,
                "recurring_amount": Kind.FLOAT,
                "cancel_reason": Kind.STR,
                "seats": Kind.INT,
            },
            enums={"status": SUBSCRIPTION_STATUSES},
            references={"customer_id": "customers", "product_id": "products"},
            non_negative=("recurring_amount",),
            future_allowed=("renewal_ts",),  # the next renewal of an active contract
        ),
        TableSpec(
            "accounts",
            key=("account_id",),
            required={"account_id": Kind.ID},
            optional={"industry": Kind.STR, "size_band": Kind.STR, "region": Kind.STR},
        ),
        TableSpec(
            "balances",
            key=("customer_id", "product_id", "month"),
            required={
                "customer_id": Kind.ID,
                "product_id": Kind.ID,
                "month": Kind.TS,  # the first day of the month, 00:00 UTC
                "balance": Kind.FLOAT,  # may be negative: overdrafts, loans
            },
            references={"customer_id": "customers", "product_id": "products"},
        ),
    ]
}

# Order of loading: a table is loaded after every table it references.
LOAD_ORDER = (
    "erasure",
    "accounts",
    "customers",
    "products",
    "orders",
    "events",
    "tickets",
    "contacts",
    "surveys",
    "exclusions",
    "subscriptions",
    "balances",
)
