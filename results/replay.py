"""State at time t and lineage of a lot or requirement, rebuilt from the event log alone.

The event log is the truth (design.md section 3): this module folds its rows, in ``seq`` order,
into the state of the supply chain, and never looks at the engine. Three uses:

- ``state_at(log, t)`` — every node's queue and work in progress, every vehicle's position and
  load, stock per unit and item, open requirements and contracts, budget per donor and the
  disruptions in force, *after* every row with ``t_row <= t``. ``Replay`` does the same for
  many instants of one log without folding it again from the start.
- ``end_state_from_log(table, scenario)`` — the end state in exactly the structure of the
  engine's own ``sim.run.end_state(ctx)``; ``verify_run(run_dir)`` compares it, part by part,
  with what the engine recorded in the manifest (``aidflow run --verify``).
- ``lineage(log, lot=...)`` / ``lineage(log, requirement=...)`` — the full history of a lot or
  a requirement: its rows, its stages, its timeline of work and waits, each wait with the
  resource waited for (donor, agency, supplier line, station, link), the lateness against
  need-by and what made it late. It lives in ``results.trace`` and is re-exported here.

The requirement a row is about is its ``ref``, the requirement's position in the scenario; pass
the (resolved) scenario to name requirements by id, to know the opening stock of units, the
handling stations, donors and vehicles. Without it requirements are named ``#<ref>``.

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> end_state_from_log(log.table(), s) == result.end
    True
    >>> st = state_at(log.table(), 30.0, s)
    >>> sorted(st.budget_eur)
    ['estonia', 'latvia', 'luxembourg']
"""

from __future__ import annotations

import bisect
import copy
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.errors import AidflowError
from scenarios.schema import due_day
from sim.events import (
    ARRIVED,
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
    KIND_CODE,
    LOADED,
    LOST,
    LOT_PRODUCED,
    QUEUED,
    REQUIREMENT_FILLED,
    REQUIREMENT_OPENED,
    RETURNED,
    SERVICE_FINISHED,
    SERVICE_STARTED,
    TENDER_FINISHED,
    TENDER_STARTED,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from results.trace import Lineage, Stage, Step, Wait, lineage, lineages
    from scenarios.schema import Scenario

__all__ = [
    "HANDLING_KINDS",
    "ContractState",
    "EventColumns",
    "Lineage",
    "LotState",
    "NodeState",
    "ReplayError",
    "Replay",
    "RequirementState",
    "Row",
    "Stage",
    "State",
    "Step",
    "VehicleState",
    "Wait",
    "diff_end_states",
    "end_state_from_log",
    "lineage",
    "lineages",
    "load_run_scenario",
    "state_at",
    "verify_run",
]

HANDLING_KINDS = ("hub", "border", "depot")
"""Node kinds that are handling stations (queue and servers)."""

_EPS = 1e-9


class ReplayError(AidflowError):
    """A replay or lineage cannot be answered (bad time, unknown lot or requirement, mixed parts)."""


# --------------------------------------------------------------------------- the state


@dataclass
class NodeState:
    """Lots at one node: waiting for a server, in service, waiting for a vehicle (lot ids, arrival order).

    ``tenders`` lists the requirements in tender at an agency; ``backlog_units`` the units under
    contract at a supplier not yet produced. ``servers_busy`` counts the servers at work: a
    per-lot service takes one each, a per-vehicle job (``serve: vehicle``) one for all its lots
    (read from the rows' ``value``: 1 on the row that takes or frees the server, 0 on the rest).
    """

    id: str
    kind: str | None = None
    queue: list[int] = field(default_factory=list)
    in_service: list[int] = field(default_factory=list)
    waiting: dict[str, list[int]] = field(default_factory=dict)
    tenders: list[str] = field(default_factory=list)
    backlog_units: int = 0
    servers_busy: int = 0

    @property
    def waiting_lots(self) -> int:
        """Lots waiting at the node for a vehicle, over all outgoing links."""
        return sum(len(v) for v in self.waiting.values())

    @property
    def wip(self) -> int:
        """Lots at the node: queued, in service and waiting for a vehicle (loaded lots have left)."""
        return len(self.queue) + len(self.in_service) + self.waiting_lots


@dataclass
class VehicleState:
    """One vehicle of a link: ``idle`` or ``loading`` at ``node``, ``in_transit`` or ``returning``."""

    link: str
    vehicle: int
    status: str = "idle"
    node: str | None = None
    origin: str | None = None
    dest: str | None = None
    lots: list[int] = field(default_factory=list)
    qty: int = 0
    since: float = 0.0


@dataclass
class LotState:
    """A lot in the network (produced, neither delivered nor lost).

    ``status``: ``waiting`` (for a vehicle of ``link`` at ``node``), ``on_vehicle`` (loaded, the
    vehicle has not left), ``in_transit``, ``queued`` (for a server at ``node``), ``in_service``.
    """

    lot: int
    item: str | None
    qty: int
    requirement: str
    supplier: str | None
    status: str
    node: str | None
    link: str | None = None
    vehicle: int | None = None
    since: float = 0.0


@dataclass
class RequirementState:
    """Progress of an opened requirement.

    ``status``: ``opened``, ``waiting_funds``, ``funded``, ``in_tender``, ``tendered``,
    ``contracted`` or ``closed``.
    """

    id: str
    ref: int
    item: str | None
    unit: str | None
    qty: int
    need_by_day: float
    opened_day: float
    status: str = "opened"
    committed_eur: float = 0.0
    ordered: int = 0
    produced: int = 0
    delivered: int = 0
    lost: int = 0
    closed: bool = False

    @property
    def open(self) -> bool:
        """Not closed yet."""
        return not self.closed

    def late_days(self, t: float) -> float:
        """Days past the end of the need-by date at day ``t`` (<= 0: not late yet)."""
        return t - due_day(self.need_by_day)


@dataclass
class ContractState:
    """One contract: a (requirement, supplier) order.

    A requirement contracted in parts with one supplier (its funders paid part at first, the
    rest when money came) is one contract: ``qty`` and ``value_eur`` (fee excluded) add every
    part's ``contract_awarded`` row; ``awarded_day`` is the first part's.
    """

    id: str
    requirement: str
    supplier: str
    item: str | None
    qty: int
    value_eur: float
    awarded_day: float
    produced: int = 0
    delivered: int = 0
    lost: int = 0

    @property
    def open(self) -> bool:
        """Units still to produce."""
        return self.produced < self.qty


@dataclass
class State:
    """The state of one replication after every row with ``t_row <= t``.

    Attributes:
        t: The instant (days from the scenario start).
        rows: Rows applied.
        nodes: Per node id (every node of the scenario when one was given).
        vehicles: Per ``"<link>#<n>"``.
        lots: Lots in the network, per lot id.
        stock: Units in stock per ``"<unit>/<item>"``.
        requirements: Opened requirements, per id.
        contracts: Per ``"<requirement>@<supplier>"``.
        budget_eur: Budget left per donor.
        disruptions: Capacity factor in force per disrupted node or link.
    """

    t: float
    rows: int
    nodes: dict[str, NodeState]
    vehicles: dict[str, VehicleState]
    lots: dict[int, LotState]
    stock: dict[str, int]
    requirements: dict[str, RequirementState]
    contracts: dict[str, ContractState]
    budget_eur: dict[str, float]
    disruptions: dict[str, float]

    @property
    def open_requirements(self) -> dict[str, RequirementState]:
        """Opened and not closed."""
        return {k: r for k, r in self.requirements.items() if not r.closed}

    @property
    def open_contracts(self) -> dict[str, ContractState]:
        """With units still to produce."""
        return {k: c for k, c in self.contracts.items() if c.open}

    def end_state(self, scenario: Scenario) -> dict[str, Any]:
        """This state in the structure of the engine's ``sim.run.end_state(ctx)``.

        ``scenario`` is the resolved scenario of the run: it names the handling stations, the
        enabled links, the donors and every requirement (unopened ones count zero).
        """
        node_pos = {n.id: k for k, n in enumerate(scenario.nodes)}
        item_pos = {i.id: k for k, i in enumerate(scenario.items)}

        def stock_key(key: str) -> tuple[int, int]:
            unit, _, item = key.partition("/")
            return node_pos.get(unit, len(node_pos)), item_pos.get(item, len(item_pos))

        stock = {k: self.stock[k] for k in sorted(self.stock, key=stock_key)}
        budget = {n.id: round(self.budget_eur.get(n.id, 0.0), 6) for n in scenario.nodes if n.kind == "donor"}
        empty = NodeState("")
        at_stations = {}
        for n in scenario.nodes:
            if n.kind in HANDLING_KINDS:
                ns = self.nodes.get(n.id, empty)
                at_stations[n.id] = len(ns.queue) + len(ns.in_service)
        waiting = {
            lk.id: len(self.nodes.get(lk.from_, empty).waiting.get(lk.id, [])) for lk in scenario.links if lk.enabled
        }
        reqs: dict[str, dict[str, Any]] = {}
        for r in scenario.requirements:
            rs = self.requirements.get(r.id)
            reqs[r.id] = (
                {"ordered": 0, "delivered": 0, "lost": 0, "closed": False}
                if rs is None
                else {"ordered": rs.ordered, "delivered": rs.delivered, "lost": rs.lost, "closed": rs.closed}
            )
        return {
            "stock": stock,
            "budget_eur": budget,
            "at_stations": at_stations,
            "waiting_for_link": waiting,
            "requirements": reqs,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (lot keys become strings)."""
        out = asdict(self)
        out["lots"] = {str(k): v for k, v in out["lots"].items()}
        for ns, d in zip(self.nodes.values(), out["nodes"].values(), strict=True):
            d["wip"] = ns.wip
        return out


# --------------------------------------------------------------------------- reading the log


@dataclass(frozen=True)
class Row:
    """One row of the log, as Python values (``None`` for nulls)."""

    seq: int
    t: float
    kind: str
    lot: int
    item: str | None
    qty: int | None
    node: str | None
    link: str | None
    vehicle: int
    ref: int
    value: float | None


class EventColumns:
    """The event table as Python lists, in ``seq`` order (nulls: ``None``; ``qty`` 0).

    Raises:
        ReplayError: the table mixes replications, has a non-finite ``t`` or an unknown kind.
    """

    def __init__(self, table: pa.Table) -> None:
        import numpy as np
        import pyarrow as pa

        for extra in ("strategy", "replication"):
            if extra in table.column_names and table.num_rows and len(table.column(extra).unique()) > 1:
                raise ReplayError(f"the table holds several values of {extra!r}: replay one replication at a time")
        if table.num_rows > 1:
            seq = np.asarray(table.column("seq").to_numpy(), dtype=np.int64)
            if np.any(np.diff(seq) <= 0):
                table = table.take(pa.array(np.argsort(seq, kind="stable")))

        def ints(name: str, fill: int) -> list[int]:
            return np.asarray(table.column(name).fill_null(fill).to_numpy(), dtype=np.int64).tolist()

        def strings(name: str) -> list[str | None]:
            parts: list[Any] = []
            for chunk in table.column(name).chunks:
                if not pa.types.is_dictionary(chunk.type):
                    chunk = chunk.dictionary_encode()
                names = np.array([*chunk.dictionary.to_pylist(), None], dtype=object)
                idx = np.asarray(chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
                parts.append(names[idx])
            return np.concatenate(parts).tolist() if parts else []

        self.seq = ints("seq", -1)
        t = np.asarray(table.column("t").fill_null(math.nan).to_numpy(), dtype=np.float64)
        if not np.all(np.isfinite(t)):  # a missing t would make every bisect wrong
            bad = int(np.flatnonzero(~np.isfinite(t))[0])
            raise ReplayError(f"row {self.seq[bad]}: t is not a finite number")
        self.t: list[float] = t.tolist()
        self.kind_names: list[str] = strings("kind")  # type: ignore[assignment]
        try:
            self.kind = [KIND_CODE[k] for k in self.kind_names]
        except KeyError as exc:
            raise ReplayError(f"unknown event kind {exc.args[0]!r} in the log") from None
        self.lot = ints("lot", -1)
        self.item = strings("item")
        self.qty = ints("qty", 0)  # 0 = null: the log never carries a zero quantity
        self.node = strings("node")
        self.link = strings("link")
        self.vehicle = ints("vehicle", -1)
        self.ref = ints("ref", -1)
        value = np.asarray(table.column("value").fill_null(math.nan).to_numpy(), dtype=np.float64).tolist()
        self.value: list[float | None] = [None if v != v else v for v in value]
        self.n = len(self.t)

    def row(self, i: int) -> Row:
        return Row(
            self.seq[i],
            self.t[i],
            self.kind_names[i],
            self.lot[i],
            self.item[i],
            self.qty[i] or None,
            self.node[i],
            self.link[i],
            self.vehicle[i],
            self.ref[i],
            self.value[i],
        )


def _as_table(log: Any) -> pa.Table:
    """An event table from a ``pyarrow.Table``, an ``EventLog`` (its ``table()``) or a Parquet path."""
    import pyarrow as pa

    if isinstance(log, pa.Table):
        return log
    if isinstance(log, (str, Path)):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(log)
        except (OSError, pa.ArrowException) as exc:
            raise ReplayError(f"{log}: cannot read the event log: {exc}") from None
    table = getattr(log, "table", None)
    if callable(table):
        return table()
    raise ReplayError(f"not an event log: {type(log).__name__}")


def _columns(log: Any) -> EventColumns:
    return log if isinstance(log, EventColumns) else EventColumns(_as_table(log))


def _req_namer(scenario: Scenario | None) -> Any:
    ids = [r.id for r in scenario.requirements] if scenario is not None else []

    def name(ref: int) -> str:
        return ids[ref] if 0 <= ref < len(ids) else f"#{ref}"

    return name


# --------------------------------------------------------------------------- the fold


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
        self.rid = _req_namer(scenario)
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
            elif k == CONSUMED:
                key = (nodes[i] or "?", items[i] or "?")
                self.stock[key] = self.stock.get(key, 0) - (qtys[i] or 0)
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
        self.columns = _columns(log)
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


# --------------------------------------------------------------------------- verification


def _diff(want: Any, got: Any, path: str, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in list(want) + [k for k in got if k not in want]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append(f"{sub}: engine {want[key]!r}, missing from the log's state")
            elif key not in want:
                out.append(f"{sub}: log {got[key]!r}, missing from the engine's state")
            else:
                _diff(want[key], got[key], sub, out)
        return
    if isinstance(want, bool) or isinstance(got, bool):
        same = want is got or (want == got and type(want) is type(got))
    elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
        same = math.isclose(float(want), float(got), rel_tol=1e-12, abs_tol=1e-6)
    else:
        same = want == got
    if not same:
        out.append(f"{path}: engine {want!r}, log {got!r}")


def diff_end_states(engine: dict[str, Any], log: dict[str, Any]) -> list[str]:
    """Differences between the engine's end state and the one rebuilt from the log, one line each.

    Example:
        >>> diff_end_states({"stock": {"u/x": 3}}, {"stock": {"u/x": 2}})
        ['stock.u/x: engine 3, log 2']
    """
    out: list[str] = []
    _diff(engine, log, "", out)
    return out


def load_run_scenario(run_dir: str | Path, strategy: str = "baseline") -> Scenario | None:
    """The resolved scenario of a run directory for ``strategy`` (None without ``scenario.resolved.yaml``).

    The run store keeps one resolved scenario; a strategy it still lists is applied again
    (overrides set values, so applying one twice is harmless).
    """
    from scenarios.load import load

    path = Path(run_dir) / "scenario.resolved.yaml"
    if not path.is_file():
        return None
    scenario = load(path)
    if strategy != "baseline" and any(st.name == strategy for st in scenario.strategies):
        scenario = scenario.with_strategy(strategy)
    return scenario


def verify_run(run_dir: str | Path) -> list[str]:
    """Rebuild every part's end state from its Parquet log and compare it with the engine's.

    For each part the manifest lists: the file exists with the recorded sha256 and row count;
    ``end_state_from_log`` equals the ``end`` the engine recorded in the part's manifest entry;
    the counters rebuilt from the log (``results.kpis.end_counters``) equal the recorded ones.

    Returns:
        One line per difference (empty when the log and the engine agree everywhere).

    Raises:
        AidflowError: ``run_dir`` is not a run directory.
    """
    from results.kpis import end_counters
    from results.store import read_events, read_manifest, sha256_file

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    parts = manifest.get("parts", [])
    problems: list[str] = []
    if not parts:
        return [f"{run_dir}: the manifest lists no finished part"]
    scenarios: dict[str, Scenario | None] = {}
    for entry in parts:
        strategy, rep = str(entry.get("strategy")), int(entry.get("replication", -1))
        where = f"{strategy} rep {rep}"
        path = run_dir / str(entry.get("path", ""))
        if not path.is_file():
            problems.append(f"{where}: part file {entry.get('path')} is missing")
            continue
        if entry.get("sha256") and sha256_file(path) != entry["sha256"]:
            problems.append(f"{where}: {entry.get('path')} does not match the sha256 in the manifest")
            continue
        table = read_events(run_dir, strategy, rep)
        if entry.get("rows") is not None and int(entry["rows"]) != table.num_rows:
            problems.append(f"{where}: {table.num_rows} rows in the part, {entry['rows']} in the manifest")
        counters = entry.get("counters") or {}
        for key, got in end_counters(table).items():
            want = counters.get(key, 0)
            if not math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"{where}: counters.{key}: engine {want!r}, log {got!r}")
        if strategy not in scenarios:
            scenarios[strategy] = load_run_scenario(run_dir, strategy)
        scenario = scenarios[strategy]
        if scenario is None:
            problems.append(f"{where}: no scenario.resolved.yaml in the run directory; cannot rebuild the end state")
            continue
        engine_end = entry.get("end")
        if not isinstance(engine_end, dict):
            problems.append(f"{where}: the manifest records no engine end state ('end'); cannot compare")
            continue
        problems += [f"{where}: {d}" for d in diff_end_states(engine_end, end_state_from_log(table, scenario))]
    return problems


# --------------------------------------------------------------------------- lineage (results.trace)

_TRACE_NAMES = frozenset({"Lineage", "Stage", "Step", "Wait", "lineage", "lineages"})


def __getattr__(name: str) -> Any:
    """``lineage``, ``lineages`` and their classes live in ``results.trace``; imported on first use."""
    if name in _TRACE_NAMES:
        from results import trace

        return getattr(trace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
