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
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scenarios.errors import AidflowError, ScenarioError

if TYPE_CHECKING:
    from network.checks import Check
    from scenarios.load import Positions
    from scenarios.schema import Scenario

__all__ = ["app", "default_run_dir", "main"]

app = typer.Typer(
    name="aidflow",
    help="Event-sourced simulation of military-aid delivery flows: validate, run, compare, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # every command inherits -h
    rich_markup_mode=None,  # click's help: wraps at the terminal's width, never cuts an option name
)


def table_width() -> int:
    """Columns the result tables may use: COLUMNS when set, else the terminal's; piped, 160.

    Decided when a command starts (``main``), not when this module is imported: the module
    may be imported long before, with another stdout or environment (tests, notebooks).
    """
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 160


out = Console(highlight=False, width=table_width())
err = Console(stderr=True, highlight=False, soft_wrap=True)

ScenarioPath = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


class BadInput(AidflowError):
    """A command-line argument that cannot be used."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(code)


def load_checked(path: Path) -> tuple[Scenario, Positions, list[Check]]:
    """Load a scenario, run the structural checks on it and on each strategy, and raise
    ScenarioError on any error (a strategy's at the line of the override that causes it)."""
    from scenarios.load import load_with_positions

    scenario, positions = load_with_positions(path)
    from network.checks import check, strategy_checks

    checks = check(scenario)
    errors = [c for c in checks if c.severity == "error"] + strategy_checks(scenario, checks)
    if errors:
        raise ScenarioError([positions.problem(c.loc, c.message) for c in errors])
    return scenario, positions, checks


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("aidflow")
        except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
            text = "unknown (not installed)"
        sys.stdout.write(f"aidflow {text}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Event-sourced simulation of military-aid delivery flows: validate, run, compare, explain."""


# --------------------------------------------------------------------------- validate, schema, graph


@app.command()
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
    """Print the route table, the bounds per item (rate; units by the horizon, stock counted) and the joint bound."""
    from network.build import build_graph
    from network.capacity import bounds
    from network.horizon import horizon_bounds, joint_bound
    from network.routing import WEIGHTS, route_table
    from sim.cli_tables import Reflow

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


# --------------------------------------------------------------------------- run, compare, sweep

Jobs = Annotated[int, typer.Option("-j", "--jobs", help="Local worker processes.", min=1, max=256)]
Scheduler = Annotated[
    str | None, typer.Option(help="Dask: 'local' starts a LocalCluster; tcp://host:8786 joins a scheduler.")
]
SchedulerFile = Annotated[Path | None, typer.Option(help="Dask scheduler file of an existing cluster.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (for scripts).")]
Seed = Annotated[int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)]
Reps = Annotated[
    int | None, typer.Option("-n", "--replications", help="Replications (default: the scenario's).", min=1, max=10_000)
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Run directory (default runs/<scenario>[-<command>][-<strategies>]); an existing one needs --overwrite or --resume.",
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace an existing run directory.")]
Resume = Annotated[
    bool, typer.Option(help="Continue an interrupted run in --out, skipping finished parts (same arguments).")
]
Fmt = Annotated[str, typer.Option("--format", help="Output format: table or json.")]
ReportFlag = Annotated[bool, typer.Option("--report", help="Also write RUN/report.html.")]
ItemFilter = Annotated[
    list[str] | None, typer.Option("--item", help="Only this item in the per-item table (repeat for several).")
]


def _write_report(run_dir: Path) -> None:
    from results.report import build_report

    path = build_report(run_dir)
    err.print(f"report: {path}", markup=False)


MaxEvents = Annotated[int | None, typer.Option(help="Event budget per replication; a runaway fails (exit 1).", min=1)]


def _check_strategies(s: Scenario, path: Path, wanted: list[str]) -> None:
    names = ["baseline", *(x.name for x in s.strategies)]
    for w in wanted:
        if w not in names:
            raise BadInput(f"--strategy: no strategy {w!r} in {path} (known: {', '.join(names)})")
    if len(set(wanted)) != len(wanted):
        raise BadInput("--strategy: each strategy may be named once")


def default_run_dir(scenario_name: str, command: str, strategies: list[str]) -> Path:
    """The run directory a command writes when ``--out`` is not given: the one rule for all.

    ``runs/<scenario>[-<command>][-<strategies>]``: ``run`` leaves out the command, and the
    strategy part is left out when it is the baseline alone: ``run`` of the baseline writes
    ``runs/<scenario>``, ``compare --strategy baseline --strategy more_lanes`` writes
    ``runs/<scenario>-compare-baseline-more_lanes``. A strategy part longer than 60 characters
    keeps its first name and a short hash of the whole list. Whatever the command, an existing
    non-empty directory is refused unless ``--overwrite`` or ``--resume`` is given.
    """
    import hashlib

    parts = [scenario_name] + ([] if command == "run" else [command])
    if strategies != ["baseline"]:
        joined = "-".join(strategies)
        if len(joined) > 60:
            digest = hashlib.sha256("\0".join(strategies).encode()).hexdigest()[:10]
            joined = f"{strategies[0][:40]}-{len(strategies)}-{digest}"
        parts.append(joined)
    return Path("runs") / "-".join(parts)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise BadInput(f"--format: must be table or json (got {fmt!r})")


def _experiment(scenario: Path, s: Scenario, strategies: list[str], reps: int, out_dir: Path, **kw: object) -> Any:
    from sim.cli_run import Experiment

    if kw.get("scheduler") is not None and kw.get("scheduler_file") is not None:
        raise BadInput("give either --scheduler or --scheduler-file, not both")
    sf = kw.pop("scheduler_file", None)
    return Experiment(
        scenario_path=scenario,
        scenario=s,
        strategies=strategies,
        replications=reps,
        out_dir=out_dir,
        scheduler_file=None if sf is None else str(sf),
        argv=tuple(sys.argv[1:]),
        **kw,  # type: ignore[arg-type]
    )


@app.command()
def run(
    scenario: ScenarioPath,
    strategy: Annotated[str, typer.Option(help="Strategy name (baseline = the scenario as written).")] = "baseline",
    seed: Seed = None,
    replications: Reps = None,
    out_dir: OutDir = None,
    overwrite: Overwrite = False,
    resume: Annotated[bool, typer.Option(help="Complete an interrupted run, skipping finished parts.")] = False,
    fmt: Fmt = "table",
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    max_events: MaxEvents = None,
    quiet: Quiet = False,
    report: ReportFlag = False,
    item: ItemFilter = None,
    verify: Annotated[
        bool,
        typer.Option(
            help="Rebuild the end state from the written log and compare it with the engine's; differ = fail."
        ),
    ] = False,
) -> None:
    """Simulate a scenario: event log, KPIs (mean and 95% CI) and manifest in a run directory."""
    from results.kpis import summarise
    from sim.cli_headline import answer, answer_json, check_items, print_answer
    from sim.cli_run import execute, summary_table

    _check_format(fmt)
    s, _, _ = load_checked(scenario)
    _check_strategies(s, scenario, [strategy])
    items = check_items(s, scenario, item)
    target = out_dir if out_dir is not None else default_run_dir(s.name, "run", [strategy])
    reps = replications or s.replications
    exp = _experiment(
        scenario,
        s,
        [strategy],
        reps,
        target,
        seed=seed,
        overwrite=overwrite,
        resume=resume,
        jobs=jobs,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        max_events=max_events,
        quiet=quiet,
    )
    outcome = execute(exp, err)
    for m in outcome.messages:
        err.print(m, markup=False)
    summary = summarise([outcome.kpis]) if outcome.kpis is not None else None
    met, per_item = answer(target, s, outcome.kpis, [strategy], items) if outcome.kpis is not None else ([], [])
    if fmt == "json":
        rows = summary.to_pylist() if summary is not None else []
        doc = {"run": str(target), "status": outcome.status, **answer_json(met, per_item), "kpis": rows}
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
    elif summary is not None:
        print_answer(out, met, per_item, escape(f"Per item ({strategy}), in calendar dates"), group=None)
        out.print(summary_table(summary, escape(f"{s.name} ({strategy}): {reps} replication(s) -> {target}")))
    failed = bool(outcome.failed)
    if verify:
        from results.replay import verify_run

        problems = verify_run(target)
        for p in problems:
            err.print(f"verify: {p}", markup=False)
        if problems:
            failed = True
        else:
            err.print(f"verify: the log rebuilds the engine's end state in every part of {target}", markup=False)
    if report:
        _write_report(target)
    raise typer.Exit(1 if failed else 0)


@app.command()
def compare(
    scenario: ScenarioPath,
    strategy: Annotated[list[str], typer.Option(help="Strategies to compare (repeat); the first is the baseline.")],
    replications: Reps = None,
    seed: Seed = None,
    out_dir: OutDir = None,
    overwrite: Overwrite = False,
    resume: Resume = False,
    target_halfwidth: Annotated[
        str | None, typer.Option(help="Add replications until every ranked CI half-width is within this, e.g. 5%.")
    ] = None,
    max_replications: Annotated[int, typer.Option(help="Cap for --target-halfwidth.", min=2)] = 200,
    kpi: Annotated[
        str,
        typer.Option(
            help="KPI that ranks the strategies; the default, unit-days late over every required unit "
            "(undelivered units late until the end), cannot be won by delivering less."
        ),
    ] = "lateness_unit_days",
    fmt: Fmt = "table",
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    quiet: Quiet = False,
    report: ReportFlag = False,
    item: ItemFilter = None,
) -> None:
    """Compare strategies under common random numbers: paired differences with 95% CIs and a ranking."""
    from sim.cli_compare import compare_command
    from sim.cli_headline import check_items

    _check_format(fmt)
    s, _, _ = load_checked(scenario)
    if len(strategy) < 2:
        raise BadInput("--strategy: name at least two strategies (the first is the baseline)")
    _check_strategies(s, scenario, strategy)
    items = check_items(s, scenario, item)
    target = out_dir if out_dir is not None else default_run_dir(s.name, "compare", strategy)
    reps = replications or max(s.replications, 10)
    exp = _experiment(
        scenario,
        s,
        strategy,
        reps,
        target,
        seed=seed,
        overwrite=overwrite,
        resume=resume,
        jobs=jobs,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        quiet=quiet,
    )
    code = compare_command(exp, kpi, target_halfwidth, max_replications, fmt, out, err, items=items)
    if report:
        _write_report(target)
    raise typer.Exit(code)


@app.command()
def sweep(
    scenario: ScenarioPath,
    param: Annotated[
        list[str], typer.Option(help="PATH=LO..HI[:STEPS], e.g. links.rail_pl_ua.vehicles=2..12:6 (repeat).")
    ],
    design: Annotated[str, typer.Option(help="grid or lhs (Latin hypercube).")] = "grid",
    points: Annotated[int, typer.Option(help="Points for --design lhs.", min=1, max=10_000)] = 10,
    strategy: Annotated[str, typer.Option(help="Strategy the sweep starts from.")] = "baseline",
    replications: Reps = None,
    seed: Seed = None,
    out_dir: OutDir = None,
    overwrite: Overwrite = False,
    resume: Resume = False,
    fmt: Fmt = "table",
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    quiet: Quiet = False,
    target_text: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Print the smallest point meeting KPI[SELECTOR] OP VALUE, e.g. 'last_delivery_date[router] <= 2025-08-31'.",
        ),
    ] = None,
    item: ItemFilter = None,
) -> None:
    """Sweep parameters: each KPI's response over a grid or Latin hypercube, written as a table."""
    from results.sweep import parse_target
    from sim.cli_compare import parse_params, sweep_command, sweep_points
    from sim.cli_headline import check_items

    _check_format(fmt)
    if design not in ("grid", "lhs"):
        raise BadInput(f"--design: must be grid or lhs (got {design!r})")
    s, _, _ = load_checked(scenario)
    _check_strategies(s, scenario, [strategy])
    specs = parse_params(param)
    items = check_items(s, scenario, item)
    goal = parse_target(target_text, s.start, s) if target_text is not None else None
    pts = sweep_points(s.with_strategy(strategy), specs, design, points, s.seed if seed is None else seed)
    target = out_dir if out_dir is not None else default_run_dir(s.name, "sweep", [strategy])
    reps = replications or s.replications
    exp = _experiment(
        scenario,
        s,
        [strategy],
        reps,
        target,
        seed=seed,
        overwrite=overwrite,
        resume=resume,
        jobs=jobs,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        quiet=quiet,
        points=pts,
    )
    raise typer.Exit(sweep_command(exp, specs, fmt, out, err, goal, items=items))


# --------------------------------------------------------------------------- more commands


def _register_commands() -> None:
    from sim import cli_audit, cli_bottlenecks, cli_report

    cli_report.register(app)
    cli_bottlenecks.register(app)
    cli_audit.register(app)


_register_commands()

# --------------------------------------------------------------------------- entry point


def _click_exceptions() -> tuple[type[BaseException], ...]:
    """Click's usage-error base class, wherever typer takes click from (it may bundle its own)."""
    found: list[type[BaseException]] = [c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    try:
        import click

        found.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer without a separate click
        pass
    return tuple(found)


def main() -> None:
    """Console-script entry: run the app and exit with the contract's code, without tracebacks.

    Exit codes: 0 ok, 1 the run failed (a deadlock, a model failure, an exhausted event budget,
    an error inside a replication), 2 bad input or usage, 130 interrupted (Ctrl-C). ``app``
    runs with ``standalone_mode=False``, so click returns the code of a ``typer.Exit`` instead
    of exiting: it is passed on here.
    """
    from sim.startup import is_command_process, keep_pandas_out, only_invoked_command, skip_pydantic_plugin_scan
    from sim.stops import RunFailed, RunInterrupted

    if is_command_process():
        keep_pandas_out()  # pyarrow would import it (~0.8 s) and aidflow never uses it: sim/startup.py
        skip_pydantic_plugin_scan()  # no pydantic plugin is used: no scan of every installed package
    out.width = table_width()
    try:
        code = only_invoked_command(app, sys.argv[1:])(standalone_mode=False)  # typer builds one command, not 12
    except ScenarioError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''}; nothing was run.", markup=False)
        sys.exit(2)
    except RunInterrupted as exc:
        err.print(str(exc), markup=False)  # one line, naming the --resume command
        sys.exit(exc.exit_code)
    except RunFailed as exc:
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(f"run failed: {exc} (set AIDFLOW_DEBUG=1 for the traceback)", markup=False)
        sys.exit(exc.exit_code)
    except AidflowError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # click turns Ctrl-C outside a run into Abort
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        if isinstance(exc, _click_exceptions()):
            exc.show(file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(max(2, int(exc.exit_code)))  # type: ignore[attr-defined]  # usage or input: 2
        if os.environ.get("AIDFLOW_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (set AIDFLOW_DEBUG=1 for the traceback)", markup=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
