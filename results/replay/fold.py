"""The fold: rows of the event log applied in order to a mutable state, and snapshots of it.

``Replay`` keeps one fold per log and applies only the rows since the last instant asked, so
asking many instants of one log in increasing order reads it once; ``state_at`` and
``end_state_from_log`` are its one-shot forms. The rows' meaning per kind is in
``sim.events``; the resulting ``State`` and its parts are in ``results.replay.state``.
"""

from __future__ import annotations

import bisect
import copy
import math
from typing import TYPE_CHECKING, Any

from results.replay.columns import EventColumns, event_columns, requirement_namer
from results.replay.state import (
    ContractState,
    LotState,
    NodeState,
    ReplayError,
    RequirementState,
    State,
    VehicleState,
)
from sim.events import (
    ARRIVED,
    BACKORDER_FILLED,
    BUDGET_ADDED,
    CONSUMED,
    CONTRACT_AWARDED,
    DELIVERED,
    DEPARTED,
    DISRUPTION_ENDED,
    DISRUPTION_STARTED,
    FUNDS_COMMITTED,
    FUNDS_RELEASED,
    FUNDS_SHORT,
    LOADED,
    LOST,
    LOT_PRODUCED,
    QUEUED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    REROUTED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    STOCK_ISSUED,
    STOCK_RECEIVED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["Replay", "end_state_from_log", "state_at"]


class _Node:
    __slots__ = ("busy", "id", "in_service", "kind", "queue", "tenders", "waiting")

    def __init__(self, node_id: str, kind: str | None) -> None:
        self.id = node_id
        self.kind = kind
        self.queue: dict[int, None] = {}
        self.in_service: dict[int, None] = {}
        self.waiting: dict[str, dict[int, None]] = {}
        self.tenders: dict[str, None] = {}
        self.busy = 0


class _Fold:
    """Mutable state that rows are applied to, in order."""

    def __init__(self, scenario: Scenario | None) -> None:
        self.scenario = scenario
        self.rid = requirement_namer(scenario)
        self.nodes: dict[str, _Node] = {}
        self.vehicles: dict[tuple[str, int], VehicleState] = {}
        self.lots: dict[int, LotState] = {}
        self.stock: dict[tuple[str, str], int] = {}
        self.requirements: dict[int, RequirementState] = {}
        self.contracts: dict[tuple[int, str], ContractState] = {}
        self.lot_contract: dict[int, tuple[int, str]] = {}
        self.budget: dict[str, float] = {}
        self.active: dict[str, list[float]] = {}
        self.link_ends: dict[str, tuple[str | None, str | None]] = {}
        self.diverted: dict[str, int] = {}
        self.diverted_to: dict[str, int] = {}
        if scenario is not None:
            for n in scenario.nodes:
                self.nodes[n.id] = _Node(n.id, n.kind)
                if n.kind == "donor":
                    self.budget[n.id] = 0.0
                elif n.kind == "unit":
                    for item, q in n.initial_stock.items():
                        self.stock[(n.id, item)] = q
            for lk in scenario.links:
                self.link_ends[lk.id] = (lk.from_, lk.to)
                if lk.enabled:
                    for v in range(lk.vehicles):
                        self.vehicles[(lk.id, v)] = VehicleState(lk.id, v, "idle", lk.from_, lk.from_, lk.to)

    def node(self, node_id: str | None) -> _Node:
        nid = node_id if node_id is not None else "?"
        n = self.nodes.get(nid)
        if n is None:
            n = self.nodes[nid] = _Node(nid, None)
        return n

    def vehicle(self, link: str, v: int) -> VehicleState:
        key = (link, v)
        vs = self.vehicles.get(key)
        if vs is None:
            origin, dest = self.link_ends.get(link, (None, None))
            vs = self.vehicles[key] = VehicleState(link, v, "idle", origin, origin, dest)
        return vs

    def apply(self, c: EventColumns, start: int, stop: int) -> None:
        """Apply rows ``start`` .. ``stop - 1``."""
        kinds, ts, lots, items, qtys = c.kind, c.t, c.lot, c.item, c.qty
        nodes, links, vehicles, refs, values = c.node, c.link, c.vehicle, c.ref, c.value
        for i in range(start, stop):
            k = kinds[i]
            t = ts[i]
            if k == QUEUED:
                lot = lots[i]
                ls = self.lots.get(lot)
                link = links[i]
                node = self.node(nodes[i])
                if link is None:
                    node.queue[lot] = None
                    status = "queued"
                else:
                    node.waiting.setdefault(link, {})[lot] = None
                    status = "waiting"
                if ls is not None:
                    ls.status, ls.node, ls.link, ls.vehicle, ls.since = status, node.id, link, None, t
            elif k == SERVICE_STARTED:
                lot = lots[i]
                node = self.node(nodes[i])
                node.queue.pop(lot, None)
                node.in_service[lot] = None
                servers = values[i]
                node.busy += 1 if servers is None else int(servers)  # a per-vehicle job's other lots take no server
                ls = self.lots.get(lot)
                if ls is not None:
                    ls.status, ls.since = "in_service", t
            elif k == SERVICE_FINISHED:
                lot = lots[i]
                node = self.node(nodes[i])
                node.in_service.pop(lot, None)
                servers = values[i]
                node.busy -= 1 if servers is None else int(servers)
                ls = self.lots.get(lot)
                if ls is not None:
                    ls.status, ls.since = "served", t
            elif k == LOADED:
                lot, link, v = lots[i], links[i] or "?", vehicles[i]
                node = self.node(nodes[i])
                w = node.waiting.get(link)
                if w is not None:
                    w.pop(lot, None)
                vs = self.vehicle(link, v)
                if vs.status != "loading":
                    vs.status, vs.since, vs.lots, vs.qty = "loading", t, [], 0
                vs.node = vs.origin = node.id
                vs.lots.append(lot)
                vs.qty += qtys[i] or 0
                ls = self.lots.get(lot)
                if ls is not None:
                    ls.status, ls.node, ls.link, ls.vehicle, ls.since = "on_vehicle", node.id, link, v, t
            elif k == DEPARTED:
                vs = self.vehicle(links[i] or "?", vehicles[i])
                vs.status, vs.node, vs.since = "in_transit", None, t
                if nodes[i] is not None:
                    vs.origin = nodes[i]
                for lot in vs.lots:
                    ls = self.lots.get(lot)
                    if ls is not None:
                        ls.status, ls.node, ls.since = "in_transit", None, t
            elif k == LOST and nodes[i] is not None:  # destroyed at a node by a strike (not on a vehicle)
                lot = lots[i]
                if lot >= 0:  # lot -1: a supplier's finished stock, not a lot
                    node = self.node(nodes[i])
                    node.queue.pop(lot, None)
                    node.in_service.pop(lot, None)
                    node.waiting.get(links[i] or "?", {}).pop(lot, None)
                    self._done(lot, qtys[i] or 0, refs[i], lost=True)
            elif k in (ARRIVED, LOST):
                lot, link = lots[i], links[i] or "?"
                vs = self.vehicle(link, vehicles[i])
                if lot in vs.lots:
                    vs.lots.remove(lot)
                    vs.qty -= qtys[i] or 0
                if k == ARRIVED and nodes[i] is not None:
                    vs.dest = nodes[i]
                if not vs.lots:
                    vs.status, vs.node, vs.since, vs.qty = "returning", None, t, 0
                if k == ARRIVED:
                    ls = self.lots.get(lot)
                    if ls is not None:
                        ls.status, ls.node, ls.link, ls.vehicle, ls.since = "arrived", nodes[i], None, None, t
                else:
                    self._done(lot, qtys[i] or 0, refs[i], lost=True)
            elif k == RETURNED:
                vs = self.vehicle(links[i] or "?", vehicles[i])
                vs.status, vs.since, vs.lots, vs.qty = "idle", t, [], 0
                vs.node = nodes[i] if nodes[i] is not None else vs.origin
            elif k == DELIVERED:
                lot, q = lots[i], qtys[i] or 0
                item = items[i]
                key = (nodes[i] or "?", item or "?")
                self.stock[key] = self.stock.get(key, 0) + q
                self._done(lot, q, refs[i], lost=False)
            elif k == LOT_PRODUCED:
                lot, q, ref, sup = lots[i], qtys[i] or 0, refs[i], nodes[i] or "?"
                self.lots[lot] = LotState(lot, items[i], q, self.rid(ref), sup, "produced", sup, since=t)
                self.lot_contract[lot] = (ref, sup)
                ct = self.contracts.get((ref, sup))
                if ct is not None:
                    ct.produced += q
                rs = self.requirements.get(ref)
                if rs is not None:
                    rs.produced += q
            elif k in (CONSUMED, BACKORDER_FILLED, STOCK_ISSUED):  # stock leaves (issue 14)
                key = (nodes[i] or "?", items[i] or "?")
                self.stock[key] = self.stock.get(key, 0) - (qtys[i] or 0)
                if k != CONSUMED and lots[i] >= 0:  # a depot ships it as a new lot towards the unit's order
                    depot = nodes[i] or "?"
                    self.lots[lots[i]] = LotState(
                        lots[i], items[i], qtys[i] or 0, self.rid(refs[i]), depot, "produced", depot, since=t
                    )
            elif k == STOCK_RECEIVED:  # a depot's receipt; lot -1: a policy's opening stock (day 0)
                key = (nodes[i] or "?", items[i] or "?")
                q = qtys[i] or 0
                self.stock[key] = q if lots[i] < 0 else self.stock.get(key, 0) + q
                if lots[i] >= 0:  # the lot ends in the depot's stock: it fills the depot's order
                    self._done(lots[i], q, refs[i], lost=False)
            elif k == BUDGET_ADDED:
                d = nodes[i] or "?"
                self.budget[d] = self.budget.get(d, 0.0) + (values[i] or 0.0)
            elif k == FUNDS_COMMITTED:
                d = nodes[i] or "?"
                take = values[i] or 0.0
                self.budget[d] = self.budget.get(d, 0.0) - take
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.committed_eur += take
                    rs.status = "funded"
            elif k == FUNDS_RELEASED:
                d = nodes[i] or "?"
                give = values[i] or 0.0
                self.budget[d] = self.budget.get(d, 0.0) + give
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.committed_eur -= give
            elif k == FUNDS_SHORT:
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.status = "waiting_funds"
            elif k == REQUIREMENT_OPENED:
                ref = refs[i]
                value = values[i]
                self.requirements[ref] = RequirementState(
                    self.rid(ref), ref, items[i], nodes[i], qtys[i] or 0, value if value is not None else math.nan, t
                )
            elif k == TENDER_STARTED:
                rid = self.rid(refs[i])
                self.node(nodes[i]).tenders[rid] = None
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.status = "in_tender"
            elif k == TENDER_FINISHED:
                self.node(nodes[i]).tenders.pop(self.rid(refs[i]), None)
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.status = "tendered"
            elif k == CONTRACT_AWARDED:
                ref, sup, q = refs[i], nodes[i] or "?", qtys[i] or 0
                rid = self.rid(ref)
                ct = self.contracts.get((ref, sup))
                if ct is None:
                    self.contracts[(ref, sup)] = ContractState(
                        f"{rid}@{sup}", rid, sup, items[i], q, values[i] or 0.0, t
                    )
                else:  # a further part (the funders paid only part at first): the same order grows
                    ct.qty += q
                    ct.value_eur += values[i] or 0.0
                self.node(sup)
                rs = self.requirements.get(ref)
                if rs is not None:
                    rs.ordered += q
                    rs.status = "contracted"
            elif k == REQUIREMENT_FILLED:
                rs = self.requirements.get(refs[i])
                if rs is not None:
                    rs.closed = True
                    rs.status = "closed"
            elif k == DISRUPTION_STARTED:
                target = nodes[i] or links[i] or "?"
                factor = values[i]
                self.active.setdefault(target, []).append(factor if factor is not None else 0.0)
            elif k == DISRUPTION_ENDED:
                target = nodes[i] or links[i] or "?"
                factors = self.active.get(target, [])
                factor = values[i]
                f = factor if factor is not None else 0.0
                if f in factors:
                    factors.remove(f)
                if not factors:
                    self.active.pop(target, None)
            elif k == REROUTED:  # routing on_departure: the lot leaves a link's queue here, if it waited in one
                lot, nid, link = lots[i], nodes[i] or "?", links[i] or "?"
                for w in self.node(nid).waiting.values():
                    w.pop(lot, None)
                self.diverted[nid] = self.diverted.get(nid, 0) + 1
                self.diverted_to[link] = self.diverted_to.get(link, 0) + 1
            # stockout rows change nothing: the unmet demand is not stock

    def _done(self, lot: int, q: int, ref: int, lost: bool) -> None:
        self.lots.pop(lot, None)
        ct = self.contracts.get(self.lot_contract.get(lot, (-1, "")))
        rs = self.requirements.get(ref)
        if lost:
            if ct is not None:
                ct.lost += q
            if rs is not None:
                rs.lost += q
        else:
            if ct is not None:
                ct.delivered += q
            if rs is not None:
                rs.delivered += q

    def snapshot(self, t: float, rows: int) -> State:
        backlog: dict[str, int] = {}
        for ct in self.contracts.values():
            backlog[ct.supplier] = backlog.get(ct.supplier, 0) + max(0, ct.qty - ct.produced)
        nodes = {
            nid: NodeState(
                nid,
                n.kind,
                list(n.queue),
                list(n.in_service),
                {lk: list(w) for lk, w in n.waiting.items() if w},
                list(n.tenders),
                backlog.get(nid, 0),
                n.busy,
            )
            for nid, n in self.nodes.items()
        }
        return State(
            t=t,
            rows=rows,
            nodes=nodes,
            vehicles={f"{lk}#{v}": copy.deepcopy(vs) for (lk, v), vs in self.vehicles.items()},
            lots={k: copy.copy(v) for k, v in self.lots.items()},
            stock={f"{u}/{i}": q for (u, i), q in self.stock.items()},
            requirements={r.id: copy.copy(r) for r in self.requirements.values()},
            contracts={c.id: copy.copy(c) for c in self.contracts.values()},
            budget_eur=dict(self.budget),
            disruptions={k: min(v) for k, v in self.active.items() if v},
            diverted=dict(self.diverted),
            diverted_to=dict(self.diverted_to),
        )


class Replay:
    """Replays one replication's log; ``at(t)`` folds only the rows since the last instant asked.

    Args:
        log: The event table (``pyarrow.Table``), an ``EventLog``, or a Parquet part path.
        scenario: The resolved scenario of the run (names requirements, opening stock, stations,
            donors and vehicles); optional.

    Raises:
        ReplayError: the table mixes replications, or holds an unknown kind.
    """

    def __init__(self, log: Any, scenario: Scenario | None = None) -> None:
        self.columns = event_columns(log)
        self.scenario = scenario
        self._reset()

    def _reset(self) -> None:
        self._fold = _Fold(self.scenario)
        self._pos = 0
        self._t = -math.inf

    @property
    def rows(self) -> int:
        """Rows in the log."""
        return self.columns.n

    @property
    def last_t(self) -> float:
        """Day of the last row (0 for an empty log)."""
        return self.columns.t[-1] if self.columns.n else 0.0

    def at(self, t: float) -> State:
        """The state after every row with ``t_row <= t``.

        Raises:
            ReplayError: ``t`` is not a finite number.
        """
        t = float(t)
        if not math.isfinite(t):
            raise ReplayError(f"the instant must be a finite number of days (got {t})")
        if t < self._t:
            self._reset()
        stop = bisect.bisect_right(self.columns.t, t)
        if stop > self._pos:
            self._fold.apply(self.columns, self._pos, stop)
            self._pos = stop
        self._t = t
        return self._fold.snapshot(t, stop)

    def end(self) -> State:
        """The state after the last row."""
        return self.at(max(self.last_t, 0.0))


def state_at(log: Any, t: float, scenario: Scenario | None = None) -> State:
    """The state of the replication after every row with ``t_row <= t`` (see ``State``).

    Args:
        log: The event table, an ``EventLog`` or a Parquet part path.
        t: Days from the scenario start.
        scenario: The resolved scenario of the run, to name requirements and know opening stock,
            stations, donors and idle vehicles; optional.
    """
    return Replay(log, scenario).at(t)


def end_state_from_log(table: Any, scenario: Scenario) -> dict[str, Any]:
    """The end state, rebuilt from the log, in exactly the structure of ``sim.run.end_state(ctx)``.

    ``stock`` per ``"unit/item"``, ``budget_eur`` per donor (rounded to 6 decimals),
    ``at_stations`` (queued + in service per handling station), ``waiting_for_link`` (lots
    waiting for a vehicle per enabled link) and ``requirements`` (``ordered``, ``delivered``,
    ``lost``, ``closed`` per requirement id). ``scenario`` is the resolved scenario of the run.
    """
    return Replay(table, scenario).end().end_state(scenario)
