"""Build order of the SQL steps, derived from what each step reads.

Each step declares the steps it reads (`{{ ref('name') }}` in its SQL); the order they are
materialised in is a topological sort of those declarations, so no list of steps has to be
kept in order by hand and a new step cannot be run before its inputs. Ties keep the order
the steps were asked for in, so the build order is the same from run to run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def topological_order(
    inputs: Mapping[str, Sequence[str]], wanted: Iterable[str] | None = None
) -> tuple[str, ...]:
    """The steps `wanted` (default: all of `inputs`) and every step they read, each after
    the steps it reads.

    `inputs` maps each step to the steps it reads. Raises ValueError naming the step when
    it reads a step that does not exist, and naming the steps of a cycle.
    """
    order: list[str] = []
    done: set[str] = set()
    path: list[str] = []  # the steps being visited, each reading the next

    def visit(name: str) -> None:
        if name in done:
            return
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ValueError(f"SQL steps read each other in a cycle: {cycle}")
        path.append(name)
        for upstream in inputs[name]:
            if upstream not in inputs:
                raise ValueError(f"SQL step {name!r} reads {upstream!r}, which is not a step")
            visit(upstream)
        path.pop()
        done.add(name)
        order.append(name)

    for name in inputs if wanted is None else wanted:
        if name not in inputs:
            raise ValueError(f"{name!r} is not a SQL step; steps: {sorted(inputs)}")
        visit(name)
    return tuple(order)
