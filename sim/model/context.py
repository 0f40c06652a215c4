"""The run context: plain data compiled from the scenario, shared by every process.

Validation happens at the edge (``scenarios``); here the scenario becomes indexes, samplers and
small mutable objects (stations, carriers, lines) that the processes of ``sim.model`` drive. No
pydantic model is touched inside the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.errors import RunError
from scenarios.schema import Scenario
from sim.log import EventLog, Record
from sim.rng import Streams

if TYPE_CHECKING:
    from sim.model.handling import Station
    from sim.model.production import Line
    from sim.model.transport import Carrier

__all__ = ["Context", "ReqState"]


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


@dataclass
class Context:
    """Everything a process needs: the environment, the log, streams and the compiled plan."""

    env: simpy.Environment
    scenario: Scenario
    log: EventLog
    streams: Streams
    rec: Callable[[Record], None]
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
    progress: Callable[[float], None] | None
    stations: dict[int, Station] = field(default_factory=dict)
    carriers: dict[int, Carrier] = field(default_factory=dict)
    lines: dict[tuple[int, int], Line] = field(default_factory=dict)
    requirements: list[ReqState] = field(default_factory=list)
    budget_eur: dict[int, float] = field(default_factory=dict)
    earmarks: dict[int, frozenset[int] | None] = field(default_factory=dict)
    stock: dict[tuple[int, int], int] = field(default_factory=dict)
    # lot table (indexed by lot id)
    lot_qty: list[int] = field(default_factory=list)
    lot_req: list[int] = field(default_factory=list)
    lot_route: list[tuple[int, ...]] = field(default_factory=list)
    lot_hop: list[int] = field(default_factory=list)
    lot_priority: list[int] = field(default_factory=list)
    routes: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    funds_changed: simpy.Event | None = None
    future_tranches: int = 0
    pending: int = 0
    active_disruptions: int = 0
    counters: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> float:
        """Current simulated day."""
        return float(self.env.now)

    def count(self, key: str, by: float = 1) -> None:
        """Bump an end-of-run counter (the engine's own view, checked against the log)."""
        self.counters[key] = self.counters.get(key, 0) + by

    def over_budget(self) -> None:
        """Stop a runaway run: the event budget is exhausted."""
        raise RunError(f"event budget exhausted: more than {self.max_events} events by day {self.now:.2f}")

    def open_lots(self) -> int:
        """Lots produced and neither delivered nor lost."""
        return int(self.counters.get("lots_produced", 0) - self.counters.get("lots_done", 0))
