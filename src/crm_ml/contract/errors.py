"""The one error the contract layer raises for input it cannot take at all."""

from crm_ml.errors import CrmMlError


class ContractError(CrmMlError):
    """Input that stops ingestion: the message names the file, the column and what to do.

    Row-level problems never raise; they go to the quarantine with a reason.
    """
