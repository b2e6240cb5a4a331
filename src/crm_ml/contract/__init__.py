"""The data contract: table specs, pandera schemas, validated and pseudonymised loading."""

from crm_ml.contract.errors import ContractError
from crm_ml.contract.loader import ContractResult, TableReport, load_tables, resolve_as_of
from crm_ml.contract.privacy import pseudonymise_ids
from crm_ml.contract.schemas import schema_for
from crm_ml.contract.tables import TABLES, Kind, TableSpec

__all__ = [
    "TABLES",
    "ContractError",
    "ContractResult",
    "Kind",
    "TableReport",
    "TableSpec",
    "load_tables",
    "pseudonymise_ids",
    "resolve_as_of",
    "schema_for",
]
