"""Random consumption per (unit, item): the demand of each period, drawn from its own stream.

``demand_draw`` compiles a ``scenarios.schema_inventory.Consumption`` into a function of the
draw's day returning whole units: the mean of a period is ``mean_per_day x every_days x
factor``, the factor being the intensity in force at the start of the period. Poisson and
negative binomial draws are whole; truncated normal, empirical and fixed draws are real and
their fractions are carried over to the next period (as ``consumption_per_day`` does), so the
long-run consumption has the stated mean.

The numbers come from the ``consumption`` stream of ``sim.rng`` with resource ``unit x
len(items) + item``: adding a policy or a strategy elsewhere does not shift them (common random
numbers).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from scenarios.errors import RunError

if TYPE_CHECKING:
    from scenarios.schema_inventory import Consumption

__all__ = ["Draw", "demand_draw", "intensity_at"]

Draw = Callable[[float], int]
"""Demand (units) of the period starting at the given day."""


def intensity_at(days: list[float], factors: list[float], day: float) -> float:
    """The intensity factor in force at ``day``: the last point at or before it, 1 before the first.

    Example:
        >>> intensity_at([10.0, 20.0], [2.0, 0.5], 15.0)
        2.0
        >>> intensity_at([10.0], [2.0], 3.0)
        1.0
    """
    k = bisect.bisect_right(days, day + 1e-9)
    return factors[k - 1] if k else 1.0


def demand_draw(gen: np.random.Generator, spec: Consumption, intensity: list[tuple[float, float]]) -> Draw:
    """The demand sampler of ``spec`` on ``gen``; ``intensity`` is ``(day, factor)`` by increasing day.

    Args:
        gen: The (unit, item)'s generator on the ``consumption`` stream.
        spec: The consumption.
        intensity: The profile in days from the scenario start.

    Returns:
        A function of the period's start day giving the period's demand in whole units.
    """
    days = [d for d, _ in intensity]
    factors = [f for _, f in intensity]
    every = float(spec.every_days)
    dist = spec.dist
    base = spec.mean_rate() * every
    owed = [0.0]

    def mean(day: float) -> float:
        return base * (intensity_at(days, factors, day) if days else 1.0)

    def carry(x: float) -> int:
        if not math.isfinite(x) or x < 0:
            raise RunError(f"consumption draw {x!r} is not a finite demand >= 0")
        owed[0] += x
        d = math.floor(owed[0] + 1e-9)
        owed[0] -= d
        return d

    if dist == "poisson":
        return lambda day: int(gen.poisson(mean(day)))
    if dist == "negative_binomial":
        k = float(spec.dispersion or 1.0)

        def nb(day: float) -> int:
            m = mean(day)
            return int(gen.negative_binomial(k, k / (k + m))) if m > 0 else 0

        return nb
    if dist == "truncated_normal":
        cv = float(spec.cv or 0.0)

        def tn(day: float) -> int:
            m = mean(day)
            if m <= 0:
                return carry(0.0)
            x = gen.normal(m, cv * m)
            while x < 0:  # truncated at 0: redraw
                x = gen.normal(m, cv * m)
            return carry(float(x))

        return tn
    if dist == "empirical":
        values = np.asarray(spec.values, dtype=np.float64)
        p = None if spec.weights is None else np.asarray(spec.weights) / math.fsum(spec.weights)

        def emp(day: float) -> int:
            f = intensity_at(days, factors, day) if days else 1.0
            return carry(float(gen.choice(values, p=p)) * every * f)

        return emp
    return lambda day: carry(mean(day))
