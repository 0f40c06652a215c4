"""The ``aidflow`` command line (typer): the composition root, the one module importing all.

Exit codes: 0 ok, 1 the run failed, 2 bad input (a malformed scenario, a bad argument, a
missing file) — bad input never prints a traceback. Progress goes to stderr (rich), results to
stdout. Heavy libraries (pyarrow, duckdb, plotly) are imported inside the commands that use
them, so ``aidflow --help`` and ``aidflow validate`` start fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from scenarios.errors import AidflowError, ScenarioError

if TYPE_CHECKING:
    from network.checks import Check
    from scenarios.load import Positions
    from scenarios.schema import Scenario

__all__ = ["app", "main"]

app = typer.Typer(
    name="aidflow",
    help="Event-sourced simulation of military-aid delivery flows: validate, run, compare, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(highlight=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ScenarioPath = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


class BadInput(AidflowError):
    """A command-line argument that cannot be used."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(code)


def load_checked(path: Path) -> tuple[Scenario, Positions, list[Check]]:
    """Load a scenario, run the structural checks, and raise ScenarioError on any error."""
    from network.checks import check
    from scenarios.load import load_with_positions

    scenario, positions = load_with_positions(path)
    checks = check(scenario)
    errors = [c for c in checks if c.severity == "error"]
    if errors:
        raise ScenarioError([positions.problem(c.loc, c.message) for c in errors])
    return scenario, positions, checks


# --------------------------------------------------------------------------- validate, schema, graph


@app.command()
def validate(scenario: ScenarioPath) -> None:
    """Check a scenario file and print its summary (exit 2 with every problem if invalid)."""
    s, positions, checks = load_checked(scenario)
    kinds = Counter(n.kind for n in s.nodes)
    out.print(f"[bold]{s.name}[/bold]  {scenario}  ok")
    if s.question:
        out.print(f"question: {s.question}")
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


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario language."""
    from scenarios.schema import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


@app.command()
def graph(
    scenario: ScenarioPath,
    weight: Annotated[str | None, typer.Option(help="Route weight: transit_days, distance_km or hops.")] = None,
) -> None:
    """Print the route table and the max-flow bound with its min-cut per item."""
    from network.build import build_graph
    from network.capacity import bounds
    from network.routing import WEIGHTS, route_table

    if weight is not None and weight not in WEIGHTS:
        raise BadInput(f"--weight: must be one of {', '.join(WEIGHTS)} (got {weight!r})")
    s, _, _ = load_checked(scenario)
    g = build_graph(s)
    routes = Table("item", "supplier", "unit", "route (links)", "transit days", "km", title=f"Routes of {s.name}")
    for row in route_table(g, s, weight):
        km = "" if row.distance_km is None else f"{row.distance_km:,.0f}"
        routes.add_row(row.item, row.supplier, row.unit, " > ".join(row.links), f"{row.expected_transit_days:.2f}", km)
    out.print(routes)
    caps = Table("item", "bound units/day", "min-cut (binding resources)", title="Max-flow bound per item")
    for b in bounds(s, g):
        caps.add_row(
            b.item, f"{b.units_per_day:,.1f}", ", ".join(f"{r} ({b.by_resource.get(r, 0):,.1f}/d)" for r in b.min_cut)
        )
    out.print(caps)


# --------------------------------------------------------------------------- run


@app.command()
def run(
    scenario: ScenarioPath,
    strategy: Annotated[str, typer.Option(help="Strategy name (baseline = the scenario as written).")] = "baseline",
    seed: Annotated[int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)] = None,
    replications: Annotated[
        int | None,
        typer.Option("-n", "--replications", help="Replications (default: the scenario's).", min=1, max=10_000),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run directory (default runs/<scenario name>).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="Summary format: table or json.")] = "table",
    max_events: Annotated[
        int | None, typer.Option(help="Event budget per replication; a runaway fails (exit 1).", min=1)
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Simulate a scenario, write the event log, KPIs and manifest, and print a KPI summary."""
    from sim.cli_run import execute

    if fmt not in ("table", "json"):
        raise BadInput(f"--format: must be table or json (got {fmt!r})")
    s, _, _ = load_checked(scenario)
    names = ["baseline", *(x.name for x in s.strategies)]
    if strategy not in names:
        raise BadInput(f"--strategy: no strategy {strategy!r} in {scenario} (known: {', '.join(names)})")
    target = out_dir if out_dir is not None else Path("runs") / s.name
    code = execute(
        scenario_path=scenario,
        scenario=s,
        strategies=[strategy],
        replications=replications or s.replications,
        seed=seed,
        out_dir=target,
        overwrite=overwrite,
        fmt=fmt,
        max_events=max_events,
        quiet=quiet,
        argv=sys.argv[1:],
        out=out,
        err=err,
    )
    raise typer.Exit(code)


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console-script entry: run the app, turning aidflow errors into exit codes without tracebacks."""
    try:
        app(standalone_mode=False)
    except ScenarioError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''}; nothing was run.", markup=False)
        sys.exit(2)
    except AidflowError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.ClickException):
            exc.show(file=sys.stderr)
            sys.exit(exc.exit_code)
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (set AIDFLOW_DEBUG=1 for the traceback)", markup=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
