"""The state of the supply chain at one instant, as the replay of the event log rebuilds it.

Plain data classes: per node (queue, work in progress, tenders, backlog), per vehicle, per lot
in the network, per requirement and per contract, and ``State`` that holds them all with the
stock, budgets and disruptions in force. ``State.end_state`` gives the structure of the
engine's ``sim.run.end_state(ctx)``, which ``results.replay.verify`` compares with.
``ReplayError`` is what every part of the replay raises when a question cannot be answered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from scenarios.errors import AidflowError
from scenarios.schema import due_day

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = [
    "HANDLING_KINDS",
    "ContractState",
    "LotState",
    "NodeState",
    "ReplayError",
    "RequirementState",
    "State",
    "VehicleState",
]

HANDLING_KINDS = ("hub", "border", "depot")
"""Node kinds that are handling stations (queue and servers)."""


class ReplayError(AidflowError):
    """A replay or lineage cannot be answered (bad time, unknown lot or requirement, mixed parts)."""


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
        diverted: Lots diverted so far (``rerouted`` rows, routing ``on_departure``) per node
            where they decided; ``diverted_to`` the same per new next link. Empty without any.
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
    diverted: dict[str, int] = field(default_factory=dict)
    diverted_to: dict[str, int] = field(default_factory=dict)

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
        """Plain JSON-able data (lot keys become strings; ``diverted`` only when some lot was diverted)."""
        out = asdict(self)
        out["lots"] = {str(k): v for k, v in out["lots"].items()}
        if not self.diverted:  # a run without diversions (every static run) reads as before
            del out["diverted"], out["diverted_to"]
        for ns, d in zip(self.nodes.values(), out["nodes"].values(), strict=True):
            d["wip"] = ns.wip
        return out
