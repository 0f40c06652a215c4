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

import datetime as dt
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from scenarios.errors import AidflowError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from results.bottlenecks import Analysis, BoundRow, RankRow, ResponseRow, Rule, Span
    from scenarios.schema import Scenario

__all__ = ["BottleneckError", "BottleneckReport", "bottlenecks", "register"]


class BottleneckError(AidflowError):
    """A bad argument of the ``bottlenecks`` command."""


@dataclass
class BottleneckReport:
    """Everything the command prints (``--format json`` writes it as one object)."""

    scenario: str
    start: dt.date
    run: str
    strategy: str
    replications: int
    rule: str
    add: str
    ranking: list[RankRow]
    timeline: list[Span]
    bounds: list[BoundRow]
    response: list[ResponseRow]
    chain: list[ResponseRow]
    base_top: str | None
    messages: list[str]
    diverted: dict[str, float] = field(default_factory=dict)
    """Lots diverted per replication (routing on_departure) per node:/link: (``diverted_means``)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""

        def span(s: Span) -> dict[str, Any]:
            return {
                "start_day": s.start,
                "end_day": s.end,
                "start": _date(self.start, s.start),
                "end": _date(self.start, s.end),
                "resource": s.resource,
                "share": s.share,
                "sole_share": s.sole,
                "also_saturated": list(s.also),
            }

        return {
            "scenario": self.scenario,
            "run": self.run,
            "strategy": self.strategy,
            "replications": self.replications,
            "rule": self.rule,
            "add": self.add,
            "top": self.base_top,
            "ranking": [r.as_dict() for r in self.ranking],
            "timeline": [span(s) for s in self.timeline],
            "bounds": [b.as_dict() for b in self.bounds],
            "response": [r.as_dict() for r in self.response],
            "chain": [r.as_dict() for r in self.chain],
            "messages": self.messages,
            **({"diverted": self.diverted} if self.diverted else {}),  # a static run's JSON is as before
        }


def _date(start: dt.date, day: float) -> str:
    return (start + dt.timedelta(days=math.floor(day + 1e-9))).isoformat()


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
    from rich.console import Console

    from results.bottlenecks.active_period import RULES

    if fmt not in ("table", "json"):
        raise BottleneckError(f"--format: must be table or json (got {fmt!r})")
    if rule not in RULES:
        raise BottleneckError(f"--rule: must be one of {', '.join(RULES)} (got {rule!r})")
    err = Console(stderr=True, highlight=False, soft_wrap=True)
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
            from sim.cli_run import interrupted

            raise interrupted(started[-1]) from None
    for m in report.messages:
        err.print(m, markup=False)
    if fmt == "json":
        sys.stdout.write(json.dumps(report.as_dict(), default=str) + "\n")
    else:
        _print(report)
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
    from sim.cli import default_run_dir, load_checked
    from sim.cli_run import Experiment, execute

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


def _pct(x: float | None) -> str:
    return "" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def _ci(mean: float, lo: float, hi: float, digits: int = 0, base: float | None = None) -> str:
    if math.isnan(mean):
        return ""
    text = f"{mean:+,.{digits}f}"
    if base is not None and base and math.isfinite(base):
        text += f" ({100 * mean / base:+.1f}%)"
    if not math.isnan(lo):
        text += f" [{lo:+,.{digits}f}, {hi:+,.{digits}f}]"
        if lo <= 0 <= hi:
            text += " n.s."
    return text


def _effect(r: ResponseRow) -> list[str]:
    """Δ units, Δ lead time and the new top, as table cells."""
    return [
        _ci(r.d_units, r.d_units_low, r.d_units_high, 0, r.base_units),
        _ci(r.d_lead_days, r.d_lead_low, r.d_lead_high, 2),
        f"{r.new_top} ({_pct(r.new_top_share)})" if r.new_top else "(none active)",
    ]


def _cap(row: RankRow) -> str:
    return f"{row.capacity:,.6g} {row.unit}"


def _tables(report: BottleneckReport) -> list[Table]:
    from rich.table import Table

    cut_items: dict[str, list[str]] = {}
    for b in report.bounds:
        for name in b.min_cut:
            cut_items.setdefault(name, []).append(b.item)
    rank_t = Table(
        "#",
        "resource",
        "capacity",
        "util",
        "queue",
        "wait d",
        "lead-time share",
        "active",
        "sole",
        "shifting",
        "top in",
        "min-cut of",
        title=f"Bottleneck ranking of {report.scenario} ({report.strategy}, {report.replications} replication(s), "
        f"rule {report.rule}): by sole + shifting share, then utilisation",
    )
    for r in report.ranking:
        rank_t.add_row(
            str(r.rank),
            r.resource,
            _cap(r),
            _pct(r.utilisation),
            _num(r.queue_mean),
            _num(r.wait_mean_days),
            _pct(r.lead_time_share),
            _pct(r.active_share),
            _pct(r.sole_share),
            _pct(r.shifting_share),
            f"{r.top_in}/{r.n}",
            ", ".join(cut_items.get(r.resource, [])),
        )
    time_t = Table(
        "from",
        "to",
        "days",
        "dominant bottleneck",
        "bottleneck share",
        "sole",
        "also saturated (>= 75% of it)",
        title="When it binds (momentary bottleneck, dominant per period; other resources active most of it)",
    )
    for sp in report.timeline:
        time_t.add_row(
            _date(report.start, sp.start),
            _date(report.start, sp.end),
            f"{sp.end - sp.start:,.0f}",
            sp.resource or "(none active)",
            _pct(sp.share) if sp.resource else "",
            _pct(sp.sole) if sp.resource else "",
            ", ".join(sp.also),
        )
    bound_t = Table(
        "item",
        "units delivered [95% CI]",
        "horizon bound (stock counted)",
        "of bound",
        "rate units/day",
        "rate bound/day",
        "min-cut (structural bottleneck)",
        title="Units delivered against the max-flow bound over the horizon (stock counted, network.horizon)",
    )
    for b in report.bounds:
        ci = "" if math.isnan(b.units_ci_low) else f" [{b.units_ci_low:,.0f}, {b.units_ci_high:,.0f}]"
        cut = ", ".join(f"{r} ({b.by_resource.get(r, 0):,.1f}/d)" for r in b.min_cut) or "(unbounded)"
        bound = "inf" if math.isinf(b.bound) else f"{b.bound:,.1f}"
        h_bound = "inf" if math.isinf(b.horizon_units) else _num(b.horizon_units, 0)
        flag = " EXCEEDS" if b.exceeds else ""
        bound_t.add_row(
            b.item, f"{_num(b.units, 0)}{ci}", h_bound, _pct(b.units_ratio) + flag, _num(b.units_per_day, 1), bound, cut
        )
    out = [rank_t, time_t, bound_t]
    if report.diverted:  # routing on_departure: where lots left their route, and for which link
        div_t = Table("where", "lots diverted per replication", title="Diversions (a diversion moves the load)")
        for key, n in report.diverted.items():
            div_t.add_row(key if key.startswith("node:") else f"onto {key}", f"{n:,.1f}")
        out.append(div_t)
    if report.response:
        resp_t = Table(
            "candidate",
            "added",
            "Δ units delivered [95% CI]",
            "Δ mean lead time days [95% CI]",
            "new top bottleneck",
            title=f"Response to added capacity ({report.add}; paired over {report.replications} replications, "
            "common random numbers)",
        )
        for rr in report.response:
            resp_t.add_row(rr.candidate, rr.change, *_effect(rr))
        out.append(resp_t)
    if report.chain:
        chain_t = Table(
            "step",
            "relieved so far",
            "Δ units delivered [95% CI]",
            "Δ mean lead time days [95% CI]",
            "top bottleneck next",
            title="The chain: relieve the top bottleneck, then the next (reliefs add up)",
        )
        chain_t.add_row("0", "(base)", "", "", report.base_top or "(none active)")
        for k, step in enumerate(report.chain, 1):
            chain_t.add_row(str(k), step.change, *_effect(step))
        out.append(chain_t)
    return out


def _print(report: BottleneckReport) -> None:
    from rich.console import Console

    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for t in _tables(report):
        out.print(t)
    if report.ranking:
        r = report.ranking[0]
        out.print(
            f"top bottleneck: {report.base_top or '(none active)'}"
            + (
                f" — sole {_pct(r.sole_share)}, shifting {_pct(r.shifting_share)} of the time, utilisation "
                f"{_pct(r.utilisation)}"
                if report.base_top
                else ""
            ),
            markup=False,
        )
    if report.chain:
        steps = [report.base_top or "?", *(r.new_top or "(none)" for r in report.chain)]
        out.print("chain: " + " -> ".join(steps), markup=False)
    out.print(f"run directory: {report.run}", markup=False)


# --------------------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add the ``bottlenecks`` command to ``app``."""
    app.command("bottlenecks")(bottlenecks)
