"""Lot queues: FIFO (a ``collections.deque``) or by priority (a heap keyed by priority, then arrival).

Both offer the same operations — ``append(lot)``, ``popleft()``, ``q[0]`` (the next lot),
``len(q)`` and truth — so stations and carriers call them without caring which discipline the
scenario's policy chose, and the FIFO case costs exactly a deque. Ties are broken by arrival
order, never by hash. Queue entries are ``Lot`` objects (``sim.model.context``); the priority
queue reads ``lot.prio`` (1 = most urgent).
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

__all__ = ["LotQueue", "PriorityQueue", "make_queue"]


class PriorityQueue:
    """Lowest ``prio`` first (1 = most urgent), FIFO within a priority."""

    __slots__ = ("_h", "_n")

    def __init__(self) -> None:
        self._h: list[tuple[int, int, Any]] = []
        self._n = 0

    def append(self, lot: Any) -> None:
        """Add ``lot`` (ordered by ``lot.prio``, then arrival)."""
        self._n += 1
        heapq.heappush(self._h, (lot.prio, self._n, lot))

    def popleft(self) -> Any:
        """Remove and return the next lot."""
        return heapq.heappop(self._h)[2]

    def __getitem__(self, i: int) -> Any:
        if i != 0:
            raise IndexError("only the head of a priority queue can be read")
        return self._h[0][2]

    def __len__(self) -> int:
        return len(self._h)

    def __bool__(self) -> bool:
        return bool(self._h)


LotQueue = deque[Any] | PriorityQueue


def make_queue(by_priority: bool) -> LotQueue:
    """A queue of the requested discipline."""
    return PriorityQueue() if by_priority else deque()
