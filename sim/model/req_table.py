"""The run's requirement records by index, holding only those that may still be read.

A requirement is named everywhere by its index (``Lot.req``, a line's orders, an agency's
pool, the ``ref`` of its log rows); ``ctx.requirements`` maps it to its ``ReqState``. The
scenario's requirements take indices ``0 .. n-1``; each arrival of a stream, and each order a
stock policy opens, takes the next one. Once a requirement is closed (``requirement_filled``,
``sim.model.units.close_if_done``) nothing reads its record again: every ordered unit was
delivered or lost (no lot of it is in flight), its orders are made and its money settled. The
opened ones are then dropped (``free``), so that the engine's memory is bounded by the
requirements open at once, not by those of the whole run (10^6 lots of ``many_requirements``
open 200,000 of them, ~0.6 KB each with the id and payers).

``Requirements`` reads like the list it replaces: ``append`` hands out the next index and
``len`` is the number of indices handed out (the next index), ``reqs[i]`` is the record of a
live requirement (``KeyError`` once freed) and iteration yields the live records in index
order. Hot paths index ``live`` (a plain dict) directly.

Example:
    >>> from sim.model.context import ReqState
    >>> reqs = Requirements()
    >>> for k in range(3):
    ...     reqs.append(ReqState(len(reqs), f"R#{k}", 0, 0, 1, 5, "domestic", 10.0))
    >>> reqs.free(1)
    >>> len(reqs), [r.id for r in reqs], reqs[2].id
    (3, ['R#0', 'R#2'], 'R#2')
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.context import ReqState

__all__ = ["Requirements"]


class Requirements:
    """Requirement records by index: the live ones (open, to open, or the scenario's).

    Attributes:
        live: Index -> record of every requirement not freed, in index order.
        n: Indices handed out so far (the next requirement's index).
    """

    __slots__ = ("live", "n")

    def __init__(self) -> None:
        self.live: dict[int, ReqState] = {}
        self.n = 0

    def append(self, r: ReqState) -> None:
        """Add the next requirement; its ``index`` must be ``len(self)``.

        Raises:
            ValueError: ``r.index`` is not the next index.
        """
        if r.index != self.n:
            raise ValueError(f"requirement {r.id}: index {r.index}, the next index is {self.n}")
        self.live[self.n] = r
        self.n += 1

    def free(self, index: int) -> None:
        """Drop the record of requirement ``index`` (closed: nothing reads it again)."""
        del self.live[index]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> ReqState:
        return self.live[index]

    def __iter__(self) -> Iterator[ReqState]:
        return iter(self.live.values())

    def __repr__(self) -> str:
        return f"Requirements({len(self.live)} live of {self.n})"
