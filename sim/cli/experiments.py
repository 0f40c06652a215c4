"""The experiment commands: ``run`` (one strategy), ``compare`` (strategies under common random numbers) and ``sweep`` (parameters over a design).

Each checks its arguments, builds an ``Experiment`` and hands it to ``sim.cli.execute``; the
tables and JSON come from ``sim.cli.headline`` and ``sim.cli.compare``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from scenarios.schema import Scenario
from sim.cli.common import (
    BadInput,
    ScenarioPath,
    check_format,
    check_strategies,
    default_run_dir,
    err,
    load_checked,
    out,
    write_report,
)

__all__ = ["compare", "register", "run", "sweep"]

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


MaxEvents = Annotated[int | None, typer.Option(help="Event budget per replication; a runaway fails (exit 1).", min=1)]


def _experiment(scenario: Path, s: Scenario, strategies: list[str], reps: int, out_dir: Path, **kw: object) -> Any:
    from sim.cli.execute import Experiment

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
    from sim.cli.execute import execute, summary_table
    from sim.cli.headline import answer, answer_json, check_items, print_answer

    check_format(fmt)
    s, _, _ = load_checked(scenario)
    check_strategies(s, scenario, [strategy])
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
        write_report(target)
    raise typer.Exit(1 if failed else 0)


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
    from sim.cli.compare import compare_command
    from sim.cli.headline import check_items

    check_format(fmt)
    s, _, _ = load_checked(scenario)
    if len(strategy) < 2:
        raise BadInput("--strategy: name at least two strategies (the first is the baseline)")
    check_strategies(s, scenario, strategy)
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
        write_report(target)
    raise typer.Exit(code)


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
    from sim.cli.compare import parse_params, sweep_command, sweep_points
    from sim.cli.headline import check_items

    check_format(fmt)
    if design not in ("grid", "lhs"):
        raise BadInput(f"--design: must be grid or lhs (got {design!r})")
    s, _, _ = load_checked(scenario)
    check_strategies(s, scenario, [strategy])
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


def register(app: typer.Typer) -> None:
    """Add ``run``, ``compare`` and ``sweep`` to ``app``."""
    app.command()(run)
    app.command()(compare)
    app.command()(sweep)
