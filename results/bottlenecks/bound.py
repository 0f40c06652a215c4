"""Simulated deliveries against the static bounds of the network (horizon units and max-flow rate).

Bounds come in as plain data (any object with the attributes of :class:`BoundLike` or
:class:`HorizonBoundLike`, as ``network.capacity`` and ``network.horizon`` make them), so this
module stays on the ``results`` side of the import rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from results.bottlenecks.stats import Analysis, nan_mean
from results.compare import t_ci

__all__ = ["BoundLike", "BoundRow", "HorizonBoundLike", "throughput_vs_bound"]


class BoundLike(Protocol):
    """What :func:`throughput_vs_bound` reads of a bound (``network.capacity.Bound`` fits)."""

    @property
    def item(self) -> str:
        """Item id."""
        ...

    @property
    def units_per_day(self) -> float:
        """The max-flow bound (``math.inf`` if unbounded)."""
        ...

    @property
    def min_cut(self) -> tuple[str, ...]:
        """Resources of a minimum cut."""
        ...

    @property
    def by_resource(self) -> Mapping[str, float]:
        """Capacity of each cut resource, units per day."""
        ...


class HorizonBoundLike(Protocol):
    """What :func:`throughput_vs_bound` reads of a horizon bound (``network.horizon.HorizonBound`` fits)."""

    @property
    def item(self) -> str:
        """Item id."""
        ...

    @property
    def units(self) -> float:
        """Units deliverable by the horizon, initial stock counted (``math.inf`` if unbounded)."""
        ...

    @property
    def min_cut(self) -> tuple[str, ...]:
        """Resources of a minimum cut."""
        ...


@dataclass(frozen=True)
class BoundRow:
    """Simulated deliveries of an item against its static bounds.

    The bound that holds for a run is the **horizon bound**: ``horizon_units``, the units the
    item can deliver by the horizon with its suppliers' initial stock counted
    (``network.horizon``). ``units`` is the mean over replications of the units delivered,
    ``units_ci_low``/``units_ci_high`` its 95% t interval, ``units_ratio = units / horizon_units``;
    ``exceeds`` is True when the delivered units are significantly above the horizon bound (the
    interval's lower end above it; with one replication, above it by more than 1%) — the bound
    takes mean durations as the durations, so a run with random durations can pass it by chance.

    ``units_per_day`` (mean of :class:`Throughput` ``.units_per_day``, with its interval) against
    ``bound`` (``ratio``) compares the delivery rate over the active span with the max-flow *rate*
    bound from production: a long-run comparison only, since a run that ships initial stock
    can deliver faster than production for a while (NaN ``horizon_units`` when no horizon bound
    was given; then ``exceeds`` falls back to the rate).
    """

    item: str
    units_per_day: float
    ci_low: float
    ci_high: float
    units: float
    bound: float
    ratio: float
    min_cut: tuple[str, ...]
    by_resource: dict[str, float]
    exceeds: bool
    n: int
    horizon_units: float = math.nan
    units_ci_low: float = math.nan
    units_ci_high: float = math.nan
    units_ratio: float = math.nan
    horizon_cut: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (NaN/inf -> None) for JSON."""
        d = asdict(self)
        d["min_cut"] = list(self.min_cut)
        d["horizon_cut"] = list(self.horizon_cut)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def throughput_vs_bound(
    analyses: Sequence[Analysis], bounds: Iterable[BoundLike], horizon: Iterable[HorizonBoundLike] = ()
) -> list[BoundRow]:
    """Per bounded item: units delivered against the horizon bound, and the rate against the rate bound."""
    by_item = {h.item: h for h in horizon}
    out = []
    for b in bounds:
        rates = np.array([a.throughput[b.item].units_per_day for a in analyses if b.item in a.throughput])
        units = [float(a.throughput[b.item].units) for a in analyses if b.item in a.throughput]
        ok = rates[~np.isnan(rates)] if len(rates) else rates
        mean, lo, hi = t_ci(ok) if len(ok) else (math.nan, math.nan, math.nan)
        bound = float(b.units_per_day)
        ratio = mean / bound if bound > 0 and math.isfinite(bound) else math.nan
        if len(ok) > 1:
            exceeds = math.isfinite(bound) and lo > bound * (1 + 1e-9)
        else:
            exceeds = bool(len(ok)) and math.isfinite(bound) and mean > bound * 1.01
        h = by_item.get(b.item)
        h_units, u_lo, u_hi, u_ratio = math.nan, math.nan, math.nan, math.nan
        if h is not None:
            h_units = float(h.units)
            u_mean, u_lo, u_hi = t_ci(np.array(units)) if units else (math.nan, math.nan, math.nan)
            u_ratio = u_mean / h_units if h_units > 0 and math.isfinite(h_units) else math.nan
            if len(units) > 1:
                exceeds = math.isfinite(h_units) and u_lo > h_units * (1 + 1e-9)
            else:
                exceeds = bool(units) and math.isfinite(h_units) and u_mean > h_units * 1.01
        out.append(
            BoundRow(
                b.item,
                mean,
                lo,
                hi,
                nan_mean(units),
                bound,
                ratio,
                tuple(b.min_cut),
                {k: float(v) for k, v in b.by_resource.items()},
                exceeds,
                len(ok),
                h_units,
                u_lo,
                u_hi,
                u_ratio,
                tuple(h.min_cut) if h is not None else (),
            )
        )
    return out
