"""What the bottleneck analysis measures: per resource, per item, and for one replication.

The records (:class:`ResourceStats`, :class:`Throughput`, :class:`Analysis`) and the order that
ranks resources (bottleneck share, then utilisation: :func:`rank_key`), shared by the analysis
of one replication (``results.bottlenecks.analysis``) and the ranking across replications
(``results.bottlenecks.ranking``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from results.bottlenecks.momentary import Segment
from results.bottlenecks.resources import Resource
from sim.events import REROUTED

if TYPE_CHECKING:
    from results.kpis.arrays import EventArrays

__all__ = [
    "MIN_SHARE",
    "Analysis",
    "ResourceStats",
    "Throughput",
    "add_diverted",
    "nan_mean",
    "rank_key",
    "top_index",
]

MIN_SHARE = 0.01
"""Bottleneck shares below this fraction of the time rank as 0 (by utilisation only)."""


@dataclass(frozen=True)
class Throughput:
    """Deliveries of one item in one replication.

    Attributes:
        item: Item id.
        units: Units delivered.
        first_day: Day of the first delivery (NaN if none).
        last_day: Day of the last delivery (NaN if none).
        units_per_day: Units delivered after the first delivery instant per day from the
            first to the last delivery (NaN with fewer than two delivery instants).
    """

    item: str
    units: int
    first_day: float
    last_day: float
    units_per_day: float


@dataclass(frozen=True)
class ResourceStats:
    """One resource in one replication (see the module docstring for each measure).

    Shares are fractions: of time over ``[0, end]`` (``active_share``, ``sole_share``,
    ``shifting_share``) or of the lead time of delivered units (``lead_time_share``). NaN where
    undefined (a mean wait with no wait, a lead-time share with nothing delivered).
    """

    resource: Resource
    utilisation: float
    queue_mean: float
    wait_mean_days: float
    lead_time_share: float
    active_share: float
    sole_share: float
    shifting_share: float

    @property
    def bottleneck_share(self) -> float:
        """``sole_share + shifting_share``: the ranking key."""
        return self.sole_share + self.shifting_share


@dataclass(frozen=True)
class Analysis:
    """The bottleneck analysis of one replication (``analyse``)."""

    end: float
    rule: str
    stats: tuple[ResourceStats, ...]
    timeline: tuple[Segment, ...]
    periods: Mapping[str, np.ndarray] = field(repr=False)
    momentary: tuple[tuple[float, float, str, float, float], ...] = field(repr=False)
    throughput: Mapping[str, Throughput] = field(repr=False)
    diverted: Mapping[str, int] = field(default_factory=dict)
    """Lots diverted (``rerouted`` rows, routing ``on_departure``): ``node:<id>`` where they
    decided and ``link:<id>`` the link they took instead, in first-seen order; empty without any.
    A diversion moves load from the resources of the old route to those of the new one, so the
    active periods (and with them the momentary bottleneck) move with it."""

    def stat(self, name: str) -> ResourceStats:
        """The stats of resource ``name`` (KeyError if unknown)."""
        for s in self.stats:
            if s.resource.name == name:
                return s
        raise KeyError(name)

    @property
    def top(self) -> str | None:
        """The rank-1 resource (None when the scenario has no resource)."""
        k = top_index(self.stats)
        return self.stats[k].resource.name if k is not None else None


def add_diverted(counts: dict[str, int], ev: EventArrays) -> None:
    """Add the ``rerouted`` rows of ``ev`` to ``counts`` (``node:<id>`` and ``link:<id>``; see ``Analysis.diverted``)."""
    rows = np.flatnonzero(ev.kind == REROUTED)
    for n, lk in zip(ev.node[rows].tolist(), ev.link[rows].tolist(), strict=True):
        for key in (f"node:{ev.nodes[n]}" if n >= 0 else None, f"link:{ev.links[lk]}" if lk >= 0 else None):
            if key is not None:
                counts[key] = counts.get(key, 0) + 1


def rank_key(s: ResourceStats, pos: int, min_share: float) -> tuple[float, float, int]:
    """Sort key of a resource at position ``pos``: bottleneck share (0 below ``min_share``), utilisation, position."""
    u = s.utilisation if not math.isnan(s.utilisation) else -1.0
    share = s.bottleneck_share if s.bottleneck_share >= min_share else 0.0
    return (-round(share, 12), -u, pos)


def top_index(stats: Sequence[ResourceStats], min_share: float = MIN_SHARE) -> int | None:
    """Position of the resource that ranks first among ``stats`` (None if there is none)."""
    return min(range(len(stats)), key=lambda k: rank_key(stats[k], k, min_share), default=None)


def nan_mean(values: Iterable[float]) -> float:
    """The mean of the values that are not NaN (NaN if none)."""
    v = [x for x in values if not math.isnan(x)]
    return math.fsum(v) / len(v) if v else math.nan
