"""Lot queues: FIFO (a deque) or by priority (a heap keyed by priority, then arrival order).

Both expose the same three operations, so stations and carriers do not care which discipline
the scenario's policy chose. Ties are broken by arrival order, never by hash.
"""

from __future__ import annotations

import heapq
from collections import deque

__all__ = ["FifoQueue", "LotQueue", "PriorityQueue", "make_queue"]


class FifoQueue:
    """First in, first out."""

    __slots__ = ("_q",)

    def __init__(self) -> None:
        self._q: deque[int] = deque()

    def push(self, lot: int, priority: int) -> None:
        """Add ``lot`` (priority ignored)."""
        self._q.append(lot)

    def peek(self) -> int:
        """The next lot, without removing it."""
        return self._q[0]

    def pop(self) -> int:
        """Remove and return the next lot."""
        return self._q.popleft()

    def __len__(self) -> int:
        return len(self._q)


class PriorityQueue:
    """Lowest priority number first (1 = most urgent), FIFO within a priority."""

    __slots__ = ("_h", "_n")

    def __init__(self) -> None:
        self._h: list[tuple[int, int, int]] = []
        self._n = 0

    def push(self, lot: int, priority: int) -> None:
        """Add ``lot`` with ``priority``."""
        self._n += 1
        heapq.heappush(self._h, (priority, self._n, lot))

    def peek(self) -> int:
        """The next lot, without removing it."""
        return self._h[0][2]

    def pop(self) -> int:
        """Remove and return the next lot."""
        return heapq.heappop(self._h)[2]

    def __len__(self) -> int:
        return len(self._h)


LotQueue = FifoQueue | PriorityQueue


def make_queue(by_priority: bool) -> LotQueue:
    """A queue of the requested discipline."""
    return PriorityQueue() if by_priority else FifoQueue()
