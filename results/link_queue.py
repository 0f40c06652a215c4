"""Lots that leave a link's queue without being loaded: rerouted while they waited (issue 15).

Under ``routing: {policy: on_departure, reroute_in_queue: true}`` a lot waiting at a node for a
vehicle of link ``L`` may decide again when a node or link closes (``sim.model.routing``). The
switch is one ``rerouted`` row at the node, whose ``link`` is the *new* next link, just before
the lot's ``queued`` row on that link, at the same instant. The row does not name ``L``: it is
the link of the lot's last ``queued`` row, if no ``loaded`` row came after it (a lot rerouted
on departure, when it is produced or its service ends, waits for no link: its last such row is
a ``loaded`` row of the link it came by, a ``queued`` row at a node, or none).

``QueueLeaves`` reads this from chunks of the log, carrying each lot's link across chunks (one
int64 per lot), so the link-queue KPIs (``results.kpis.flow``) and the bottleneck analysis
(``results.bottlenecks``) take the lot out of ``L``'s queue at the ``rerouted`` row, whether
they read the whole table or chunks of it. A log without ``rerouted`` rows gives no rows.

Example:
    >>> import numpy as np
    >>> from sim.events import KIND_CODE as K
    >>> from results.kpis.arrays import EventArrays
    >>> def chunk(kinds, lots, links, t):
    ...     n = len(kinds)
    ...     z, nan = np.full(n, -1), np.full(n, np.nan)
    ...     k = np.array([K[x] for x in kinds])
    ...     return EventArrays(np.array(t), k, np.array(lots), z, z, z, np.array(links), z, z, nan,
    ...                        [], [], ["a", "b"])
    >>> q = QueueLeaves()
    >>> q.leaves(chunk(["queued"], [7], [0], [1.0]))  # lot 7 waits for link a (code 0)
    (array([], dtype=int64), array([], dtype=int64))
    >>> q.leaves(chunk(["rerouted", "queued", "loaded"], [7, 7, 7], [1, 1, 1], [3.0, 3.0, 4.0]))
    (array([0]), array([0]))
"""

from __future__ import annotations

import numpy as np

from results.kpis.arrays import EventArrays
from results.kpis.levels import grow
from sim.events import LOADED, QUEUED, REROUTED

__all__ = ["QueueLeaves"]


class QueueLeaves:
    """Which link each lot waits for, chunk after chunk; the ``rerouted`` rows that end a wait."""

    def __init__(self) -> None:
        self.waiting = np.zeros(0, dtype=np.int64)  # per lot id: code of the link it waits for, -1 none

    def _carried(self, lots: np.ndarray) -> np.ndarray:
        n = len(self.waiting)
        if n == 0:
            return np.full(len(lots), -1, dtype=np.int64)
        inside = lots < n
        return np.where(inside, self.waiting[np.where(inside, lots, 0)], -1)

    def leaves(self, ev: EventArrays) -> tuple[np.ndarray, np.ndarray]:
        """One chunk (in log order, after the previous ones): the rows where a lot leaves a link's queue.

        Returns:
            ``(rows, links)``: positions in ``ev`` of the ``rerouted`` rows of lots that were
            waiting for a link, in log order, and the code of the link each one leaves.
        """
        qd, ld = ev.of(QUEUED), ev.of(LOADED)
        p = np.concatenate([qd, ld])
        p = p[ev.lot[p] >= 0]
        rr = ev.of(REROUTED)
        rr = rr[ev.lot[rr] >= 0]
        # the link a lot waits for after each queued (its link; -1 at a node) or loaded (-1) row
        p_val = np.where(ev.kind[p] == QUEUED, ev.link[p], -1).astype(np.int64)
        rows_out = np.zeros(0, dtype=np.int64)
        links_out = np.zeros(0, dtype=np.int64)
        if len(rr):
            rows = np.concatenate([p, rr])
            is_p = np.r_[np.ones(len(p), dtype=bool), np.zeros(len(rr), dtype=bool)]
            vals = np.r_[p_val, np.full(len(rr), -1, dtype=np.int64)]
            lots = ev.lot[rows]
            order = np.lexsort((rows, lots))
            k = lots[order]
            idx = np.arange(len(order))
            start = np.maximum.accumulate(np.where(np.r_[True, k[1:] != k[:-1]], idx, 0))
            last_p = np.maximum.accumulate(np.where(is_p[order], idx, -1))  # last queued/loaded row so far
            at = np.flatnonzero(~is_p[order])  # the rerouted rows, in (lot, row) order
            here = last_p[at] >= start[at]  # that row is in this chunk, else the carried link
            old = np.where(here, vals[order][np.maximum(last_p[at], 0)], self._carried(k[at]))
            left = old >= 0
            r, c = rows[order][at][left], old[left]
            by_row = np.argsort(r, kind="stable")
            rows_out, links_out = r[by_row], c[by_row]
        if len(p):
            lots_p = ev.lot[p]
            order = np.lexsort((p, lots_p))
            k = lots_p[order]
            last = np.r_[k[1:] != k[:-1], True]
            self.waiting = grow(self.waiting, int(k[-1]) + 1, -1)
            self.waiting[k[last]] = p_val[order][last]
        return rows_out, links_out
