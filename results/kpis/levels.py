"""State that KPIs carry from one chunk of the log to the next: levels, pairs, sums.

Every accumulator here is fed chunks of rows in ``seq`` order and gives the same answer
however the log is cut, provided no instant is cut in two (``results.kpis.stream`` holds the
rows of a chunk's last instant back into the next chunk):

- ``Levels``: the integral over ``[0, end]`` and the maximum of a step function per group
  (the level after all changes of one instant counts, the function being right-continuous);
  it carries each group's level and the time of its last change.
- ``Pairs``: rows ``a`` (a lot entering somewhere) matched to later rows ``b`` (leaving it) of
  the same key; it carries the ``a`` rows not yet matched.
- ``WaitStats``: count, sum and maximum of durations per group.
- ``KeyedSums``: sums of several weights per int64 key, for keys too many or too sparse for
  a dense array (per requirement and item, per link and requirement...).

Example:
    >>> lv = Levels(None)
    >>> lv.add(np.array([0, 0]), np.array([1.0, 2.0]), np.array([1, 1]))
    >>> lv.add(np.array([0]), np.array([2.5]), np.array([-2]))
    >>> lv.result(4.0, 1)
    (array([2.]), array([2.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "KEY_SHIFT",
    "MERGE_MIN_ROWS",
    "KeyedSums",
    "Levels",
    "Pairs",
    "WaitStats",
    "grow",
    "pair_key",
    "time_weighted",
]

KEY_SHIFT = 1 << 24
"""Composite keys ``major * KEY_SHIFT + (minor + 1)``: minor codes (nodes, links, items) stay below it."""


def pair_key(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """One int64 key per ``(major, minor)`` (``minor`` may be -1)."""
    return np.asarray(major, dtype=np.int64) * KEY_SHIFT + (np.asarray(minor, dtype=np.int64) + 1)


def grow(arr: np.ndarray, n: int, fill: Any) -> np.ndarray:
    """``arr`` with room for ``n`` entries (doubling), new entries ``fill``."""
    if len(arr) >= n:
        return arr
    out = np.full(max(n, 2 * len(arr), 16), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


class Levels:
    """Time-weighted integral and maximum of one integer level per group, fed chunk by chunk.

    Each group's level starts at 0. ``add`` takes the changes of whole instants (rows in time
    order within a group); changes after ``end`` (when given) are ignored.

    Args:
        end: End of the window; ``None`` when no row can be later than it (the default end).
    """

    def __init__(self, end: float | None) -> None:
        self.end = end
        self.level = np.zeros(0, dtype=np.int64)
        self.last_t = np.zeros(0)
        self.integral = np.zeros(0)
        self.maximum = np.zeros(0)

    def _size(self, n: int) -> None:
        if len(self.level) < n:
            self.level = grow(self.level, n, 0)
            self.last_t = grow(self.last_t, n, 0.0)
            self.integral = grow(self.integral, n, 0.0)
            self.maximum = grow(self.maximum, n, 0.0)

    def add(self, group: np.ndarray, t: np.ndarray, delta: np.ndarray) -> None:
        """Changes ``delta`` of ``group``'s level at ``t`` (rows of complete instants)."""
        keep = group >= 0
        if self.end is not None:
            keep &= t <= self.end
        group, t, delta = group[keep], t[keep], delta[keep]
        if len(t) == 0:
            return
        self._size(int(group.max()) + 1)
        order = np.argsort(group, kind="stable")
        g, tt, d = group[order], t[order], np.asarray(delta[order], dtype=np.int64)
        new = np.r_[True, g[1:] != g[:-1]]
        last = np.r_[g[1:] != g[:-1], True]
        starts = np.flatnonzero(new)
        gs = g[starts]
        # the carried level holds from the group's last change to its first change here
        self.integral[gs] += self.level[gs] * (tt[starts] - self.last_t[gs])
        csum = np.cumsum(d)
        offset = (csum[starts] - d[starts])[np.cumsum(new) - 1]
        level = csum - offset + self.level[g]
        tnext = np.r_[tt[1:], 0.0]
        inner = ~last
        n = len(self.integral)
        self.integral += np.bincount(g[inner], weights=level[inner] * (tnext[inner] - tt[inner]), minlength=n)[:n]
        # whole instants: a group's last row here is settled (its next change is later)
        settled = last | (tnext > tt)
        np.maximum.at(self.maximum, g[settled], level[settled].astype(np.float64))
        gl = g[last]
        self.level[gl] = level[last]
        self.last_t[gl] = tt[last]

    def result(self, end: float, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
        """``(integral over [0, end], maximum)``, arrays of ``n_groups`` (the state is not changed)."""
        self._size(n_groups)
        integral = self.integral + self.level * (end - self.last_t)
        return integral[:n_groups].copy(), self.maximum[:n_groups].copy()


def time_weighted(
    group: np.ndarray, t: np.ndarray, delta: np.ndarray, n_groups: int, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Integral over ``[0, end]`` and maximum of step functions, one per group.

    Each group's level starts at 0 and changes by ``delta`` at ``t`` (rows in time order
    within a group). The maximum is over the level after each instant (changes at one
    instant are summed first). Changes after ``end`` are ignored.

    Returns:
        ``(integral, maximum)``, arrays of ``n_groups``.

    Example:
        >>> g = np.array([0, 0, 0]); t = np.array([1.0, 2.0, 2.0]); d = np.array([1, 1, -1])
        >>> time_weighted(g, t, d, 1, 4.0)
        (array([3.]), array([1.]))
    """
    lv = Levels(end)
    lv.add(np.asarray(group, dtype=np.int64), np.asarray(t, dtype=np.float64), np.asarray(delta))
    return lv.result(end, n_groups)


class Pairs:
    """Rows ``a`` matched to rows ``b`` of the same key, across chunks.

    Per key, rows are taken in ``seq`` order: a ``b`` row is matched to the first ``a`` row
    after the previous ``b`` row of the key (the first ``a`` of a lot queued twice before it
    starts, say); a ``b`` row with no such ``a`` is unmatched. The first unmatched ``a`` row of
    each key is carried to the next chunk.
    """

    def __init__(self) -> None:
        self.key = np.zeros(0, dtype=np.int64)
        self.t = np.zeros(0)

    def __len__(self) -> int:
        return len(self.key)

    def add(
        self,
        key_a: np.ndarray,
        t_a: np.ndarray,
        pos_a: np.ndarray,
        key_b: np.ndarray,
        t_b: np.ndarray,
        pos_b: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Match one chunk's rows (``pos``: row positions in the chunk, ``a`` and ``b`` rows distinct).

        Returns:
            ``(ok, dur)``: a mask over the ``b`` rows (matched) and ``t_b - t_a`` of the matched
            ones, in ``b`` order.
        """
        n_p, n_a, n_b = len(self.key), len(key_a), len(key_b)
        if n_b == 0 and n_a == 0:
            return np.zeros(0, dtype=bool), np.zeros(0)
        keys = np.concatenate([self.key, key_a, key_b])
        ts = np.concatenate([self.t, t_a, t_b])
        pos = np.concatenate([np.full(n_p, -1, dtype=np.int64), pos_a, pos_b])
        order = np.lexsort((pos, keys))
        k, tt = keys[order], ts[order]
        is_b = order >= n_p + n_a
        idx = np.arange(len(k))
        new = np.r_[True, k[1:] != k[:-1]]
        start = np.maximum.accumulate(np.where(new, idx, 0))
        last_b = np.maximum.accumulate(np.where(is_b, idx, -1))  # last b at or before each row
        prev_b = np.maximum(np.r_[-1, last_b[:-1]], start - 1)  # last b of the key strictly before
        cand = prev_b + 1
        matched = is_b & (cand < idx)  # rows prev_b+1 .. i-1 are a rows
        where_b = order[matched] - (n_p + n_a)
        ok = np.zeros(n_b, dtype=bool)
        ok[where_b] = True
        dur = np.zeros(n_b)
        dur[where_b] = tt[matched] - tt[cand[matched]]
        ends = np.flatnonzero(np.r_[k[1:] != k[:-1], True])
        open_from = np.maximum(last_b[ends], start[ends] - 1) + 1  # first a after the key's last b
        keep = open_from <= ends
        self.key, self.t = k[open_from[keep]], tt[open_from[keep]]
        return ok, dur[ok]


class WaitStats:
    """Count, sum and maximum of durations per group."""

    def __init__(self) -> None:
        self.count = np.zeros(0)
        self.total = np.zeros(0)
        self.max = np.zeros(0)

    def add(self, group: np.ndarray, dur: np.ndarray) -> None:
        """Durations ``dur`` of ``group`` (codes >= 0)."""
        if len(group) == 0:
            return
        n = max(len(self.count), int(group.max()) + 1)
        self.count, self.total, self.max = (
            grow(self.count, n, 0.0),
            grow(self.total, n, 0.0),
            grow(self.max, n, -np.inf),
        )
        m = len(self.count)
        self.count += np.bincount(group, minlength=m)[:m]
        self.total += np.bincount(group, weights=dur, minlength=m)[:m]
        np.maximum.at(self.max, group, dur)

    def result(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, max)`` per group of ``0..n-1`` (NaN where nothing was counted)."""
        cnt = grow(self.count, n, 0.0)[:n]
        tot = grow(self.total, n, 0.0)[:n]
        mx = grow(self.max, n, -np.inf)[:n]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(cnt > 0, tot / np.where(cnt > 0, cnt, 1), np.nan)
        return mean, np.where(cnt > 0, mx, np.nan)


MERGE_MIN_ROWS = 1 << 16
"""``KeyedSums`` merges its pending rows once they are this many, or as many as its keys."""


class KeyedSums:
    """Sums of ``width`` weights per int64 key, merged chunk by chunk (keys kept sorted).

    Rows added wait in a pending list and are merged into the sorted keys once they are as
    many as the keys (or ``MERGE_MIN_ROWS``), and whenever ``keys`` or ``sums`` is read: a
    merge costs the keys' number, so merging every chunk made a run with 10^5 keys (a
    requirement each) cost keys x chunks; now each row is merged O(log rows) times. The sums
    are bit-equal to merging every chunk: ``np.bincount`` adds the weights of a key in input
    order, the merged sum first, so the additions are the same and in the same order.

    Args:
        width: Number of weights summed per key.
    """

    def __init__(self, width: int) -> None:
        self._keys = np.zeros(0, dtype=np.int64)
        self._sums = np.zeros((0, width))
        self._pending_keys: list[np.ndarray] = []
        self._pending_weights: list[np.ndarray] = []
        self._pending_rows = 0

    @property
    def keys(self) -> np.ndarray:
        """The keys, sorted and distinct."""
        self._merge()
        return self._keys

    @property
    def sums(self) -> np.ndarray:
        """The sums per key (rows in the order of ``keys``, ``width`` columns)."""
        self._merge()
        return self._sums

    def add(self, keys: np.ndarray, weights: np.ndarray) -> None:
        """Add ``weights`` (rows x width) to their ``keys``."""
        if len(keys) == 0:
            return
        self._pending_keys.append(np.array(keys))
        self._pending_weights.append(np.array(weights, dtype=np.float64).reshape(len(keys), -1))
        self._pending_rows += len(keys)
        if self._pending_rows >= max(len(self._keys), MERGE_MIN_ROWS):
            self._merge()

    def _merge(self) -> None:
        """Merge the pending rows into the sorted keys and their sums."""
        if not self._pending_keys:
            return
        uk, inv = np.unique(np.concatenate([self._keys, *self._pending_keys]), return_inverse=True)
        out = np.zeros((len(uk), self._sums.shape[1]))
        both = np.concatenate([self._sums, *self._pending_weights])
        for j in range(out.shape[1]):
            out[:, j] = np.bincount(inv, weights=both[:, j], minlength=len(uk))
        self._keys, self._sums = uk, out
        self._pending_keys, self._pending_weights, self._pending_rows = [], [], 0
