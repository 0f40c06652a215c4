"""The ``bottlenecks`` command: what binds, when, and how the system responds to added capacity.

Usage::

    aidflow bottlenecks S.yaml [-n R] [--top K] [--add 1|25%] [--chain D] [--strategy S]
                               [--rule saturated|occupied] [--seed N] [--out DIR] [--overwrite|--resume]
                               [-j N] [--format table|json] [-q]
    aidflow bottlenecks RUN    [--strategy S] [--rule ...] [--format table|json]

With a scenario file it runs, under common random numbers (the same replication numbers, hence
the same random streams, for every variant), into one run directory (default
``runs/<scenario>-bottlenecks[-<strategy>]``, the rule of ``sim.cli.default_run_dir``; a
directory that is not empty is refused unless ``--overwrite`` is given):

1. the base (point ``pt000``: the strategy as written) -> the ranking of resources
   (``results.bottlenecks``), the sole/shifting timeline, and units delivered against the
   horizon bound per item, initial stock counted (``network.horizon``; the max-flow rate bound
   of ``network.capacity`` alongside);
2. for each of the top ``K`` candidates a variant with ``--add`` capacity (``+1`` server,
   vehicle or contracting officer, or ``+1`` lot per day of a supplier line's base rate; ``25%``
   scales either, counts rounded up) -> the paired change in units delivered and mean lead
   time with 95% CIs, and the new top bottleneck of each variant;
3. the chain: relieve the top bottleneck, then the new top of that variant, and so on, the
   reliefs adding up, ``--chain`` steps deep -> where the bottleneck moves next.

With a run directory (``aidflow run`` and friends) it analyses the parts already written (the
ranking, timeline and bound; no new runs, so no response).

Part of the CLI composition root: ``register(app)`` adds the command to ``sim.cli``'s typer app.
Heavy libraries are imported inside the command. Bad input raises an ``AidflowError``
(``sim.cli.main`` exits 2); a failed replication exits 1.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from scenarios.errors import AidflowError
from sim.cli.common import err

if TYPE_CHECKING:
    from rich.console import Console

    from results.bottlenecks import Analysis, RankRow, Rule
    from scenarios.schema import Scenario

from sim.cli.bottlenecks_report import BottleneckReport, print_report

__all__ = ["BottleneckError", "BottleneckReport", "bottlenecks", "register"]


class BottleneckError(AidflowError):
    """A bad argument of the ``bottlenecks`` command."""


ScenarioOrRun = Annotated[
    Path, typer.Argument(help="Scenario YAML file, or a run directory to analyse as it is.", show_default=False)
]


def bottlenecks(
    scenario: ScenarioOrRun,
    replications: Annotated[
        int, typer.Option("-n", "--replications", help="Replications per variant.", min=1, max=1000)
    ] = 5,
    top: Annotated[int, typer.Option("--top", help="Candidates to give added capacity.", min=0, max=50)] = 3,
    add: Annotated[
        str,
        typer.Option(
            "--add",
            help="Capacity added to a candidate: N (servers, vehicles, staff; N lots/day on a supplier line) or P%.",
        ),
    ] = "1",
    chain: Annotated[
        int, typer.Option("--chain", help="Steps of cumulative relief of the top bottleneck (0: none).", min=0, max=10)
    ] = 2,
    strategy: Annotated[
        str, typer.Option(help="Strategy to analyse (baseline = the scenario as written).")
    ] = "baseline",
    rule: Annotated[str, typer.Option(help="Activity rule: saturated or occupied.")] = "saturated",
    seed: Annotated[int | None, typer.Option(help="Root seed (default: the scenario's seed).", min=0)] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<scenario>-bottlenecks[-<strategy>]).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run in --out, skipping finished parts (same arguments).")
    ] = False,
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="Local worker processes.", min=1, max=256)] = 1,
    fmt: Annotated[str, typer.Option("--format", help="Output format: table or json.")] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (for scripts).")] = False,
) -> None:
    """Rank the bottlenecks, show when they bind, bound the throughput, and measure the response to added capacity."""

    from results.bottlenecks.active_period import RULES

    if fmt not in ("table", "json"):
        raise BottleneckError(f"--format: must be table or json (got {fmt!r})")
    if rule not in RULES:
        raise BottleneckError(f"--rule: must be one of {', '.join(RULES)} (got {rule!r})")
    if scenario.is_dir():
        report = _from_run(scenario, strategy, rule)
    else:
        started: list[Any] = []  # the experiments run so far (a Ctrl-C between two is an interrupted run too)
        try:
            report = _from_scenario(
                scenario,
                replications,
                top,
                add,
                chain,
                strategy,
                rule,
                seed,
                out_dir,
                overwrite,
                resume,
                jobs,
                quiet,
                err,
                started,
            )
        except KeyboardInterrupt:
            if not started:
                raise
            from sim.cli.execute import interrupted

            raise interrupted(started[-1]) from None
    for m in report.messages:
        err.print(m, markup=False)
    if fmt == "json":
        sys.stdout.write(json.dumps(report.as_dict(), default=str) + "\n")
    else:
        print_report(report)
    failed = any(m.startswith("failed:") for m in report.messages)
    raise typer.Exit(1 if failed else 0)


# --------------------------------------------------------------------------- from a scenario file


def _analyse(run_dir: Path, label: str, reps: int, scenario: Scenario, rule: str) -> list[Analysis]:
    from results.bottlenecks.stream import analyse_part

    return [analyse_part(run_dir, label, rep, scenario, rule=cast("Rule", rule)) for rep in range(reps)]


def _from_scenario(
    path: Path,
    reps: int,
    top: int,
    add: str,
    chain_depth: int,
    strategy: str,
    rule: str,
    seed: int | None,
    out_dir: Path | None,
    overwrite: bool,
    resume: bool,
    jobs: int,
    quiet: bool,
    err: Console,
    started: list[Any],
) -> BottleneckReport:
    from network.capacity import bounds
    from network.horizon import horizon_bounds
    from results.bottlenecks.bound import throughput_vs_bound
    from results.bottlenecks.ranking import diverted_means, rank
    from results.bottlenecks.response import Addition, BadAddition, Change, Variant, capacity_change, response
    from results.bottlenecks.timeline import dominant_timeline
    from scenarios.strategies import StrategyProblem, apply_overrides
    from sim.cli.common import default_run_dir, load_checked
    from sim.cli.execute import Experiment, execute

    try:
        addition = Addition.parse(add)
    except BadAddition as exc:
        raise BottleneckError(str(exc)) from None
    s, _, _ = load_checked(path)
    known = ["baseline", *(x.name for x in s.strategies)]
    if strategy not in known:
        raise BottleneckError(f"--strategy: no strategy {strategy!r} in {path} (known: {', '.join(known)})")
    base = s.with_strategy(strategy)
    target = out_dir if out_dir is not None else default_run_dir(s.name, "bottlenecks", [strategy])
    # an existing directory is refused by the run store itself, before the base runs (results.store)
    points: list[dict[str, Any]] = [{}]
    messages: list[str] = []

    def run_points(new: list[dict[str, Any]]) -> Any:
        first = len(points) == 1 and not new
        points.extend(new)
        exp = Experiment(
            scenario_path=path,
            scenario=s,
            strategies=[strategy],
            replications=reps,
            out_dir=target,
            seed=seed,
            overwrite=overwrite,
            resume=resume or not first,
            jobs=jobs,
            quiet=quiet,
            argv=tuple(sys.argv[1:]),
            points=list(points),
            points_grow=True,  # the variants depend on the base's ranking: a resume may not know them yet
            settings={"command": "bottlenecks", "top": top, "add": str(addition), "chain": chain_depth, "rule": rule},
        )
        started.append(exp)
        outcome = execute(exp, err)
        messages.extend(f"failed: {m}" for m in outcome.messages)
        return outcome

    def label(pt: int) -> str:
        return f"{strategy}-pt{pt:03d}"

    def resolved(overrides: dict[str, Any]) -> Scenario:
        return apply_overrides(base, overrides, ("bottlenecks",)) if overrides else base

    # 1. the base
    run_points([])
    base_analyses = _analyse(target, label(0), reps, base, rule)
    ranking = rank(base_analyses)
    base_top = ranking[0].resource if ranking and _binds(ranking[0]) else None

    # 2. one variant per candidate
    changes: list[Change] = []
    for row in ranking[:top]:
        c = capacity_change(base, row.resource, addition)
        try:
            resolved(c.overrides)
        except StrategyProblem as exc:
            messages.append(f"{row.resource}: cannot add capacity ({exc.message}); left out")
            continue
        changes.append(c)
    outcome = None
    if changes:
        outcome = run_points([c.overrides for c in changes])

    def top_of(pt: int, overrides: dict[str, Any]) -> tuple[str | None, float]:
        va = rank(_analyse(target, label(pt), reps, resolved(overrides), rule))
        return (va[0].resource, va[0].bottleneck_share) if va and _binds(va[0]) else (None, 0.0)

    variants: list[Variant] = []
    for k, c in enumerate(changes, 1):
        variants.append(Variant(label(k), c, *top_of(k, c.overrides)))
    by_candidate = {v.change.resource: v for v in variants}

    # 3. the chain: relieve the top, then the next top, reliefs adding up
    chain_variants: list[Variant] = []
    overrides: dict[str, Any] = {}
    current = base_top
    relief: list[str] = []
    for _ in range(chain_depth):
        if current is None:
            break
        c = capacity_change(resolved(overrides), current, addition)
        try:
            resolved({**overrides, **c.overrides})
        except StrategyProblem as exc:
            messages.append(f"chain: cannot add capacity to {current} ({exc.message}); the chain stops")
            break
        overrides = {**overrides, **c.overrides}
        relief.append(f"{current} {c.text}")
        step = Change(
            current, ", ".join(f"{p}={v}" for p, v in overrides.items()), c.before, c.after, " + ".join(relief)
        )
        if not chain_variants and current in by_candidate:  # step 1 is the top candidate's own variant
            v = by_candidate[current]
            chain_variants.append(Variant(v.label, step, v.new_top, v.new_top_share))
        else:
            outcome = run_points([dict(overrides)])
            pt = len(points) - 1
            chain_variants.append(Variant(label(pt), step, *top_of(pt, overrides)))
        current = chain_variants[-1].new_top

    kpis = outcome.kpis if outcome is not None else None
    resp = response(kpis, label(0), variants) if kpis is not None and variants else []
    chain_rows = response(kpis, label(0), chain_variants) if kpis is not None and chain_variants else []
    bound_rows = throughput_vs_bound(base_analyses, bounds(base), horizon_bounds(base))
    return BottleneckReport(
        scenario=s.name,
        start=s.start,
        run=str(target),
        strategy=strategy,
        replications=reps,
        rule=rule,
        add=str(addition),
        ranking=ranking,
        timeline=dominant_timeline(base_analyses),
        diverted=diverted_means(base_analyses),
        bounds=bound_rows,
        response=resp,
        chain=chain_rows,
        base_top=base_top,
        messages=messages,
    )


def _binds(row: RankRow) -> bool:
    """A resource that was ever a bottleneck or ever used."""
    return row.bottleneck_share > 0 or (not math.isnan(row.utilisation) and row.utilisation > 0)


# --------------------------------------------------------------------------- from a run directory


def _from_run(run_dir: Path, strategy: str, rule: str) -> BottleneckReport:
    from network.capacity import bounds
    from network.horizon import horizon_bounds
    from results.bottlenecks.bound import throughput_vs_bound
    from results.bottlenecks.ranking import diverted_means, rank
    from results.bottlenecks.timeline import dominant_timeline
    from results.store import StoreError, read_manifest
    from scenarios.load import load
    from scenarios.strategies import apply_overrides

    try:
        manifest = read_manifest(run_dir)
    except StoreError as exc:
        raise BottleneckError(str(exc)) from None
    strategies = [str(x) for x in manifest.get("strategies") or []]
    if not strategies:
        raise BottleneckError(f"{run_dir}: the manifest names no strategy")
    chosen = strategy if strategy in strategies else strategies[0]
    if strategy != "baseline" and strategy not in strategies:
        raise BottleneckError(f"--strategy: the run has no strategy {strategy!r} (it has {', '.join(strategies)})")
    s = load(run_dir / "scenario.resolved.yaml")  # resolved for the run's first strategy
    if chosen != strategies[0]:
        if strategies[0] != "baseline":
            raise BottleneckError(
                f"{run_dir}: only {strategies[0]!r} can be analysed (its resolved scenario is stored)"
            )
        s = s.with_strategy(chosen)
    points = manifest.get("points") or None
    label = f"{chosen}-pt000" if points else chosen
    if points:
        s = apply_overrides(s, dict(points[0]), ("points", 0))
    reps = sorted(
        int(p["replication"]) for p in manifest.get("parts", []) if isinstance(p, dict) and p.get("strategy") == label
    )
    if not reps:
        raise BottleneckError(f"{run_dir}: no finished part of {label!r}")
    from results.bottlenecks.stream import analyse_part

    analyses = [analyse_part(run_dir, label, r, s, rule=cast("Rule", rule)) for r in reps]
    ranking = rank(analyses)
    return BottleneckReport(
        scenario=s.name,
        start=s.start,
        run=str(run_dir),
        strategy=chosen,
        replications=len(reps),
        rule=rule,
        add="",
        ranking=ranking,
        timeline=dominant_timeline(analyses),
        diverted=diverted_means(analyses),
        bounds=throughput_vs_bound(analyses, bounds(s), horizon_bounds(s)),
        response=[],
        chain=[],
        base_top=ranking[0].resource if ranking and _binds(ranking[0]) else None,
        messages=["a run directory is analysed as it is: give the scenario file for the response to added capacity"],
    )


# --------------------------------------------------------------------------- printing


# --------------------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add the ``bottlenecks`` command to ``app``."""
    app.command("bottlenecks")(bottlenecks)
