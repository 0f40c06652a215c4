"""Allocation under scarcity: who gets a depot's stock, or a production line's next lot.

Rules (``scenarios.schema_inventory.Allocation``):

``fifo``
    in order of arrival (a depot's waiting orders; a line's orders in award order).
``priority``
    by priority (1 first), then arrival. A line's default (today's behaviour).
``fair_share``
    in proportion to a weight: ``backorders`` (each waiting order's outstanding quantity at a
    depot; at a line, equal progress: the next lot goes to the order with the smallest share
    made so far), or ``consumption`` (the mean consumption rate of the order's unit; at a
    line, the unit with the fewest units made per unit of rate).

A depot splits what it has with ``split`` (water-filling: shares in proportion to the
weights, capped by what each order still needs, rounded by largest remainder, ties by
arrival). A line with ``fifo`` or ``fair_share`` gets a ``pick`` function choosing the order of
its next lot (``line_picker``), called once per lot; ``fifo`` keys its orders by award order alone
(``Line.fifo``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.context import Context
    from sim.model.production import Line

__all__ = ["fair_split", "line_picker", "split"]


def fair_split(needs: Sequence[int], weights: Sequence[float], avail: int) -> list[int]:
    """Split ``avail`` units among claims needing ``needs``, in proportion to ``weights``.

    Water-filling: each round gives every claim still short ``floor(left x w / W)`` (capped by
    its need); a round that gives nothing hands out the remaining units one by one, largest
    quota first, then the earlier claim. Zero weights count as equal ones.

    Example:
        >>> fair_split([10, 10], [1.0, 1.0], 7)
        [4, 3]
        >>> fair_split([2, 10], [1.0, 1.0], 8)
        [2, 6]
        >>> fair_split([100, 100], [3.0, 1.0], 40)
        [30, 10]
    """
    n = len(needs)
    give = [0] * n
    left = avail
    while left > 0:
        act = [i for i in range(n) if give[i] < needs[i]]
        if not act:
            break
        w = [weights[i] if weights[i] > 0 else 0.0 for i in act]
        total = math.fsum(w)
        if total <= 0:
            w = [1.0] * len(act)
            total = float(len(act))
        quota = [left * x / total for x in w]
        step = 0
        for i, q in zip(act, quota, strict=True):
            g = min(math.floor(q + 1e-9), needs[i] - give[i])
            give[i] += g
            step += g
        left -= step
        if step == 0:
            ranked = sorted(range(len(act)), key=lambda j: (-quota[j], act[j]))
            for j in ranked:
                if left == 0:
                    break
                give[act[j]] += 1
                left -= 1
    return give


def split(rule: str, needs: Sequence[int], prios: Sequence[int], weights: Sequence[float], avail: int) -> list[int]:
    """Units each waiting claim gets out of ``avail`` (claims listed in order of arrival).

    Example:
        >>> split("fifo", [5, 5], [2, 1], [1.0, 1.0], 6)
        [5, 1]
        >>> split("priority", [5, 5], [2, 1], [1.0, 1.0], 6)
        [1, 5]
    """
    if rule == "fair_share":
        return fair_split(needs, weights, avail)
    order = range(len(needs)) if rule == "fifo" else sorted(range(len(needs)), key=lambda i: (prios[i], i))
    give = [0] * len(needs)
    left = avail
    for i in order:
        if left <= 0:
            break
        g = min(needs[i], left)
        give[i] = g
        left -= g
    return give


def line_picker(ctx: Context, line: Line, by: str, unit_rate: dict[int, float]) -> Callable[[], list[int]]:
    """The fair-share choice of the order (``[req, remaining]``) of ``line``'s next lot.

    Among the most urgent priority present, by
    ``backorders`` the order with the smallest share made so far (made / (made + remaining)),
    by ``consumption`` the order whose unit has had the fewest units per unit of its mean
    consumption rate (``unit_rate``; 1 for a unit without consumption); ties by award order.
    The lot is booked to its order (or unit) when picked.
    """
    reqs = ctx.requirements
    lot_size = ctx.lot_size[line.item]
    made: dict[int, int] = {}

    def fair() -> list[int]:
        orders = line.orders
        top = orders[0][0]
        best: list[int] | None = None
        best_key = (math.inf, math.inf)
        for prio, n, o in orders:
            if prio != top:
                continue
            if by == "consumption":
                u = reqs[o[0]].unit
                key = (made.get(u, 0) / unit_rate.get(u, 1.0), n)
            else:
                m = made.get(o[0], 0)
                key = (m / (m + o[1]), n)
            if key < best_key:
                best, best_key = o, key
        assert best is not None
        lot = min(lot_size, best[1])
        k = reqs[best[0]].unit if by == "consumption" else best[0]
        if by != "consumption" and lot == best[1]:
            made.pop(k, None)  # the order ends with this lot
        else:
            made[k] = made.get(k, 0) + lot
        return best

    return fair
