"""The Kaplan–Meier curve over every delivered lot holds fewer per-lot arrays at once, with the same bits.

``km_curve`` runs over all delivered lots when a run's KPIs are finished: at 10^6 lots it was
the peak of ``aidflow run`` on ``many_requirements`` (the KPI step adds its temporaries after
the run). It copied the lots when no weight was zero and kept each intermediate array of the
at-risk product. The memory it allocates (``tracemalloc`` peak) over 200,000 lots with
distinct lead times was 73 bytes a lot; it must now stay under 60 (in place: ~49). The curve
and ``fulfilment`` are compared bit for bit with the previous formulas written out here.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from results.kpis.late import fulfilment, km_curve

N = 200_000


def km_curve_reference(
    event_days: np.ndarray, event_units: np.ndarray, censor_days: np.ndarray, censor_units: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The previous ``km_curve``, out of place."""
    w = np.asarray(event_units, dtype=np.float64)
    keep = w > 0
    days, w = np.asarray(event_days, dtype=np.float64)[keep], w[keep]
    v = np.asarray(censor_units, dtype=np.float64)
    ckeep = v > 0
    cdays, v = np.asarray(censor_days, dtype=np.float64)[ckeep], v[ckeep]
    if len(days) == 0:
        return np.zeros(0), np.zeros(0)
    times, inverse = np.unique(days, return_inverse=True)
    d = np.bincount(inverse, weights=w, minlength=len(times))
    order = np.argsort(cdays, kind="stable")
    cs, cw = cdays[order], np.concatenate([[0.0], np.cumsum(v[order])])
    censored_before = cw[np.searchsorted(cs, times, side="left")]
    at_risk = w.sum() + v.sum() - (np.cumsum(d) - d) - censored_before
    survival = np.cumprod(1.0 - d / at_risk)
    return times, 1.0 - survival


def lots(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = rng.exponential(10.0, N)
    units = rng.integers(1, 10, N).astype(np.float64)
    cdays = np.concatenate([rng.exponential(20.0, 1000), [np.inf]])
    cunits = np.concatenate([rng.integers(1, 5, 1000), [7]]).astype(np.float64)
    return days, units, cdays, cunits


def test_km_curve_allocates_fewer_bytes_a_lot() -> None:
    days, units, cdays, cunits = lots(1)
    tracemalloc.start()
    try:
        km_curve(days, units, cdays, cunits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / N < 60, peak / N  # the previous formulas: 73


def test_km_curve_and_fulfilment_are_bit_equal_to_the_previous_formulas() -> None:
    days, units, cdays, cunits = lots(2)
    some_zero = units.copy()
    some_zero[::7] = 0.0
    for w in (units, some_zero):
        t, f = km_curve(days, w, cdays, cunits)
        rt, rf = km_curve_reference(days, w, cdays, cunits)
        assert t.tobytes() == rt.tobytes() and f.tobytes() == rf.tobytes()
    rng = np.random.default_rng(3)
    required, opened = rng.integers(1, 50, 5000), rng.random(5000)
    due, lost = opened + 14.0, rng.integers(0, 3, 5000)
    ref = rng.integers(0, 5000, N)
    outside = ref.copy()
    outside[::11] = -1
    for r in (ref, outside):
        got = fulfilment(required, opened, due, lost, 100.0, r, units.astype(np.int64), days)
        ok = (r >= 0) & (r < len(required))
        rr, uu, dd = r[ok], units[ok], days[ok]
        delivered = np.bincount(rr, weights=uu, minlength=len(required)).astype(np.int64)
        on_time = np.bincount(rr, weights=uu * (dd <= due[rr] + 1e-9), minlength=len(required)).astype(np.int64)
        late_days = np.bincount(rr, weights=uu * np.maximum(0.0, dd - due[rr]), minlength=len(required))
        undelivered = np.maximum(0, required - delivered)
        assert got.delivered.tobytes() == delivered.tobytes()
        assert got.late.tobytes() == (required - np.minimum(required, on_time)).tobytes()
        assert got.lateness_unit_days.tobytes() == (late_days + undelivered * np.maximum(0.0, 100.0 - due)).tobytes()
