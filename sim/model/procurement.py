"""Procurement: the agency's pooled tenders and the award of contracts to supplier lines.

The agency pools requirements that reach it within ``pool_days`` into one tender per item;
tenders queue for its contracting staff (a ``simpy.Resource`` of ``staff`` officers — tenders
are few, so a process per tender is cheap), take ``tender_days``, and award contracts by the
agency's policy: ``cheapest`` (lowest unit price), ``fastest`` (earliest finish given each
line's backlog and current rate) or ``split`` (across every capable supplier in proportion to
its rate, in whole lots). Agency and bilateral purchases prefer foreign suppliers; domestic
requirements go to Ukrainian co-production. A contract is one (requirement, supplier) order.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from scenarios.errors import RunError
from sim.events import CONTRACT_AWARDED, TENDER_FINISHED, TENDER_STARTED

if TYPE_CHECKING:
    from sim.model.context import Context, ReqState
    from sim.model.production import Line
    from sim.rng import Sampler

__all__ = ["Agency", "agency_process", "award", "candidates"]


class Agency:
    """An NSPA-style agency: pending requirements, contracting staff, award policy."""

    def __init__(self, ctx: Context, node: int, staff: int, tender: Sampler, policy: str, pool_days: float) -> None:
        self.ctx = ctx
        self.node = node
        self.staff = simpy.Resource(ctx.env, capacity=staff)
        self.staff_count = staff
        self.tender = tender
        self.policy = policy
        self.pool_days = pool_days
        self.pending: list[int] = []
        self.wake: simpy.Event | None = None
        self.busy_days = 0.0

    def submit(self, req: int) -> None:
        """A funded requirement joins the pool."""
        self.pending.append(req)
        w = self.wake
        if w is not None and not w.triggered:
            w.succeed()


def agency_process(ctx: Context, a: Agency) -> Generator[simpy.Event, Any, None]:
    """Pool pending requirements and start one tender per item."""
    env = ctx.env
    while True:
        while not a.pending:
            a.wake = env.event()
            yield a.wake
        if a.pool_days > 0:
            ctx.pending += 1
            yield env.timeout(a.pool_days)
            ctx.pending -= 1
        batch, a.pending = a.pending, []
        by_item: dict[int, list[int]] = {}
        for req in batch:
            by_item.setdefault(ctx.requirements[req].item, []).append(req)
        for reqs in by_item.values():
            env.process(_tender(ctx, a, reqs))


def _tender(ctx: Context, a: Agency, reqs: list[int]) -> Generator[simpy.Event, Any, None]:
    env = ctx.env
    item = ctx.requirements[reqs[0]].item
    with a.staff.request() as officer:
        yield officer
        days = a.tender()
        started = ctx.log.code(TENDER_STARTED, item=item, node=a.node)
        for req in reqs:
            ctx.put(started, -1, ctx.requirements[req].qty, -1, req, days)
        ctx.pending += 1
        a.busy_days += days
        yield env.timeout(days)
        ctx.pending -= 1
        finished = ctx.log.code(TENDER_FINISHED, item=item, node=a.node)
        for req in reqs:
            ctx.put(finished, -1, ctx.requirements[req].qty, -1, req, days)
    for req in reqs:
        award(ctx, ctx.requirements[req], a.policy, domestic=False)


def candidates(ctx: Context, r: ReqState, domestic: bool) -> list[Line]:
    """Lines that may serve ``r``: the network's rule (``network.routing.suitable_suppliers``).

    Domestic requirements take domestic lines only; agency and bilateral ones take foreign
    lines, or any line when no foreign supplier makes the item; of those, the ones whose
    supplier reaches the unit.
    """
    makers = [ln for (_, item), ln in ctx.lines.items() if item == r.item]
    if domestic:
        pool = [ln for ln in makers if ln.domestic]
    else:
        pool = [ln for ln in makers if not ln.domestic] or makers
    return [ln for ln in pool if (ln.supplier, r.unit) in ctx.routes]


def award(ctx: Context, r: ReqState, policy: str, domestic: bool) -> None:
    """Award ``r`` to one or more supplier lines and queue the orders."""
    lines = candidates(ctx, r, domestic)
    if not lines:
        raise RunError(f"requirement {r.id}: no supplier of {ctx.item_ids[r.item]} reaches {ctx.node_ids[r.unit]}")
    lot = ctx.lot_size[r.item]
    now = ctx.now
    if policy == "split" and len(lines) > 1:
        total_rate = sum(ln.rate_per_day for ln in lines)
        lots = math.ceil(r.qty / lot)
        shares = [math.floor(lots * ln.rate_per_day / total_rate) for ln in lines]
        order = sorted(range(len(lines)), key=lambda i: (-lines[i].rate_per_day, i))
        k = 0
        while sum(shares) < lots:
            shares[order[k % len(order)]] += 1
            k += 1
        allocation: list[tuple[Line, int]] = []
        left = r.qty
        for ln, n in zip(lines, shares, strict=True):
            q = min(left, n * lot)
            if q > 0:
                allocation.append((ln, q))
                left -= q
    elif policy == "fastest":

        def finish(ln: Line) -> float:
            rate = ln.rate(now)
            return math.inf if rate <= 0 else max(0, ln.backlog + r.qty - ln.stock) / rate

        allocation = [(min(lines, key=finish), r.qty)]
    else:
        allocation = [(min(lines, key=lambda ln: ln.unit_price_eur), r.qty)]
    for ln, q in allocation:
        code = ctx.log.code(CONTRACT_AWARDED, item=r.item, node=ln.supplier)
        ctx.put(code, -1, q, -1, r.index, q * ln.unit_price_eur)
        ctx.count("units_ordered", q)
        r.ordered += q
        ln.add_order(r.index, q, r.priority)
