"""Lead times with the undelivered units counted, and lateness that cannot be won by not delivering.

The lead-time KPIs of ``results.kpis.lead`` describe the units that were delivered: a strategy
that delivers less can look faster. The KPIs here count every *required* unit of the opened
requirements (issue 17 item 1):

- Kaplan–Meier (product-limit) lead-time percentiles ``lead_time_km_p{50,90}_days``, unit
  weighted. A delivered unit is an event at its lead time (requirement opened -> lot
  delivered). A required unit not delivered by the end of the run ``T`` is *censored* at
  ``T - opened``: all that is known is that its lead time is longer. A unit *lost* (in
  transit or destroyed at a node) is never delivered: the engine closes its requirement with
  delivered + lost = ordered and orders no replacement, so it stays at risk for ever (censored
  at +inf) and the curve's plateau stays below 1 by the lost share. Counting lost units as
  censored at the horizon would assume they would have arrived like the rest, so losing units
  would again flatter a strategy. At a tie, events come before censorings (a unit censored at
  ``t`` is still at risk at ``t``). With nothing censored the curve is the empirical one and
  the percentiles equal ``lead_time_p{50,90}_days``. A percentile is None where the curve never
  reaches its level: that share of the required units was not delivered within the run.
- ``units_undelivered``: required units not delivered by the end (lost units included).
- ``units_late``: required units not delivered by the end of their need-by date
  (``scenarios.schema.due_day``); undelivered units count as late (need-by dates lie in the
  horizon, so a unit undelivered at the end has missed its date, or is due at the very end).
- ``lateness_unit_days``: the sum over required units of ``max(0, delivered_or_end - due)``;
  an undelivered unit is late until the end of the run.

Example:
    >>> km_quantiles(np.array([1.0, 2.0]), np.array([1, 1]), np.array([np.inf]), np.array([2]), (0.5, 0.9))
    [2.0, nan]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Fulfilment", "fulfilment", "km_curve", "km_quantiles"]

_TOLERANCE = 1e-9
"""A level counts as reached when the curve is within this of it (the product of ratios rounds)."""


def km_curve(
    event_days: np.ndarray, event_units: np.ndarray, censor_days: np.ndarray, censor_units: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan–Meier distribution function ``F(t) = 1 - prod(1 - d_k / n_k)`` at its event times.

    Args:
        event_days: Lead time of each delivered lot (days).
        event_units: Its units (the weight of the event).
        censor_days: Day of each censoring (``inf``: never delivered, always at risk).
        censor_units: Units censored there.

    Returns:
        ``(times, F)``: the distinct event times, ascending, and the share of units delivered
        by each. ``n_k`` is the units at risk at ``t_k`` (neither delivered nor censored
        before it), ``d_k`` the units delivered at ``t_k``.

    Example:
        >>> t, f = km_curve(np.array([1.0, 3.0]), np.array([1, 1]), np.array([2.0]), np.array([1]))
        >>> t.tolist(), [round(x, 4) for x in f.tolist()]
        ([1.0, 3.0], [0.3333, 1.0])
    """
    # one array per lot at a time where it can be (10^6 delivered lots: 8 MB each): no copy
    # when every weight counts, and the arithmetic in place (the same operations, same results)
    w = np.asarray(event_units, dtype=np.float64)
    keep = w > 0
    days = np.asarray(event_days, dtype=np.float64)
    if not keep.all():
        days, w = days[keep], w[keep]
    del keep
    v = np.asarray(censor_units, dtype=np.float64)
    ckeep = v > 0
    cdays, v = np.asarray(censor_days, dtype=np.float64)[ckeep], v[ckeep]
    if len(days) == 0:
        return np.zeros(0), np.zeros(0)
    times, inverse = np.unique(days, return_inverse=True)
    d = np.bincount(inverse, weights=w, minlength=len(times))
    del inverse
    order = np.argsort(cdays, kind="stable")
    cs, cw = cdays[order], np.concatenate([[0.0], np.cumsum(v[order])])
    censored_before = cw[np.searchsorted(cs, times, side="left")]  # strictly before t_k
    at_risk = np.cumsum(d)  # w.sum() + v.sum() - (cumsum(d) - d) - censored_before
    at_risk -= d
    np.subtract(w.sum() + v.sum(), at_risk, out=at_risk)
    at_risk -= censored_before
    del censored_before
    survival = np.divide(d, at_risk, out=at_risk)  # cumprod(1 - d / at_risk)
    np.subtract(1.0, survival, out=survival)
    np.cumprod(survival, out=survival)
    return times, np.subtract(1.0, survival, out=survival)


def km_quantiles(
    event_days: np.ndarray,
    event_units: np.ndarray,
    censor_days: np.ndarray,
    censor_units: np.ndarray,
    levels: tuple[float, ...],
) -> list[float]:
    """The smallest event time at which the Kaplan–Meier ``F`` reaches each level (NaN: never).

    Same convention as ``results.kpis.lead.weighted_quantile`` (inverted distribution
    function), so without censoring the two agree.
    """
    times, f = km_curve(event_days, event_units, censor_days, censor_units)
    out: list[float] = []
    for q in levels:
        reached = np.flatnonzero(f >= q - _TOLERANCE)
        out.append(float(times[reached[0]]) if len(reached) else math.nan)
    return out


@dataclass(frozen=True)
class Fulfilment:
    """Per requirement (index = ref): what became of its required units by the end of the run.

    All arrays have one entry per ref; refs never opened have zeros.
    """

    delivered: np.ndarray
    """Units delivered (int64)."""
    undelivered: np.ndarray
    """``max(0, required - delivered)`` (int64); lost units included."""
    never: np.ndarray
    """Undelivered units that were lost: never delivered (KM: at risk for ever)."""
    censored: np.ndarray
    """Undelivered units not lost: censored at ``end - opened``."""
    censor_day: np.ndarray
    """``end - opened`` (float; at least 0)."""
    late: np.ndarray
    """Required units not delivered by the due instant (int64)."""
    lateness_unit_days: np.ndarray
    """Sum over the requirement's units of ``max(0, delivered_or_end - due)``."""


def fulfilment(
    required: np.ndarray,
    opened_day: np.ndarray,
    due: np.ndarray,
    lost: np.ndarray,
    end: float,
    lot_ref: np.ndarray,
    lot_units: np.ndarray,
    lot_day: np.ndarray,
) -> Fulfilment:
    """Each requirement's delivered, undelivered, late units and unit-days of lateness.

    Args:
        required: Units required per ref (0 where never opened).
        opened_day: Day each ref opened.
        due: The instant each ref is due (``due_day(need_by)``): on time while ``t <= due``.
        lost: Units lost per ref.
        end: End of the run (days).
        lot_ref: Requirement of each delivered lot (refs < 0 or beyond ``required`` are ignored).
        lot_units: Units of each delivered lot.
        lot_day: Day each lot was delivered.

    Example:
        >>> f = fulfilment(np.array([10]), np.array([0.0]), np.array([5.0]), np.array([0]), 20.0,
        ...                np.array([0]), np.array([6]), np.array([8.0]))
        >>> int(f.late[0]), float(f.lateness_unit_days[0])  # 6 units 3 days late, 4 undelivered 15
        (10, 78.0)
    """
    n = len(required)
    ok = (lot_ref >= 0) & (lot_ref < n)
    if ok.all():  # no copies of the per-lot arrays (10^6 lots: 8 MB each)
        ref, units, day = lot_ref, lot_units.astype(np.float64), lot_day
    else:
        ref, units, day = lot_ref[ok], lot_units[ok].astype(np.float64), lot_day[ok]
    del ok
    delivered = np.bincount(ref, weights=units, minlength=n).astype(np.int64)
    on_time = np.bincount(ref, weights=units * (day <= due[ref] + _TOLERANCE), minlength=n).astype(np.int64)
    late_days = np.bincount(ref, weights=units * np.maximum(0.0, day - due[ref]), minlength=n)
    undelivered = np.maximum(0, required - delivered)
    never = np.minimum(np.maximum(lost, 0), undelivered)
    return Fulfilment(
        delivered=delivered,
        undelivered=undelivered,
        never=never,
        censored=undelivered - never,
        censor_day=np.maximum(0.0, end - opened_day),
        late=required - np.minimum(required, on_time),
        lateness_unit_days=late_days + undelivered * np.maximum(0.0, end - due),
    )
