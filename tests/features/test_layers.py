"""The SQL is laid out as layers whose reads are declared data: every file is a step of a
layer, every ref names a step, the build order is a topological order of the refs, no step
is left unread, and a broken layout is an error naming the file or step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import crm_ml.features
from crm_ml.features.dag import topological_order
from crm_ml.features.groups import GROUPS, SPINE, STEPS, _feature_table, build_order
from crm_ml.features.groups import missing_inputs as missing
from crm_ml.features.labels import CATEGORY_LABELS, LABELS
from crm_ml.features.sources import FEATURE_TABLES, RegisteredSources
from crm_ml.features.steps import LAYERS, load_steps

SQL = Path(crm_ml.features.__file__).parent / "sql"


def test_every_sql_file_is_a_step_of_a_layer_with_its_yaml_beside_it():
    files = sorted(SQL.rglob("*.sql"))
    assert {f.parent for f in files} == {SQL / layer for layer in LAYERS}
    assert sorted(f.relative_to(SQL).as_posix() for f in files) == sorted(
        step.path for step in STEPS.values()
    )
    assert all(f.with_suffix(".yaml").is_file() for f in files)
    assert not list(SQL.rglob("*.yml")), "package data ships *.yaml only"
    assert {p.name for p in SQL.iterdir() if p.is_file()} == {
        "feature_table.yaml",
        "contract_table.yaml",
    }


def test_every_ref_names_a_step_and_the_build_order_is_topological():
    position = {name: i for i, name in enumerate(STEPS)}
    for name, step in STEPS.items():
        for upstream in step.inputs:
            assert upstream in STEPS, f"{step.path} refs unknown step {upstream!r}"
            assert position[upstream] < position[name], f"{step.path} runs before {upstream}"


def test_no_step_is_left_unread():
    read = {upstream for step in STEPS.values() for upstream in step.inputs}
    staging = {n for n, s in STEPS.items() if s.layer == "staging"}
    assert staging - read - {SPINE.name} == set(), "staging steps no step reads"
    assert {g.name for g in GROUPS} == {n for n, s in STEPS.items() if s.layer == "groups"}
    assert {LABELS.name, CATEGORY_LABELS.name} == {
        n for n, s in STEPS.items() if s.layer == "labels"
    }


def test_steps_read_other_steps_only_through_ref():
    """A step table named directly (or a step read by its bare name) would be a read the
    build order does not know about."""
    for step in STEPS.values():
        template = (SQL / step.path).read_text(encoding="utf-8")
        code = "\n".join(line.split("--", 1)[0] for line in template.splitlines())
        for other in STEPS.values():
            assert other.table not in template, f"{step.path} names {other.table} directly"
            if other.name not in FEATURE_TABLES:  # `exclusions` is also an input table
                bare = re.search(rf"\b(FROM|JOIN)\s+{other.name}\b", code)
                assert bare is None, f"{step.path} reads {other.name} without a ref"
        assert sorted(re.findall(r"ref\('(\w+)'\)", code)) == sorted(
            re.findall(r"ref\('(\w+)'\)", template)
        ), f"{step.path} has a ref in a comment"


def test_groups_read_each_other_where_declared():
    """service_tier is a feature group that the service groups read: a ref, not a special
    case."""
    assert STEPS["service_tier"].layer == "groups"
    assert "service_tier" in STEPS["service_response"].inputs
    order = [s.name for s in build_order(["service_at_last_order"])]
    assert order.index("service_tier") < order.index("service_at_last_order")
    assert order[-1] == "service_at_last_order"
    assert "event_activity" not in order  # only what the step reads is built


def test_a_group_needs_what_the_steps_it_reads_need():
    sources = RegisteredSources(
        columns={"customers": frozenset({"customer_id", "signup_ts"}), "orders": frozenset()},
        export_as_of=None,
    )
    assert STEPS["engagement"].needs == ()
    assert missing(STEPS["engagement"], sources) == ["events"]  # from event_activity
    assert missing(STEPS["service_response"], sources) == ["tickets"]
    assert missing(STEPS["demographics"], sources) == ["customers.birth_year"]
    assert missing(STEPS["rfm"], sources) == []


def test_topological_order_keeps_the_asked_order_and_reads_first():
    inputs = {"a": (), "b": ("a",), "c": ("a",), "d": ("c", "b")}
    assert topological_order(inputs) == ("a", "b", "c", "d")
    assert topological_order(inputs, ["d"]) == ("a", "c", "b", "d")
    assert topological_order(inputs, ["c", "b"]) == ("a", "c", "b")


def test_topological_order_names_the_cycle_and_the_unknown_input():
    with pytest.raises(ValueError, match="cycle: b -> c -> b"):
        topological_order({"a": (), "b": ("a", "c"), "c": ("b",)})
    with pytest.raises(ValueError, match="'b' reads 'x', which is not a step"):
        topological_order({"a": (), "b": ("x",)})
    with pytest.raises(ValueError, match="'z' is not a SQL step"):
        topological_order({"a": ()}, ["z"])


def _layout(root: Path, files: dict[str, str]) -> Path:
    for layer in LAYERS:
        (root / layer).mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).parent.mkdir(exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


POPULATION = {
    "staging/population.sql": "SELECT customer_id FROM customers",
    "staging/population.yaml": "description: Everyone.\nneeds:\n  customers: [signup_ts]\n",
}
GROUP_YAML = "description: A group.\ncolumns:\n  x:\n    description: X.\n    reason: x {value}\n"


def test_a_valid_layout_loads_in_build_order(tmp_path):
    root = _layout(
        tmp_path,
        {
            **POPULATION,
            "groups/g.sql": "SELECT customer_id, 1 AS x FROM {{ ref('population') }}",
            "groups/g.yaml": GROUP_YAML,
        },
    )
    steps = load_steps(root)
    assert list(steps) == ["population", "g"]
    assert steps["g"].sql == "SELECT customer_id, 1 AS x FROM staging_population"
    assert steps["g"].inputs == ("population",)
    assert steps["population"].needs == (("customers", ("signup_ts",)),)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"loose.sql": "SELECT 1"}, r"sql/loose.sql: a SQL file belongs in one of"),
        ({"groups/g.sql": "SELECT 1"}, r"sql/groups/g.sql has no g.yaml beside it"),
        ({"groups/g.yaml": GROUP_YAML}, r"sql/groups/g.yaml has no g.sql beside it"),
        ({"groups/g.yml": GROUP_YAML}, r"sql/groups/g.yml: a layer holds only"),
        ({"groups/Bad-name.sql": "SELECT 1"}, r"sql/groups/Bad-name.sql: a layer holds only"),
        ({"groups/sub/g.sql": "SELECT 1"}, r"sql/groups/sub/: a layer holds steps, not folders"),
        ({"marts/g.sql": "SELECT 1"}, r"sql/marts/: not a layer"),
        (
            {"groups/g.sql": "SELECT {{ source('orders') }}", "groups/g.yaml": GROUP_YAML},
            r"sql/groups/g.sql: \"\{\{ source\('orders'\) \}\}\" is not a",
        ),
        (
            {"groups/g.sql": "SELECT {{ ref('population') }", "groups/g.yaml": GROUP_YAML},
            r"sql/groups/g.sql: a \{\{ or \}\} outside",
        ),
        (
            {"groups/g.sql": "SELECT * FROM {{ ref('populaton') }}", "groups/g.yaml": GROUP_YAML},
            r"SQL step 'g' reads 'populaton', which is not a step",
        ),
        (
            {
                "staging/a.sql": "SELECT * FROM {{ ref('b') }}",
                "staging/a.yaml": "description: A.",
                "staging/b.sql": "SELECT * FROM {{ ref('a') }}",
                "staging/b.yaml": "description: B.",
            },
            r"cycle: a -> b -> a",
        ),
        (
            {"labels/population.sql": "SELECT 1", "labels/population.yaml": "description: P."},
            r"sql/labels/population.sql: a step 'population' is also in staging/",
        ),
        (
            {"groups/g.sql": "SELECT 1", "groups/g.yaml": "description: A group."},
            r"sql/groups/g.yaml: a feature group lists its output `columns`",
        ),
        (
            {"staging/s.sql": "SELECT 1", "staging/s.yaml": GROUP_YAML},
            r"sql/staging/s.yaml: only feature groups have catalogued `columns`",
        ),
        (
            {"staging/s.sql": "SELECT 1", "staging/s.yaml": "description: S.\nneeds: {order: []}"},
            r"sql/staging/s.yaml: needs 'order', not an input table",
        ),
        (
            {
                "staging/s.sql": "SELECT 1",
                "staging/s.yaml": "description: S.\nneeds: {orders: [qty]}",
            },
            r"sql/staging/s.yaml: needs orders.\['qty'\], not contract columns",
        ),
        (
            {"staging/s.sql": "SELECT 1", "staging/s.yaml": "descripton: S."},
            r"sql/staging/s.yaml: unknown key\(s\) \['descripton'\]",
        ),
        (
            {"staging/s.sql": "SELECT 1", "staging/s.yaml": "description: [S"},
            r"sql/staging/s.yaml: not valid YAML",
        ),
    ],
)
def test_a_broken_layout_names_the_file_and_the_problem(tmp_path, files, problem):
    root = _layout(tmp_path, {**POPULATION, **files})
    with pytest.raises(ValueError, match=problem):
        load_steps(root)


def test_the_feature_table_lists_every_group_once(tmp_path):
    file = tmp_path / "feature_table.yaml"
    names = [g.name for g in GROUPS]
    file.write_text(f"spine: population\ngroups: {[*names[1:], names[2], 'rfn']}", "utf-8")
    with pytest.raises(ValueError) as error:
        _feature_table(file)
    assert str(error.value) == (
        f"sql/feature_table.yaml: {names[2]!r} is listed twice; 'rfn' is not a step of "
        f"sql/groups/; sql/groups/{names[0]}.sql is not listed"
    )
    file.write_text(f"spine: order_headers\ngroups: {names}", "utf-8")
    assert _feature_table(file) == (STEPS["order_headers"], GROUPS)
    file.write_text(f"spine: rfm\ngroups: {names}", "utf-8")
    with pytest.raises(ValueError, match="spine 'rfm' is not a staging step"):
        _feature_table(file)
