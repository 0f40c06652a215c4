"""Audit commands of the ``aidflow`` CLI: ``state``, ``trace``, ``export`` and ``sql``.

Each reads a finished run directory (or a folder of them) and never runs the engine: the state
at a date, the history of a lot or requirement and the exports are projections of the written
event log (``results.replay``, ``results.export``, ``results.sql``). The commands are plain
functions; ``register(app)`` adds them to the typer app of ``sim.cli``. Heavy libraries
(pyarrow, duckdb) are imported inside the commands, so ``aidflow --help`` stays fast.

Usage::

    aidflow state RUN --at 2025-08-01 [--rep R] [--strategy S] [--format table|json]
    aidflow trace RUN --lot 17 | --requirement R3 [--rep R] [--strategy S] [--format table|json]
    aidflow export RUN --format ocel|ocel-json|ocel-sqlite|csv [--out FILE] [--strategy S] [--rep R]
    aidflow sql PATH "select kind, count(*) from events group by kind" [--csv] [--max-rows N]

Bad input (no run directory, an unknown lot, a bad date, a failing query) raises an
``AidflowError`` that ``sim.cli.main`` turns into exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scenarios.errors import AidflowError
from sim.cli.common import check_format, err

if TYPE_CHECKING:
    from results.replay import State
    from scenarios.schema import Scenario

__all__ = ["AuditError", "export", "parse_at", "register", "sql", "state", "trace"]


class AuditError(AidflowError):
    """A bad argument of an audit command (no such part, a bad date, ...)."""


def _out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


RunArg = Annotated[Path, typer.Argument(help="Run directory (holds manifest.json).", show_default=False)]
RepOpt = Annotated[int, typer.Option("--rep", help="Replication number.", min=0)]
StrategyOpt = Annotated[
    str | None, typer.Option("--strategy", help="Strategy (default: baseline, or the run's only strategy).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="Output: table or json.")]


# --------------------------------------------------------------------------- helpers


def _part(run_dir: Path, strategy: str | None, rep: int) -> tuple[str, dict[str, Any]]:
    """The manifest entry of the chosen part (AidflowError if the run directory or part is missing)."""
    from results.store.run_store import read_manifest

    if not run_dir.exists():
        raise AuditError(f"{run_dir}: no such run directory")
    manifest = read_manifest(run_dir)
    parts = [p for p in manifest.get("parts", []) if isinstance(p, dict)]
    strategies = sorted({str(p.get("strategy")) for p in parts})
    if not parts:
        raise AuditError(f"{run_dir}: the run has no finished part yet")
    if strategy is None:
        strategy = "baseline" if "baseline" in strategies or len(strategies) != 1 else strategies[0]
    for p in parts:
        if p.get("strategy") == strategy and int(p.get("replication", -1)) == rep:
            return strategy, p
    known = ", ".join(f"{p.get('strategy')} rep {p.get('replication')}" for p in parts)
    raise AuditError(f"{run_dir}: no part for strategy {strategy!r} rep {rep} (parts: {known})")


def _day_text(day: float, start: dt.date | None) -> str:
    if start is None or not math.isfinite(day):
        return f"day {day:.2f}"
    when = dt.datetime.combine(start, dt.time()) + dt.timedelta(days=day)
    return when.strftime("%Y-%m-%d %H:%M")


def _date_only(day: float | None, start: dt.date | None) -> str:
    if day is None or not math.isfinite(day):
        return ""
    if start is None:
        return f"{day:.2f}"
    return (start + dt.timedelta(days=math.floor(day))).isoformat()


def parse_at(text: str, start: dt.date | None, end_day: float) -> float:
    """``--at``: ``end``, a day number (``45.5``), a date (``2025-08-01`` = its 00:00) or a date-time.

    Raises:
        AuditError: not one of these, not finite, or before the scenario start.

    Example:
        >>> parse_at("2025-05-11", dt.date(2025, 5, 1), 180.0)
        10.0
        >>> parse_at("end", None, 180.0)
        180.0
    """
    raw = text.strip()
    if raw.lower() == "end":
        return end_day
    try:
        day = float(raw)
    except ValueError:
        day = math.nan
        if start is None:
            raise AuditError(f"--at {text!r}: no scenario start date in this run; give a day number") from None
        base = dt.datetime.combine(start, dt.time())
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                value = parse(raw)
            except ValueError:
                continue
            if isinstance(value, dt.datetime):
                day = (value.replace(tzinfo=None) - base).total_seconds() / 86_400
            else:
                day = float((value - start).days)
            break
        else:
            raise AuditError(f"--at {text!r}: not a date (YYYY-MM-DD), a date-time, a day number or 'end'") from None
    if not math.isfinite(day):
        raise AuditError(f"--at {text!r}: not a finite day")
    if day < 0:
        raise AuditError(f"--at {text!r}: before the scenario start ({start.isoformat() if start else 'day 0'})")
    return day


def _load(run_dir: Path, strategy: str) -> Scenario | None:
    from results.replay import load_run_scenario

    return load_run_scenario(run_dir, strategy)


def _write_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, allow_nan=False) + "\n")


def _clean(obj: Any) -> Any:
    """NaN and infinities -> None, for JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- state


def state(
    run: RunArg,
    at: Annotated[
        str, typer.Option("--at", help="Date (YYYY-MM-DD, its 00:00), date-time, day number, or 'end'.")
    ] = "end",
    rep: RepOpt = 0,
    strategy: StrategyOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Print the state of a run at a date, rebuilt from its event log: queues, vehicles, stock, budgets."""
    from results.replay import Replay
    from results.store.reading import read_events

    check_format(fmt)
    strategy, part = _part(run, strategy, rep)
    scenario = _load(run, strategy)
    start = scenario.start if scenario is not None else None
    replay = Replay(read_events(run, strategy, rep), scenario)
    end_day = float(part.get("end_day") or replay.last_t)
    day = parse_at(at, start, end_day)
    st = replay.at(day)
    if fmt == "json":
        _write_json(
            _clean(
                {
                    "run": str(run),
                    "strategy": strategy,
                    "replication": rep,
                    "at": _day_text(day, start),
                    **st.to_dict(),
                    "end_state": st.end_state(scenario) if scenario is not None else None,
                }
            )
        )
        return
    _print_state(st, scenario, run, strategy, rep, replay.rows, end_day)


def _print_state(
    st: State, scenario: Scenario | None, run: Path, strategy: str, rep: int, rows: int, end_day: float
) -> None:
    out = _out()
    start = scenario.start if scenario is not None else None
    name = scenario.name if scenario is not None else run.name
    out.print(
        f"[bold]{escape(name)}[/bold]  {escape(strategy)} rep {rep}  state at {_day_text(st.t, start)} (day {st.t:.3f})"
        f"  {st.rows}/{rows} rows applied",
    )
    if st.t > end_day + 1e-9:
        out.print(f"(the run ended on day {end_day:.2f}: this is its end state)")
    nodes = Table(
        "node",
        "kind",
        "queued",
        "in service",
        "waiting for vehicle",
        "WIP lots",
        "backlog units",
        "tenders",
        "capacity",
        title="Nodes",
    )
    for ns in st.nodes.values():
        if ns.kind in ("donor", "unit"):
            continue
        waiting = ", ".join(f"{len(v)} {lk}" for lk, v in ns.waiting.items()) or "0"
        factor = st.disruptions.get(ns.id)
        nodes.add_row(
            ns.id,
            ns.kind or "",
            str(len(ns.queue)),
            str(len(ns.in_service)),
            waiting,
            str(ns.wip),
            f"{ns.backlog_units:,}" if ns.backlog_units else "",
            ", ".join(ns.tenders),
            "" if factor is None else f"{factor:.0%} (disrupted)",
        )
    out.print(nodes)
    moving = [v for v in st.vehicles.values() if v.status != "idle"]
    idle = len(st.vehicles) - len(moving)
    vt = Table("vehicle", "status", "where", "lots", "qty", "since", title=f"Vehicles ({idle} idle)")
    for v in moving:
        where = (
            v.node
            if v.status == "loading"
            else f"{v.origin} -> {v.dest}"
            if v.status == "in_transit"
            else (f"back to {v.origin}")
        )
        lots = ", ".join(str(x) for x in v.lots[:8]) + (" ..." if len(v.lots) > 8 else "")
        vt.add_row(f"{v.link}#{v.vehicle}", v.status, where or "", lots, str(v.qty or ""), _day_text(v.since, start))
    out.print(vt)
    if st.disruptions:
        links = {k: f for k, f in st.disruptions.items() if k not in st.nodes}
        if links:
            out.print("links disrupted: " + ", ".join(f"{k} at {f:.0%}" for k, f in links.items()))
    if st.diverted:  # routing on_departure: lots that left their planned route so far
        where = ", ".join(f"{n} {k:,}" for n, k in st.diverted.items())
        onto = ", ".join(f"{lk} {k:,}" for lk, k in st.diverted_to.items())
        out.print(f"lots diverted so far: {sum(st.diverted.values()):,} (at {where}; onto {onto})", markup=False)
    stock = Table("unit", "item", "units", title="Stock")
    for key, q in st.stock.items():
        unit, _, item = key.partition("/")
        stock.add_row(unit, item, f"{q:,}")
    out.print(stock)
    reqs = Table(
        "requirement",
        "item",
        "unit",
        "qty",
        "status",
        "ordered",
        "produced",
        "delivered",
        "lost",
        "need-by",
        "late by days",
        title=f"Open requirements ({len(st.open_requirements)} of {len(st.requirements)} opened)",
    )
    for r in st.open_requirements.values():
        late = r.late_days(st.t)  # past the end of the need-by date
        reqs.add_row(
            r.id,
            r.item or "",
            r.unit or "",
            f"{r.qty:,}",
            r.status,
            f"{r.ordered:,}",
            f"{r.produced:,}",
            f"{r.delivered:,}",
            f"{r.lost:,}",
            _date_only(r.need_by_day, start),
            f"{late:.1f}" if late > 0 else "",
        )
    out.print(reqs)
    contracts = Table(
        "contract",
        "item",
        "qty",
        "produced",
        "delivered",
        "lost",
        "value EUR",
        "awarded",
        title=f"Open contracts ({len(st.open_contracts)} of {len(st.contracts)})",
    )
    for c in st.open_contracts.values():
        contracts.add_row(
            c.id,
            c.item or "",
            f"{c.qty:,}",
            f"{c.produced:,}",
            f"{c.delivered:,}",
            f"{c.lost:,}",
            f"{c.value_eur:,.0f}",
            _date_only(c.awarded_day, start),
        )
    out.print(contracts)
    budget = Table("donor", "EUR left", title="Budget")
    for d, b in st.budget_eur.items():
        budget.add_row(d, f"{b:,.2f}")
    out.print(budget)


# --------------------------------------------------------------------------- trace


def trace(
    run: RunArg,
    lot: Annotated[int | None, typer.Option("--lot", help="Lot id.", min=0)] = None,
    requirement: Annotated[str | None, typer.Option("--requirement", help="Requirement id (e.g. R3).")] = None,
    rep: RepOpt = 0,
    strategy: StrategyOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Print a lot's or requirement's timeline: each wait and the resource waited for, and what made it late."""
    from results.replay import end_of_run, lineage
    from results.store.reading import read_events
    from sim.cli.trace import print_lineage

    check_format(fmt)
    if (lot is None) == (requirement is None):
        raise AuditError("give exactly one of --lot N or --requirement ID")
    strategy, part = _part(run, strategy, rep)
    scenario = _load(run, strategy)
    table = read_events(run, strategy, rep)
    end_day = end_of_run(part.get("status"), part.get("end_day"), part.get("horizon_days"))
    lg = lineage(table, lot=lot, requirement=requirement, scenario=scenario, end=end_day, routes=part.get("routes"))
    if fmt == "json":
        _write_json(_clean({"run": str(run), "strategy": strategy, "replication": rep, **lg.to_dict()}))
        return
    print_lineage(lg, scenario, _out())


# --------------------------------------------------------------------------- export


def export(
    run: RunArg,
    fmt: Annotated[
        str, typer.Option("--format", help="ocel (JSON; SQLite if --out ends in .sqlite), ocel-json, ocel-sqlite, csv.")
    ] = "ocel",
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Output file, or folder for one OCEL file per part (default RUN/export/)."),
    ] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="Only this strategy.")] = None,
    rep: Annotated[int | None, typer.Option("--rep", help="Only this replication.", min=0)] = None,
) -> None:
    """Export the event log as OCEL 2.0 (object-centric, for process mining) or flat CSV."""
    from results.export.run_dir import export_run

    if not run.exists():
        raise AuditError(f"{run}: no such run directory")
    done = export_run(run, fmt, out_path, strategy, rep)
    out = _out()
    for e in done:
        what = f"{e.events:,} rows" if e.format == "csv" else f"{e.events:,} events, {e.objects:,} objects"
        part = (
            ""
            if e.strategy is None and e.replication is None
            else f" ({e.strategy or '*'} rep {'*' if e.replication is None else e.replication})"
        )
        out.print(f"{e.format}: {e.path}{part}: {what}", markup=False)


# --------------------------------------------------------------------------- sql


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return str(v)


def sql(
    path: Annotated[Path, typer.Argument(help="A run directory, or a folder of run directories.", show_default=False)],
    query: Annotated[str, typer.Argument(help="SQL over the views events, kpis, runs, parts.", show_default=False)],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows shown in a table (CSV prints all).", min=1)] = 1000,
) -> None:
    """Query runs with DuckDB SQL: views events, kpis, runs and parts over every run under PATH.

    Read-only: one SELECT-like statement, no file, network or extension access (exit 2 if refused).
    """
    from results.sql import open_query

    with open_query(path, query) as result:
        if csv:
            import csv as csvlib

            w = csvlib.writer(sys.stdout, lineterminator="\n")
            w.writerow(result.columns)
            for batch in result.batches():
                w.writerows(["" if v is None else v for v in row] for row in batch)
            return
        shown: list[tuple[Any, ...]] = []
        n = 0
        for batch in result.batches():
            shown.extend(batch[: max(0, max_rows - len(shown))])
            n += len(batch)
        columns = result.columns
    out = _out()
    table = Table()
    for c in columns:
        table.add_column(Text(c))  # Text: user text is never read as rich markup
    for row in shown:
        table.add_row(*(Text(_cell(v)) for v in row))
    out.print(table)
    more = f" ({n - max_rows:,} more not shown: use --csv or --max-rows)" if n > max_rows else ""
    err.print(f"{n:,} row{'s' if n != 1 else ''}{more}", markup=False)


# --------------------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add ``state``, ``trace``, ``export`` and ``sql`` to ``app``."""
    app.command("state")(state)
    app.command("trace")(trace)
    app.command("export")(export)
    app.command("sql")(sql)
