"""The text of ``aidflow trace``: a lot's or requirement's verdict, timeline and waits, at 80 columns.

``print_lineage(lineage, scenario, console)`` prints, for a lot or for a requirement's critical
part (the lot that finished last, or its units not yet contracted or produced):

- the verdict: delivered / filled / filled short / short of funds / not filled by the end of
  the run, against the end of the need-by date;
- the timeline: each step's start, days, what it was (work, or a wait) and its resource;
- the lead time split into no waiting (the lot's own service and transit) and waiting, the time
  the need-by date allowed, and whether the waits made it late;
- the waits per resource, largest first, and what made it late (the largest);
- its diversions (routing ``on_departure``), when it has any: ``rerouted at h: via a -> via b,
  saves 7.25 days; a closed from day 20.00 to day 30.00`` (``results.replay.diversions``);
- for a requirement its lots, and the rows of the history.

Every column folds rather than cuts its values, so the output reads at 80 columns.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from results.replay import Lineage
    from scenarios.schema import Scenario

__all__ = ["print_lineage", "verdict"]

_WAITING_FOR = {
    "funds": "funds",
    "tender_q": "the tender",
    "backlog": "production",
    "vehicle": "a vehicle",
    "departure": "departure",
    "queue": "a server",
    "held": "(unexplained)",
}
"""What a wait of each kind waits for, in words."""


def _when(day: float, start: dt.date | None) -> str:
    if start is None or not math.isfinite(day):
        return f"day {day:.2f}"
    return (dt.datetime.combine(start, dt.time()) + dt.timedelta(days=day)).strftime("%Y-%m-%d %H:%M")


def _date(day: float | None, start: dt.date | None) -> str:
    if day is None or not math.isfinite(day):
        return ""
    return f"day {day:.2f}" if start is None else (start + dt.timedelta(days=math.floor(day))).isoformat()


def _table(*columns: str, title: str | None = None, whole: tuple[str, ...] = ()) -> Table:
    """A borderless table whose columns fold long values (names ending in ``>`` align right).

    Columns named in ``whole`` are never folded (dates, event kinds).
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in columns:
        name = c.rstrip(">")
        table.add_column(name, overflow="fold", justify="right" if c.endswith(">") else "left", no_wrap=name in whole)
    return table


def verdict(lg: Lineage, start: dt.date | None) -> str:
    """Its outcome against the end of the need-by date, in words.

    Example: ``filled 2025-01-22 00:00 (day 21.00); need-by 2025-01-16: 5.00 days late``.
    """
    need = f"need-by {_date(lg.need_by_day, start)}" if lg.need_by_day is not None else "no need-by date"
    if lg.done_day is None:
        end = lg.end_day if lg.end_day is not None else math.nan
        what = "delivered" if lg.lot is not None else "filled"
        head = f"not {what} by the end of the run ({_when(end, start)})"
        if lg.outcome == "short of funds":
            head += f": short of funds, {lg.units_ordered:,} of {lg.qty:,} units contracted"
        if lg.excess_days is None:
            return f"{head}; {need}: not late yet" if lg.need_by_day is not None else f"{head}; {need}"
        return f"{head}; {need}: {lg.excess_days:.2f} days late so far"
    head = f"{lg.outcome} {_when(lg.done_day, start)} (day {lg.done_day:.2f})"
    if lg.outcome == "filled short":
        head += f", {lg.units_delivered:,} of {lg.qty:,} units delivered (the rest lost)"
    if lg.excess_days is None:
        return f"{head}; {need}"
    if lg.late:
        return f"{head}; {need}: {lg.excess_days:.2f} days late"
    return f"{head}; {need}: on time ({-lg.excess_days:.2f} days early)"


def _explain(lg: Lineage, out: Console) -> None:
    """Lead time = no waiting + waiting; what the need-by date allowed; the waits, largest first."""
    lead = lg.no_wait_days + lg.wait_days
    so_far = " so far" if lg.done_day is None else ""
    out.print(f"{'Lead time' + so_far:<18}{lead:9.2f} days", markup=False)
    out.print(f"{'  no waiting':<18}{lg.no_wait_days:9.2f} days (its own service and transit)", markup=False)
    out.print(f"{'  waiting':<18}{lg.wait_days:9.2f} days", markup=False)
    allowed = lg.allowed_days
    if allowed is not None:
        out.print(f"{'Allowed':<18}{allowed:9.2f} days (opening to the end of need-by date)", markup=False)
    if lg.waits:
        waits = _table("days>", "waiting for", "resource", title="Waits, largest first")
        for w in lg.waits:
            waits.add_row(
                f"{w.days:.2f}", _WAITING_FOR.get(w.kind, w.kind), w.resource + (f" at {w.where}" if w.where else "")
            )
        out.print(waits)
    if not lg.late:
        if lg.excess_days is not None:
            out.print("not late.", markup=False)
        return
    if allowed is not None and lg.no_wait_days <= allowed + 1e-9:
        out.print(
            f"With no waiting it would have been on time ({allowed - lg.no_wait_days:.2f} days to spare): "
            "the waits made it late.",
            markup=False,
        )
    elif allowed is not None:
        out.print(
            f"Even with no waiting it would be {lg.no_wait_days - allowed:.2f} days late: its service and "
            "transit alone take longer than the need-by date allows.",
            markup=False,
        )
    if lg.culprit is not None:
        out.print(f"What made it late: {lg.culprit.label}, {lg.culprit.days:.2f} days", markup=False)
    else:
        out.print("What made it late: its service and transit alone (it never waited)", markup=False)


def print_lineage(lg: Lineage, scenario: Scenario | None, out: Console) -> None:
    """Print the verdict, the timeline with its waits and resources, the lots and the history."""
    start = scenario.start if scenario is not None else None
    if lg.lot is not None:
        out.print(
            f"lot {lg.lot}: {lg.qty:,} {lg.item} from {lg.supplier} for requirement {lg.requirement} ({lg.unit})",
            markup=False,
        )
    else:
        out.print(
            f"requirement {lg.requirement}: {lg.qty:,} {lg.item} for {lg.unit}, opened {_date(lg.opened_day, start)}",
            markup=False,
        )
    out.print(verdict(lg, start), markup=False)
    if lg.lot is None:
        lots = _table(
            "lot>", "supplier", "qty>", "outcome", "done", "vs need-by>", "largest wait", title="Lots", whole=("done",)
        )
        for x in lg.lots:
            w = x.waits[0] if x.waits else None
            lots.add_row(
                str(x.lot),
                x.supplier or "",
                f"{x.qty:,}",
                x.outcome,
                _date(x.done_day, start),
                "" if x.excess_days is None else f"{x.excess_days:+.2f}",
                "" if w is None else f"{w.days:.2f} {_WAITING_FOR.get(w.kind, w.kind)}: {w.resource}",
            )
        if lg.lots:
            out.print(lots)
        out.print(f"Critical part: {lg.critical or 'none'}", markup=False)
    title = "Timeline" if lg.lot is not None else "Timeline of the critical part"
    if lg.critical_lot is not None:
        title = f"Timeline of lot {lg.critical_lot}"
    steps = _table("from", "days>", "step", "resource", title=title, whole=("from",))
    for s in lg.steps:
        where = f" at {s.where}" if s.where else ""
        steps.add_row(
            _when(s.start, start),
            f"{s.days:.2f}" + ("" if s.end is not None else " (open)"),
            s.label,
            s.resource + where,
        )
    out.print(steps)
    if lg.diversions:
        out.print("Diversions", markup=False)
        for d in lg.diversions:
            who = f"lot {d.lot} " if lg.lot is None else ""
            out.print(f"  {_when(d.day, start)}  {who}{d.text}", markup=False)
    _explain(lg, out)
    rows = _table(
        "seq>", "day>", "event", "node", "link", "qty>", "value>", title="History", whole=("event", "qty", "value")
    )
    for r in lg.rows:
        rows.add_row(
            str(r.seq),
            f"{r.t:.3f}",
            r.kind,
            r.node or "",
            (r.link or "") + ("" if r.vehicle < 0 else f"#{r.vehicle}"),
            "" if r.qty is None else f"{r.qty:,}",
            "" if r.value is None else f"{r.value:,.0f}" if abs(r.value) >= 1000 else f"{r.value:.2f}",
        )
    out.print(rows)
