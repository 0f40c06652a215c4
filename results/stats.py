"""Intervals that stay within the range of what they measure: KPI domains, t and Wilson intervals.

A KPI's *kind* (fraction, count, days, money, level, real) says how it is printed
(``results.fmt``) and its *domain* where its values can lie: a share is in [0, 1], a count
or a lead time is never negative. Both are decided by the KPI's name, in one table
(``kpi_domain``). Intervals of the mean across replications:

- a fraction whose every replication is 0 or 1 (a share of replications, "met in k of n")
  gets the Wilson score interval, which lies in [0, 1] by construction and is not
  degenerate when k = 0 or k = n;
- otherwise Student's t interval ``mean ± t(1 - α/2, n - 1) · s / √n``, with its bounds
  clipped to the domain (``clipped`` says so, for a marker and a footnote);
- a paired difference of two fractions lies in [-1, 1] (``difference_domain``); other
  differences may have either sign and are not clipped.

Example:
    >>> ci = kpi_interval("otif", [1.0, 1.0, 1.0, 0.0])
    >>> ci.method, round(ci.low, 4), round(ci.high, 4)
    ('wilson', 0.3006, 0.9544)
    >>> kpi_interval("units_lost", [0.0, 0.0, 3.0]).low
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "FRACTION",
    "Domain",
    "Interval",
    "clip",
    "difference_domain",
    "kpi_domain",
    "kpi_interval",
    "t_interval",
    "wilson_interval",
]

FRACTION, COUNT, DAYS, MONEY, LEVEL, REAL = "fraction", "count", "days", "money", "level", "real"
_INF = math.inf


@dataclass(frozen=True)
class Domain:
    """How a KPI prints (``kind``) and the closed range ``[low, high]`` its values lie in."""

    kind: str
    low: float = -_INF
    high: float = _INF


_SHARE = Domain(FRACTION, 0.0, 1.0)
_COUNT = Domain(COUNT, 0.0)
_DAYS = Domain(DAYS, 0.0)
_MONEY = Domain(MONEY, 0.0)
_LEVEL = Domain(LEVEL, 0.0)

# The one table of KPI domains (names from results.kpis.KPI_NAMES and results.costs): an exact
# name first, then the first matching prefix, then the first matching suffix. A suffix alone
# decides only how a value prints: its domain stays open (a new "*_days" KPI may be a signed
# lateness), so nothing is clipped that is not known to be bounded.
_EXACT: dict[str, Domain] = {
    "otif": _SHARE,
    "fill_rate": _SHARE,
    "utilisation": _SHARE,
    "pledge_on_time_share": _SHARE,
    "stockout_days": _COUNT,
    "lateness_unit_days": _COUNT,  # unit-days, printed as a count, never negative
    "trips": _COUNT,
    "tenders": _COUNT,
    "queue_max": _COUNT,
    "wip_max_lots": _COUNT,
    "queue_mean": _LEVEL,
    "wip_mean_lots": _LEVEL,
    "busy_mean": _LEVEL,
    "capacity": _LEVEL,
    "last_delivery_day": _DAYS,
    "wait_mean_days": _DAYS,
    "wait_max_days": _DAYS,
    "sojourn_mean_days": _DAYS,
    "transit_mean_days": _DAYS,
    "demand_fill_rate": _SHARE,  # inventory (results.kpis.inventory)
    "ready_rate": _SHARE,
    "stockout_node_days": _COUNT,
    "orders_placed": _COUNT,
    "orders_received": _COUNT,
    "on_hand_mean_units": _LEVEL,
    "backorders_mean_units": _LEVEL,
    "backorders_max_units": _COUNT,
}
_PREFIX: tuple[tuple[str, Domain], ...] = (
    ("stage_share_", _SHARE),
    ("stage_mean_days_", _DAYS),
    ("lead_time_", _DAYS),
    ("units_", _COUNT),
    ("lots_", _COUNT),
    ("requirements_", _COUNT),
    ("pledged_units", _COUNT),
    ("delivered_", _COUNT),
    ("throughput_", _COUNT),
    ("arrivals_", _COUNT),
    ("lost_", _COUNT),
    ("eur_", _MONEY),
    ("budget_", _MONEY),
    ("contract_value_eur", _MONEY),
    ("agency_fees_eur", _MONEY),
    ("transport_cost_eur", _MONEY),
    ("total_cost_eur", _MONEY),
    ("cost_per_delivered_unit_eur", _MONEY),
)
_SUFFIX: tuple[tuple[str, Domain], ...] = (
    ("_share", Domain(FRACTION)),
    ("_eur", Domain(MONEY)),
    ("_days", Domain(DAYS)),
    ("_day", Domain(DAYS)),
    ("_units", Domain(COUNT)),
    ("_lots", Domain(COUNT)),
)


def kpi_domain(kpi: str) -> Domain:
    """The kind and range of ``kpi``, by its name (``Domain("real")`` when unknown).

    Example:
        >>> kpi_domain("stage_share_transit")
        Domain(kind='fraction', low=0.0, high=1.0)
        >>> kpi_domain("total_cost_eur_agency").kind
        'money'
    """
    if kpi in _EXACT:
        return _EXACT[kpi]
    for prefix, dom in _PREFIX:
        if kpi.startswith(prefix):
            return dom
    for suffix, dom in _SUFFIX:
        if kpi.endswith(suffix):
            return dom
    return Domain(REAL)


def difference_domain(kpi: str) -> Domain:
    """The range of a difference of two values of ``kpi``: [-1, 1] for a fraction, else open."""
    dom = kpi_domain(kpi)
    if dom.kind == FRACTION and dom.low == 0.0 and dom.high == 1.0:
        return Domain(FRACTION, -1.0, 1.0)
    return Domain(dom.kind)


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval (bounds None when there is none, e.g. n < 2).

    ``method`` is ``"t"`` or ``"wilson"`` (empty without bounds); ``clipped`` is True when a
    bound of the t interval was moved to the edge of the KPI's domain.
    """

    mean: float | None
    std: float | None
    n: int
    low: float | None
    high: float | None
    method: str = ""
    clipped: bool = False


def t_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student's t interval ``mean ± t(1 - α/2, n - 1) · s / √n`` (NaN when undefined).

    Example:
        >>> [round(x, 3) for x in t_interval([1.0, 2.0, 3.0])]
        [2.0, -0.484, 4.484]
    """
    arr = np.asarray(values, dtype=np.float64)
    n = len(arr)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if n < 2:
        return mean, math.nan, math.nan
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats costs seconds to import

    half = float(stdtrit(n - 1, 0.5 + level / 2)) * float(arr.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def wilson_interval(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k`` of ``n`` (Wilson 1927), inside [0, 1].

    ``(p + z²/2n ± z·√(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = k/n`` and ``z`` the
    normal quantile of ``1 - α/2``.

    Example:
        >>> [round(x, 4) for x in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    if n <= 0:
        raise ValueError("wilson_interval: n must be positive")
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval: k must be in [0, n] (got k={k}, n={n})")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def clip(low: float, high: float, mean: float, dom: Domain) -> tuple[float, float, bool]:
    """``[low, high]`` clipped to ``dom``, and whether a bound moved.

    A bound is moved only when the mean itself lies in the domain: a mean outside it means
    the domain table is wrong for this KPI, and the interval is then left as computed.
    """
    if math.isnan(low) or math.isnan(high) or not dom.low <= mean <= dom.high:
        return low, high, False
    lo, hi = max(low, dom.low), min(high, dom.high)
    return lo, hi, (lo, hi) != (low, high)


def kpi_interval(kpi: str, values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean, sample std and confidence interval of ``values`` (finite), within ``kpi``'s domain."""
    n = len(values)
    if n == 0:
        return Interval(None, None, 0, None, None)
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    if n < 2:
        return Interval(mean, None, n, None, None)
    std = float(arr.std(ddof=1))
    dom = kpi_domain(kpi)
    if dom.kind == FRACTION and dom.low == 0.0 and dom.high == 1.0 and bool(np.all((arr == 0.0) | (arr == 1.0))):
        lo, hi = wilson_interval(float(arr.sum()), n, level)
        return Interval(mean, std, n, lo, hi, "wilson")
    _, lo, hi = t_interval(arr, level)
    lo, hi, clipped = clip(lo, hi, mean, dom)
    return Interval(mean, std, n, lo, hi, "t", clipped)
