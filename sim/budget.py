"""The event budget: a SimPy environment that counts the events it processes and stops a runaway.

A scenario that the language accepts can still ask for a great many events, and a defect could
make a process loop in simulated time without end. Every replication therefore runs under an
*event budget*: a cap on the number of SimPy events (``Environment.step`` calls: timeouts,
process resumptions, lot hops...) one replication may process. Crossing it fails the run
with ``EventBudgetExceeded``, which says where the run was and how to raise the cap.

``BudgetedEnvironment.run`` is SimPy's ``Environment.run`` with the stepping loop done in
bounded chunks of at most ``CHUNK`` steps: the count is updated and checked once per chunk,
so the hot path pays nothing per event (no wrapper call, no counter per step), yet the budget
is exact: a run fails when, and only when, its ``budget + 1``-th event is processed.

The same chunk boundary is the engine's clock for housekeeping: ``on_chunk`` (when set) is
called after every chunk of steps — ``sim.run`` hands it ``EventLog.maybe_flush``, so the log
becomes Parquet row groups as the run goes, whatever the model does, at no cost per event.

``default_event_budget`` derives a generous budget from the size of a scenario (see there);
``sim.run.run`` applies it when the caller gives none (``--max-events`` overrides it).

Example:
    >>> env = BudgetedEnvironment(max_events=100)
    >>> def ticker(env):
    ...     while True:
    ...         yield env.timeout(1e-6)
    >>> _ = env.process(ticker(env))
    >>> try:
    ...     env.run(until=1.0)
    ... except EventBudgetExceeded as exc:
    ...     print(exc.max_events, env.events_processed, round(exc.day, 9))
    100 101 0.0001
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import URGENT, Event

from scenarios.errors import RunError
from scenarios.schema import DispatchScheduled, RandomDisruption, Scenario

__all__ = ["CHUNK", "BudgetedEnvironment", "EventBudgetExceeded", "default_event_budget"]

CHUNK = 8192
"""Most events processed between two checks of the budget."""

_BASE_EVENTS = 1_000_000
"""Floor of every default budget (engine events)."""
_EVENTS_PER_LOT_HOP = 100
"""Allowance per lot and per link it may cross (about 8 are used, see ``default_event_budget``)."""
_EVENTS_PER_ACTOR_DAY = 20
"""Allowance per simulated day for each node, link and daily process (clock, consumption)."""
_EVENTS_PER_CONVOY = 20
"""Allowance per departure slot of a ``scheduled`` link (one or two are used)."""
_EVENTS_PER_OUTAGE = 50
"""Allowance per expected outage of a random disruption (about four are used)."""


class EventBudgetExceeded(RunError):
    """A replication processed more engine events than its budget allows."""

    def __init__(self, max_events: int, day: float) -> None:
        self.max_events = max_events
        self.day = day
        super().__init__(
            f"event budget exceeded: more than {max_events:,} engine events by day {day:.6g} "
            "(a runaway, or a very large scenario: raise the budget with --max-events N, "
            "or max_events= in the Python API)"
        )


class BudgetedEnvironment(simpy.Environment):
    """A ``simpy.Environment`` whose ``run`` counts processed events and enforces a budget.

    Args:
        max_events: Most events one call sequence of ``run`` may process; None = no limit
            (the events are still counted).
        initial_time: Start time, as SimPy's.

    Attributes:
        events_processed: Events processed so far by ``run`` (the stop event of ``until`` is
            not counted: it is the caller's, not the model's).
        on_chunk: Called (with no argument) after every chunk of ``CHUNK`` steps, between two
            events; None = nothing. It must not schedule or process events.
    """

    def __init__(self, max_events: int | None = None, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.max_events = max_events
        self.events_processed = 0
        self.on_chunk: Callable[[], object] | None = None

    def run(self, until: float | Event | None = None) -> Any:
        """SimPy's ``run``, stepping in chunks and failing once the budget is exceeded.

        Raises:
            EventBudgetExceeded: the ``max_events + 1``-th event was processed.
        """
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)

        step = self.step
        budget = self.max_events
        i = -1
        try:
            while True:
                n = CHUNK if budget is None else max(1, min(CHUNK, budget - self.events_processed + 1))
                i = -1
                for i in range(n):  # noqa: B007 - ``i`` tells how far a chunk got when a step raises
                    step()
                self.events_processed += n
                i = -1  # the chunk is counted: a failing hook adds nothing
                if budget is not None and self.events_processed > budget:
                    raise EventBudgetExceeded(budget, float(self.now))
                hook = self.on_chunk
                if hook is not None:
                    hook()
        except StopSimulation as exc:
            self.events_processed += i  # the step that raised processed only the stop event
            return exc.args[0]
        except EmptySchedule:
            self.events_processed += i  # the step that raised found nothing to process
            if until is not None:
                raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') from None
            return None
        except EventBudgetExceeded:
            raise
        except BaseException:
            self.events_processed += i + 1  # the step that raised processed its event
            raise


def _pull_lots(s: Scenario) -> float:
    """Lots stock policies may order (issue 14): per policy, a day's order and the item's consumption in lots.

    Each (node, item) policy may order once a day, and its orders carry at most what the units
    consume of the item over the horizon (every unit's mean rate, ``sim.model.inventory``).
    """
    rate: dict[str, float] = {}
    for n in s.nodes:
        for item, c in getattr(n, "consumption", {}).items():
            rate[item] = rate.get(item, 0.0) + c.mean_rate() * max((p.factor for p in c.intensity), default=1.0)
        for item, r in getattr(n, "consumption_per_day", {}).items():
            rate[item] = rate.get(item, 0.0) + r
    lot_size = {i.id: i.lot_size for i in s.items}
    return sum(
        s.horizon_days * (1.0 + rate.get(item, 0.0) / lot_size.get(item, 1))
        for n in s.nodes
        for item in getattr(n, "stock_policies", {})
    )


def default_event_budget(scenario: Scenario) -> int:
    """A generous event budget for one replication of ``scenario`` (a resolved scenario).

    The engine processes about 8 events per lot and link crossed (queue, service, load, trip,
    return...), one per day for the run's clock and each consumption line, one or two per
    departure slot of a ``scheduled`` link and about four per outage. The default allows
    ten times that and more, so that only a runaway reaches it:

    ``1,000,000 + 100 * lots * (links + 2) + 20 * horizon_days * (nodes + links + consumption
    lines + 1) + 20 * sum over scheduled links of horizon_days / every_days + 50 * sum over
    random disruptions of the expected outages``

    where ``lots`` counts each requirement (each expected arrival of a requirement stream) as
    ``ceil(qty / lot_size)`` lots plus one per supplier (a split award may leave a partial lot
    at each), plus, per stock policy, ``horizon_days x (1 + consumption of its item / lot_size)``
    (``_pull_lots``), and consumption lines count both ``consumption_per_day`` and ``consumption``.

    Args:
        scenario: A validated scenario, its strategy already applied.

    Returns:
        The budget in engine events.

    Example:
        >>> from scenarios.load import load
        >>> default_event_budget(load("scenarios/small_routers.yaml")) > 1_000_000
        True
    """
    s = scenario
    horizon = s.horizon_days
    lot_size = {i.id: i.lot_size for i in s.items}
    suppliers = sum(1 for n in s.nodes if n.kind == "supplier")
    lots = sum(
        (-(-r.qty // lot_size.get(r.item, 1)) + suppliers) * r.expected_arrivals(s.start) for r in s.requirements
    )
    consumption = sum(len(getattr(n, "consumption_per_day", {})) + len(getattr(n, "consumption", {})) for n in s.nodes)
    lots += _pull_lots(s)
    actors = len(s.nodes) + len(s.links) + consumption + 1
    convoys = sum(horizon / lk.dispatch.every_days + 1 for lk in s.links if isinstance(lk.dispatch, DispatchScheduled))
    outages = sum(d.rate_per_year * horizon / 365.0 + 1 for d in s.disruptions if isinstance(d, RandomDisruption))
    total = (
        _BASE_EVENTS
        + _EVENTS_PER_LOT_HOP * lots * (len(s.links) + 2)
        + _EVENTS_PER_ACTOR_DAY * horizon * actors
        + _EVENTS_PER_CONVOY * convoys
        + _EVENTS_PER_OUTAGE * outages
    )
    return int(min(math.ceil(total), 2**62))
