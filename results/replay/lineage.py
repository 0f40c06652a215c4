"""Lineage of a lot or requirement from the event log: its timeline, its waits and their resources.

A lot's life, from its requirement's opening to its delivery (or loss, or the end of the run),
is a sequence of contiguous *steps*. Each step is either **work** — the lot's own service and
transit: the tender, the bilateral lead time, its production, its service at a station, its
transit on a link — or a **wait** for a named resource:

=============  ==========================================  =================================
step kind      from -> to (rows of the log)                resource
=============  ==========================================  =================================
``funds``      opened -> funded, or the award after a       ``donor D`` (the first funder)
               ``funds_short`` -> this lot's contract part
``tender_q``   funded -> ``tender_started``                 ``agency A`` (pool, staff queue)
``tender``     ``tender_started`` -> ``tender_finished``    ``agency A`` (work)
``lead``       funded -> award (bilateral lead time)        ``donor D`` (work)
``backlog``    award -> production start                    ``line S/item``
``production`` production start -> ``lot_produced``         ``line S/item`` (work)
``vehicle``    ``queued`` for a link -> ``loaded``          ``link L`` (``where``: the node)
``departure``  ``loaded`` -> the vehicle's ``departed``     ``link L`` (filling, convoy)
``transit``    ``departed`` -> ``arrived``                  ``link L`` (work)
``queue``      ``queued`` at a station -> service start     ``node N``
``service``    ``service_started`` -> ``service_finished``  ``node N`` (work)
``stock``      a unit's order opened -> ``stock_issued`` or  ``depot D`` (a lot the depot ships
               ``backorder_filled`` (its lot's first row)    from its stock: no production)
=============  ==========================================  =================================

A line makes one lot at a time, so a lot's production starts when its contract part was
awarded or when the line's previous lot was produced, whichever is later. The steps add up to
the lead time; the work steps to the *no-wait time* (what the lot would take if it never
waited), the waits to the rest. A late lot's lateness is explained by its waits, largest first,
each with its resource; ``culprit`` is the largest.

A ``rerouted`` row (routing ``on_departure``) is no step: the lot's timeline goes on, and the
diversion is listed in ``Lineage.diversions`` with its old and new route and its reason
(``results.replay.diversions``). A lot that leaves a link's queue that way keeps its wait for
that link's vehicle in the handling stage's ``wait_vehicle``.

A requirement's outcome is ``filled`` (every unit delivered), ``filled short`` (closed with
units lost), ``short of funds`` (not filled: units still wait for money at the end of the
run) or ``open`` (not filled by the end of the run). Its lateness is against the end of its
need-by date (``scenarios.schema.due_day``): at the ``requirement_filled`` row, or, not filled,
at the end of the run (lateness so far). Its timeline is that of its *critical part*: the lot
that finished last, or, not filled, the units still waiting for a contract or for production.

The data classes live in ``results.replay.timeline``; ``results.replay`` re-exports
``lineage``, ``lineages``, ``end_of_run``, ``Lineage``, ``Stage``, ``Step`` and ``Wait``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from results.replay.columns import EventColumns, event_columns, requirement_namer
from results.replay.diversions import diversions
from results.replay.state import ReplayError
from results.replay.timeline import STEP_LABELS, Lineage, Stage, Step, Timeline, Wait, summarise
from scenarios.schema import due_day
from sim.events import (
    ARRIVED,
    BACKORDER_FILLED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    FUNDS_COMMITTED,
    FUNDS_SHORT,
    LOADED,
    LOST,
    QUEUED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    REROUTED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    STOCK_ISSUED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["STEP_LABELS", "Lineage", "Stage", "Step", "Wait", "end_of_run", "lineage", "lineages"]

_EPS = 1e-9
_FROM_STOCK = frozenset({STOCK_ISSUED, BACKORDER_FILLED})
"""First rows of a lot a depot ships from its stock (no funding, tender or production of its own)."""


def end_of_run(status: str | None, end_day: float | None, horizon_days: float | None) -> float | None:
    """The day up to which a run's state holds: its horizon for a deadlocked run, else its end day.

    A deadlocked run stops when nothing can happen any more (a requirement waits for money that
    never comes): its state stays as it is up to the horizon, so what is open is open until then.

    Example:
        >>> end_of_run("deadlocked", 1.0, 60.0), end_of_run("completed", 60.0, 60.0)
        (60.0, 60.0)
    """
    if status == "deadlocked" and horizon_days is not None:
        return max(float(horizon_days), float(end_day or 0.0))
    return end_day


# --------------------------------------------------------------------------- the index


class _Index:
    """Per requirement, contract, lot, line and vehicle: the rows of one log."""

    def __init__(self, c: EventColumns, scenario: Scenario | None, end: float | None) -> None:
        self.c = c
        self.rid = requirement_namer(scenario)
        self.end = max(end if end is not None else -math.inf, c.t[-1] if c.n else 0.0)
        self.opened: dict[int, int] = {}
        self.funded: dict[int, float] = {}
        self.first_funded: dict[int, int] = {}
        self.shorts: dict[int, list[int]] = {}
        self.req_rows: dict[int, list[int]] = {}
        self.tender_start: dict[int, int] = {}
        self.tender_finish: dict[int, float] = {}
        self.award: dict[tuple[int, str], int] = {}
        self.parts: dict[tuple[int, str], list[int]] = {}
        self.filled: dict[int, int] = {}
        self.lot_rows: dict[int, list[int]] = {}
        self.departures: dict[tuple[str, int], list[int]] = {}
        req_kinds = {REQUIREMENT_OPENED, FUNDS_COMMITTED, FUNDS_SHORT, TENDER_STARTED, TENDER_FINISHED}
        for i in range(c.n):
            k = c.kind[i]
            if c.lot[i] >= 0:
                self.lot_rows.setdefault(c.lot[i], []).append(i)
            elif k == DEPARTED:
                self.departures.setdefault((c.link[i] or "?", c.vehicle[i]), []).append(i)
            elif k in req_kinds or k in (CONTRACT_AWARDED, REQUIREMENT_FILLED):
                ref = c.ref[i]
                self.req_rows.setdefault(ref, []).append(i)
                if k == REQUIREMENT_OPENED:
                    self.opened.setdefault(ref, i)
                elif k == FUNDS_COMMITTED:
                    self.funded.setdefault(ref, c.t[i])  # funded once; a later commit is the award's top-up
                    self.first_funded.setdefault(ref, i)
                elif k == FUNDS_SHORT:  # waits for money: neither funded nor filled
                    self.shorts.setdefault(ref, []).append(i)
                elif k == TENDER_STARTED:
                    self.tender_start.setdefault(ref, i)
                elif k == TENDER_FINISHED:
                    self.tender_finish.setdefault(ref, c.t[i])
                elif k == CONTRACT_AWARDED:
                    key = (ref, c.node[i] or "?")
                    self.award.setdefault(key, i)
                    self.parts.setdefault(key, []).append(i)
                elif k == REQUIREMENT_FILLED:
                    self.filled.setdefault(ref, i)
        # production: each lot's contract part (its award day) and the line's previous lot
        self.part_award: dict[int, float] = {}
        self.line_free: dict[int, float] = {}
        self.line_last: dict[tuple[str, str | None], float] = {}
        self.made: dict[tuple[int, str], int] = {}
        for lot in sorted(self.lot_rows):  # lot ids are given in order of production
            first = self.lot_rows[lot][0]
            ref, sup, item = c.ref[first], c.node[first] or "?", c.item[first]
            key = (ref, sup)
            made = self.made[key] = self.made.get(key, 0) + (c.qty[first] or 0)
            ordered = 0
            for j in self.parts.get(key, []):
                ordered += c.qty[j] or 0
                if ordered >= made:
                    self.part_award[lot] = c.t[j]
                    break
            self.line_free[lot] = self.line_last.get((sup, item), -math.inf)
            self.line_last[(sup, item)] = c.t[first]

    def departure(self, link: str, vehicle: int, after: int) -> int | None:
        rows = self.departures.get((link, vehicle), [])
        pos = bisect.bisect_right(rows, after)
        return rows[pos] if pos < len(rows) else None

    def ordered(self, ref: int) -> int:
        """Units of ``ref`` under contract."""
        return sum(self.c.qty[j] or 0 for (r, _), rows in self.parts.items() if r == ref for j in rows)

    def donor(self, ref: int) -> str:
        """The donor named by ``ref``'s money rows (its first funder)."""
        c = self.c
        rows = self.shorts.get(ref) or ([self.first_funded[ref]] if ref in self.first_funded else [])
        return f"donor {c.node[rows[0]]}" if rows else "donor ?"

    # ------------------------------------------------------------------ steps

    def requirement_steps(self, ref: int, award_t: float | None, out: Timeline) -> bool:
        """The steps of ``ref`` up to ``award_t``, the award of a lot's contract part.

        ``award_t`` None: the part is not contracted; the last step lasts to the end of the run.
        Returns whether the timeline reached ``award_t`` (False: it ends in an open step).
        """
        c = self.c
        oi = self.opened[ref]
        fi = self.first_funded.get(ref)
        first_award = min((c.t[i] for (r, _), i in self.award.items() if r == ref), default=None)
        if fi is None and first_award is None:  # never funded
            out.add("funds", True, self.donor(ref), None)
            return False
        funded_i = fi if fi is not None else oi  # domestic on an unlimited budget: no money rows
        out.add("funds", True, self.donor(ref), c.t[funded_i])
        later_shorts = [i for i in self.shorts.get(ref, []) if i > funded_i]
        ts = self.tender_start.get(ref)
        if ts is not None:
            agency = f"agency {c.node[ts]}"
            out.add("tender_q", True, agency, c.t[ts])
            tf = self.tender_finish.get(ref)
            out.add("tender", False, agency, tf)
            if tf is None:
                return False
        else:
            ready = c.t[later_shorts[0]] if later_shorts else first_award
            if ready is None:  # the bilateral lead time is still running
                out.add("lead", False, self.donor(ref), None)
                return False
            out.add("lead", False, self.donor(ref), ready)
        out.add("funds", True, self.donor(ref), award_t)
        return award_t is not None

    def lot_lineage(self, lot: int, with_rows: bool = False) -> Lineage:
        c = self.c
        rows = self.lot_rows.get(lot)
        if not rows:
            raise ReplayError(f"no lot {lot} in the log")
        first = rows[0]
        ref, supplier = c.ref[first], c.node[first]
        oi = self.opened.get(ref)
        produced = c.t[first]
        steps = Timeline(c.t[oi] if oi is not None else produced, self.end)
        if c.kind[first] in _FROM_STOCK:  # a depot's stock lot (issue 14): the order waited for the depot's stock
            stages: list[Stage] = []
            if oi is not None:
                steps.add("stock", True, f"depot {supplier}", produced)
                stages.append(self._span(f"stock {supplier}", "stock", supplier, c.t[oi], produced))
        else:
            stages, a = self.requirement_stages(ref, supplier)
            line = f"line {supplier}/{c.item[first]}"
            if oi is not None:
                award_t = self.part_award.get(lot, a if a is not None else produced)
                self.requirement_steps(ref, award_t, steps)
                steps.add("backlog", True, line, max(award_t, self.line_free.get(lot, -math.inf)))
            steps.add("production", False, line, produced)
            if a is not None:
                stages.append(self._span("production", "production", None, a, produced))
        history = set(rows) | set(self.req_rows.get(ref, []))
        here, enter = supplier, produced
        detail: dict[str, float] = {}
        mark: dict[str, float] = {}
        done_day, outcome = None, "open"
        transit: Stage | None = None
        qty = c.qty[first] or 0
        pending: tuple[str, bool, str, str | None] | None = ("held", True, f"node {supplier}", None)
        for i in rows[1:]:
            k, t = c.kind[i], c.t[i]
            if pending is not None:
                steps.add(pending[0], pending[1], pending[2], t, pending[3])
            node = c.node[i]
            if k == QUEUED:
                if c.link[i] is None:
                    mark["queue"] = t
                    pending = ("queue", True, f"node {node}", None)
                else:
                    mark["wait_vehicle"] = t
                    pending = ("vehicle", True, f"link {c.link[i]}", node)
            elif k == REROUTED and "wait_vehicle" in mark:  # leaves a link's queue for another (in-queue reroute)
                detail["wait_vehicle"] = detail.get("wait_vehicle", 0.0) + t - mark.pop("wait_vehicle")
            elif k == SERVICE_STARTED:
                detail["queue"] = detail.get("queue", 0.0) + t - mark.pop("queue", t)
                mark["service"] = t
                pending = ("service", False, f"node {node}", None)
            elif k == SERVICE_FINISHED:
                detail["service"] = detail.get("service", 0.0) + t - mark.pop("service", t)
                pending = ("held", True, f"node {node}", None)
            elif k == LOADED:
                detail["wait_vehicle"] = detail.get("wait_vehicle", 0.0) + t - mark.pop("wait_vehicle", t)
                st = self._span(f"handling {here}", "handling", here, enter, t)
                st.detail = detail
                stages.append(st)
                detail, mark = {}, {}
                link = c.link[i] or "?"
                transit = self._span(f"transit {link}", "transit", link, t, None)
                dep = self.departure(link, c.vehicle[i], i)
                if dep is not None:
                    history.add(dep)
                    transit.detail["loading"] = c.t[dep] - t
                    mark["departed"] = c.t[dep]
                    steps.add("departure", True, f"link {link}", c.t[dep])
                    pending = ("transit", False, f"link {link}", None)
                else:
                    pending = ("departure", True, f"link {link}", None)
                stages.append(transit)
            elif k == LOST and node is not None:  # destroyed at the node by a strike: its handling ends
                for part, since in mark.items():
                    detail[part] = detail.get(part, 0.0) + t - since
                st = self._span(f"handling {here}", "handling", here, enter, t)
                st.detail = detail
                stages.append(st)
                detail, mark = {}, {}
                done_day, outcome = t, "lost"
                pending = None
            elif k in (ARRIVED, LOST):
                if transit is not None:
                    transit.end, transit.days = t, max(0.0, t - transit.start)
                    dep_t = mark.pop("departed", None)
                    if dep_t is not None:
                        transit.detail["travel"] = t - dep_t
                transit = None
                if k == LOST:
                    done_day, outcome = t, "lost"
                    pending = None
                else:
                    here, enter = node, t
                    pending = ("held", True, f"node {node}", None)
            elif k == DELIVERED:
                done_day, outcome = t, "delivered"
                pending = None
        if pending is not None and outcome == "open":
            steps.add(pending[0], pending[1], pending[2], None, pending[3])
        if outcome == "open" and transit is None:  # still at a node: an open handling stage
            st = self._span(f"handling {here}", "handling", here, enter, None)
            for part, since in mark.items():
                detail[part] = detail.get(part, 0.0) + self.end - since
            st.detail = detail
            stages.append(st)
        if outcome == "open" and transit is not None and "departed" in mark:
            transit.detail["travel"] = self.end - mark["departed"]
        need_by = c.value[oi] if oi is not None else None
        excess = _excess(need_by, done_day, self.end)
        late = excess is not None and excess > _EPS
        work, waited, waits, culprit = summarise(steps.items, late)
        return Lineage(
            subject=f"lot {lot}",
            requirement=self.rid(ref),
            ref=ref,
            lot=lot,
            item=c.item[first],
            unit=c.node[oi] if oi is not None else None,
            qty=qty,
            supplier=supplier,
            opened_day=c.t[oi] if oi is not None else None,
            need_by_day=need_by,
            done_day=done_day,
            outcome=outcome,
            excess_days=excess,
            late=late,
            stages=stages,
            steps=steps.items,
            no_wait_days=work,
            wait_days=waited,
            waits=waits,
            culprit=culprit,
            rows=[c.row(j) for j in sorted(history)] if with_rows else [],
            end_day=self.end,
        )

    def _rest_steps(self, ref: int, ordered: int, made: int, qty: int) -> tuple[list[Step], str]:
        """The timeline of a requirement's units not yet contracted, or contracted and not yet made."""
        c = self.c
        steps = Timeline(c.t[self.opened[ref]], self.end)
        if ordered < qty:
            self.requirement_steps(ref, None, steps)
            return steps.items, f"{qty - ordered:,} units not contracted by the end of the run"
        # contracted, not all made: the first contract part with units the line has not made
        for (r, sup), rows in self.parts.items():
            if r != ref:
                continue
            done = self.made.get((r, sup), 0)
            total = 0
            for j in rows:
                total += c.qty[j] or 0
                if total > done:
                    award_t = c.t[j]
                    if self.requirement_steps(ref, award_t, steps):
                        line_key = (sup, c.item[j])
                        line = f"line {sup}/{c.item[j]}"
                        steps.add("backlog", True, line, max(award_t, self.line_last.get(line_key, -math.inf)))
                        steps.add("production", False, line, None)
                    return steps.items, f"{ordered - made:,} units not produced by the end of the run"
        return steps.items, ""  # pragma: no cover - made < ordered means some part is unmade

    def requirement_lineage(self, ref: int, lots: list[Lineage]) -> Lineage:
        c = self.c
        oi = self.opened.get(ref)
        if oi is None:
            raise ReplayError(f"requirement {self.rid(ref)} never opened in the log")
        qty = c.qty[oi] or 0
        fi = self.filled.get(ref)
        done_day = c.t[fi] if fi is not None else None
        need_by = c.value[oi]
        excess = _excess(need_by, done_day, self.end)
        late = excess is not None and excess > _EPS
        ordered = self.ordered(ref)
        made = sum(lg.qty for lg in lots)
        delivered = sum(lg.qty for lg in lots if lg.outcome == "delivered")
        critical: Lineage | None = None
        for lg in lots:
            key = lg.done_day if lg.done_day is not None else math.inf
            if critical is None or key >= (critical.done_day if critical.done_day is not None else math.inf):
                critical = lg
        outcome = "open"
        if fi is not None:
            outcome = "filled" if (c.qty[fi] or 0) >= qty else "filled short"
        if fi is None and (ordered < qty or made < ordered):
            steps, what = self._rest_steps(ref, ordered, made, qty)
            stages: list[Stage] = []
            critical = None
            if steps and steps[-1].kind == "funds" and steps[-1].end is None:  # still waits for money
                outcome = "short of funds"
        elif critical is not None:
            steps, what, stages = critical.steps, f"lot {critical.lot} (finished last)", critical.stages
            if critical.done_day is None:
                what = f"lot {critical.lot} (not finished by the end of the run)"
        else:  # pragma: no cover - a filled requirement has lots
            steps, what, stages = [], "", []
        work, waited, waits, culprit = summarise(steps, late)
        return Lineage(
            subject=f"requirement {self.rid(ref)}",
            requirement=self.rid(ref),
            ref=ref,
            lot=None,
            item=c.item[oi],
            unit=c.node[oi],
            qty=qty,
            supplier=None,
            opened_day=c.t[oi],
            need_by_day=need_by,
            done_day=done_day,
            outcome=outcome,
            excess_days=excess,
            late=late,
            stages=stages,
            steps=steps,
            no_wait_days=work,
            wait_days=waited,
            waits=waits,
            culprit=culprit,
            rows=[c.row(j) for j in sorted(self.req_rows.get(ref, []))],
            lots=lots,
            critical_lot=critical.lot if critical is not None else None,
            critical=what,
            units_ordered=ordered,
            units_delivered=delivered,
            end_day=self.end,
        )

    # ------------------------------------------------------------------ stages

    def _span(self, name: str, kind: str, where: str | None, start: float, end: float | None) -> Stage:
        stop = end if end is not None else self.end
        return Stage(name, kind, where, start, end, max(0.0, stop - start))

    def requirement_stages(self, ref: int, supplier: str | None) -> tuple[list[Stage], float | None]:
        """Funding and tender of ``ref`` (tender up to the award to ``supplier``); the award day."""
        c = self.c
        oi = self.opened.get(ref)
        if oi is None:
            return [], None
        o = c.t[oi]
        award_i = self.award.get((ref, supplier)) if supplier is not None else None
        a = c.t[award_i] if award_i is not None else None
        f = self.funded.get(ref)
        if f is None and a is not None:
            f = o  # domestic: nothing to fund
        stages = [self._span("funding", "funding", None, o, f)]
        if f is None:
            return stages, None
        tender = self._span("tender", "tender", None, f, a)
        ts, tf = self.tender_start.get(ref), self.tender_finish.get(ref)
        if ts is not None:
            tender.detail["pool"] = max(0.0, c.t[ts] - f)
            tender.detail["tender"] = max(0.0, (tf if tf is not None else self.end) - c.t[ts])
            if tf is not None:
                tender.detail["award"] = max(0.0, (a if a is not None else self.end) - tf)
        stages.append(tender)
        return stages, a


def _excess(need_by: float | None, done_day: float | None, end: float) -> float | None:
    """Days past the end of the need-by date (``due_day``): done then, or still open at ``end``."""
    if need_by is None or not math.isfinite(need_by):
        return None
    due = due_day(need_by)
    if done_day is not None:
        return done_day - due
    return end - due if end > due else None


# --------------------------------------------------------------------------- API


def lineages(
    log: Any, scenario: Scenario | None = None, end: float | None = None, with_rows: bool = False
) -> dict[int, Lineage]:
    """The lineage of every lot of the log (see ``lineage``).

    ``rows`` of each lineage stay empty unless ``with_rows`` (they are the bulk of the work).
    """
    idx = _Index(event_columns(log), scenario, end)
    return {lot: idx.lot_lineage(lot, with_rows) for lot in sorted(idx.lot_rows)}


def lineage(
    log: Any,
    lot: int | None = None,
    requirement: str | int | None = None,
    scenario: Scenario | None = None,
    end: float | None = None,
    routes: Sequence[Sequence[str]] | None = None,
) -> Lineage:
    """The full history of one lot or one requirement: its timeline, waits and their resources.

    Stages of a lot, by place (they add up to its lead time, requirement opened -> delivered):
    ``funding`` (opened -> last funds committed; 0 for domestic), ``tender`` (-> its contract's
    award), ``production`` (-> lot produced), then per node ``handling <node>`` (entering the
    node -> loaded out) and per link ``transit <link>`` (loaded -> arrived or lost). Its
    ``steps`` split the same span into work and waits for named resources (module docstring);
    a late lot's ``culprit`` is its largest wait. A requirement's history is that of its
    critical part (the lot that finished last, or its units not yet contracted or produced)
    plus its own rows and each lot's lineage.

    Args:
        log: The event table, an ``EventLog`` or a Parquet part path.
        lot: A lot id; or
        requirement: a requirement id (needs ``scenario``), or its index in the scenario.
        scenario: The resolved scenario of the run.
        end: End of the run (day; ``end_of_run``); open steps last until then (default: the
            last row's day).
        routes: The run's route table (the manifest part's ``routes``), to name the routes of
            its diversions (``Lineage.diversions``).

    Raises:
        ReplayError: neither or both of ``lot`` and ``requirement``; no such lot or requirement.
    """
    if (lot is None) == (requirement is None):
        raise ReplayError("give exactly one of a lot or a requirement")
    idx = _Index(event_columns(log), scenario, end)
    if lot is not None:
        if lot not in idx.lot_rows:
            n = len(idx.lot_rows)
            raise ReplayError(f"no lot {lot} in this log (lots are 0..{n - 1})" if n else "no lot in this log")
        lg = idx.lot_lineage(lot, with_rows=True)
        lg.diversions = diversions(idx.c, scenario, routes, lot=lot)
        return lg
    ref = _resolve_requirement(requirement, scenario, idx)
    mine = [idx.lot_lineage(k) for k in sorted(idx.lot_rows) if idx.c.ref[idx.lot_rows[k][0]] == ref]
    lg = idx.requirement_lineage(ref, mine)
    lots = {x.lot for x in mine}
    lg.diversions = [d for d in diversions(idx.c, scenario, routes) if d.lot in lots]
    return lg


def _resolve_requirement(requirement: str | int | None, scenario: Scenario | None, idx: _Index) -> int:
    if isinstance(requirement, int):
        ref = requirement
    else:
        text = str(requirement)
        ids = [r.id for r in scenario.requirements] if scenario is not None else []
        if text in ids:
            ref = ids.index(text)
        elif text.lstrip("#").isdigit() and (not ids or text.startswith("#")):
            ref = int(text.lstrip("#"))
        else:
            known = ", ".join(ids) if ids else "#<index>"
            raise ReplayError(f"no requirement {text!r} (known: {known})")
    if ref not in idx.opened:
        raise ReplayError(f"requirement {idx.rid(ref)} never opened in this log")
    return ref
