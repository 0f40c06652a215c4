"""The scenario commands: ``validate`` (check and summarise a file), ``schema`` (the language's JSON Schema) and ``graph`` (routes and max-flow bounds)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    pass
from sim.cli.common import BadInput, ScenarioPath, load_checked, out

__all__ = ["graph", "register", "schema", "validate"]


def validate(scenario: ScenarioPath) -> None:
    """Check a scenario file and print its summary (exit 2 with every problem if invalid)."""
    s, positions, checks = load_checked(scenario)
    kinds = Counter(n.kind for n in s.nodes)
    out.print(f"[bold]{escape(s.name)}[/bold]  {escape(str(scenario))}  ok")  # user text is not markup
    if s.question:
        out.print(f"question: {s.question}", markup=False)
    out.print(f"start {s.start.isoformat()}, horizon {s.horizon_days:g} days, seed {s.seed}")
    out.print(
        "nodes: "
        + ", ".join(
            f"{k} {kinds[k]}" for k in ("donor", "agency", "supplier", "hub", "border", "depot", "unit") if kinds[k]
        )
    )
    out.print(
        f"links: {len(s.links)} ({sum(lk.enabled for lk in s.links)} enabled), requirements: {len(s.requirements)}, disruptions: {len(s.disruptions)}, strategies: {', '.join(x.name for x in s.strategies) or 'none'}"
    )
    totals: dict[str, int] = {}
    for r in s.requirements:
        totals[r.item] = totals.get(r.item, 0) + r.qty
    table = Table("item", "required qty", "lots", "value EUR", title="Total quantity per item")
    for it in s.items:
        q = totals.get(it.id, 0)
        table.add_row(it.id, f"{q:,}", f"{-(-q // it.lot_size):,}", f"{q * it.unit_value_eur:,.0f}")
    out.print(table)
    warnings = [c for c in checks if c.severity == "warning"]
    if warnings:
        out.print(f"{len(warnings)} warning(s):")
        for c in warnings:
            out.print(f"  {positions.problem(c.loc, c.message)}", markup=False)
    else:
        out.print("problems: none")


def schema() -> None:
    """Print the JSON Schema of the scenario language."""
    from scenarios.schema import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


def graph(
    scenario: ScenarioPath,
    weight: Annotated[str | None, typer.Option(help="Route weight: transit_days, distance_km or hops.")] = None,
) -> None:
    """Print the route table, the bounds per item (rate; units by the horizon, stock counted) and the joint bound."""
    from network.build import build_graph
    from network.capacity import bounds
    from network.horizon import horizon_bounds, joint_bound
    from network.routing import WEIGHTS, route_table
    from sim.cli.tables import Reflow

    if weight is not None and weight not in WEIGHTS:
        raise BadInput(f"--weight: must be one of {', '.join(WEIGHTS)} (got {weight!r})")
    s, _, _ = load_checked(scenario)
    g = build_graph(s)
    routes = Table("item", "supplier", "unit", "route (links)", "transit days", "km", title=f"Routes of {s.name}")
    for row in route_table(g, s, weight):
        km = "" if row.distance_km is None else f"{row.distance_km:,.0f}"
        routes.add_row(row.item, row.supplier, row.unit, " > ".join(row.links), f"{row.expected_transit_days:.2f}", km)
    out.print(Reflow(routes))  # folds long ids and routes instead of cutting them
    caps = Table(
        "item",
        "rate bound units/day",
        "min-cut (binding resources)",
        f"units by day {s.horizon_days:g} (stock counted)",
        "min-cut over the horizon",
        title="Max-flow bounds per item (each item alone)",
    )
    for b, h in zip(bounds(s, g), horizon_bounds(s, g), strict=True):
        caps.add_row(
            b.item,
            f"{b.units_per_day:,.1f}",
            ", ".join(f"{r} ({b.by_resource.get(r, 0):,.1f}/d)" for r in b.min_cut),
            f"{h.units:,.0f}",
            ", ".join(h.min_cut),
        )
    out.print(Reflow(caps))
    j = joint_bound(s, g)
    shared = f"; binding: {', '.join(j.binding)}" if j.binding else ""
    out.print(
        f"Joint bound, all items sharing link volume and node capacity (LP): {j.units:,.0f} units, "
        f"{j.volume_m3:,.1f} m3 by day {s.horizon_days:g}{shared}"
    )


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``schema`` and ``graph`` to ``app``."""
    app.command()(validate)
    app.command()(schema)
    app.command()(graph)
