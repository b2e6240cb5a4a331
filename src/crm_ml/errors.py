"""The base of every error crm-ml raises on purpose.

Such an error is about the user's data, configuration or project state, and its message
says what happened, where and what to do, so every `crm-ml` command prints it on one line
instead of a traceback (`crm_ml.cli.main` catches this class once). Each subclass also
keeps the built-in class a caller would expect (ValueError for bad values, LookupError for
something missing), so `except ValueError` in existing code still works. Bad arguments to a
library function (a programming mistake) stay plain ValueError / TypeError, as in Python.
"""


class CrmMlError(Exception):
    """An error crm-ml raises on purpose; the message is meant for the person running it.

    `exit_code` is what a command exits with: 2 for input it cannot take (data, files,
    configuration), 1 for work that ran and failed or found nothing to work with.

    Parameters
    ----------
    *args
        As for `Exception`: the message (what happened, where, what to do).

    Examples
    --------
    A subclass keeps the built-in class callers catch:

    >>> class BadExportError(CrmMlError, ValueError):
    ...     pass
    >>> error = BadExportError("orders.csv: no header line; export it with one")
    >>> isinstance(error, ValueError), error.exit_code
    (True, 2)
    >>> error.one_line("validate")
    'crm-ml validate: orders.csv: no header line; export it with one'
    """

    exit_code = 2

    def one_line(self, command: str) -> str:
        failed = "FAILED: " if self.exit_code == 1 else ""
        return f"crm-ml {command}: {failed}{self}"
