"""Write a notebook from a list of ("md" | "code", source) cells, without outputs.

The first code cell is tagged `parameters` for Papermill; cell ids are stable (cell-00,
cell-01, ...) so that rewriting a notebook changes only what changed.

    from make_notebook import build
    build("notebooks/09_example.ipynb", [("md", "# Title"), ("code", 'run_dir = ""')])
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def build(path: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    first_code = True
    for kind, src in cells:
        if kind == "md":
            nb.cells.append(new_markdown_cell(src.strip()))
        else:
            cell = new_code_cell(src.strip())
            if first_code:
                cell.metadata["tags"] = ["parameters"]
                first_code = False
            nb.cells.append(cell)
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    nbformat.write(nb, path)
