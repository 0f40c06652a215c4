"""The run context: plain data compiled from the scenario, shared by every process.

Validation happens at the edge (``scenarios``); here the scenario becomes indexes, samplers and
small mutable objects (stations, carriers, lines) that the processes of ``sim.model`` drive. No
pydantic model is touched inside the event loop.

Two small classes carry the hot path:

``Lot``
    one moving lot, and the SimPy event that moves it: re-armed for each service and each
    trip it makes alone (see the class).
``Rearm``
    a reusable SimPy event for long-lived things (a vehicle carrying several lots, a link's
    dispatch "kick", a wake-up): a ``simpy.Timeout`` subclass built once by SimPy's own
    ``Timeout`` constructor and re-armed for every later use with the public
    ``env.schedule(event, NORMAL, delay)`` after setting its ``callbacks``.

Both are only re-armed after they fired, and nobody yields them, so a callback list can be
reused. ``tests/sim/test_lot_event.py`` pins the SimPy behaviour this relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.schema import Scenario
from sim.log import EventLog
from sim.model.req_table import Requirements
from sim.rng import Streams

if TYPE_CHECKING:
    from sim.model.handling import Station
    from sim.model.production import Line
    from sim.model.transport import Carrier

__all__ = ["Context", "HOT_COUNTERS", "Lot", "Rearm", "ReqState"]

HOT_COUNTERS = ("lots_produced", "units_produced", "lots_done", "units_delivered", "units_lost")
"""Counters kept as plain ints on the context (bumped per lot); the rest live in ``counters``."""


class Lot(simpy.Event):
    """One lot on its way — and the SimPy event that carries it.

    A lot is one small ``simpy.Event`` subclass re-armed for each hop: a station schedules it
    for the end of its service, a vehicle carrying it alone for the end of its trip, each time
    by setting ``callbacks`` and calling ``env.schedule(lot, NORMAL, delay)``. Like SimPy's own
    ``Timeout``, it is an event that always succeeds: the two attributes ``Environment.step``
    and ``Process`` read (``_ok``, ``_value``) are class constants here, so nothing is set
    per hop and nothing is allocated per hop. Nobody yields a lot, so a carrier or station can
    hand every lot the same callback list. ``tests/sim/test_lot_event.py`` pins this contract
    with SimPy.

    ``route`` is the lot's carriers, ``hop`` the index of the next one; ``vehicle`` and
    ``lost`` describe its current trip when it travels alone.
    """

    __slots__ = ("callbacks", "env", "hop", "id", "item", "lost", "prio", "qty", "req", "route", "vehicle", "vol")

    _ok = True
    _value = None

    def __init__(
        self,
        env: simpy.Environment,
        id: int,
        item: int,
        qty: int,
        req: int,
        prio: int,
        vol: float,
        route: tuple[Carrier, ...],
    ) -> None:
        self.env = env
        self.callbacks = None  # type: ignore[assignment]
        self.id = id
        self.item = item
        self.qty = qty
        self.req = req
        self.prio = prio
        self.vol = vol
        self.route = route
        self.hop = 0
        self.vehicle = -1
        self.lost = False

    def __repr__(self) -> str:
        return f"Lot({self.id}, qty={self.qty}, req={self.req}, hop={self.hop})"


class Rearm(simpy.Timeout):
    """A reusable event: built (and first scheduled) by ``simpy.Timeout``, re-armed with ``env.schedule``.

    Attributes:
        cbs: the callback list handed back to ``callbacks`` at each re-arm.
    """

    def __init__(self, env: simpy.Environment, delay: float, callback: Callable[[Any], None]) -> None:
        self.cbs = [callback]
        super().__init__(env, delay)
        self.callbacks = self.cbs


@dataclass(slots=True)
class ReqState:
    """Mutable progress of one requirement."""

    index: int
    id: str
    unit: int
    item: int
    qty: int
    priority: int
    channel: str
    need_by_day: float
    ordered: int = 0
    delivered: int = 0
    lost: int = 0
    opened: bool = False
    funded: bool = False
    closed: bool = False
    waiting_funds: bool = False
    funders: tuple[int, ...] = ()
    paid: dict[int, float] | None = None
    """EUR committed to it per donor, net of releases (``sim.model.money``); None until funded."""
    spent_eur: float = 0.0
    """Contract value plus fees of its contracts so far."""


@dataclass
class Context:
    """Everything a process needs: the environment, the log, streams and the compiled plan."""

    env: simpy.Environment
    scenario: Scenario
    log: EventLog
    streams: Streams
    rec: Callable[[tuple[float, int, int, int]], None]
    """``log.records.extend``: append one hot record ``(t, code, a, b)``."""
    item_ids: list[str]
    node_ids: list[str]
    link_ids: list[str]
    item_index: dict[str, int]
    node_index: dict[str, int]
    link_index: dict[str, int]
    lot_size: list[int]
    unit_volume_m3: list[float]
    item_priority: list[int]
    unit_value_eur: list[float]
    priority_queues: bool
    max_events: int | None
    """The event budget (enforced by ``sim.budget.BudgetedEnvironment``); None = unlimited."""
    progress: Callable[[float], None] | None
    stations: dict[int, Station] = field(default_factory=dict)
    carriers: dict[int, Carrier] = field(default_factory=dict)
    lines: dict[tuple[int, int], Line] = field(default_factory=dict)
    requirements: Requirements = field(default_factory=Requirements)
    """Requirement records by index; closed opened ones are freed (``sim.model.req_table``)."""
    budget_eur: dict[int, float] = field(default_factory=dict)
    earmarks: dict[int, frozenset[int] | None] = field(default_factory=dict)
    unlimited: frozenset[int] = frozenset()
    """Donors whose budget has no limit (an unlimited state budget): their ``budget_eur`` goes negative."""
    price_breaks: dict[tuple[int, int], tuple[tuple[int, float], ...]] = field(default_factory=dict)
    """(supplier, item) -> ((min_qty, unit price), ...) by increasing min_qty."""
    stock: dict[tuple[int, int], int] = field(default_factory=dict)
    routes: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    route_carriers: dict[tuple[int, int], tuple[Carrier, ...]] = field(default_factory=dict)
    route_table: tuple[tuple[str, ...], ...] = ()
    """Route id -> link ids under ``on_departure`` routing (``sim.model.routing``); empty under ``static``."""
    funds_changed: simpy.Event | None = None
    future_tranches: int = 0
    pending: int = 0
    """Scheduled work other than services, trips and returns (those are counted from stations and carriers)."""
    active_disruptions: int = 0
    counters: dict[str, Any] = field(default_factory=dict)
    lots_produced: int = 0
    units_produced: int = 0
    lots_done: int = 0
    units_delivered: int = 0
    units_lost: int = 0

    @property
    def now(self) -> float:
        """Current simulated day."""
        return float(self.env.now)

    def put(self, code: int, lot: int, qty: int, vehicle: int, ref: int, value: float) -> None:
        """Append one cold row (``log.code(...)``) at the current time."""
        self.log.put(self.env.now, code, lot, qty, vehicle, ref, value)

    def count(self, key: str, by: float = 1) -> None:
        """Bump an end-of-run counter (the engine's own view, checked against the log)."""
        self.counters[key] = self.counters.get(key, 0) + by

    def all_counters(self) -> dict[str, Any]:
        """Every counter bumped at least once, by name."""
        out = dict(self.counters)
        for key in HOT_COUNTERS:
            v = getattr(self, key)
            if v:
                out[key] = v
        return dict(sorted(out.items()))

    def busy_work(self) -> int:
        """Lots being made, services, trips and vehicle returns under way (scheduled work that may move lots)."""
        n = 0
        for st in self.stations.values():
            n += st.busy
        for c in self.carriers.values():
            n += c.away_count()
        for ln in self.lines.values():
            n += ln.making
        return n

    def open_lots(self) -> int:
        """Lots produced or issued from a depot's stock and neither delivered, lost nor taken into a depot's stock."""
        c = self.counters
        return self.lots_produced + c.get("lots_issued", 0) - self.lots_done - c.get("lots_stocked", 0)
