"""SQL steps as declared data: each step's SQL, the steps it reads and the input it needs.

A step is two files side by side in one layer folder of `sql/` (as a dbt model and its
YAML): `<layer>/<name>.sql` and `<layer>/<name>.yaml`. The layers are `staging` (tables
several steps read), `groups` (the feature groups, each a block of columns of the feature
table) and `labels` (what happens in the horizon after the cutoff).

The SQL names every step it reads with a `{{ ref('name') }}` marker, rendered as that step's
table. The reads are thus part of the SQL rather than a list kept apart from it, and the
build order follows from them (see `dag.py`). The layer `contracts` holds the steps of the
contract table (one row per subscription active at the cutoff: its spine, its feature
groups, its labels; see `sql/contract_table.yaml`). The YAML holds the rest:

    description: one line - what the step's table is
    needs:                       # input tables (and optional columns) without which the
      orders: [quantity]         # step cannot run; also those of the steps it reads
    columns:                     # feature groups only: the catalogue entry of every
      avg_items_per_order_365d:  # output column, in output order (see catalog.py)
        description: ...
        reason: ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from crm_ml.contract.tables import TABLES
from crm_ml.features.dag import topological_order
from crm_ml.features.sources import FEATURE_TABLES, RegisteredSources

STAGING_LAYER, GROUP_LAYER, CONTRACT_LAYER = "staging", "groups", "contracts"
LAYERS = (STAGING_LAYER, GROUP_LAYER, "labels", CONTRACT_LAYER)

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MARKER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REF = re.compile(r"\s*ref\(\s*'([a-z][a-z0-9_]*)'\s*\)\s*")
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")
_SPEC_KEYS = {"description", "needs", "columns"}


@dataclass(frozen=True)
class SqlStep:
    """One step: its SQL with every ref rendered, the steps it reads (in the order the SQL
    first names them), the input it needs as ((table, (column, ...)), ...), and for a
    feature group the raw catalogue entries of its columns."""

    name: str
    layer: str
    sql: str
    inputs: tuple[str, ...]
    needs: tuple[tuple[str, tuple[str, ...]], ...]
    description: str
    columns: Mapping[str, Any]

    @property
    def path(self) -> str:
        """Where the SQL lives under `sql/`, for messages."""
        return f"{self.layer}/{self.name}.sql"

    @property
    def table(self) -> str:
        """The table the step is materialised as; prefixed by the layer so that no step
        shadows an input view of the same name (the `exclusions` group and table)."""
        return table_name(self.layer, self.name)

    def lacks(self, sources: RegisteredSources) -> list[str]:
        """`table` or `table.column` entries this step itself needs that the input lacks."""
        missing = []
        for table, columns in self.needs:
            if not sources.has(table):
                missing.append(table)
                continue
            missing.extend(f"{table}.{c}" for c in columns if not sources.has(table, c))
        return missing


def table_name(layer: str, name: str) -> str:
    return f"{layer}_{name}"


def parameters_used(sql: str) -> set[str]:
    """Named parameters ($name) a SQL text uses, outside `--` comments.

    DuckDB refuses parameters a statement does not use, so each statement gets only its own.
    """
    return set(_PARAMETER.findall(_code(sql)))


def read_yaml(file: Traversable, where: str) -> Any:
    """The parsed YAML of `file`; a syntax error names `where`."""
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: not valid YAML: {err}") from None


def load_steps(root: Traversable) -> dict[str, SqlStep]:
    """Every step under `root` (the `sql` folder), in build order: each after those it reads.

    Raises ValueError naming the file for a file outside the layers, a step without its
    YAML (or the reverse), two steps of one name, a marker that is not a ref, a malformed
    YAML, or - naming the step - a ref to no step and a cycle.
    """
    files = _step_files(root)
    templates = {name: sql.read_text(encoding="utf-8") for name, (_, sql, _) in files.items()}
    inputs = {name: _refs(templates[name], f"sql/{files[name][0]}/{name}.sql") for name in files}
    tables = {name: table_name(layer, name) for name, (layer, _, _) in files.items()}
    steps = {}
    for name in topological_order(inputs):
        layer, _, spec_file = files[name]
        steps[name] = SqlStep(
            name=name,
            layer=layer,
            sql=_MARKER.sub(lambda m: tables[_REF.fullmatch(m[1])[1]], templates[name]),
            inputs=inputs[name],
            **_spec(spec_file, f"sql/{layer}/{name}.yaml", layer),
        )
    return steps


def _step_files(root: Traversable) -> dict[str, tuple[str, Traversable, Traversable]]:
    """name -> (layer, SQL file, YAML file), checking that `root` holds nothing else."""
    files: dict[str, tuple[str, Traversable, Traversable]] = {}
    for entry in root.iterdir():
        if entry.is_file() and entry.name.endswith(".sql"):
            raise ValueError(f"sql/{entry.name}: a SQL file belongs in one of {LAYERS}")
        if entry.is_dir() and entry.name not in LAYERS:
            raise ValueError(f"sql/{entry.name}/: not a layer; the layers are {LAYERS}")
    for layer in LAYERS:
        folder = root.joinpath(layer)
        names = sorted(e.name for e in folder.iterdir())
        for file_name in names:
            stem, _, suffix = file_name.rpartition(".")
            where = f"sql/{layer}/{file_name}"
            if folder.joinpath(file_name).is_dir():
                raise ValueError(f"{where}/: a layer holds steps, not folders")
            if suffix not in ("sql", "yaml") or not _NAME.fullmatch(stem):
                raise ValueError(
                    f"{where}: a layer holds only <step>.sql and <step>.yaml, the step named "
                    "in lower case letters, digits and underscores"
                )
            partner = f"{stem}.yaml" if suffix == "sql" else f"{stem}.sql"
            if partner not in names:
                raise ValueError(f"{where} has no {partner} beside it")
            if suffix == "yaml":
                continue
            if stem in files:
                raise ValueError(f"{where}: a step {stem!r} is also in {files[stem][0]}/")
            files[stem] = (layer, folder.joinpath(file_name), folder.joinpath(partner))
    return files


def _refs(template: str, where: str) -> tuple[str, ...]:
    """The steps a SQL template reads, in the order it first names them."""
    refs = []
    for marker in _MARKER.finditer(template):
        ref = _REF.fullmatch(marker[1])
        if ref is None:
            raise ValueError(f"{where}: {marker[0]!r} is not a {{{{ ref('<step>') }}}}")
        refs.append(ref[1])
    rest = _MARKER.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise ValueError(f"{where}: a {{{{ or }}}} outside a {{{{ ref('<step>') }}}} marker")
    return tuple(dict.fromkeys(refs))


def _spec(file: Traversable, where: str, layer: str) -> dict[str, Any]:
    """description, needs and columns of a step's YAML, checked."""
    spec = read_yaml(file, where)
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping with {sorted(_SPEC_KEYS)}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(_SPEC_KEYS)}")
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{where}: `description` must be a non-empty text")
    columns = spec.get("columns")
    if layer == GROUP_LAYER and (not isinstance(columns, dict) or not columns):
        raise ValueError(f"{where}: a feature group lists its output `columns`")
    if (
        layer == CONTRACT_LAYER
        and columns is not None
        and (not isinstance(columns, dict) or not columns)
    ):
        raise ValueError(f"{where}: `columns` lists the group's output columns")
    if layer not in (GROUP_LAYER, CONTRACT_LAYER) and columns is not None:
        raise ValueError(f"{where}: only feature groups have catalogued `columns`")
    return {
        "needs": _needs(spec.get("needs", {}), where),
        "description": description,
        "columns": columns or {},
    }


def _needs(needs: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`needs` as ((table, (column, ...)), ...), every table and column a contract one."""
    if not isinstance(needs, dict):
        raise ValueError(f"{where}: `needs` maps input tables to lists of columns")
    out = []
    for table, columns in needs.items():
        if table not in FEATURE_TABLES:
            raise ValueError(f"{where}: needs {table!r}, not an input table {FEATURE_TABLES}")
        if not isinstance(columns, list):
            raise ValueError(f"{where}: needs.{table} must be a list of columns")
        unknown = [c for c in columns if c not in TABLES[table].columns]
        if unknown:
            raise ValueError(f"{where}: needs {table}.{unknown}, not contract columns")
        out.append((table, tuple(columns)))
    return tuple(out)


def _code(sql: str) -> str:
    """`sql` without its `--` comments."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
