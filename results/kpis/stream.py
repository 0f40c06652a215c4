"""Every KPI of one replication from its event log fed in chunks (record batches, tables, arrays).

``KpiStream`` is the one implementation of ``results.kpis.compute_kpis``: a whole table is fed
as one chunk, a Parquet part batch by batch (``results.kpis.kpi_table_of_part``), and both
give the same numbers. Memory is bounded by the chunk size plus a few numbers per lot,
per requirement and per lot in flight (``results.kpis.levels``).

Chunks are cut at instants: the rows of a chunk's last instant are held back and fed with
the next chunk, so that changes at one instant are seen together (the maximum of a level
counts its value after the instant; tenders are distinct within an instant).

Example:
    >>> from scenarios.load import load
    >>> from sim.run import run
    >>> s = load("scenarios/small_routers.yaml")
    >>> log, result = run(s)
    >>> ks = KpiStream(s, end=result.end_day)
    >>> for batch in log.table().to_batches(max_chunksize=100):
    ...     ks.feed(batch)
    >>> ks.finish()[("units_delivered", None, None, None)] == result.counters["units_delivered"]
    True
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from results.costs import CostKpis
from results.kpis.arrays import CodePool, EventArrays, concat_arrays, event_arrays, scenario_pools, slice_arrays
from results.kpis.flow import LinkFlow, NodeFlow, loaded_arrived
from results.kpis.inventory import InventoryKpis
from results.kpis.lead import Counters, ItemUnits, LeadTimes
from results.kpis.levels import Pairs
from scenarios.schema import Scenario

__all__ = ["KpiKey", "KpiStream", "LeadStream"]

KpiKey = tuple[str, str | None, str | None, str | None]
"""``(kpi, item, node, link)``."""


def _nan_to_none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


class _Chunker:
    """Cuts chunks at instants: the rows of each chunk's last instant wait for the next chunk."""

    def __init__(self, pools: tuple[CodePool, CodePool, CodePool]) -> None:
        self.pools = pools
        self.held: EventArrays | None = None
        self.last_t = -math.inf

    def arrays(self, chunk: pa.RecordBatch | pa.Table | EventArrays) -> EventArrays:
        return chunk if isinstance(chunk, EventArrays) else event_arrays(chunk, pools=self.pools)

    def cut(self, ev: EventArrays) -> list[EventArrays]:
        """The rows ready to count, as chunks of whole instants; the last instant is held.

        The held rows and the rows of the same instant at the head of ``ev`` make one small
        chunk, so that ``ev`` itself is counted through views, never copied.
        """
        if len(ev) == 0:
            return []
        if ev.t[0] < self.last_t:
            raise ValueError(f"event rows out of time order across chunks (day {ev.t[0]} after day {self.last_t})")
        self.last_t = float(ev.t[-1])
        ready: list[EventArrays] = []
        head = 0
        if self.held is not None:
            head = int(np.searchsorted(ev.t, self.held.t[-1], side="right"))  # rows of the held instant
            joined = concat_arrays(self.held, slice_arrays(ev, 0, head))
            self.held = None
            if head == len(ev):
                self.held = joined
                return []
            ready.append(joined)
        tail = int(np.searchsorted(ev.t, ev.t[-1], side="left"))  # first row of the last instant
        if tail > head:
            ready.append(slice_arrays(ev, head, tail))
        self.held = slice_arrays(ev, tail, len(ev))
        return ready

    def rest(self) -> EventArrays | None:
        held, self.held = self.held, None
        return held


class KpiStream:
    """Accumulates one replication's KPIs over chunks of its event log (rows in ``seq`` order).

    Args:
        scenario: The resolved scenario the replication ran (capacities, channels, kinds).
        end: End of the observation window, in days (``RunResult.end_day``); by default the
            scenario horizon, or the last event's day if later.
        pools: Item, node and link code pools (seeded with the scenario's ids by default);
            chunks given as ``EventArrays`` must use codes of these pools.
    """

    def __init__(
        self, scenario: Scenario, end: float | None = None, pools: tuple[CodePool, CodePool, CodePool] | None = None
    ) -> None:
        self.s = scenario
        self.end = None if end is None else float(end)
        self.pools = pools if pools is not None else scenario_pools(scenario)
        self._chunker = _Chunker(self.pools)
        self.counters = Counters()
        self.lead = LeadTimes()
        self.items = ItemUnits()
        self.nodes = NodeFlow(scenario, self.end)
        self.links = LinkFlow(scenario, self.end)
        self.costs = CostKpis(scenario)
        self.inventory = InventoryKpis(scenario, self.end)
        self.last_t: float | None = None

    def feed(self, chunk: pa.RecordBatch | pa.Table | EventArrays) -> None:
        """Count the next rows of the log (a record batch, a table or ``EventArrays``)."""
        for ready in self._chunker.cut(self._chunker.arrays(chunk)):
            self._add(ready)

    def _add(self, ev: EventArrays) -> None:
        self.last_t = float(ev.t[-1])
        self.counters.add(ev)
        arrived_lots, transit_days = self.links.add(ev)
        self.lead.add(ev, arrived_lots, transit_days)
        self.items.add(ev)
        self.nodes.add(ev)
        self.costs.add(ev)
        self.inventory.add(ev)

    def finish(self, end: float | None = None) -> dict[KpiKey, float | None]:
        """Every KPI, keyed by ``(kpi, item, node, link)`` (see ``results.kpis.compute_kpis``).

        Args:
            end: The end of the window when it was not known at the start (a log fed while
                its run goes: ``RunResult.end_day``); the same numbers as ``end`` given to the
                constructor, since no row may be later than it.

        Raises:
            ValueError: ``end`` differs from the constructor's, or a row is later than it.
        """
        rest = self._chunker.rest()
        if rest is not None:
            self._add(rest)
        if end is not None:
            if self.end is not None and float(end) != self.end:
                raise ValueError(f"end {end} given to finish, {self.end} to the constructor")
            if self._chunker.last_t > end:
                raise ValueError(f"a row at day {self._chunker.last_t} is later than the end, day {end}")
        s = self.s
        last = self.last_t if self.last_t is not None else 0.0
        T = float(end) if end is not None else self.end if self.end is not None else max(s.horizon_days, last)
        items, nodes, links = (list(p.names) for p in self.pools)
        out: dict[KpiKey, float | None] = {}

        def put(
            kpi: str, value: float | None, item: str | None = None, node: str | None = None, link: str | None = None
        ) -> None:
            out[(kpi, item, node, link)] = None if value is None else _nan_to_none(float(value))

        for key, val in self.counters.result().items():
            put(key, val)
        self.items.item_kpis(self.lead, items, s, put, T)
        self.items.unit_kpis(items, nodes, s, put)
        self.nodes.result(nodes, T, put)
        self.links.result(links, T, put)
        self.costs.result(items, put)
        self.inventory.result(T, items, nodes, put)
        return out


class LeadStream:
    """Only the lead times of delivered lots (``results.kpis.lot_lead_times``), fed chunk by chunk.

    Args:
        pools: Item, node and link code pools (empty: codes in order of appearance).
    """

    def __init__(self, pools: tuple[CodePool, CodePool, CodePool] | None = None) -> None:
        self.pools = pools if pools is not None else scenario_pools(None)
        self._chunker = _Chunker(self.pools)
        self.transit = Pairs()
        self.lead = LeadTimes()

    def feed(self, chunk: pa.RecordBatch | pa.Table | EventArrays) -> None:
        """Count the next rows of the log."""
        for ready in self._chunker.cut(self._chunker.arrays(chunk)):
            self._add(ready)

    def _add(self, ev: EventArrays) -> None:
        ar, transit_days = loaded_arrived(self.transit, ev)
        self.lead.add(ev, ev.lot[ar], transit_days)

    def finish(self) -> dict[str, np.ndarray]:
        """Per delivered lot: ids and stage days (``results.kpis.lead.LeadTimes.result``)."""
        rest = self._chunker.rest()
        if rest is not None:
            self._add(rest)
        return self.lead.result()
