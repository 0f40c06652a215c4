"""Momentary and shifting bottlenecks from the resources' active periods.

At each instant the **momentary bottleneck** is the resource whose ongoing active period is the
longest (its whole duration). Where the active period of one momentary bottleneck overlaps that
of the next, both are **shifting** bottlenecks over the overlap; elsewhere the momentary
bottleneck is the **sole** bottleneck (``Segment(start, end, resource, state)``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Segment", "momentary_bottlenecks", "shifting_timeline"]


@dataclass(frozen=True)
class Segment:
    """A stretch of time where ``resource`` is a ``sole`` or a ``shifting`` bottleneck."""

    start: float
    end: float
    resource: str
    state: str


def momentary_bottlenecks(
    periods: Mapping[str, np.ndarray], order: Sequence[str] | None = None
) -> list[tuple[float, float, str, float, float]]:
    """The momentary bottleneck over time: the resource with the longest ongoing active period.

    Args:
        periods: ``{resource: (k, 2) array of [start, end) active periods}``.
        order: Resource order for ties (equal durations: the earlier start, then this order).

    Returns:
        ``(start, end, resource, period_start, period_end)`` per stretch, in time order;
        consecutive stretches of the same active period are merged. Times where no resource is
        active are left out.

    Example:
        >>> p = {"a": np.array([[0.0, 5.0]]), "b": np.array([[2.0, 10.0]])}
        >>> [x[:3] for x in momentary_bottlenecks(p)]
        [(0.0, 2.0, 'a'), (2.0, 10.0, 'b')]
    """
    names = list(order) if order is not None else list(periods)
    names += [n for n in periods if n not in names]
    arrays = {n: np.asarray(periods[n], dtype=np.float64).reshape(-1, 2) for n in periods}
    arrays = {n: p[p[:, 1] > p[:, 0]] for n, p in arrays.items()}
    if all(len(p) < 2 or bool(np.all(p[1:, 0] >= p[:-1, 1])) for p in arrays.values()):
        return _momentary_disjoint(arrays, names)
    return _momentary_heap(periods, names)


_BLOCK = 1 << 16
"""Instants of the momentary sweep handled at a time (memory: resources x this)."""


def _momentary_disjoint(
    periods: Mapping[str, np.ndarray], names: list[str]
) -> list[tuple[float, float, str, float, float]]:
    """``momentary_bottlenecks`` when each resource's periods are sorted and disjoint (as
    ``active_periods`` gives them): at each instant at most one period per resource covers
    it, so the winner is found per resource with numpy, a block of instants at a time."""
    used = [n for n in names if n in periods and len(periods[n])]
    if not used:
        return []
    bounds = np.unique(np.concatenate([periods[n].ravel() for n in used]))
    out: list[tuple[float, float, str, float, float]] = []
    prev: list[Any] | None = None  # [start, end, resource index, period start, period end]
    for lo in range(0, len(bounds) - 1, _BLOCK):
        tau = bounds[lo : min(lo + _BLOCK, len(bounds) - 1)]
        nxt = bounds[lo + 1 : lo + 1 + len(tau)]
        best_d = np.full(len(tau), np.inf)  # -(duration) of the best covering period
        best_s = np.full(len(tau), np.inf)
        best_r = np.full(len(tau), -1, dtype=np.int64)
        best_e = np.zeros(len(tau))
        for r, n in enumerate(used):
            p = periods[n]
            j = np.searchsorted(p[:, 0], tau, side="right") - 1
            jj = np.maximum(j, 0)
            cover = (j >= 0) & (p[jj, 1] > tau)
            d, st = -(p[jj, 1] - p[jj, 0]), p[jj, 0]
            better = cover & ((d < best_d) | ((d == best_d) & (st < best_s)))  # ties: earlier start, then order
            best_d[better], best_s[better], best_r[better], best_e[better] = d[better], st[better], r, p[jj, 1][better]
        for k in np.flatnonzero(best_r >= 0).tolist():
            a, b, who, ps = float(tau[k]), float(nxt[k]), int(best_r[k]), float(best_s[k])
            if prev is not None and prev[1] == a and prev[2] == who and prev[3] == ps:
                prev[1] = b
            else:
                if prev is not None:
                    out.append((prev[0], prev[1], used[prev[2]], prev[3], prev[4]))
                prev = [a, b, who, ps, float(best_e[k])]
    if prev is not None:
        out.append((prev[0], prev[1], used[prev[2]], prev[3], prev[4]))
    return out


def _momentary_heap(
    periods: Mapping[str, np.ndarray], names: list[str]
) -> list[tuple[float, float, str, float, float]]:
    """``momentary_bottlenecks`` for any periods (a sweep with a heap of active periods)."""
    pos = {n: k for k, n in enumerate(names)}
    rows = [(float(s), float(e), pos[n]) for n in periods for s, e in np.asarray(periods[n]).reshape(-1, 2) if e > s]
    if not rows:
        return []
    rows.sort()
    bounds = sorted({x for s, e, _ in rows for x in (s, e)})
    heap: list[tuple[float, float, int, int]] = []
    out: list[tuple[float, float, str, float, float]] = []
    i = 0
    for k in range(len(bounds) - 1):
        tau, nxt = bounds[k], bounds[k + 1]
        while i < len(rows) and rows[i][0] <= tau:
            s, e, r = rows[i]
            heapq.heappush(heap, (-(e - s), s, r, i))
            i += 1
        while heap and rows[heap[0][3]][1] <= tau:
            heapq.heappop(heap)
        if not heap:
            continue
        _, s, r, pid = heap[0]
        e = rows[pid][1]
        if out and out[-1][1] == tau and out[-1][2] == names[r] and out[-1][3] == s:
            prev = out[-1]
            out[-1] = (prev[0], nxt, prev[2], prev[3], prev[4])
        else:
            out.append((tau, nxt, names[r], s, e))
    return out


def shifting_timeline(momentary: Sequence[tuple[float, float, str, float, float]]) -> list[Segment]:
    """Sole and shifting bottleneck segments from the momentary sequence.

    Where the active periods of two consecutive momentary bottlenecks overlap, both are
    shifting bottlenecks over the overlap (so is a momentary bottleneck inside an overlap);
    elsewhere the momentary bottleneck is the sole one.

    Returns:
        Segments sorted by start, then resource; adjacent segments of one resource in one
        state are merged.

    Example:
        >>> m = [(0.0, 2.0, "a", 0.0, 5.0), (2.0, 10.0, "b", 2.0, 10.0)]
        >>> [(s.start, s.end, s.resource, s.state) for s in shifting_timeline(m)]
        [(0.0, 2.0, 'a', 'sole'), (2.0, 5.0, 'a', 'shifting'), (2.0, 5.0, 'b', 'shifting'), (5.0, 10.0, 'b', 'sole')]
    """
    overlaps: list[tuple[float, float, str, str]] = []
    for (_, _, ra, sa, ea), (_, _, rb, sb, eb) in itertools.pairwise(momentary):
        lo, hi = max(sa, sb), min(ea, eb)
        if ra != rb and hi > lo:
            overlaps.append((lo, hi, ra, rb))
    cuts = sorted({x for a, b, *_ in momentary for x in (a, b)} | {x for a, b, *_ in overlaps for x in (a, b)})
    changes: dict[float, list[tuple[str, int]]] = {}
    for a, b, ra, rb in overlaps:
        for r in (ra, rb):
            changes.setdefault(a, []).append((r, 1))
            changes.setdefault(b, []).append((r, -1))
    count: dict[str, int] = {}
    segs: dict[str, list[list[Any]]] = {}
    m = 0
    for k in range(len(cuts) - 1):
        a, b = cuts[k], cuts[k + 1]
        for r, d in changes.get(a, []):
            count[r] = count.get(r, 0) + d
        while m < len(momentary) and momentary[m][1] <= a:
            m += 1
        here = momentary[m][2] if m < len(momentary) and momentary[m][0] <= a else None
        shifting = {r for r, c in count.items() if c > 0}
        labels: dict[str, str] = {}
        if shifting:
            labels = dict.fromkeys(shifting | ({here} if here is not None else set()), "shifting")
        elif here is not None:
            labels = {here: "sole"}
        for r, state in labels.items():
            lst = segs.setdefault(r, [])
            if lst and lst[-1][1] == a and lst[-1][2] == state:
                lst[-1][1] = b
            else:
                lst.append([a, b, state])
    out = [Segment(a, b, r, state) for r, lst in segs.items() for a, b, state in lst]
    out.sort(key=lambda s: (s.start, s.resource))
    return out
