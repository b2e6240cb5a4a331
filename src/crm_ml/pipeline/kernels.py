"""Kernels started one notebook ahead, with the notebook's imports already done.

Papermill starts a fresh kernel for every notebook and the notebook then imports LightGBM,
MLflow, lifetimes, ...: about 2-4 s of start-up and 4-5 s of imports, eight times a run,
which was most of the orchestration overhead. The runner starts the next notebook's kernel
while the current one executes, and the kernel runs the next notebook's own import
statements at start-up (IPython's `exec_lines`, outside the history, so execution counts
still start at 1). Each notebook still gets a kernel of its own; only the waiting goes.

Papermill runs a notebook on a given kernel manager but then leaves the kernel and its
client to the caller; the `warm-kernel` Papermill engine registered here is Papermill's
nbclient engine that, instead, shuts the kernel down and closes its client at the end, as
it does for kernels it started itself.
"""

from __future__ import annotations

import ast
import json
import uuid
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

ENGINE = "warm-kernel"


def import_lines(notebook: Path) -> list[str]:
    """The top-level import statements of a notebook's code cells, in order.

    Cells that are not plain Python (magics, shell escapes) are skipped: they are not
    needed for a warm start, and the notebook runs them itself.
    """
    lines: list[str] = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                line = ast.unparse(node)
                if line not in lines:
                    lines.append(line)
    return lines


class WarmKernel:
    """A kernel started now, for `notebook`, that imports what the notebook imports.

    Pass `papermill_kwargs()` to `papermill.execute_notebook` when the notebook's turn
    comes: Papermill waits until the kernel is ready, i.e. until the imports are done, and
    stops it at the end. `shutdown` stops a kernel whose notebook will not run.
    """

    def __init__(self, notebook: Path, cwd: Path) -> None:
        spec = nbformat.read(notebook, as_version=4).metadata.get("kernelspec", {})
        # IPC (Unix sockets in Jupyter's runtime directory): the
        # kernel talks only to this process, so nothing listens on a TCP port in plain text
        # and ipykernel has no reason to warn about a missing encryption.
        self.manager = AsyncKernelManager(kernel_name=spec.get("name", "python3"), transport="ipc")
        # absolute: the kernel runs in `cwd`, the client in ours
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        self.manager.ip = str(runtime / f"crm-ml-{uuid.uuid4().hex[:12]}-ipc")
        # One option per line: traitlets appends repeated list options. An import that fails
        # here only logs a warning; the notebook then runs it and fails with the real error.
        preload = [
            f"--IPKernelApp.exec_lines={json.dumps(line)}" for line in import_lines(notebook)
        ]
        run_sync(self.manager.start_kernel)(cwd=str(cwd), extra_arguments=preload)

    def papermill_kwargs(self) -> dict[str, Any]:
        # "immediate": the notebook has finished and every MLflow run in it was closed by its
        # `with` block, so nothing is left to flush; a graceful shutdown waited 1.5-2.5 s
        # per notebook for the kernel to exit.
        return {"engine_name": ENGINE, "km": self.manager, "shutdown_kernel": "immediate"}

    def shutdown(self) -> None:
        """Stop the kernel now, if it is still running (its notebook will not run)."""
        if run_sync(self.manager.is_alive)():
            run_sync(self.manager.shutdown_kernel)(now=True)
        run_sync(self.manager.cleanup_resources)()


class WarmKernelEngine(NBClientEngine):
    """Papermill's nbclient engine on a kernel started ahead, which it cleans up at the end."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        for unused in ("input_path", "timeout", "startup_timeout"):
            kwargs.pop(unused, None)
        client = PapermillNotebookClient(
            nb_man,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            startup_timeout=start_timeout,
            timeout=execution_timeout,
            **kwargs,
        )
        # nbclient cleans up only kernels it started, unless told to.
        return client.execute(cleanup_kc=True)


papermill_engines.register(ENGINE, WarmKernelEngine)
